-- +goose Up
-- A batch's counts of tag values (other than users) and hours, written by
-- the event writer in the batch's transaction as one row (store.CountBatch)
-- and added to issue_tags and issue_hours after it commits by a fold
-- (store.FoldCounts), which a reader of those tables runs first: nothing
-- is counted twice or lost, a reader sees every committed batch, and the
-- count rows of issues that are busy under load are updated once a fold
-- rather than once a batch, off the path the senders of events wait on.
-- data is the rows in the store's own encoding, S2-compressed.
CREATE TABLE pending_counts (
    id   BIGSERIAL PRIMARY KEY,
    data BYTEA NOT NULL
);
-- A row lives for milliseconds: kept inline up to the largest row a page
-- holds, and never compressed again.
ALTER TABLE pending_counts SET (toast_tuple_target = 8160);
ALTER TABLE pending_counts ALTER COLUMN data SET STORAGE EXTERNAL;

-- +goose Down
-- `serve` folds what is pending when it stops; refuse to drop counts that
-- a running or killed process left.
-- +goose StatementBegin
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pending_counts) THEN
        RAISE EXCEPTION 'counts are pending: start and stop triage serve once, then migrate down';
    END IF;
END $$;
-- +goose StatementEnd
DROP TABLE pending_counts;
