-- +goose Up
-- One card per issue and channel. The first notification about an issue in
-- a channel claims its card in the transaction that records the
-- notification (the primary key makes every later one lose the claim);
-- later notifications wait for ts and reply in the card's thread. A claim
-- whose notification ends without posting (failed, cancelled) is dropped
-- with it, so that the next notification takes it over.
CREATE TABLE alert_cards (
    issue_id        BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    integration_id  BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    channel_id      TEXT NOT NULL,
    notification_id BIGINT NOT NULL REFERENCES alert_notifications(id) ON DELETE CASCADE,
    ts              TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (issue_id, integration_id, channel_id)
);
CREATE INDEX alert_cards_notification ON alert_cards(notification_id);

-- The cards posted before: the first one in each channel.
INSERT INTO alert_cards (issue_id, integration_id, channel_id, notification_id, ts)
SELECT n.issue_id, n.integration_id, n.channel_id, n.id, n.message_ts FROM alert_notifications n
WHERE n.status = 'delivered' AND n.thread_ts = '' AND n.message_ts <> '' AND n.id = (
    SELECT MIN(c.id) FROM alert_notifications c WHERE c.issue_id = n.issue_id AND c.integration_id = n.integration_id
    AND c.channel_id = n.channel_id AND c.status = 'delivered' AND c.thread_ts = '' AND c.message_ts <> '');

-- +goose Down
DROP TABLE alert_cards;
