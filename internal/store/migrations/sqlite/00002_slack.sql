-- +goose Up
-- One row per installed Slack workspace. Tokens are sealed with secretbox
-- before they reach this table; the columns never hold plain text.
CREATE TABLE integrations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    provider          TEXT NOT NULL DEFAULT 'slack',
    external_id       TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    domain_name       TEXT NOT NULL DEFAULT '',
    icon              TEXT NOT NULL DEFAULT '',
    bot_user_id       TEXT NOT NULL DEFAULT '',
    app_id            TEXT NOT NULL DEFAULT '',
    scopes            TEXT NOT NULL DEFAULT '',
    install_type      TEXT NOT NULL,
    access_token_enc  TEXT NOT NULL,
    refresh_token_enc TEXT NOT NULL DEFAULT '',
    token_expires_at  BIGINT NOT NULL DEFAULT 0,
    status            TEXT NOT NULL DEFAULT 'active',
    status_reason     TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

CREATE TABLE organization_integrations (
    org_id         BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (org_id, integration_id)
);
CREATE INDEX organization_integrations_integration ON organization_integrations(integration_id);

CREATE TABLE identities (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    external_id    TEXT NOT NULL,
    user_id        BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    UNIQUE (integration_id, external_id),
    UNIQUE (integration_id, user_id)
);
CREATE INDEX identities_user ON identities(user_id);

CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id     BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used       BOOLEAN NOT NULL DEFAULT FALSE
);

-- +goose Down
DROP TABLE oauth_states;
DROP TABLE identities;
DROP TABLE organization_integrations;
DROP TABLE integrations;
