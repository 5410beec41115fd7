package store

import (
	"context"
	"fmt"
	"time"

	"triage"
)

const integrationCols = `i.id, i.provider, i.external_id, i.name, i.domain_name, i.icon, i.bot_user_id,
	i.app_id, i.scopes, i.install_type, i.access_token_enc, i.refresh_token_enc, i.token_expires_at,
	i.status, i.status_reason, i.created_at, i.updated_at`

func scanIntegration(row rowScanner) (*triage.Integration, error) {
	var in triage.Integration
	var expires, created, updated int64
	err := row.Scan(&in.ID, &in.Provider, &in.ExternalID, &in.Name, &in.DomainName, &in.Icon, &in.BotUserID,
		&in.AppID, &in.Scopes, &in.InstallType, &in.AccessTokenEnc, &in.RefreshTokenEnc, &expires,
		&in.Status, &in.StatusReason, &created, &updated)
	if err != nil {
		return nil, err
	}
	if expires != 0 {
		in.TokenExpiresAt = fromMicros(expires)
	}
	in.CreatedAt, in.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &in, nil
}

func optMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

// UpsertIntegration stores a workspace by its team id: a reinstall updates
// the row (and makes it active again) instead of adding another.
func (q *Queries) UpsertIntegration(ctx context.Context, in *triage.Integration) (*triage.Integration, error) {
	if in.Provider == "" {
		in.Provider = "slack"
	}
	now := micros(q.now())
	var id int64
	err := q.q.QueryRowContext(ctx, `
		INSERT INTO integrations (provider, external_id, name, domain_name, icon, bot_user_id, app_id, scopes,
			install_type, access_token_enc, refresh_token_enc, token_expires_at, status, status_reason,
			created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'active', '', $13, $13)
		ON CONFLICT (external_id) DO UPDATE SET
			name = excluded.name, domain_name = excluded.domain_name, icon = excluded.icon,
			bot_user_id = excluded.bot_user_id, app_id = excluded.app_id, scopes = excluded.scopes,
			install_type = excluded.install_type, access_token_enc = excluded.access_token_enc,
			refresh_token_enc = excluded.refresh_token_enc, token_expires_at = excluded.token_expires_at,
			status = 'active', status_reason = '', updated_at = excluded.updated_at
		RETURNING id`,
		in.Provider, in.ExternalID, in.Name, in.DomainName, in.Icon, in.BotUserID, in.AppID, in.Scopes,
		in.InstallType, in.AccessTokenEnc, in.RefreshTokenEnc, optMicros(in.TokenExpiresAt), now).Scan(&id)
	if err != nil {
		return nil, translate(err, "integration")
	}
	return q.IntegrationByID(ctx, id)
}

// IntegrationByID returns ENOTFOUND if there is none.
func (q *Queries) IntegrationByID(ctx context.Context, id int64) (*triage.Integration, error) {
	in, err := scanIntegration(q.q.QueryRowContext(ctx,
		`SELECT `+integrationCols+` FROM integrations i WHERE i.id = $1`, id))
	return in, translate(err, "integration")
}

// IntegrationByTeam finds a workspace by its Slack team id; ENOTFOUND if
// it was never installed.
func (q *Queries) IntegrationByTeam(ctx context.Context, teamID string) (*triage.Integration, error) {
	in, err := scanIntegration(q.q.QueryRowContext(ctx,
		`SELECT `+integrationCols+` FROM integrations i WHERE i.provider = 'slack' AND i.external_id = $1`, teamID))
	return in, translate(err, "Slack workspace")
}

// IntegrationsForOrg lists the workspaces attached to an organization, by name.
func (q *Queries) IntegrationsForOrg(ctx context.Context, orgID int64) ([]*triage.Integration, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+integrationCols+` FROM integrations i
		JOIN organization_integrations oi ON oi.integration_id = i.id
		WHERE oi.org_id = $1 ORDER BY i.name, i.id`, orgID)
	return collect(rows, err, "list integrations", scanIntegration)
}

