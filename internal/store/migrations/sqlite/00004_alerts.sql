-- +goose Up
-- Alert rules: per project, conditions that must all hold, one Slack action,
-- a per-issue throttle. action_status says whether the last delivery worked;
-- a permanent Slack error marks it broken with the reason, a later success
-- marks it ok again.
CREATE TABLE alert_rules (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id         BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    conditions         TEXT NOT NULL DEFAULT '{}',
    integration_id     BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    channel_id         TEXT NOT NULL,
    channel_name       TEXT NOT NULL DEFAULT '',
    throttle_minutes   BIGINT NOT NULL DEFAULT 30,
    thread             BOOLEAN NOT NULL DEFAULT TRUE,
    action_status      TEXT NOT NULL DEFAULT 'ok',
    action_reason      TEXT NOT NULL DEFAULT '',
    action_changed_at  BIGINT NOT NULL DEFAULT 0,
    created_by         BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX alert_rules_project ON alert_rules(project_id);
CREATE INDEX alert_rules_integration ON alert_rules(integration_id);

-- When a rule last fired for an issue, and until when it stays quiet
-- for it: the throttle.
CREATE TABLE alert_throttle (
    rule_id     BIGINT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
    issue_id    BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    fired_at    BIGINT NOT NULL,
    quiet_until BIGINT NOT NULL,
    PRIMARY KEY (rule_id, issue_id)
);

-- One row per notification, written with its alert.notify job: the ledger
-- that makes delivery idempotent (a job finds its row delivered and stops)
-- and remembers every message posted (message_ts; thread_ts is empty for a
-- card at the top of the channel).
CREATE TABLE alert_notifications (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id        BIGINT REFERENCES alert_rules(id) ON DELETE SET NULL,
    issue_id       BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    cause          TEXT NOT NULL,
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    channel_id     TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'pending',
    reason         TEXT NOT NULL DEFAULT '',
    message_ts     TEXT NOT NULL DEFAULT '',
    thread_ts      TEXT NOT NULL DEFAULT '',
    reserved_at    BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    finished_at    BIGINT NOT NULL DEFAULT 0,
    UNIQUE (rule_id, issue_id, cause)
);
CREATE INDEX alert_notifications_issue ON alert_notifications(issue_id, integration_id, channel_id);
CREATE INDEX alert_notifications_rule ON alert_notifications(rule_id, status);

-- Send pacing shared by every process, per channel and per workspace
-- (GCRA): tat schedules the slots jobs book, sent_tat checks the sends as
-- they happen (so that late jobs do not bunch up), blocked_until is the end
-- of the last Retry-After; last_slot and last_claim return a statement's
-- result.
CREATE TABLE alert_pacing (
    key           TEXT PRIMARY KEY,
    tat           BIGINT NOT NULL DEFAULT 0,
    blocked_until BIGINT NOT NULL DEFAULT 0,
    last_slot     BIGINT NOT NULL DEFAULT 0,
    sent_tat      BIGINT NOT NULL DEFAULT 0,
    last_claim    BIGINT NOT NULL DEFAULT 0
);

-- Channels of each workspace, filled in the background from
-- conversations.list, so that picking a channel never waits on Slack.
CREATE TABLE slack_channels (
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    channel_id     TEXT NOT NULL,
    name           TEXT NOT NULL,
    is_private     BOOLEAN NOT NULL DEFAULT FALSE,
    is_archived    BOOLEAN NOT NULL DEFAULT FALSE,
    is_member      BOOLEAN NOT NULL DEFAULT FALSE,
    seen_at        BIGINT NOT NULL,
    PRIMARY KEY (integration_id, channel_id)
);
CREATE INDEX slack_channels_name ON slack_channels(integration_id, name);

CREATE TABLE slack_channel_syncs (
    integration_id BIGINT PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
    cursor         TEXT NOT NULL DEFAULT '',
    started_at     BIGINT NOT NULL DEFAULT 0,
    finished_at    BIGINT NOT NULL DEFAULT 0,
    pages          BIGINT NOT NULL DEFAULT 0,
    error          TEXT NOT NULL DEFAULT ''
);

-- Frequency conditions count an issue's recent events.
CREATE INDEX events_issue_received ON events(issue_id, received_at);

-- +goose Down
DROP INDEX events_issue_received;
DROP TABLE slack_channel_syncs;
DROP TABLE slack_channels;
DROP TABLE alert_pacing;
DROP TABLE alert_notifications;
DROP TABLE alert_throttle;
DROP TABLE alert_rules;
