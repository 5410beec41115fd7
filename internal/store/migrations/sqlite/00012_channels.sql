-- +goose Up
-- Slack for teams and channels (issue 17).

-- A channel subscription is an alert rule of kind 'subscription': it posts
-- a project's new and regressed issues that match query (the search syntax)
-- to its channel, through the alert rules' delivery (ledger, pacing, live
-- cards). target 'team' makes a rule post to the channels linked to the
-- teams that own its project, in its workspace, instead of channel_id.
ALTER TABLE alert_rules ADD COLUMN kind TEXT NOT NULL DEFAULT 'rule';
ALTER TABLE alert_rules ADD COLUMN query TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_rules ADD COLUMN target TEXT NOT NULL DEFAULT 'channel';
CREATE INDEX alert_rules_channel ON alert_rules(integration_id, channel_id, kind);

-- The channel a team's notifications go to (/triage link team): one per
-- team; a channel may serve several teams.
CREATE TABLE team_channels (
    team_id        BIGINT PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    channel_id     TEXT NOT NULL,
    channel_name   TEXT NOT NULL DEFAULT '',
    linked_by      BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX team_channels_channel ON team_channels(integration_id, channel_id);

-- Slack users who replied in a card's thread without a linked account and
-- were offered the link: each is offered it once.
CREATE TABLE slack_link_prompts (
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    slack_user_id  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (integration_id, slack_user_id)
);

-- +goose Down
DROP TABLE slack_link_prompts;
DROP TABLE team_channels;
DROP INDEX alert_rules_channel;
ALTER TABLE alert_rules DROP COLUMN target;
ALTER TABLE alert_rules DROP COLUMN query;
ALTER TABLE alert_rules DROP COLUMN kind;
