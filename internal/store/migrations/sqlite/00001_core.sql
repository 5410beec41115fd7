-- +goose Up
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    is_superuser  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);

CREATE TABLE organizations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE members (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, user_id)
);
CREATE INDEX members_user ON members(user_id);

CREATE TABLE teams (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    slug   TEXT NOT NULL,
    name   TEXT NOT NULL,
    UNIQUE (org_id, slug)
);

CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);

CREATE TABLE projects (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id        BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    slug          TEXT NOT NULL,
    name          TEXT NOT NULL,
    public_key    TEXT NOT NULL UNIQUE,
    next_short_num BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL,
    UNIQUE (org_id, slug)
);

CREATE TABLE project_teams (
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    team_id    BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, team_id)
);
CREATE INDEX project_teams_team ON project_teams(team_id);

CREATE TABLE releases (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    version    TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    UNIQUE (project_id, version)
);

CREATE TABLE issues (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id       BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    short_num        BIGINT NOT NULL,
    group_hash       TEXT NOT NULL,
    title            TEXT NOT NULL,
    culprit          TEXT NOT NULL DEFAULT '',
    level            TEXT NOT NULL DEFAULT 'error',
    status           TEXT NOT NULL DEFAULT 'unresolved',
    status_details   TEXT NOT NULL DEFAULT '{}',
    assignee_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    assignee_team_id BIGINT REFERENCES teams(id) ON DELETE SET NULL,
    times_seen       BIGINT NOT NULL DEFAULT 0,
    first_seen       BIGINT NOT NULL,
    last_seen        BIGINT NOT NULL,
    first_release    TEXT NOT NULL DEFAULT '',
    ignore_base      BIGINT NOT NULL DEFAULT 0,
    UNIQUE (project_id, group_hash),
    UNIQUE (project_id, short_num)
);
CREATE INDEX issues_project_status_seen ON issues(project_id, status, last_seen);

CREATE TABLE activities (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id   BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    user_id    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    source     TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);
CREATE INDEX activities_issue ON activities(issue_id, id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL
);

CREATE TABLE sessions (
    token  TEXT PRIMARY KEY,
    data   BLOB NOT NULL,
    expiry BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions(expiry);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    issue_id    BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    event_id    TEXT NOT NULL,
    timestamp   BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    release     TEXT NOT NULL DEFAULT '',
    environment TEXT NOT NULL DEFAULT '',
    data        BLOB NOT NULL,
    UNIQUE (project_id, event_id)
);
CREATE INDEX events_issue ON events(issue_id, id);
CREATE INDEX events_received ON events(received_at);

-- +goose Down
DROP TABLE events;
DROP TABLE sessions;
DROP TABLE api_tokens;
DROP TABLE activities;
DROP TABLE issues;
DROP TABLE releases;
DROP TABLE project_teams;
DROP TABLE projects;
DROP TABLE team_members;
DROP TABLE teams;
DROP TABLE members;
DROP TABLE organizations;
DROP TABLE users;
DROP TABLE settings;
