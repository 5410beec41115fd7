package access_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"triage"
	"triage/internal/access"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// world is one organization (acme, Name "Acme") with a project (web) owned
// by a team (backend) and a project no team owns (ops), its people in
// every role, an alert rule on web, a Slack workspace attached to it, and
// a second organization (other) with its own project and owner.
type world struct {
	s                                    *store.Store
	acme, other                          *triage.Organization
	web, ops, otherProj                  *triage.Project
	owner, admin, onTeam, offTeam, stray *triage.User
	outsider                             *triage.User // owner of the other organization
	rule                                 *triage.AlertRule
	issue                                *triage.Issue
	workspace, foreignWorkspace          *triage.Integration
}

func setup(t *testing.T, s *store.Store) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{s: s}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	user := func(email string) *triage.User {
		u, err := s.CreateUser(ctx, email, "", "hash", false)
		must(err)
		return u
	}
	w.owner, w.admin, w.onTeam, w.offTeam = user("owner@x.io"), user("admin@x.io"), user("onteam@x.io"), user("offteam@x.io")
	w.stray, w.outsider = user("stray@x.io"), user("outsider@x.io")
	var err error
	w.acme, err = s.CreateOrganization(ctx, "acme", "Acme", w.owner.ID)
	must(err)
	w.other, err = s.CreateOrganization(ctx, "other", "Other", w.outsider.ID)
	must(err)
	for u, role := range map[*triage.User]triage.Role{w.admin: triage.RoleAdmin, w.onTeam: triage.RoleMember, w.offTeam: triage.RoleMember} {
		_, err := s.AddMember(ctx, w.acme.ID, u.ID, role)
		must(err)
	}
	team, err := s.CreateTeam(ctx, w.acme.ID, "backend", "")
	must(err)
	must(s.AddTeamMember(ctx, team.ID, w.onTeam.ID))
	w.web, err = s.CreateProject(ctx, w.acme.ID, "web", "", team.ID)
	must(err)
	w.ops, err = s.CreateProject(ctx, w.acme.ID, "ops", "")
	must(err)
	w.otherProj, err = s.CreateProject(ctx, w.other.ID, "web", "")
	must(err)
	w.workspace, err = s.UpsertIntegration(ctx, &triage.Integration{ExternalID: "T1", Name: "One", InstallType: "v2", AccessTokenEnc: "x"})
	must(err)
	must(s.AttachIntegration(ctx, w.acme.ID, w.workspace.ID))
	w.foreignWorkspace, err = s.UpsertIntegration(ctx, &triage.Integration{ExternalID: "T2", Name: "Two", InstallType: "v2", AccessTokenEnc: "x"})
	must(err)
	must(s.AttachIntegration(ctx, w.other.ID, w.foreignWorkspace.ID))
	w.rule = &triage.AlertRule{ProjectID: w.web.ID, Name: "r", Conditions: `{}`, IntegrationID: w.workspace.ID, ChannelID: "C1", ThrottleMinutes: 30}
	must(s.CreateAlertRule(ctx, w.rule))
	must(s.InTx(ctx, func(tx *store.Tx) error {
		w.issue, err = tx.CreateIssue(ctx, store.NewIssue{ProjectID: w.web.ID, GroupHash: "h", Title: "boom", Level: "error", SeenAt: time.Now()})
		return err
	}))
	return w
}

func slugs(ps []*triage.Project) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Slug)
	}
	return out
}

