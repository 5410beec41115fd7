package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"triage"
)

// Members, teams and project ownership as owners and admins change them
// from the browser (internal/directory decides who may).

// countOwners counts the organization's owners.
func (q *Queries) countOwners(ctx context.Context, orgID int64) (int64, error) {
	var owners int64
	if err := q.q.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM members WHERE org_id = $1 AND role = 'owner'`, orgID).Scan(&owners); err != nil {
		return 0, fmt.Errorf("count owners: %w", err)
	}
	return owners, nil
}

// SetMemberRole changes a member's role. It returns ENOTFOUND if the user
// is not a member and EINVALID when it would leave the organization
// without an owner.
func (q *Queries) SetMemberRole(ctx context.Context, orgID, userID int64, role triage.Role) (*triage.Member, error) {
	if _, err := triage.ParseRole(string(role)); err != nil {
		return nil, err
	}
	m, err := q.Member(ctx, orgID, userID)
	if err != nil {
		return nil, err
	}
	if m.Role == triage.RoleOwner && role != triage.RoleOwner {
		owners, err := q.countOwners(ctx, orgID)
		if err != nil {
			return nil, err
		}
		if owners <= 1 {
			return nil, triage.Errorf(triage.EINVALID, "role: %s is the organization's last owner; make someone else an owner first", m.User.Email)
		}
	}
	if _, err := q.q.ExecContext(ctx, `UPDATE members SET role = $1 WHERE id = $2`, string(role), m.ID); err != nil {
		return nil, fmt.Errorf("set role: %w", err)
	}
	m.Role = role
	return m, nil
}

// Teams lists an organization's teams by slug.
func (q *Queries) Teams(ctx context.Context, orgID int64) ([]*triage.Team, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, org_id, slug, name FROM teams WHERE org_id = $1 ORDER BY slug`, orgID)
	return collect(rows, err, "list teams", func(r rowScanner) (*triage.Team, error) {
		var t triage.Team
		return &t, r.Scan(&t.ID, &t.OrgID, &t.Slug, &t.Name)
	})
}

// DeleteTeam deletes a team; its memberships and project ownerships go
// with it, and issues assigned to it become unassigned. ENOTFOUND when
// there is no such team.
func (q *Queries) DeleteTeam(ctx context.Context, teamID int64) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM teams WHERE id = $1`, teamID)
	if err != nil {
		return fmt.Errorf("delete team %d: %w", teamID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "team not found")
	}
	return nil
}

// TeamMembers lists a team's members by email.
func (q *Queries) TeamMembers(ctx context.Context, teamID int64) ([]*triage.User, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+userCols+` FROM users u JOIN team_members tm ON tm.user_id = u.id
		WHERE tm.team_id = $1 ORDER BY u.email`, teamID)
	return collect(rows, err, "list team members", scanUser)
}

// TeamRole returns the user's role on the team; ENOTFOUND when they are
// not on it.
func (q *Queries) TeamRole(ctx context.Context, teamID, userID int64) (triage.TeamRole, error) {
	var role string
	err := q.q.QueryRowContext(ctx, `SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2`, teamID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", triage.Errorf(triage.ENOTFOUND, "not a member of the team")
	} else if err != nil {
		return "", fmt.Errorf("load team role: %w", err)
	}
	return triage.TeamRole(role), nil
}

// TeamAdmins lists the ids of the team's admins.
func (q *Queries) TeamAdmins(ctx context.Context, teamID int64) ([]int64, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT user_id FROM team_members WHERE team_id = $1 AND role = $2 ORDER BY user_id`, teamID, string(triage.TeamRoleAdmin))
	return collect(rows, err, "list team admins", func(r rowScanner) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	})
}

