package directory

import (
	"context"
	"strings"

	"triage"
	"triage/internal/jobs"
	"triage/internal/store"
)

// ProjectInfo is a project with its owning teams and keys.
type ProjectInfo struct {
	*triage.Project
	Teams []*triage.Team
	Keys  []*triage.ProjectKey
}

// Project returns a project for someone who may see it (an owner or admin,
// or a member of a team that owns it): ENOTFOUND when the organization has
// no such project, EFORBIDDEN for a member without access.
func (s *Service) Project(ctx context.Context, userID int64, orgSlug, projectSlug string) (*Org, *ProjectInfo, error) {
	org, me, p, err := s.access.Project(ctx, userID, orgSlug, projectSlug)
	if err != nil {
		return nil, nil, err
	}
	o := &Org{Org: org, Me: me}
	pi, err := s.projectInfo(ctx, p)
	return o, pi, err
}

func (s *Service) projectInfo(ctx context.Context, p *triage.Project) (*ProjectInfo, error) {
	teams, err := s.store.TeamsForProject(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	keys, err := s.store.ProjectKeys(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return &ProjectInfo{Project: p, Teams: teams, Keys: keys}, nil
}

// adminProject returns a project of the organization for an owner or admin.
func (s *Service) adminProject(ctx context.Context, actorID int64, orgSlug, projectSlug, doing string) (*Org, *triage.Project, error) {
	o, err := s.admin(ctx, actorID, orgSlug, doing)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.store.ProjectBySlug(ctx, o.Org.ID, projectSlug)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, nil, triage.Errorf(triage.ENOTFOUND, "project not found")
	}
	return o, p, err
}

// CreateProject creates a project owned by the team with teamSlug ("" for
// none: only owners and admins see it until a team is given it). EINVALID
// for a bad slug or name or a team the organization does not have,
// ECONFLICT for a taken slug.
func (s *Service) CreateProject(ctx context.Context, actorID int64, orgSlug, slug, name, teamSlug string) (*triage.Project, error) {
	o, err := s.admin(ctx, actorID, orgSlug, "create projects")
	if err != nil {
		return nil, err
	}
	slug = strings.TrimSpace(slug)
	if err := checkSlug("project", slug); err != nil {
		return nil, err
	}
	if name, err = checkName("name", name); err != nil {
		return nil, err
	}
	var teamIDs []int64
	if teamSlug = strings.TrimSpace(teamSlug); teamSlug != "" {
		t, err := s.store.TeamBySlug(ctx, o.Org.ID, teamSlug)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			return nil, invalid("team", "%s has no team %q", o.Org.Name, teamSlug)
		} else if err != nil {
			return nil, err
		}
		teamIDs = append(teamIDs, t.ID)
	}
	var p *triage.Project
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		p, err = tx.CreateProject(ctx, o.Org.ID, slug, name, teamIDs...)
		return err
	})
	if triage.ErrorCode(err) == triage.ECONFLICT {
		return nil, triage.Errorf(triage.ECONFLICT, "slug: %s already has a project %q", o.Org.Name, slug)
	}
	if err == nil {
		s.log.Info("project created", "org", o.Org.Slug, "project", p.Slug, "by", actorID)
	}
	return p, err
}

// RenameProject changes a project's name and slug (its short ids follow
// the slug, as Sentry's do). Errors as CreateProject.
func (s *Service) RenameProject(ctx context.Context, actorID int64, orgSlug, projectSlug, newSlug, name string) (*triage.Project, error) {
	o, p, err := s.adminProject(ctx, actorID, orgSlug, projectSlug, "rename projects")
	if err != nil {
		return nil, err
	}
	newSlug = strings.TrimSpace(newSlug)
	if err := checkSlug("project", newSlug); err != nil {
		return nil, err
	}
	if name, err = checkName("name", name); err != nil {
		return nil, err
	}
	err = s.store.RenameProject(ctx, p.ID, newSlug, name)
	if triage.ErrorCode(err) == triage.ECONFLICT {
		return nil, triage.Errorf(triage.ECONFLICT, "slug: %s already has a project %q", o.Org.Name, newSlug)
	} else if err != nil {
		return nil, err
	}
	return s.store.ProjectByID(ctx, p.ID)
}

