package access

import (
	"context"
	"fmt"

	"triage"
)

// Service answers access questions; it is safe for concurrent use.
type Service struct {
	store triage.AccessStore
}

// New returns the service over st (a *store.Store in Triage).
func New(st triage.AccessStore) *Service { return &Service{store: st} }

// notFound hides whether an organization exists from those outside it.
func notFound(what string) error { return triage.Errorf(triage.ENOTFOUND, "%s not found", what) }

// Org returns the organization with slug and the user's membership in it.
// It returns ENOTFOUND when there is no such organization or the user is
// not a member, the same answer for both.
func (s *Service) Org(ctx context.Context, userID int64, slug string) (*triage.Organization, *triage.Member, error) {
	org, err := s.store.OrganizationBySlug(ctx, slug)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, nil, notFound("organization")
	} else if err != nil {
		return nil, nil, err
	}
	return s.member(ctx, userID, org)
}

// OrgByID is Org for an organization id.
func (s *Service) OrgByID(ctx context.Context, userID, orgID int64) (*triage.Organization, *triage.Member, error) {
	org, err := s.store.OrganizationByID(ctx, orgID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, nil, notFound("organization")
	} else if err != nil {
		return nil, nil, err
	}
	return s.member(ctx, userID, org)
}

func (s *Service) member(ctx context.Context, userID int64, org *triage.Organization) (*triage.Organization, *triage.Member, error) {
	m, err := s.store.Member(ctx, org.ID, userID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, nil, notFound("organization")
	} else if err != nil {
		return nil, nil, fmt.Errorf("load membership: %w", err)
	}
	return org, m, nil
}

// AdminOrg is Org for someone about to change the organization's settings:
// it also returns EFORBIDDEN unless the user is an owner or admin. doing
// ends the refusal: "Only an owner or admin of Acme can <doing>."
func (s *Service) AdminOrg(ctx context.Context, userID int64, slug, doing string) (*triage.Organization, *triage.Member, error) {
	org, m, err := s.Org(ctx, userID, slug)
	if err != nil {
		return nil, nil, err
	}
	if err := RequireAdmin(org, m, doing); err != nil {
		return nil, nil, err
	}
	return org, m, nil
}

// RequireAdmin returns EFORBIDDEN unless m is an owner or admin of org;
// doing completes the message as in AdminOrg.
func RequireAdmin(org *triage.Organization, m *triage.Member, doing string) error {
	if m == nil || m.OrgID != org.ID || !m.Role.CanAdmin() {
		return triage.Errorf(triage.EFORBIDDEN, "Only an owner or admin of %s can %s.", org.Name, doing)
	}
	return nil
}

// RequireTeamAdmin returns EFORBIDDEN unless m may act for team, a team
// of org, as its admin: an owner or admin of the organization, or a
// member whose role on the team is admin. doing completes the refusal:
// "Only an owner or admin of Acme, or an admin of team #backend, can
// <doing>." Sending a team's notifications to a Slack channel takes this.
func (s *Service) RequireTeamAdmin(ctx context.Context, org *triage.Organization, m *triage.Member, team *triage.Team, doing string) error {
	if m == nil || m.OrgID != org.ID || team.OrgID != org.ID {
		return notFound("team")
	}
	if m.Role.CanAdmin() {
		return nil
	}
	role, err := s.store.TeamRole(ctx, team.ID, m.User.ID)
	if err != nil && triage.ErrorCode(err) != triage.ENOTFOUND {
		return fmt.Errorf("load team role: %w", err)
	}
	if role == triage.TeamRoleAdmin {
		return nil
	}
	return triage.Errorf(triage.EFORBIDDEN, "Only an owner or admin of %s, or an admin of team #%s, can %s.", org.Name, team.Slug, doing)
}

// Member returns ENOTFOUND unless userID is a member of org: for when
// the organization is known and only the membership is in question (the
// CLI adding someone to a team).
func (s *Service) Member(ctx context.Context, org *triage.Organization, userID int64) (*triage.Member, error) {
	_, m, err := s.member(ctx, userID, org)
	return m, err
}

// Project returns the organization, the user's membership and the project
// named by the two slugs. It returns ENOTFOUND when the organization or
// the project does not exist or the user is not a member of the
// organization, and EFORBIDDEN when the user is a member who may not see
// the project.
func (s *Service) Project(ctx context.Context, userID int64, orgSlug, projectSlug string) (*triage.Organization, *triage.Member, *triage.Project, error) {
	org, m, err := s.Org(ctx, userID, orgSlug)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, nil, nil, notFound("project")
	} else if err != nil {
		return nil, nil, nil, err
	}
	p, err := s.store.ProjectBySlug(ctx, org.ID, projectSlug)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, nil, nil, notFound("project")
	} else if err != nil {
		return nil, nil, nil, err
	}
	ok, err := s.store.HasProjectAccess(ctx, userID, p.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	if !ok {
		return nil, nil, nil, triage.Errorf(triage.EFORBIDDEN, "you do not have access to project %s", p.Slug)
	}
	return org, m, p, nil
}

