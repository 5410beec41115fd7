package directory

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"triage"
	"triage/internal/access"
	"triage/internal/password"
	"triage/internal/store"
)

// Jobs inserts a River job in the caller's transaction (*jobs.Client).
type Jobs interface {
	Insert(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error
}

// Deps is what the service needs; Store and Access are required.
type Deps struct {
	Store  *store.Store
	Access *access.Service
	// Jobs queues project deletions; nil refuses to delete projects
	// (ENOTIMPLEMENTED), as in a process without workers.
	Jobs Jobs
	// KeysChanged is told a project whose keys changed or that is being
	// deleted, so that ingestion in this process forgets its cached keys
	// (the event writer's ForgetKeys); nil does nothing.
	KeysChanged func(projectID int64)
	// HashPassword hashes a new password; nil uses password.Hash.
	HashPassword func(string) (string, error)
	Logger       *slog.Logger
	Now          func() time.Time
}

// Service manages members, teams, projects, keys and accounts.
type Service struct {
	store  *store.Store
	access *access.Service
	jobs   Jobs
	keys   func(int64)
	hash   func(string) (string, error)
	log    *slog.Logger
	now    func() time.Time
}

// New returns the service.
func New(d Deps) *Service {
	s := &Service{store: d.Store, access: d.Access, jobs: d.Jobs, keys: d.KeysChanged, hash: d.HashPassword, log: d.Logger, now: d.Now}
	if s.access == nil {
		s.access = access.New(d.Store)
	}
	if s.keys == nil {
		s.keys = func(int64) {}
	}
	if s.hash == nil {
		s.hash = password.Hash
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// invalid is bad input in one field: the message starts with its name.
func invalid(field, format string, args ...any) error {
	return triage.Errorf(triage.EINVALID, "%s: %s", field, fmt.Sprintf(format, args...))
}

// Field names the field a refusal is about ("" when it is about no one
// field): the text before ": " of an EINVALID or ECONFLICT message.
func Field(err error) string {
	if c := triage.ErrorCode(err); c != triage.EINVALID && c != triage.ECONFLICT {
		return ""
	}
	f, _, ok := strings.Cut(triage.ErrorMessage(err), ": ")
	if !ok || strings.ContainsAny(f, " \"") {
		return ""
	}
	return f
}

// maxName bounds names people type (teams, projects, keys, tokens, users).
const maxName = 100

func checkName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > maxName || !utf8.ValidString(name) || strings.ContainsAny(name, "\r\n\x00") {
		return "", invalid(field, "use at most %d characters on one line", maxName)
	}
	return name, nil
}

func checkSlug(what, slug string) error {
	if err := triage.ValidateSlug(what, slug); err != nil {
		return invalid("slug", "%s", triage.ErrorMessage(err))
	}
	if what == "project" && slug == "new" {
		return invalid("slug", `"new" is taken by the new project page: pick another slug`)
	}
	return nil
}

// Org is an organization as one member sees it.
type Org struct {
	Org *triage.Organization
	Me  *triage.Member
}

// CanAdmin reports whether the viewer may change the organization.
func (o *Org) CanAdmin() bool { return o.Me.Role.CanAdmin() }

// View returns the organization for any of its members; ENOTFOUND for
// anyone else.
func (s *Service) View(ctx context.Context, userID int64, orgSlug string) (*Org, error) {
	org, me, err := s.access.Org(ctx, userID, orgSlug)
	if err != nil {
		return nil, err
	}
	return &Org{Org: org, Me: me}, nil
}

// admin returns the organization for an owner or admin about to change it:
// ENOTFOUND for a stranger, EFORBIDDEN for a member.
func (s *Service) admin(ctx context.Context, userID int64, orgSlug, doing string) (*Org, error) {
	org, me, err := s.access.AdminOrg(ctx, userID, orgSlug, doing)
	if err != nil {
		return nil, err
	}
	return &Org{Org: org, Me: me}, nil
}

// Members lists the organization's members, by email, for any member.
func (s *Service) Members(ctx context.Context, userID int64, orgSlug string) (*Org, []*triage.Member, error) {
	o, err := s.View(ctx, userID, orgSlug)
	if err != nil {
		return nil, nil, err
	}
	ms, err := s.store.Members(ctx, o.Org.ID)
	return o, ms, err
}

// SetRole changes a member's role. Only an owner may make someone an owner
// or change an owner's role; the last owner keeps the role. ENOTFOUND when
// memberID is not a member of the organization, EINVALID for an unknown
// role or the last owner.
func (s *Service) SetRole(ctx context.Context, actorID int64, orgSlug string, memberID int64, role string) (*triage.Member, error) {
	o, err := s.admin(ctx, actorID, orgSlug, "change roles")
	if err != nil {
		return nil, err
	}
	r, err := triage.ParseRole(role)
	if err != nil {
		return nil, invalid("role", "%q is not a role: use member, admin or owner", role)
	}
	var m *triage.Member
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.Member(ctx, o.Org.ID, memberID)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			return triage.Errorf(triage.ENOTFOUND, "member not found")
		} else if err != nil {
			return err
		}
		if err := access.RequireRoleChange(o.Org, o.Me, cur.Role, r); err != nil {
			return err
		}
		m, err = tx.SetMemberRole(ctx, o.Org.ID, memberID, r)
		return err
	})
	if err == nil {
		s.log.Info("member role changed", "org", o.Org.Slug, "user_id", memberID, "role", string(r), "by", actorID)
	}
	return m, err
}