// AttachIntegration attaches a workspace to an organization; attaching
// twice is not an error.
func (q *Queries) AttachIntegration(ctx context.Context, orgID, integrationID int64) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO organization_integrations (org_id, integration_id, created_at)
		VALUES ($1, $2, $3) ON CONFLICT (org_id, integration_id) DO NOTHING`, orgID, integrationID, micros(q.now()))
	if err != nil {
		return fmt.Errorf("attach integration %d to organization %d: %w", integrationID, orgID, err)
	}
	return nil
}

// DetachIntegration removes a workspace from an organization; ENOTFOUND if
// it was not attached.
func (q *Queries) DetachIntegration(ctx context.Context, orgID, integrationID int64) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM organization_integrations WHERE org_id = $1 AND integration_id = $2`,
		orgID, integrationID)
	if err != nil {
		return fmt.Errorf("detach integration %d: %w", integrationID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "integration not found")
	}
	return nil
}

// IntegrationAttached tells whether the workspace is attached to the organization.
func (q *Queries) IntegrationAttached(ctx context.Context, orgID, integrationID int64) (bool, error) {
	var n int64
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM organization_integrations
		WHERE org_id = $1 AND integration_id = $2`, orgID, integrationID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check integration %d attached: %w", integrationID, err)
	}
	return n > 0, nil
}

// OrganizationsForIntegration lists the organizations a workspace is
// attached to, by slug.
func (q *Queries) OrganizationsForIntegration(ctx context.Context, integrationID int64) ([]*triage.Organization, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT o.id, o.slug, o.name, o.created_at FROM organizations o
		JOIN organization_integrations oi ON oi.org_id = o.id
		WHERE oi.integration_id = $1 ORDER BY o.slug`, integrationID)
	return collect(rows, err, fmt.Sprintf("list organizations of integration %d", integrationID), scanOrg)
}

// UpdateIntegrationTokens stores a rotated token pair in one statement, but
// only if the refresh token is still oldRefreshEnc: it reports false when
// another process rotated first, and the caller should reload.
func (q *Queries) UpdateIntegrationTokens(ctx context.Context, id int64, oldRefreshEnc, accessEnc, refreshEnc string, expiresAt time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE integrations SET access_token_enc = $1, refresh_token_enc = $2,
		token_expires_at = $3, updated_at = $4 WHERE id = $5 AND refresh_token_enc = $6`,
		accessEnc, refreshEnc, optMicros(expiresAt), micros(q.now()), id, oldRefreshEnc)
	if err != nil {
		return false, fmt.Errorf("store tokens of integration %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetIntegrationStatus records a status and why (shown to admins).
func (q *Queries) SetIntegrationStatus(ctx context.Context, id int64, status, reason string) error {
	switch status {
	case triage.IntegrationActive, triage.IntegrationNeedsReinstall, triage.IntegrationDisabled:
	default:
		return triage.Errorf(triage.EINVALID, "unknown integration status %q", status)
	}
	res, err := q.q.ExecContext(ctx, `UPDATE integrations SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4`,
		status, reason, micros(q.now()), id)
	if err != nil {
		return fmt.Errorf("set status of integration %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "integration not found")
	}
	return nil
}

// LinkIdentity links a Slack user to a Triage user in one workspace. The
// newest link wins on both sides: any earlier link of that Slack user, or
// of that Triage user, in the workspace is removed first. Call it in a
// transaction so that the removal and the insert happen together.
func (q *Queries) LinkIdentity(ctx context.Context, integrationID int64, externalID string, userID int64) (*triage.Identity, error) {
	if externalID == "" {
		return nil, triage.Errorf(triage.EINVALID, "Slack user id is empty")
	}
	if _, err := q.q.ExecContext(ctx, `DELETE FROM identities WHERE integration_id = $1 AND (external_id = $2 OR user_id = $3)`,
		integrationID, externalID, userID); err != nil {
		return nil, fmt.Errorf("replace identity links: %w", err)
	}
	id := triage.Identity{IntegrationID: integrationID, ExternalID: externalID, UserID: userID, CreatedAt: q.now().UTC().Truncate(time.Microsecond)}
	err := q.q.QueryRowContext(ctx, `INSERT INTO identities (integration_id, external_id, user_id, created_at)
		VALUES ($1, $2, $3, $4) RETURNING id`, integrationID, externalID, userID, micros(id.CreatedAt)).Scan(&id.ID)
	if err != nil {
		return nil, translate(err, "identity")
	}
	return &id, nil
}

// UnlinkIdentity removes the Slack user's link in the workspace; ENOTFOUND
// if there was none.
func (q *Queries) UnlinkIdentity(ctx context.Context, integrationID int64, externalID string) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM identities WHERE integration_id = $1 AND external_id = $2`,
		integrationID, externalID)
	if err != nil {
		return fmt.Errorf("unlink identity: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "identity not linked")
	}
	return nil
}

