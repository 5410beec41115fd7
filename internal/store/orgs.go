package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"triage"
)

// CreateOrganization creates an organization and makes ownerID its owner:
// the one place an organization comes to be, with its owner. Inside a Tx
// both happen in that transaction; Store.CreateOrganization runs its own.
// It returns EINVALID for a bad slug, ECONFLICT for a taken one.
func (q *Queries) CreateOrganization(ctx context.Context, slug, name string, ownerID int64) (*triage.Organization, error) {
	if err := triage.ValidateSlug("organization", slug); err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		name = slug
	}
	now := micros(q.now())
	var id int64
	err := q.q.QueryRowContext(ctx,
		`INSERT INTO organizations (slug, name, created_at) VALUES ($1, $2, $3) RETURNING id`,
		slug, strings.TrimSpace(name), now).Scan(&id)
	if err != nil {
		return nil, translate(err, fmt.Sprintf("organization %q", slug))
	}
	if _, err := q.AddMember(ctx, id, ownerID, triage.RoleOwner); err != nil {
		return nil, err
	}
	return q.OrganizationByID(ctx, id)
}

// CreateOrganization creates an organization owned by ownerID in one
// transaction: both or neither. Errors as Queries.CreateOrganization.
func (s *Store) CreateOrganization(ctx context.Context, slug, name string, ownerID int64) (*triage.Organization, error) {
	var org *triage.Organization
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		org, err = tx.CreateOrganization(ctx, slug, name, ownerID)
		return err
	})
	return org, err
}

var (
	_ triage.AccountStore   = (*Store)(nil)
	_ triage.DirectoryStore = (*Store)(nil)
)

// CreateFirstOwner creates the first user, a superuser, and the
// organization they own, in one transaction. Two setups at once: only
// the first creates anything, the other gets ENOTFOUND ("setup is done").
func (s *Store) CreateFirstOwner(ctx context.Context, email, name, passwordHash, orgSlug string) (*triage.User, *triage.Organization, error) {
	var u *triage.User
	var org *triage.Organization
	err := s.InTx(ctx, func(tx *Tx) error {
		if n, err := tx.CountUsers(ctx); err != nil {
			return err
		} else if n > 0 {
			return triage.Errorf(triage.ENOTFOUND, "setup is done")
		}
		var err error
		if u, err = tx.CreateUser(ctx, email, name, passwordHash, true); err != nil {
			return err
		}
		org, err = tx.CreateOrganization(ctx, orgSlug, orgSlug, u.ID)
		return err
	})
	return u, org, err
}

func scanOrg(row rowScanner) (*triage.Organization, error) {
	var o triage.Organization
	var created int64
	if err := row.Scan(&o.ID, &o.Slug, &o.Name, &created); err != nil {
		return nil, err
	}
	o.CreatedAt = fromMicros(created)
	return &o, nil
}

// OrganizationByID returns ENOTFOUND if there is none.
func (q *Queries) OrganizationByID(ctx context.Context, id int64) (*triage.Organization, error) {
	o, err := scanOrg(q.q.QueryRowContext(ctx, `SELECT id, slug, name, created_at FROM organizations WHERE id = $1`, id))
	return o, translate(err, "organization")
}

// OrganizationBySlug returns ENOTFOUND if there is none.
func (q *Queries) OrganizationBySlug(ctx context.Context, slug string) (*triage.Organization, error) {
	o, err := scanOrg(q.q.QueryRowContext(ctx, `SELECT id, slug, name, created_at FROM organizations WHERE slug = $1`, slug))
	return o, translate(err, fmt.Sprintf("organization %q", slug))
}

// OrganizationsForUser lists the organizations the user is a member of, by slug.
func (q *Queries) OrganizationsForUser(ctx context.Context, userID int64) ([]*triage.Organization, error) {
	rows, err := q.q.QueryContext(ctx,
		`SELECT o.id, o.slug, o.name, o.created_at FROM organizations o
		 JOIN members m ON m.org_id = o.id WHERE m.user_id = $1 ORDER BY o.slug`, userID)
	return collect(rows, err, "list organizations", scanOrg)
}

