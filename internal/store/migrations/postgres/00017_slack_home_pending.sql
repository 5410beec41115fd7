-- +goose Up
-- The issues whose changes have not yet been turned into Home tab
-- republishes (issue 17): a change of an issue marks it here, inside its
-- transaction, with one small upsert; the job queued with the mark works
-- out, after the commit, whose Home tabs show or should now show the
-- issue. While the mark is there, further changes of the issue add
-- nothing (seers only grows: a change that brings the issue back into
-- the "new and regressed" section concerns everyone who sees the project).
-- inserted tells the upsert an insert (whose caller queues the job that
-- takes the mark) from an update of seers (whose job is queued already).
-- No foreign key: the job always removes the mark, and an issue deleted
-- meanwhile is simply not found then.
CREATE TABLE slack_home_pending (
    issue_id BIGINT PRIMARY KEY,
    seers    BOOLEAN NOT NULL DEFAULT FALSE,
    inserted BOOLEAN NOT NULL DEFAULT TRUE
);

-- +goose Down
DROP TABLE slack_home_pending;