// RemoveMember takes a member out of the organization and its teams and
// ends their browser sessions, in one transaction. Only an owner may
// remove an owner; the last owner cannot be removed (EINVALID); ENOTFOUND
// when memberID is not a member.
func (s *Service) RemoveMember(ctx context.Context, actorID int64, orgSlug string, memberID int64) (*triage.Member, error) {
	o, err := s.admin(ctx, actorID, orgSlug, "remove members")
	if err != nil {
		return nil, err
	}
	var m *triage.Member
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		m, err = tx.Member(ctx, o.Org.ID, memberID)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			return triage.Errorf(triage.ENOTFOUND, "member not found")
		} else if err != nil {
			return err
		}
		if err := access.RequireRemoval(o.Org, o.Me, m.Role); err != nil {
			return err
		}
		if err := tx.RemoveMember(ctx, o.Org.ID, memberID); err != nil {
			if triage.ErrorCode(err) == triage.EINVALID {
				return invalid("member", "%s is the last owner of %s; make someone else an owner first", m.User.Email, o.Org.Name)
			}
			return err
		}
		return tx.DeleteUserSessions(ctx, memberID)
	})
	if err == nil {
		s.log.Info("member removed", "org", o.Org.Slug, "user_id", memberID, "by", actorID)
	}
	return m, err
}

// TeamInfo is a team with its members and projects.
type TeamInfo struct {
	*triage.Team
	Members  []*triage.User
	Projects []*triage.Project
	// Admins are the members whose role on the team is admin.
	Admins map[int64]bool
}

// Teams lists the organization's teams with their members and projects,
// for any member.
func (s *Service) Teams(ctx context.Context, userID int64, orgSlug string) (*Org, []*TeamInfo, error) {
	o, err := s.View(ctx, userID, orgSlug)
	if err != nil {
		return nil, nil, err
	}
	teams, err := s.store.Teams(ctx, o.Org.ID)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*TeamInfo, 0, len(teams))
	for _, t := range teams {
		ti, err := s.teamInfo(ctx, t)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, ti)
	}
	return o, out, nil
}

