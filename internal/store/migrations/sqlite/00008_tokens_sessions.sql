-- +goose Up
-- API tokens may expire and record when they were last used; sessions
-- record their user (so a password change can end them) and when they were
-- last used (so an idle one ends).
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
ALTER TABLE sessions ADD COLUMN user_id BIGINT;
ALTER TABLE sessions ADD COLUMN last_seen BIGINT NOT NULL DEFAULT 0;
CREATE INDEX api_tokens_user ON api_tokens(user_id);
CREATE INDEX sessions_user ON sessions(user_id);

-- +goose Down
DROP INDEX sessions_user;
DROP INDEX api_tokens_user;
ALTER TABLE sessions DROP COLUMN last_seen;
ALTER TABLE sessions DROP COLUMN user_id;
ALTER TABLE api_tokens DROP COLUMN last_used_at;
ALTER TABLE api_tokens DROP COLUMN expires_at;
