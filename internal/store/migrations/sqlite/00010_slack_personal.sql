-- +goose Up
-- Slack for each person (issue 17): direct-message settings, and which
-- issues each person's Home tab shows, so that a change to one of them
-- republishes that Home tab.

-- One row per person who changed a setting; no row means every kind of
-- direct message is on, for every project (DESIGN 1.4: on by default).
-- projects holds project ids separated by commas; empty means all.
CREATE TABLE slack_dm_settings (
    user_id    BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    assigned   BOOLEAN NOT NULL DEFAULT TRUE,
    regressed  BOOLEAN NOT NULL DEFAULT TRUE,
    comments   BOOLEAN NOT NULL DEFAULT TRUE,
    projects   TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);

-- The issues a person's published Home tab shows, replaced on each publish.
CREATE TABLE slack_home_issues (
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    slack_user_id  TEXT NOT NULL,
    issue_id       BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    PRIMARY KEY (integration_id, slack_user_id, issue_id)
);
CREATE INDEX slack_home_issues_issue ON slack_home_issues(issue_id);

-- +goose Down
DROP TABLE slack_home_issues;
DROP TABLE slack_dm_settings;