func (s *Service) teamInfo(ctx context.Context, t *triage.Team) (*TeamInfo, error) {
	ms, err := s.store.TeamMembers(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	ps, err := s.store.TeamProjects(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	admins, err := s.store.TeamAdmins(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	ti := &TeamInfo{Team: t, Members: ms, Projects: ps, Admins: map[int64]bool{}}
	for _, id := range admins {
		ti.Admins[id] = true
	}
	return ti, nil
}

// Team returns one team of the organization for any member; ENOTFOUND
// when the organization has no team with that slug.
func (s *Service) Team(ctx context.Context, userID int64, orgSlug, teamSlug string) (*Org, *TeamInfo, error) {
	o, err := s.View(ctx, userID, orgSlug)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.team(ctx, o, teamSlug)
	if err != nil {
		return nil, nil, err
	}
	ti, err := s.teamInfo(ctx, t)
	return o, ti, err
}

func (s *Service) team(ctx context.Context, o *Org, teamSlug string) (*triage.Team, error) {
	t, err := s.store.TeamBySlug(ctx, o.Org.ID, teamSlug)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, triage.Errorf(triage.ENOTFOUND, "team not found")
	}
	return t, err
}

// CreateTeam creates a team: EINVALID for a bad slug or name, ECONFLICT
// for a slug the organization has.
func (s *Service) CreateTeam(ctx context.Context, actorID int64, orgSlug, slug, name string) (*triage.Team, error) {
	o, err := s.admin(ctx, actorID, orgSlug, "create teams")
	if err != nil {
		return nil, err
	}
	slug = strings.TrimSpace(slug)
	if err := checkSlug("team", slug); err != nil {
		return nil, err
	}
	if name, err = checkName("name", name); err != nil {
		return nil, err
	}
	t, err := s.store.CreateTeam(ctx, o.Org.ID, slug, name)
	if triage.ErrorCode(err) == triage.ECONFLICT {
		return nil, triage.Errorf(triage.ECONFLICT, "slug: %s already has a team %q", o.Org.Name, slug)
	}
	return t, err
}

// DeleteTeam deletes a team; the projects it owned stay, seen by owners,
// admins and their other teams.
func (s *Service) DeleteTeam(ctx context.Context, actorID int64, orgSlug, teamSlug string) error {
	o, err := s.admin(ctx, actorID, orgSlug, "delete teams")
	if err != nil {
		return err
	}
	t, err := s.team(ctx, o, teamSlug)
	if err != nil {
		return err
	}
	return s.store.DeleteTeam(ctx, t.ID)
}

// AddTeamMember puts a member of the organization on a team: ENOTFOUND for
// an unknown team, EINVALID when the user is not a member.
func (s *Service) AddTeamMember(ctx context.Context, actorID int64, orgSlug, teamSlug string, userID int64) error {
	o, err := s.admin(ctx, actorID, orgSlug, "change teams")
	if err != nil {
		return err
	}
	t, err := s.team(ctx, o, teamSlug)
	if err != nil {
		return err
	}
	if _, err := s.access.Member(ctx, o.Org, userID); triage.ErrorCode(err) == triage.ENOTFOUND {
		return invalid("user", "pick a member of %s", o.Org.Name)
	} else if err != nil {
		return err
	}
	return s.store.AddTeamMember(ctx, t.ID, userID)
}

// SetTeamRole makes a team member the team's admin or a contributor
// (owners and admins of the organization): EINVALID for another role,
// ENOTFOUND when the user is not on the team.
func (s *Service) SetTeamRole(ctx context.Context, actorID int64, orgSlug, teamSlug string, userID int64, role string) error {
	o, err := s.admin(ctx, actorID, orgSlug, "change teams")
	if err != nil {
		return err
	}
	r, err := triage.ParseTeamRole(role)
	if err != nil {
		return err
	}
	t, err := s.team(ctx, o, teamSlug)
	if err != nil {
		return err
	}
	if err := s.store.SetTeamRole(ctx, t.ID, userID, r); err != nil {
		return err
	}
	s.log.Info("team role changed", "org", o.Org.Slug, "team", t.Slug, "user_id", userID, "role", string(r), "by", actorID)
	return nil
}

// RemoveTeamMember takes a user off a team; ENOTFOUND when they are not on it.
func (s *Service) RemoveTeamMember(ctx context.Context, actorID int64, orgSlug, teamSlug string, userID int64) error {
	o, err := s.admin(ctx, actorID, orgSlug, "change teams")
	if err != nil {
		return err
	}
	t, err := s.team(ctx, o, teamSlug)
	if err != nil {
		return err
	}
	return s.store.RemoveTeamMember(ctx, t.ID, userID)
}
