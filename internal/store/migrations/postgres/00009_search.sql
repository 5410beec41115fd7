-- +goose Up
-- Search, sort, tags, users affected and trends (issue 12). The event
-- writer keeps these in the transaction that stores the events.

-- Distinct users affected: the number of the issue's "user" tag values.
ALTER TABLE issues ADD COLUMN user_count BIGINT NOT NULL DEFAULT 0;

-- Every tag value seen on an issue's events, built-in ones (level,
-- environment, release, browser, os, user…) included. One b-tree, keyed
-- the way the writer and the issue page read it; filters look an issue's
-- values up by the same key.
CREATE TABLE issue_tags (
    issue_id   BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    times_seen BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (issue_id, key, value)
);

-- Events received per issue and hour (hour: unix seconds of its start).
CREATE TABLE issue_hours (
    issue_id BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    hour     BIGINT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (issue_id, hour)
);

-- A project's environments, for the list's picker.
CREATE TABLE environments (
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    PRIMARY KEY (project_id, name)
);

-- The sorts other than last seen.
CREATE INDEX issues_project_status_first ON issues(project_id, status, first_seen);
CREATE INDEX issues_project_status_times ON issues(project_id, status, times_seen);
CREATE INDEX issues_project_status_users ON issues(project_id, status, user_count);

-- +goose Down
DROP INDEX issues_project_status_users;
DROP INDEX issues_project_status_times;
DROP INDEX issues_project_status_first;
DROP TABLE environments;
DROP TABLE issue_hours;
DROP TABLE issue_tags;
ALTER TABLE issues DROP COLUMN user_count;
