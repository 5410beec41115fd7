package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"triage"
)

const inviteCols = `id, org_id, email, role, team_ids, invited_by, created_at, expires_at, accepted_at, accepted_by, email_status`

func scanInvite(r rowScanner) (*triage.Invite, error) {
	var inv triage.Invite
	var teams string
	var by, acceptedAt, acceptedBy sql.NullInt64
	var created, expires int64
	if err := r.Scan(&inv.ID, &inv.OrgID, &inv.Email, &inv.Role, &teams, &by, &created, &expires, &acceptedAt, &acceptedBy, &inv.EmailStatus); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(teams), &inv.TeamIDs); err != nil {
		return nil, fmt.Errorf("invite %d teams: %w", inv.ID, err)
	}
	inv.InvitedBy, inv.AcceptedBy = by.Int64, acceptedBy.Int64
	inv.CreatedAt, inv.ExpiresAt = fromMicros(created), fromMicros(expires)
	if acceptedAt.Valid {
		inv.AcceptedAt = fromMicros(acceptedAt.Int64)
	}
	return &inv, nil
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// CreateInvite stores a new invite (its ID is set) and deletes the
// organization's earlier pending invites for the same email: the newest
// link is the one that works.
func (q *Queries) CreateInvite(ctx context.Context, inv *triage.Invite) error {
	inv.Email = NormalizeEmail(inv.Email)
	teams, err := json.Marshal(append([]int64{}, inv.TeamIDs...))
	if err != nil {
		return err
	}
	if _, err := q.q.ExecContext(ctx, `DELETE FROM invites WHERE org_id = $1 AND email = $2 AND accepted_at IS NULL`,
		inv.OrgID, inv.Email); err != nil {
		return fmt.Errorf("replace earlier invites: %w", err)
	}
	inv.CreatedAt = q.now()
	err = q.q.QueryRowContext(ctx,
		`INSERT INTO invites (org_id, email, role, team_ids, invited_by, created_at, expires_at, email_status)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		inv.OrgID, inv.Email, string(inv.Role), string(teams), nullID(inv.InvitedBy), micros(inv.CreatedAt),
		micros(inv.ExpiresAt), inv.EmailStatus).Scan(&inv.ID)
	if err != nil {
		return fmt.Errorf("create invite: %w", err)
	}
	return nil
}

// InviteByID returns ENOTFOUND if there is none (or it was revoked).
func (q *Queries) InviteByID(ctx context.Context, id int64) (*triage.Invite, error) {
	inv, err := scanInvite(q.q.QueryRowContext(ctx, `SELECT `+inviteCols+` FROM invites WHERE id = $1`, id))
	if err != nil {
		return nil, translate(err, "invite")
	}
	return inv, nil
}

// PendingInvites lists the organization's invites not accepted and not
// expired at now, newest first.
func (q *Queries) PendingInvites(ctx context.Context, orgID int64, now time.Time) ([]*triage.Invite, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+inviteCols+` FROM invites
		WHERE org_id = $1 AND accepted_at IS NULL AND expires_at > $2 ORDER BY id DESC`, orgID, micros(now))
	return collect(rows, err, "list invites", scanInvite)
}

// DeleteInvite revokes a pending invite of the organization; ENOTFOUND
// when it has none with that id (another organization's included).
func (q *Queries) DeleteInvite(ctx context.Context, orgID, id int64) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM invites WHERE id = $1 AND org_id = $2 AND accepted_at IS NULL`, id, orgID)
	if err != nil {
		return fmt.Errorf("revoke invite: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "invite not found")
	}
	return nil
}

// UseInvite marks a pending, unexpired invite accepted by userID: the
// one-time step. It returns ENOTFOUND when the invite was used, revoked or
// expired meanwhile (two tabs accepting at once: one wins).
func (q *Queries) UseInvite(ctx context.Context, id, userID int64, now time.Time) error {
	res, err := q.q.ExecContext(ctx, `UPDATE invites SET accepted_at = $1, accepted_by = $2
		WHERE id = $3 AND accepted_at IS NULL AND expires_at > $1`, micros(now), userID, id)
	if err != nil {
		return fmt.Errorf("accept invite: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "This invite has been used, revoked or has expired.")
	}
	return nil
}

// SetInviteEmailStatus records what became of the invite's email.
func (q *Queries) SetInviteEmailStatus(ctx context.Context, id int64, status string) error {
	if _, err := q.q.ExecContext(ctx, `UPDATE invites SET email_status = $1 WHERE id = $2`, status, id); err != nil {
		return fmt.Errorf("record invite email: %w", err)
	}
	return nil
}

// TeamsOfOrg lists the organization's teams by slug (the invite form's
// choices).
func (q *Queries) TeamsOfOrg(ctx context.Context, orgID int64) ([]*triage.Team, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, org_id, slug, name FROM teams WHERE org_id = $1 ORDER BY slug`, orgID)
	return collect(rows, err, "list teams", func(r rowScanner) (*triage.Team, error) {
		var t triage.Team
		err := r.Scan(&t.ID, &t.OrgID, &t.Slug, &t.Name)
		return &t, err
	})
}