// AddMember adds the user to the organization; ECONFLICT if already a member.
func (q *Queries) AddMember(ctx context.Context, orgID, userID int64, role triage.Role) (*triage.Member, error) {
	if _, err := triage.ParseRole(string(role)); err != nil {
		return nil, err
	}
	var id int64
	err := q.q.QueryRowContext(ctx,
		`INSERT INTO members (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		orgID, userID, string(role), micros(q.now())).Scan(&id)
	if err != nil {
		return nil, translate(err, "membership")
	}
	return q.Member(ctx, orgID, userID)
}

// Member returns the user's membership; ENOTFOUND if not a member.
func (q *Queries) Member(ctx context.Context, orgID, userID int64) (*triage.Member, error) {
	row := q.q.QueryRowContext(ctx,
		`SELECT m.id, m.org_id, m.role, `+userCols+` FROM members m JOIN users u ON u.id = m.user_id
		 WHERE m.org_id = $1 AND m.user_id = $2`, orgID, userID)
	m, err := scanMember(row)
	return m, translate(err, "membership")
}

func scanMember(row rowScanner) (*triage.Member, error) {
	var m triage.Member
	var role string
	var created int64
	if err := row.Scan(&m.ID, &m.OrgID, &role, &m.User.ID, &m.User.Email, &m.User.Name, &m.User.IsSuperuser, &created); err != nil {
		return nil, err
	}
	m.Role = triage.Role(role)
	m.User.CreatedAt = fromMicros(created)
	return &m, nil
}

// Members lists an organization's members by email.
func (q *Queries) Members(ctx context.Context, orgID int64) ([]*triage.Member, error) {
	rows, err := q.q.QueryContext(ctx,
		`SELECT m.id, m.org_id, m.role, `+userCols+` FROM members m JOIN users u ON u.id = m.user_id
		 WHERE m.org_id = $1 ORDER BY u.email`, orgID)
	return collect(rows, err, "list members", scanMember)
}

// RemoveMember removes the user from the organization and its teams. It
// returns ENOTFOUND if not a member and EINVALID for the last owner.
func (q *Queries) RemoveMember(ctx context.Context, orgID, userID int64) error {
	m, err := q.Member(ctx, orgID, userID)
	if err != nil {
		return err
	}
	if m.Role == triage.RoleOwner {
		var owners int64
		if err := q.q.QueryRowContext(ctx,
			`SELECT COUNT(*) FROM members WHERE org_id = $1 AND role = 'owner'`, orgID).Scan(&owners); err != nil {
			return fmt.Errorf("count owners: %w", err)
		}
		if owners <= 1 {
			return triage.Errorf(triage.EINVALID, "%s is the organization's last owner", m.User.Email)
		}
	}
	if _, err := q.q.ExecContext(ctx,
		`DELETE FROM team_members WHERE user_id = $1 AND team_id IN (SELECT id FROM teams WHERE org_id = $2)`,
		userID, orgID); err != nil {
		return fmt.Errorf("remove team memberships: %w", err)
	}
	if _, err := q.q.ExecContext(ctx, `DELETE FROM members WHERE id = $1`, m.ID); err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	return nil
}

// CreateTeam creates a team; ECONFLICT when the slug is taken in the org.
func (q *Queries) CreateTeam(ctx context.Context, orgID int64, slug, name string) (*triage.Team, error) {
	if err := triage.ValidateSlug("team", slug); err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		name = slug
	}
	t := &triage.Team{OrgID: orgID, Slug: slug, Name: strings.TrimSpace(name)}
	err := q.q.QueryRowContext(ctx,
		`INSERT INTO teams (org_id, slug, name) VALUES ($1, $2, $3) RETURNING id`, orgID, slug, t.Name).Scan(&t.ID)
	if err != nil {
		return nil, translate(err, fmt.Sprintf("team %q", slug))
	}
	return t, nil
}

// TeamBySlug returns ENOTFOUND if the organization has no such team.
func (q *Queries) TeamBySlug(ctx context.Context, orgID int64, slug string) (*triage.Team, error) {
	var t triage.Team
	err := q.q.QueryRowContext(ctx, `SELECT id, org_id, slug, name FROM teams WHERE org_id = $1 AND slug = $2`, orgID, slug).
		Scan(&t.ID, &t.OrgID, &t.Slug, &t.Name)
	if err != nil {
		return nil, translate(err, fmt.Sprintf("team %q", slug))
	}
	return &t, nil
}

// TeamByID returns ENOTFOUND if there is none.
func (q *Queries) TeamByID(ctx context.Context, id int64) (*triage.Team, error) {
	var t triage.Team
	err := q.q.QueryRowContext(ctx, `SELECT id, org_id, slug, name FROM teams WHERE id = $1`, id).
		Scan(&t.ID, &t.OrgID, &t.Slug, &t.Name)
	if err != nil {
		return nil, translate(err, "team")
	}
	return &t, nil
}

// AddTeamMember adds an organization member to a team; EINVALID when the
// user is not a member of the team's organization.
func (q *Queries) AddTeamMember(ctx context.Context, teamID, userID int64) error {
	t, err := q.TeamByID(ctx, teamID)
	if err != nil {
		return err
	}
	if _, err := q.Member(ctx, t.OrgID, userID); triage.ErrorCode(err) == triage.ENOTFOUND {
		return triage.Errorf(triage.EINVALID, "user %d is not a member of the team's organization", userID)
	} else if err != nil {
		return err
	}
	_, err = q.q.ExecContext(ctx,
		`INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, teamID, userID)
	if err != nil {
		return fmt.Errorf("add team member: %w", err)
	}
	return nil
}

