-- +goose Up
-- Invites: an owner or admin asks someone to join an organization by email,
-- with a role and teams. The link they get is signed and carries the
-- invite's id; the row makes it one-time (accepted_at) and revocable
-- (deleted). email_status tells the inviter whether the email went out.
CREATE TABLE invites (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id        BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email         TEXT NOT NULL,
    role          TEXT NOT NULL,
    team_ids      TEXT NOT NULL DEFAULT '[]',
    invited_by    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    accepted_at   BIGINT,
    accepted_by   BIGINT REFERENCES users(id) ON DELETE SET NULL,
    email_status  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX invites_org ON invites(org_id, email);

-- +goose Down
DROP TABLE invites;