// CanSeeProject reports whether the user may see the project and act on
// its issues: an owner or admin of its organization, or a member of a team
// that owns it. An unknown user or project is false.
func (s *Service) CanSeeProject(ctx context.Context, userID, projectID int64) (bool, error) {
	return s.store.HasProjectAccess(ctx, userID, projectID)
}

// VisibleProjects lists the organization's projects the user may see, by
// slug, in one query: the batched CanSeeProject for lists.
func (s *Service) VisibleProjects(ctx context.Context, userID, orgID int64) ([]*triage.Project, error) {
	return s.store.ProjectsForUser(ctx, orgID, userID)
}

// Orgs lists the organizations the user may see (is a member of), by slug.
func (s *Service) Orgs(ctx context.Context, userID int64) ([]*triage.Organization, error) {
	return s.store.OrganizationsForUser(ctx, userID)
}

// VisibleOrgs returns those of orgs the user is a member of, in their
// order: the batched Org for lists (a workspace's organizations).
func (s *Service) VisibleOrgs(ctx context.Context, userID int64, orgs []*triage.Organization) ([]*triage.Organization, error) {
	mine, err := s.Orgs(ctx, userID)
	if err != nil {
		return nil, err
	}
	member := make(map[int64]bool, len(mine))
	for _, o := range mine {
		member[o.ID] = true
	}
	var out []*triage.Organization
	for _, o := range orgs {
		if member[o.ID] {
			out = append(out, o)
		}
	}
	return out, nil
}

// Rule returns the alert rule with id, of a project of org, and its
// project, for a user who may see that project. It returns ENOTFOUND when
// there is no such rule in org (a rule of another organization included)
// and EFORBIDDEN when the user may not see its project. The caller has
// checked the user's membership of org (Org).
func (s *Service) Rule(ctx context.Context, userID int64, org *triage.Organization, id int64) (*triage.AlertRule, *triage.Project, error) {
	r, err := s.store.AlertRuleByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.store.ProjectByID(ctx, r.ProjectID)
	if err != nil {
		return nil, nil, err
	}
	if p.OrgID != org.ID {
		return nil, nil, notFound("alert rule")
	}
	ok, err := s.store.HasProjectAccess(ctx, userID, p.ID)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, triage.Errorf(triage.EFORBIDDEN, "you do not have access to project %s", p.Slug)
	}
	return r, p, nil
}

// Integration returns the organization with slug for a user who may
// change its settings (owner or admin; EFORBIDDEN otherwise, with doing as
// in AdminOrg), and checks that the Slack workspace integrationID is
// attached to it (ENOTFOUND otherwise, as for an unknown organization).
func (s *Service) Integration(ctx context.Context, userID int64, slug string, integrationID int64, doing string) (*triage.Organization, error) {
	org, _, err := s.AdminOrg(ctx, userID, slug, doing)
	if err != nil {
		return nil, err
	}
	attached, err := s.store.IntegrationAttached(ctx, org.ID, integrationID)
	if err != nil {
		return nil, err
	}
	if !attached {
		return nil, triage.Errorf(triage.ENOTFOUND, "Slack workspace not found")
	}
	return org, nil
}

// RequireRoleChange returns EFORBIDDEN unless m may give someone the role
// to in org, in place of from: owners and admins change roles and invite
// (from is "" for someone who is not a member yet), and only an owner
// makes someone an owner or changes an owner's role (an admin cannot
// promote themselves or anyone past the owners, nor demote one).
func RequireRoleChange(org *triage.Organization, m *triage.Member, from, to triage.Role) error {
	doing := "change roles"
	if from == "" {
		doing = "invite people"
	}
	if err := RequireAdmin(org, m, doing); err != nil {
		return err
	}
	if (from == triage.RoleOwner || to == triage.RoleOwner) && m.Role != triage.RoleOwner {
		return triage.Errorf(triage.EFORBIDDEN, "Only an owner of %s can make or unmake owners.", org.Name)
	}
	return nil
}

// RequireRemoval returns EFORBIDDEN unless m may remove a member with
// role from org: owners and admins remove members, only an owner removes
// an owner.
func RequireRemoval(org *triage.Organization, m *triage.Member, role triage.Role) error {
	if err := RequireAdmin(org, m, "remove members"); err != nil {
		return err
	}
	if role == triage.RoleOwner && m.Role != triage.RoleOwner {
		return triage.Errorf(triage.EFORBIDDEN, "Only an owner of %s can remove an owner.", org.Name)
	}
	return nil
}