// TestAccess asks every question of access.Service for each kind of
// person, and checks that the store's SQL filters (the issue list, the
// assignee list, an issue read with its access) give the same answers.
func TestAccess(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := setup(t, s)
		a := access.New(s)
		tests := []struct {
			name string
			user *triage.User
			// want: "" for allowed, else the error code
			org, admin, project, rule, integration string
			sees                                   []string // VisibleProjects(acme)
		}{
			{"owner", w.owner, "", "", "", "", "", []string{"ops", "web"}},
			{"admin", w.admin, "", "", "", "", "", []string{"ops", "web"}},
			{"member on the project's team", w.onTeam, "", triage.EFORBIDDEN, "", "", triage.EFORBIDDEN, []string{"web"}},
			{"member on no team", w.offTeam, "", triage.EFORBIDDEN, triage.EFORBIDDEN, triage.EFORBIDDEN, triage.EFORBIDDEN, []string{}},
			{"user outside every organization", w.stray, triage.ENOTFOUND, triage.ENOTFOUND, triage.ENOTFOUND, triage.ENOTFOUND, triage.ENOTFOUND, []string{}},
			{"owner of another organization", w.outsider, triage.ENOTFOUND, triage.ENOTFOUND, triage.ENOTFOUND, triage.ENOTFOUND, triage.ENOTFOUND, []string{}},
		}
		assignable, err := s.UsersWithProjectAccess(ctx, w.web.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := tt.user.ID
				check := func(what string, err error, want string) {
					t.Helper()
					if got := triage.ErrorCode(err); got != want {
						t.Errorf("%s: error code %q (%v), want %q", what, got, err, want)
					}
				}
				org, m, err := a.Org(ctx, id, "acme")
				check("Org", err, tt.org)
				if err == nil && (org.ID != w.acme.ID || m.User.ID != id) {
					t.Errorf("Org = %v, %v", org, m)
				}
				_, _, err = a.OrgByID(ctx, id, w.acme.ID)
				check("OrgByID", err, tt.org)
				_, _, err = a.AdminOrg(ctx, id, "acme", "change alert rules")
				check("AdminOrg", err, tt.admin)
				if tt.admin == triage.EFORBIDDEN && triage.ErrorMessage(err) != "Only an owner or admin of Acme can change alert rules." {
					t.Errorf("AdminOrg refusal says %q", triage.ErrorMessage(err))
				}
				_, _, p, err := a.Project(ctx, id, "acme", "web")
				check("Project", err, tt.project)
				if err == nil && p.ID != w.web.ID {
					t.Errorf("Project = %v", p)
				}
				if org != nil {
					_, _, err = a.Rule(ctx, id, org, w.rule.ID)
					check("Rule", err, tt.rule)
				}
				_, err = a.Integration(ctx, id, "acme", w.workspace.ID, "pick channels")
				check("Integration", err, tt.integration)

				sees, err := a.VisibleProjects(ctx, id, w.acme.ID)
				if err != nil || !slices.Equal(slugs(sees), tt.sees) {
					t.Errorf("VisibleProjects = %v, %v; want %v", slugs(sees), err, tt.sees)
				}
				// The single question and the SQL filters agree with the list.
				for _, pr := range []*triage.Project{w.web, w.ops, w.otherProj} {
					want := pr.OrgID == w.acme.ID && slices.Contains(tt.sees, pr.Slug)
					if pr.OrgID == w.other.ID {
						want = tt.user == w.outsider
					}
					if ok, err := a.CanSeeProject(ctx, id, pr.ID); err != nil || ok != want {
						t.Errorf("CanSeeProject(org %d/%s) = %v, %v; want %v", pr.OrgID, pr.Slug, ok, err, want)
					}
				}
				seesWeb := slices.Contains(tt.sees, "web")
				if got := slices.ContainsFunc(assignable, func(u *triage.User) bool { return u.ID == id }); got != seesWeb {
					t.Errorf("UsersWithProjectAccess lists them: %v, want %v", got, seesWeb)
				}
				list, err := s.Issues(ctx, triage.IssueFilter{OrgID: w.acme.ID, UserID: id})
				if err != nil || (len(list) == 1) != seesWeb {
					t.Errorf("Issues filtered by user: %d issues, %v; want the issue listed: %v", len(list), err, seesWeb)
				}
				_, acc, err := s.IssueForUser(ctx, w.issue.ID, id, false)
				if err != nil || acc.Project != seesWeb || acc.Member != (tt.org == "") {
					t.Errorf("IssueForUser access = %+v, %v; want project %v, member %v", acc, err, seesWeb, tt.org == "")
				}
			})
		}
		t.Run("unknown things", func(t *testing.T) {
			if _, _, err := a.Org(ctx, w.owner.ID, "nope"); triage.ErrorCode(err) != triage.ENOTFOUND {
				t.Errorf("unknown organization: %v", err)
			}
			if _, _, _, err := a.Project(ctx, w.owner.ID, "acme", "nope"); triage.ErrorCode(err) != triage.ENOTFOUND {
				t.Errorf("unknown project: %v", err)
			}
			if _, _, err := a.Rule(ctx, w.owner.ID, w.acme, w.rule.ID+100); triage.ErrorCode(err) != triage.ENOTFOUND {
				t.Errorf("unknown rule: %v", err)
			}
			// A workspace of another organization is not found, even for an owner.
			if _, err := a.Integration(ctx, w.owner.ID, "acme", w.foreignWorkspace.ID, "pick channels"); triage.ErrorCode(err) != triage.ENOTFOUND {
				t.Errorf("another organization's workspace: %v", err)
			}
			// A rule of another organization is not found through acme.
			foreign := &triage.AlertRule{ProjectID: w.otherProj.ID, Name: "f", Conditions: `{}`, IntegrationID: w.foreignWorkspace.ID, ChannelID: "C2", ThrottleMinutes: 30}
			if err := s.CreateAlertRule(ctx, foreign); err != nil {
				t.Fatal(err)
			}
			if _, _, err := a.Rule(ctx, w.owner.ID, w.acme, foreign.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
				t.Errorf("another organization's rule: %v", err)
			}
		})
		t.Run("VisibleOrgs", func(t *testing.T) {
			orgs := []*triage.Organization{w.acme, w.other}
			for u, want := range map[*triage.User][]int64{w.offTeam: {w.acme.ID}, w.outsider: {w.other.ID}, w.stray: nil} {
				all, err := a.Orgs(ctx, u.ID)
				if err != nil || len(all) != len(want) {
					t.Errorf("Orgs(%s) = %d organizations, %v; want %d", u.Email, len(all), err, len(want))
				}
				got, err := a.VisibleOrgs(ctx, u.ID, orgs)
				var ids []int64
				for _, o := range got {
					ids = append(ids, o.ID)
				}
				if err != nil || !slices.Equal(ids, want) {
					t.Errorf("VisibleOrgs(%s) = %v, %v; want %v", u.Email, ids, err, want)
				}
			}
		})
	})
}

