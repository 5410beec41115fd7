-- +goose Up
-- An event, and each tag value and hour an event's issue is counted by,
-- is a row whose insert PostgreSQL checked against its issue (and the
-- event's against its project) with a query and a row lock each: two to
-- four such checks for every event the writer stores, about a tenth of
-- the database's time in a burst of ingestion. The writer only ever adds
-- these rows for an issue whose row it updates in the same transaction
-- (CountIssuesEvents), and what deletes an issue deletes its row first and
-- its events, tags and hours after it (store.DeleteIssue,
-- DeleteProjectIssues, FinishProjectDeletion): a writer that got there
-- first has committed by then, and one that comes later finds no issue to
-- update and rolls back. So the references hold without the checks, as
-- Sentry keeps its event and tag tables. SQLite keeps its foreign keys.
ALTER TABLE events DROP CONSTRAINT events_project_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_issue_id_fkey;
ALTER TABLE issue_tags DROP CONSTRAINT issue_tags_issue_id_fkey;
ALTER TABLE issue_hours DROP CONSTRAINT issue_hours_issue_id_fkey;

-- +goose Down
DELETE FROM issue_hours h WHERE NOT EXISTS (SELECT 1 FROM issues i WHERE i.id = h.issue_id);
DELETE FROM issue_tags t WHERE NOT EXISTS (SELECT 1 FROM issues i WHERE i.id = t.issue_id);
DELETE FROM events e WHERE NOT EXISTS (SELECT 1 FROM issues i WHERE i.id = e.issue_id);
ALTER TABLE issue_hours ADD CONSTRAINT issue_hours_issue_id_fkey FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE;
ALTER TABLE issue_tags ADD CONSTRAINT issue_tags_issue_id_fkey FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE;
ALTER TABLE events ADD CONSTRAINT events_issue_id_fkey FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE;
ALTER TABLE events ADD CONSTRAINT events_project_id_fkey FOREIGN KEY (project_id) REFERENCES projects(id) ON DELETE CASCADE;