// AttachTeam gives the project to a team: its members see the project from
// their next request on. EINVALID for a team the organization does not have.
func (s *Service) AttachTeam(ctx context.Context, actorID int64, orgSlug, projectSlug, teamSlug string) error {
	o, p, err := s.adminProject(ctx, actorID, orgSlug, projectSlug, "change a project's teams")
	if err != nil {
		return err
	}
	t, err := s.store.TeamBySlug(ctx, o.Org.ID, strings.TrimSpace(teamSlug))
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return invalid("team", "%s has no team %q", o.Org.Name, teamSlug)
	} else if err != nil {
		return err
	}
	return s.store.AttachTeam(ctx, p.ID, t.ID)
}

// DetachTeam takes the project from a team; ENOTFOUND when the team does
// not own it.
func (s *Service) DetachTeam(ctx context.Context, actorID int64, orgSlug, projectSlug, teamSlug string) error {
	o, p, err := s.adminProject(ctx, actorID, orgSlug, projectSlug, "change a project's teams")
	if err != nil {
		return err
	}
	t, err := s.team(ctx, o, teamSlug)
	if err != nil {
		return err
	}
	return s.store.DetachTeam(ctx, p.ID, t.ID)
}

// CreateKey adds a DSN key to the project.
func (s *Service) CreateKey(ctx context.Context, actorID int64, orgSlug, projectSlug, label string) (*triage.ProjectKey, error) {
	_, p, err := s.adminProject(ctx, actorID, orgSlug, projectSlug, "manage a project's keys")
	if err != nil {
		return nil, err
	}
	if label, err = checkName("label", label); err != nil {
		return nil, err
	}
	return s.store.CreateProjectKey(ctx, p.ID, label)
}

// SetKeyEnabled enables or disables a key; ingestion refuses a disabled key
// from the next event on. ENOTFOUND when the project has no such key.
func (s *Service) SetKeyEnabled(ctx context.Context, actorID int64, orgSlug, projectSlug string, keyID int64, enabled bool) (*triage.ProjectKey, error) {
	_, p, err := s.adminProject(ctx, actorID, orgSlug, projectSlug, "manage a project's keys")
	if err != nil {
		return nil, err
	}
	if err := s.store.SetProjectKeyEnabled(ctx, p.ID, keyID, enabled); err != nil {
		return nil, err
	}
	s.keys(p.ID)
	return s.store.ProjectKeyByID(ctx, p.ID, keyID)
}

// RotateKey replaces a key's public value: the old DSN is refused from the
// next event on, the new one works. ENOTFOUND when the project has no such key.
func (s *Service) RotateKey(ctx context.Context, actorID int64, orgSlug, projectSlug string, keyID int64) (*triage.ProjectKey, error) {
	_, p, err := s.adminProject(ctx, actorID, orgSlug, projectSlug, "manage a project's keys")
	if err != nil {
		return nil, err
	}
	k, err := s.store.RotateProjectKey(ctx, p.ID, keyID)
	if err != nil {
		return nil, err
	}
	s.keys(p.ID)
	return k, nil
}

// DeleteProject hides the project at once and queues the deletion of its
// events and issues. confirm must be the project's slug (EINVALID naming
// the field "confirm" otherwise).
func (s *Service) DeleteProject(ctx context.Context, actorID int64, orgSlug, projectSlug, confirm string) (*triage.Project, error) {
	o, p, err := s.adminProject(ctx, actorID, orgSlug, projectSlug, "delete projects")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(confirm) != p.Slug {
		return nil, invalid("confirm", "type the project's slug, %s, to delete it", p.Slug)
	}
	if s.jobs == nil {
		return nil, triage.Errorf(triage.ENOTIMPLEMENTED, "This process does not run background jobs, so it cannot delete projects.")
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.BeginProjectDeletion(ctx, p.ID); err != nil {
			return err
		}
		return s.jobs.Insert(ctx, tx, jobs.ProjectDelete{ProjectID: p.ID}, nil)
	})
	if err != nil {
		return nil, err
	}
	s.keys(p.ID)
	s.log.Info("project deletion started", "org", o.Org.Slug, "project_id", p.ID, "by", actorID)
	return p, nil
}

// Deletions lists the organization's projects being deleted, with their
// progress, for an owner or admin (others see none).
func (s *Service) Deletions(ctx context.Context, userID int64, orgSlug string) ([]*store.ProjectDeletion, error) {
	o, err := s.View(ctx, userID, orgSlug)
	if err != nil {
		return nil, err
	}
	if !o.CanAdmin() {
		return nil, nil
	}
	return s.store.ProjectDeletions(ctx, o.Org.ID)
}