// SetTeamRole changes a team member's role; ENOTFOUND when they are not
// on the team.
func (q *Queries) SetTeamRole(ctx context.Context, teamID, userID int64, role triage.TeamRole) error {
	res, err := q.q.ExecContext(ctx, `UPDATE team_members SET role = $3 WHERE team_id = $1 AND user_id = $2`, teamID, userID, string(role))
	if err != nil {
		return fmt.Errorf("set team role: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "not a member of the team")
	}
	return nil
}

// RemoveTeamMember takes a user off a team; ENOTFOUND when they were not on it.
func (q *Queries) RemoveTeamMember(ctx context.Context, teamID, userID int64) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM team_members WHERE team_id = $1 AND user_id = $2`, teamID, userID)
	if err != nil {
		return fmt.Errorf("remove team member: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "not a member of the team")
	}
	return nil
}

// TeamProjects lists the projects a team owns, by slug.
func (q *Queries) TeamProjects(ctx context.Context, teamID int64) ([]*triage.Project, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+projectCols+` FROM projects p JOIN project_teams pt ON pt.project_id = p.id
		WHERE pt.team_id = $1 AND `+liveProject+` ORDER BY p.slug`, teamID)
	return collect(rows, err, "list team projects", scanProject)
}

// AttachTeam makes a team (of the project's organization) an owner of the
// project; attaching it twice changes nothing.
func (q *Queries) AttachTeam(ctx context.Context, projectID, teamID int64) error {
	if _, err := q.q.ExecContext(ctx,
		`INSERT INTO project_teams (project_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, projectID, teamID); err != nil {
		return fmt.Errorf("attach team: %w", err)
	}
	return nil
}

// DetachTeam ends a team's ownership of a project; ENOTFOUND when it did
// not own it.
func (q *Queries) DetachTeam(ctx context.Context, projectID, teamID int64) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM project_teams WHERE project_id = $1 AND team_id = $2`, projectID, teamID)
	if err != nil {
		return fmt.Errorf("detach team: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "the team does not own the project")
	}
	return nil
}

// RenameProject sets a project's name and slug: EINVALID for a bad slug,
// ECONFLICT for one another project of the organization has.
func (q *Queries) RenameProject(ctx context.Context, projectID int64, slug, name string) error {
	if err := triage.ValidateSlug("project", slug); err != nil {
		return err
	}
	if strings.TrimSpace(name) == "" {
		name = slug
	}
	_, err := q.q.ExecContext(ctx, `UPDATE projects SET slug = $1, name = $2 WHERE id = $3`, slug, strings.TrimSpace(name), projectID)
	if err != nil {
		return translate(err, fmt.Sprintf("project %q", slug))
	}
	return nil
}

const keyCols = `k.id, k.project_id, k.public_key, k.label, k.created_at, k.disabled_at`

func scanKey(r rowScanner) (*triage.ProjectKey, error) {
	var k triage.ProjectKey
	var created int64
	var disabled sql.NullInt64
	if err := r.Scan(&k.ID, &k.ProjectID, &k.PublicKey, &k.Label, &created, &disabled); err != nil {
		return nil, err
	}
	k.CreatedAt = fromMicros(created)
	if disabled.Valid {
		k.DisabledAt = fromMicros(disabled.Int64)
	}
	return &k, nil
}

// ProjectKeys lists a project's DSN keys, oldest first.
func (q *Queries) ProjectKeys(ctx context.Context, projectID int64) ([]*triage.ProjectKey, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+keyCols+` FROM project_keys k WHERE k.project_id = $1 ORDER BY k.id`, projectID)
	return collect(rows, err, "list project keys", scanKey)
}

// ProjectKeyByID returns one key of the project; ENOTFOUND when the project
// has no key with that id.
func (q *Queries) ProjectKeyByID(ctx context.Context, projectID, keyID int64) (*triage.ProjectKey, error) {
	k, err := scanKey(q.q.QueryRowContext(ctx, `SELECT `+keyCols+` FROM project_keys k WHERE k.id = $1 AND k.project_id = $2`, keyID, projectID))
	return k, translate(err, "key")
}

// CreateProjectKey adds an enabled key to the project.
func (q *Queries) CreateProjectKey(ctx context.Context, projectID int64, label string) (*triage.ProjectKey, error) {
	key, err := newPublicKey()
	if err != nil {
		return nil, err
	}
	var id int64
	if err := q.q.QueryRowContext(ctx,
		`INSERT INTO project_keys (project_id, public_key, label, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		projectID, key, strings.TrimSpace(label), micros(q.now())).Scan(&id); err != nil {
		return nil, translate(err, "key")
	}
	return q.ProjectKeyByID(ctx, projectID, id)
}

