-- +goose Up
-- An issue's events are listed newest first by received_at, through the
-- index frequency conditions already use; the (issue_id, id) index was a
-- fifth index to update on every stored event.
DROP INDEX events_issue;

-- +goose Down
CREATE INDEX events_issue ON events(issue_id, id);
