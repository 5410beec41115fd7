-- +goose NO TRANSACTION
-- +goose Up
-- Alert rules may email people instead of posting to Slack: action_type
-- says which; an email rule has no workspace (integration_id NULL), its
-- target (00012's column) is 'teams' or 'members' and, for 'members',
-- email_user_ids holds the users' ids (JSON).
--
-- SQLite cannot drop NOT NULL in place, so the table is rebuilt the way
-- SQLite documents ("Making Other Kinds Of Table Schema Changes"): with
-- foreign keys off (which only works outside a transaction, hence NO
-- TRANSACTION and Migrate's single connection), in one transaction of its
-- own, so that dropping the old table does not cascade to the throttles
-- and notifications that refer to its rules; the new table takes the old
-- name and the same ids, and the references hold again.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE alert_rules_new (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id         BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    conditions         TEXT NOT NULL DEFAULT '{}',
    integration_id     BIGINT REFERENCES integrations(id) ON DELETE CASCADE,
    channel_id         TEXT NOT NULL DEFAULT '',
    channel_name       TEXT NOT NULL DEFAULT '',
    throttle_minutes   BIGINT NOT NULL DEFAULT 30,
    thread             BOOLEAN NOT NULL DEFAULT TRUE,
    action_status      TEXT NOT NULL DEFAULT 'ok',
    action_reason      TEXT NOT NULL DEFAULT '',
    action_changed_at  BIGINT NOT NULL DEFAULT 0,
    created_by         BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    kind               TEXT NOT NULL DEFAULT 'rule',
    query              TEXT NOT NULL DEFAULT '',
    target             TEXT NOT NULL DEFAULT 'channel',
    action_type        TEXT NOT NULL DEFAULT 'slack',
    email_user_ids     TEXT NOT NULL DEFAULT '[]'
);
INSERT INTO alert_rules_new (id, project_id, name, conditions, integration_id, channel_id, channel_name, throttle_minutes,
    thread, action_status, action_reason, action_changed_at, created_by, created_at, updated_at, kind, query, target)
SELECT id, project_id, name, conditions, integration_id, channel_id, channel_name, throttle_minutes,
    thread, action_status, action_reason, action_changed_at, created_by, created_at, updated_at, kind, query, target
FROM alert_rules;
DROP TABLE alert_rules;
ALTER TABLE alert_rules_new RENAME TO alert_rules;
CREATE INDEX alert_rules_project ON alert_rules(project_id);
CREATE INDEX alert_rules_integration ON alert_rules(integration_id);
CREATE INDEX alert_rules_channel ON alert_rules(integration_id, channel_id, kind);

-- One row per alert email to one person: the ledger that says what became
-- of it (pending, delivered, failed, cancelled) and keeps one email per
-- rule, issue, cause and person.
CREATE TABLE alert_emails (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id     BIGINT REFERENCES alert_rules(id) ON DELETE SET NULL,
    issue_id    BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    cause       TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending',
    reason      TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (rule_id, issue_id, cause, user_id)
);
CREATE INDEX alert_emails_rule ON alert_emails(rule_id, status);
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
DROP TABLE alert_emails;