// SetProjectKeyEnabled enables or disables a key; ENOTFOUND when the
// project has no such key.
func (q *Queries) SetProjectKeyEnabled(ctx context.Context, projectID, keyID int64, enabled bool) error {
	disabled := sql.NullInt64{Int64: micros(q.now()), Valid: !enabled}
	res, err := q.q.ExecContext(ctx, `UPDATE project_keys SET disabled_at = $1 WHERE id = $2 AND project_id = $3`, disabled, keyID, projectID)
	if err != nil {
		return fmt.Errorf("set key state: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "key not found")
	}
	return nil
}

// RotateProjectKey gives a key a new public value: the old DSN stops
// working, the new one works. ENOTFOUND when the project has no such key.
func (q *Queries) RotateProjectKey(ctx context.Context, projectID, keyID int64) (*triage.ProjectKey, error) {
	key, err := newPublicKey()
	if err != nil {
		return nil, err
	}
	res, err := q.q.ExecContext(ctx, `UPDATE project_keys SET public_key = $1 WHERE id = $2 AND project_id = $3`, key, keyID, projectID)
	if err != nil {
		return nil, fmt.Errorf("rotate key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, triage.Errorf(triage.ENOTFOUND, "key not found")
	}
	return q.ProjectKeyByID(ctx, projectID, keyID)
}

// BeginProjectDeletion hides a project at once: it is marked deleted, its
// slug is freed (a new project may take it) and the number of events to
// delete is noted for the progress shown. ENOTFOUND when there is no such
// live project.
func (q *Queries) BeginProjectDeletion(ctx context.Context, projectID int64) error {
	var total int64
	if err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE project_id = $1`, projectID).Scan(&total); err != nil {
		return fmt.Errorf("count the project's events: %w", err)
	}
	// A dot never appears in a slug, so the freed slug collides with none.
	res, err := q.q.ExecContext(ctx, `UPDATE projects SET deleted_at = $1, delete_total = $2, delete_done = 0,
		slug = slug || '.deleted-' || CAST(id AS TEXT) WHERE id = $3 AND deleted_at IS NULL`, micros(q.now()), total, projectID)
	if err != nil {
		return fmt.Errorf("mark project %d deleted: %w", projectID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "project not found")
	}
	return nil
}

// ProjectDeletion is a project being deleted, for the progress shown.
type ProjectDeletion struct {
	ProjectID   int64
	OrgID       int64
	Slug, Name  string // the slug it had
	Total, Done int64  // events
	Since       time.Time
}

// ProjectDeletions lists the organization's projects being deleted.
func (q *Queries) ProjectDeletions(ctx context.Context, orgID int64) ([]*ProjectDeletion, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, org_id, slug, name, delete_total, delete_done, deleted_at FROM projects
		WHERE org_id = $1 AND deleted_at IS NOT NULL ORDER BY deleted_at, id`, orgID)
	return collect(rows, err, "list project deletions", scanDeletion)
}

// ProjectDeletionByID returns a project being deleted; ENOTFOUND when it
// is not (any more).
func (q *Queries) ProjectDeletionByID(ctx context.Context, projectID int64) (*ProjectDeletion, error) {
	d, err := scanDeletion(q.q.QueryRowContext(ctx, `SELECT id, org_id, slug, name, delete_total, delete_done, deleted_at FROM projects
		WHERE id = $1 AND deleted_at IS NOT NULL`, projectID))
	return d, translate(err, "project deletion")
}

func scanDeletion(r rowScanner) (*ProjectDeletion, error) {
	var d ProjectDeletion
	var since int64
	if err := r.Scan(&d.ProjectID, &d.OrgID, &d.Slug, &d.Name, &d.Total, &d.Done, &since); err != nil {
		return nil, err
	}
	d.Slug, _, _ = strings.Cut(d.Slug, ".deleted-")
	d.Since = fromMicros(since)
	return &d, nil
}

// DeleteProjectEvents deletes up to limit events of a project being
// deleted, counts them in its progress, and says how many it deleted.
func (q *Queries) DeleteProjectEvents(ctx context.Context, projectID int64, limit int) (int64, error) {
	res, err := q.q.ExecContext(ctx,
		`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE project_id = $1 ORDER BY id LIMIT $2)`, projectID, limit)
	if err != nil {
		return 0, fmt.Errorf("delete events of project %d: %w", projectID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete events of project %d: %w", projectID, err)
	}
	if _, err := q.q.ExecContext(ctx, `UPDATE projects SET delete_done = delete_done + $1 WHERE id = $2`, n, projectID); err != nil {
		return 0, fmt.Errorf("count deletion progress: %w", err)
	}
	return n, nil
}

// DeleteProjectIssues deletes up to limit issues of a project (with their
// activity, tags and remembered messages) and says how many.
func (q *Queries) DeleteProjectIssues(ctx context.Context, projectID int64, limit int) (int64, error) {
	q.forgetMessages()
	n, err := q.deleteIssuesWhere(ctx, fmt.Sprintf("delete issues of project %d", projectID),
		`id IN (SELECT id FROM issues WHERE project_id = $1 ORDER BY id LIMIT $2)`, projectID, limit)
	return int64(n), err
}

// deleteIssuesWhere deletes the issues that match where (with args) and,
// after their rows, their events and counts (deleteCounted); it says how
// many issues it deleted.
func (q *Queries) deleteIssuesWhere(ctx context.Context, what, where string, args ...any) (int, error) {
	rows, err := q.q.QueryContext(ctx, `DELETE FROM issues WHERE `+where+` RETURNING id`, args...)
	ids, err := collect(rows, err, what, scanID)
	if err != nil {
		return 0, err
	}
	if err := q.deleteCounted(ctx, ids); err != nil {
		return 0, err
	}
	return len(ids), nil
}

// FinishProjectDeletion removes a deleted project's row and whatever still
// hangs off it (on PostgreSQL, issues and events a writer stored after the
// last of them were deleted are deleted here, their counts with them: they
// carry no foreign key, see deleteCounted). It does nothing for a project
// that is not being deleted.
func (q *Queries) FinishProjectDeletion(ctx context.Context, projectID int64) error {
	if q.engine == Postgres {
		if _, err := q.deleteIssuesWhere(ctx, fmt.Sprintf("delete the last issues of project %d", projectID),
			`project_id = $1 AND EXISTS (SELECT 1 FROM projects WHERE id = $1 AND deleted_at IS NOT NULL)`, projectID); err != nil {
			return err
		}
	}
	res, err := q.q.ExecContext(ctx, `DELETE FROM projects WHERE id = $1 AND deleted_at IS NOT NULL`, projectID)
	if err != nil {
		return fmt.Errorf("delete project %d: %w", projectID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 || q.engine != Postgres {
		return err
	}
	if _, err := q.q.ExecContext(ctx, `DELETE FROM events WHERE project_id = $1`, projectID); err != nil {
		return fmt.Errorf("delete the last events of project %d: %w", projectID, err)
	}
	return nil
}

// SetUserName changes a user's display name; ENOTFOUND for no such user.
func (q *Queries) SetUserName(ctx context.Context, userID int64, name string) error {
	res, err := q.q.ExecContext(ctx, `UPDATE users SET name = $1 WHERE id = $2`, strings.TrimSpace(name), userID)
	if err != nil {
		return fmt.Errorf("set name: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "user not found")
	}
	return nil
}

// PasswordHashByID returns a user's stored password hash; ENOTFOUND when
// there is no such user.
func (q *Queries) PasswordHashByID(ctx context.Context, userID int64) (string, error) {
	var hash string
	err := q.q.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1`, userID).Scan(&hash)
	return hash, translate(err, "user")
}

// RevokeUserAPIToken deletes one of the user's tokens; ENOTFOUND when the
// user has no token with that id (someone else's included).
func (q *Queries) RevokeUserAPIToken(ctx context.Context, userID, tokenID int64) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = $1 AND user_id = $2`, tokenID, userID)
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", tokenID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "no token with id %d", tokenID)
	}
	return nil
}