// TeamsForProject lists the teams that own the project.
func (q *Queries) TeamsForProject(ctx context.Context, projectID int64) ([]*triage.Team, error) {
	st, err := q.prepared(ctx, `SELECT t.id, t.org_id, t.slug, t.name FROM teams t JOIN project_teams pt ON pt.team_id = t.id
		 WHERE pt.project_id = $1 ORDER BY t.slug`)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, projectID)
	if err != nil {
		return nil, fmt.Errorf("list project teams: %w", err)
	}
	defer rows.Close()
	var out []*triage.Team
	for rows.Next() {
		var t triage.Team
		if err := rows.Scan(&t.ID, &t.OrgID, &t.Slug, &t.Name); err != nil {
			return nil, err
		}
		out = append(out, &t)
	}
	return out, rows.Err()
}

// HasProjectAccess reports whether the user may see and act on the project's
// issues: an owner or admin of its organization, or a member of a team that
// owns it.
func (q *Queries) HasProjectAccess(ctx context.Context, userID, projectID int64) (bool, error) {
	var one int
	err := q.q.QueryRowContext(ctx, `
		SELECT 1 FROM projects p JOIN members m ON m.org_id = p.org_id AND m.user_id = $1
		WHERE p.id = $2 AND `+projectAccess("m", "p", "$1"), userID, projectID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("check project access: %w", err)
	}
	return true, nil
}

// UsersWithProjectAccess lists who may be assigned the project's issues.
func (q *Queries) UsersWithProjectAccess(ctx context.Context, projectID int64) ([]*triage.User, error) {
	st, err := q.prepared(ctx, `
		SELECT `+userCols+` FROM users u JOIN members m ON m.user_id = u.id
		JOIN projects p ON p.org_id = m.org_id AND p.id = $1
		WHERE `+projectAccess("m", "p", "u.id")+`
		ORDER BY u.email`)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, projectID)
	return collect(rows, err, "list users with access", scanUser)
}
