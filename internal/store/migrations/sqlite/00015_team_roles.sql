-- +goose Up
-- A team member's role on the team (issue 17): 'admin' may send the team's
-- notifications to a Slack channel (/triage link team) as an organization's
-- owners and admins may; 'contributor' is everyone else, as before.
ALTER TABLE team_members ADD COLUMN role TEXT NOT NULL DEFAULT 'contributor';

-- +goose Down
ALTER TABLE team_members DROP COLUMN role;
