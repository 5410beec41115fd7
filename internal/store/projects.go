package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"triage"
)

// projectCols reads a project with its first enabled DSN key (the one a
// DSN is shown with when a single one is wanted); "" when every key is
// disabled.
const projectCols = `p.id, p.org_id, p.slug, p.name,
	COALESCE((SELECT k.public_key FROM project_keys k WHERE k.project_id = p.id AND k.disabled_at IS NULL ORDER BY k.id LIMIT 1), ''),
	p.created_at`

// liveProject is the condition that hides a project being deleted from
// every lookup and list.
const liveProject = `p.deleted_at IS NULL`

func scanProject(row rowScanner) (*triage.Project, error) {
	var p triage.Project
	var created int64
	if err := row.Scan(&p.ID, &p.OrgID, &p.Slug, &p.Name, &p.PublicKey, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = fromMicros(created)
	return &p, nil
}

// CreateProject creates a project with a fresh DSN key, owned by the given
// teams of the same organization.
func (q *Queries) CreateProject(ctx context.Context, orgID int64, slug, name string, teamIDs ...int64) (*triage.Project, error) {
	if err := triage.ValidateSlug("project", slug); err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		name = slug
	}
	key, err := newPublicKey()
	if err != nil {
		return nil, err
	}
	var id int64
	err = q.q.QueryRowContext(ctx,
		`INSERT INTO projects (org_id, slug, name, public_key, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		orgID, slug, strings.TrimSpace(name), key, micros(q.now())).Scan(&id)
	if err != nil {
		return nil, translate(err, fmt.Sprintf("project %q", slug))
	}
	if _, err := q.q.ExecContext(ctx,
		`INSERT INTO project_keys (project_id, public_key, label, created_at) VALUES ($1, $2, 'Default', $3)`,
		id, key, micros(q.now())); err != nil {
		return nil, fmt.Errorf("store the project's first key: %w", err)
	}
	for _, tid := range teamIDs {
		t, err := q.TeamByID(ctx, tid)
		if err != nil {
			return nil, err
		}
		if t.OrgID != orgID {
			return nil, triage.Errorf(triage.EINVALID, "team %q belongs to another organization", t.Slug)
		}
		if _, err := q.q.ExecContext(ctx,
			`INSERT INTO project_teams (project_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, tid); err != nil {
			return nil, fmt.Errorf("attach team to project: %w", err)
		}
	}
	return q.ProjectByID(ctx, id)
}

// newPublicKey is a fresh DSN key: 32 hex digits, as Sentry's.
func newPublicKey() (string, error) {
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate project key: %w", err)
	}
	return hex.EncodeToString(key), nil
}

// ProjectByID returns ENOTFOUND if there is none (or it is being deleted).
func (q *Queries) ProjectByID(ctx context.Context, id int64) (*triage.Project, error) {
	p, err := scanProject(q.q.QueryRowContext(ctx, `SELECT `+projectCols+` FROM projects p WHERE p.id = $1 AND `+liveProject, id))
	return p, translate(err, "project")
}

// ProjectBySlug returns ENOTFOUND if the organization has no such project.
func (q *Queries) ProjectBySlug(ctx context.Context, orgID int64, slug string) (*triage.Project, error) {
	p, err := scanProject(q.q.QueryRowContext(ctx,
		`SELECT `+projectCols+` FROM projects p WHERE p.org_id = $1 AND p.slug = $2 AND `+liveProject, orgID, slug))
	return p, translate(err, fmt.Sprintf("project %q", slug))
}

// Projects lists an organization's projects by slug.
func (q *Queries) Projects(ctx context.Context, orgID int64) ([]*triage.Project, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+projectCols+` FROM projects p WHERE p.org_id = $1 AND `+liveProject+` ORDER BY p.slug`, orgID)
	return collect(rows, err, "list projects", scanProject)
}

// RecordRelease notes a release version for the project (idempotent).
func (q *Queries) RecordRelease(ctx context.Context, projectID int64, version string) error {
	if version == "" {
		return nil
	}
	st, err := q.prepared(ctx, `INSERT INTO releases (project_id, version, first_seen) VALUES ($1, $2, $3) ON CONFLICT (project_id, version) DO NOTHING`)
	if err != nil {
		return err
	}
	if _, err := st.ExecContext(ctx, projectID, version, micros(q.now())); err != nil {
		return fmt.Errorf("record release: %w", err)
	}
	return nil
}

// CurrentRelease is the release first seen most recently; ENOTFOUND when the
// project has none.
func (q *Queries) CurrentRelease(ctx context.Context, projectID int64) (string, error) {
	var v string
	err := q.q.QueryRowContext(ctx,
		`SELECT version FROM releases WHERE project_id = $1 ORDER BY first_seen DESC, id DESC LIMIT 1`, projectID).Scan(&v)
	if err != nil {
		return "", translate(err, "release")
	}
	return v, nil
}

// ReleaseFirstSeen returns when a release was first seen (microseconds);
// ENOTFOUND when it never was.
func (q *Queries) ReleaseFirstSeen(ctx context.Context, projectID int64, version string) (int64, error) {
	var at int64
	err := q.q.QueryRowContext(ctx,
		`SELECT first_seen FROM releases WHERE project_id = $1 AND version = $2`, projectID, version).Scan(&at)
	return at, translate(err, "release")
}
