-- +goose Up
-- People and projects in the browser (issue 14).

-- A project has several DSN keys; each can be disabled or rotated.
-- projects.public_key stays only because SQLite cannot drop a UNIQUE
-- column: it holds the key a project was created with and nothing reads
-- it any more. project_keys is the one place keys live.
CREATE TABLE project_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    public_key  TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    disabled_at BIGINT
);
CREATE INDEX project_keys_project ON project_keys(project_id);
INSERT INTO project_keys (project_id, public_key, label, created_at)
    SELECT id, public_key, 'Default', created_at FROM projects;

-- A project being deleted: gone from every list and lookup at once
-- (deleted_at is set and the slug freed), while a background job removes
-- its events (delete_done of delete_total) and then the row.
ALTER TABLE projects ADD COLUMN deleted_at BIGINT;
ALTER TABLE projects ADD COLUMN delete_total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN delete_done BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE projects DROP COLUMN delete_done;
ALTER TABLE projects DROP COLUMN delete_total;
ALTER TABLE projects DROP COLUMN deleted_at;
DROP TABLE project_keys;
