-- +goose Up
-- Counting an issue's events rewrites its row in every batch (times seen,
-- last seen, users). On PostgreSQL an update that changes no indexed
-- column and finds room on its page is a HOT update: no index entry is
-- written, and the old version is pruned with the page. The four
-- (project_id, status, <sort key>) indexes made every such update write
-- seven index entries (and left dead versions that the unique indexes
-- kept checking until vacuum); the issue list does not use them here:
-- PostgreSQL reads the issues of the projects (a few hundred pages for
-- 10,000 issues) and keeps the top of the sort, which the plans on the
-- 1M-event database chose with the indexes present. SQLite keeps them:
-- its list reads the ids from them without touching the rows.
-- Room for the new versions: a page is filled to 70% by inserts.
DROP INDEX issues_project_status_seen;
DROP INDEX issues_project_status_first;
DROP INDEX issues_project_status_times;
DROP INDEX issues_project_status_users;
ALTER TABLE issues SET (fillfactor = 70);

-- +goose Down
ALTER TABLE issues RESET (fillfactor);
CREATE INDEX issues_project_status_users ON issues(project_id, status, user_count);
CREATE INDEX issues_project_status_times ON issues(project_id, status, times_seen);
CREATE INDEX issues_project_status_first ON issues(project_id, status, first_seen);
CREATE INDEX issues_project_status_seen ON issues(project_id, status, last_seen);
