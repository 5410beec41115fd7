-- +goose Up
-- Events API deliveries already handled, by event_id: Slack delivers at
-- least once and retries, so a delivery is acted on only the first time,
-- even across a restart. Old rows are pruned.
CREATE TABLE slack_events_seen (
    event_id    TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL
);
CREATE INDEX slack_events_seen_received ON slack_events_seen(received_at);

-- Every Slack message Triage posted or unfurled about an issue, so that a
-- change to the issue can rebuild each of them. kind is 'card' (a message
-- Triage posted: chat.update edits it) or 'unfurl' (a person's message
-- Triage unfurled: chat.unfurl replaces the unfurl keyed by url).
CREATE TABLE slack_messages (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id       BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    channel_id     TEXT NOT NULL,
    ts             TEXT NOT NULL,
    thread_ts      TEXT NOT NULL DEFAULT '',
    kind           TEXT NOT NULL,
    url            TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    UNIQUE (integration_id, channel_id, ts, issue_id)
);
CREATE INDEX slack_messages_issue ON slack_messages(issue_id);

-- +goose Down
DROP TABLE slack_messages;
DROP TABLE slack_events_seen;
