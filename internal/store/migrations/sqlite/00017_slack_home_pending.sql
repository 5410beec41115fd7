-- +goose Up
-- The issues whose changes have not yet been turned into Home tab
-- republishes (issue 17): a change of an issue marks it here, inside its
-- transaction, with one small upsert; while the mark is there, further
-- changes of the issue add nothing (seers only grows: a change that brings
-- the issue back into the "new and regressed" section concerns everyone
-- who sees the project). inserted tells the upsert an insert from an
-- update of seers. No foreign key: the sweep always removes the mark, and
-- an issue deleted meanwhile is simply not found then.
CREATE TABLE slack_home_pending (
    issue_id BIGINT PRIMARY KEY,
    seers    BOOLEAN NOT NULL DEFAULT FALSE,
    inserted BOOLEAN NOT NULL DEFAULT TRUE
);

-- At most one row: a sweep of the marks is queued and has not started.
-- A new mark inserts it (and queues the sweep, at its Home window's end)
-- or finds it; the sweep deletes it in the transaction that takes the
-- marks, so that a mark made after that queues the next sweep.
CREATE TABLE slack_home_sweep (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE slack_home_sweep;
DROP TABLE slack_home_pending;