func TestRequireAdmin(t *testing.T) {
	t.Parallel()
	org := &triage.Organization{ID: 1, Name: "Acme"}
	for _, tt := range []struct {
		m    *triage.Member
		want string
	}{
		{&triage.Member{OrgID: 1, Role: triage.RoleOwner}, ""},
		{&triage.Member{OrgID: 1, Role: triage.RoleAdmin}, ""},
		{&triage.Member{OrgID: 1, Role: triage.RoleMember}, triage.EFORBIDDEN},
		{&triage.Member{OrgID: 2, Role: triage.RoleOwner}, triage.EFORBIDDEN}, // an owner elsewhere
		{nil, triage.EFORBIDDEN},
	} {
		if got := triage.ErrorCode(access.RequireAdmin(org, tt.m, "do it")); got != tt.want {
			t.Errorf("RequireAdmin(%+v) = %q, want %q", tt.m, got, tt.want)
		}
	}
}

// TestRequireTeamAdmin: who may send a team's notifications to a Slack
// channel: the organization's owners and admins, and the team's admins;
// not a contributor on the team nor a member off it; a team of another
// organization is not found.
func TestRequireTeamAdmin(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		w := setup(t, s)
		ctx := context.Background()
		acc := access.New(s)
		team, err := s.TeamBySlug(ctx, w.acme.ID, "backend")
		if err != nil {
			t.Fatal(err)
		}
		check := func(u *triage.User, want string) {
			t.Helper()
			_, m, err := acc.OrgByID(ctx, u.ID, w.acme.ID)
			if err != nil {
				t.Fatal(err)
			}
			err = acc.RequireTeamAdmin(ctx, w.acme, m, team, "link it")
			if got := triage.ErrorCode(err); got != want {
				t.Errorf("%s: %v, want %q", u.Email, err, want)
			}
		}
		check(w.owner, "")
		check(w.admin, "")
		check(w.onTeam, triage.EFORBIDDEN)
		check(w.offTeam, triage.EFORBIDDEN)
		if err := s.SetTeamRole(ctx, team.ID, w.onTeam.ID, triage.TeamRoleAdmin); err != nil {
			t.Fatal(err)
		}
		check(w.onTeam, "")
		check(w.offTeam, triage.EFORBIDDEN)
		if err := s.SetTeamRole(ctx, team.ID, w.offTeam.ID, triage.TeamRoleAdmin); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("role for someone off the team: %v, want ENOTFOUND", err)
		}
		// A team of another organization, asked with an acme membership.
		otherTeam, err := s.CreateTeam(ctx, w.other.ID, "backend", "")
		if err != nil {
			t.Fatal(err)
		}
		_, m, _ := acc.OrgByID(ctx, w.owner.ID, w.acme.ID)
		if err := acc.RequireTeamAdmin(ctx, w.acme, m, otherTeam, "link it"); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("another organization's team: %v, want ENOTFOUND", err)
		}
	})
}