func scanIdentity(row rowScanner) (*triage.Identity, error) {
	var id triage.Identity
	var created int64
	if err := row.Scan(&id.ID, &id.IntegrationID, &id.ExternalID, &id.UserID, &created); err != nil {
		return nil, err
	}
	id.CreatedAt = fromMicros(created)
	return &id, nil
}

// IdentityByExternalID returns the link of a Slack user in a workspace;
// ENOTFOUND if not linked.
func (q *Queries) IdentityByExternalID(ctx context.Context, integrationID int64, externalID string) (*triage.Identity, error) {
	id, err := scanIdentity(q.q.QueryRowContext(ctx, `SELECT id, integration_id, external_id, user_id, created_at
		FROM identities WHERE integration_id = $1 AND external_id = $2`, integrationID, externalID))
	return id, translate(err, "identity")
}

// IdentitiesForUser lists a Triage user's Slack links, oldest first.
func (q *Queries) IdentitiesForUser(ctx context.Context, userID int64) ([]*triage.Identity, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, integration_id, external_id, user_id, created_at
		FROM identities WHERE user_id = $1 ORDER BY created_at, id`, userID)
	return collect(rows, err, "list identities", scanIdentity)
}

// CreateOAuthState remembers an install's state (by its hash) for the user
// and organization that started it.
func (q *Queries) CreateOAuthState(ctx context.Context, stateHash string, userID, orgID int64, expiresAt time.Time) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO oauth_states (state_hash, user_id, org_id, expires_at, used)
		VALUES ($1, $2, $3, $4, FALSE)`, stateHash, userID, orgID, micros(expiresAt))
	if err != nil {
		return translate(err, "OAuth state")
	}
	return nil
}

// ConsumeOAuthState marks the state used and returns its organization. It
// returns EINVALID when the state is unknown, used, expired or belongs to
// another user; a state another user presents stays usable by its owner.
func (q *Queries) ConsumeOAuthState(ctx context.Context, stateHash string, userID int64, now time.Time) (int64, error) {
	var orgID int64
	err := q.q.QueryRowContext(ctx, `UPDATE oauth_states SET used = TRUE
		WHERE state_hash = $1 AND user_id = $2 AND used = FALSE AND expires_at > $3 RETURNING org_id`,
		stateHash, userID, micros(now)).Scan(&orgID)
	if err != nil {
		if triage.ErrorCode(translate(err, "")) == triage.ENOTFOUND {
			return 0, triage.Errorf(triage.EINVALID, "the install link is invalid, expired or already used")
		}
		return 0, fmt.Errorf("consume OAuth state: %w", err)
	}
	return orgID, nil
}

// DeleteOAuthStatesBefore forgets states that expired before t.
func (q *Queries) DeleteOAuthStatesBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM oauth_states WHERE expires_at < $1`, micros(t))
	if err != nil {
		return 0, fmt.Errorf("delete old OAuth states: %w", err)
	}
	return res.RowsAffected()
}

// IntegrationsDueForRefresh lists active integrations whose rotating token
// expires before t, for the periodic refresh job.
func (q *Queries) IntegrationsDueForRefresh(ctx context.Context, t time.Time) ([]int64, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id FROM integrations WHERE status = 'active'
		AND refresh_token_enc <> '' AND token_expires_at <> 0 AND token_expires_at < $1 ORDER BY id`, micros(t))
	return collect(rows, err, "list integrations due for refresh", scanID)
}
