package issues_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"triage"
	"triage/internal/access"
	"triage/internal/issues"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

type bundle struct {
	s                              *store.Store
	svc                            *issues.Service
	org                            *triage.Organization
	owner, dev, stranger, outsider *triage.User
	team, otherTeam                *triage.Team
	project                        *triage.Project
	issue                          *triage.Issue
}

// setup builds an organization "acme" with an owner, a developer on the
// team owning project "web", a member with no team (stranger), and a user of
// another organization (outsider), plus one issue.
func setup(t *testing.T, s *store.Store) *bundle {
	t.Helper()
	ctx := context.Background()
	b := &bundle{s: s, svc: issues.New(s, nil)}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	b.owner, err = s.CreateUser(ctx, "owner@acme.test", "Olive", "h", false)
	must(err)
	b.dev, err = s.CreateUser(ctx, "dev@acme.test", "Dev", "h", false)
	must(err)
	b.stranger, err = s.CreateUser(ctx, "stranger@acme.test", "", "h", false)
	must(err)
	b.outsider, err = s.CreateUser(ctx, "out@other.test", "", "h", false)
	must(err)
	b.org, err = s.CreateOrganization(ctx, "acme", "Acme", b.owner.ID)
	must(err)
	_, err = s.CreateOrganization(ctx, "other", "Other", b.outsider.ID)
	must(err)
	_, err = s.AddMember(ctx, b.org.ID, b.dev.ID, triage.RoleMember)
	must(err)
	_, err = s.AddMember(ctx, b.org.ID, b.stranger.ID, triage.RoleMember)
	must(err)
	b.team, err = s.CreateTeam(ctx, b.org.ID, "backend", "")
	must(err)
	b.otherTeam, err = s.CreateTeam(ctx, b.org.ID, "frontend", "")
	must(err)
	must(s.AddTeamMember(ctx, b.team.ID, b.dev.ID))
	b.project, err = s.CreateProject(ctx, b.org.ID, "web", "", b.team.ID)
	must(err)
	must(s.InTx(ctx, func(tx *store.Tx) error {
		b.issue, err = tx.CreateIssue(ctx, store.NewIssue{ProjectID: b.project.ID, GroupHash: "h1", Title: "ZeroDivisionError", Level: "error", SeenAt: time.Now()})
		return err
	}))
	return b
}

func status(st triage.Status) issues.Update {
	return issues.Update{Status: &issues.StatusChange{Status: st}}
}

func assign(a *triage.Assignee) issues.Update {
	return issues.Update{Assign: &issues.AssignChange{Assignee: a}}
}

func TestPermissions(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		api := func(u *triage.User) triage.Actor { return triage.Actor{UserID: u.ID, Source: triage.SourceAPI} }
		if _, err := b.svc.Update(ctx, api(b.outsider), b.issue.ID, status(triage.StatusResolved)); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("outsider: got %v, want ENOTFOUND", err)
		}
		if _, err := b.svc.Update(ctx, api(b.stranger), b.issue.ID, status(triage.StatusResolved)); triage.ErrorCode(err) != triage.EFORBIDDEN {
			t.Errorf("member without project access: got %v, want EFORBIDDEN", err)
		}
		if _, err := b.svc.Get(ctx, b.outsider.ID, b.issue.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("outsider get: got %v, want ENOTFOUND", err)
		}
		if _, err := b.svc.Update(ctx, api(b.dev), 999999, status(triage.StatusResolved)); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("missing issue: got %v, want ENOTFOUND", err)
		}
		got, _ := s.IssueByID(ctx, b.issue.ID)
		if got.Status != triage.StatusUnresolved {
			t.Fatalf("refused changes changed the issue: %s", got.Status)
		}
		if _, err := b.svc.Update(ctx, api(b.dev), b.issue.ID, status(triage.StatusResolved)); err != nil {
			t.Errorf("team member: %v", err)
		}
		if _, err := b.svc.Update(ctx, api(b.owner), b.issue.ID, status(triage.StatusUnresolved)); err != nil {
			t.Errorf("owner without team: %v", err)
		}
	})
}

func TestStatusTransitionsWriteOneActivityEach(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		actor := triage.Actor{UserID: b.dev.ID, Source: triage.SourceSlack, SlackUserID: "U1"}
		steps := []struct {
			u       issues.Update
			want    triage.Status
			changed bool
		}{
			{status(triage.StatusResolved), triage.StatusResolved, true},
			{status(triage.StatusResolved), triage.StatusResolved, false},
			{status(triage.StatusUnresolved), triage.StatusUnresolved, true},
			{issues.Update{Status: &issues.StatusChange{Status: triage.StatusIgnored, IgnoreMinutes: 30}}, triage.StatusIgnored, true},
			{issues.Update{Status: &issues.StatusChange{Status: triage.StatusIgnored, IgnoreMinutes: 30}}, triage.StatusIgnored, false},
			{issues.Update{Status: &issues.StatusChange{Status: triage.StatusIgnored, IgnoreCount: 100}}, triage.StatusIgnored, true},
			{issues.Update{Status: &issues.StatusChange{Status: triage.StatusIgnored}}, triage.StatusIgnored, true},
			{issues.Update{Status: &issues.StatusChange{Status: triage.StatusIgnored}}, triage.StatusIgnored, false},
			{status(triage.StatusUnresolved), triage.StatusUnresolved, true},
		}
		wantActivities := 0
		for i, st := range steps {
			res, err := b.svc.Update(ctx, actor, b.issue.ID, st.u)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if res.Issue.Status != st.want || (len(res.Activities) == 1) != st.changed {
				t.Errorf("step %d: status %s with %d activities; want %s, changed=%v", i, res.Issue.Status, len(res.Activities), st.want, st.changed)
			}
			if st.changed {
				wantActivities++
			}
		}
		acts, err := s.Activities(ctx, b.issue.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(acts) != wantActivities {
			t.Fatalf("%d activities, want %d", len(acts), wantActivities)
		}
		if acts[0].Type != triage.ActivitySetUnresolved || acts[0].Source != triage.SourceSlack || acts[0].User == nil || acts[0].User.Email != "dev@acme.test" {
			t.Errorf("newest activity = %+v (user %+v)", acts[0], acts[0].User)
		}
		if acts[0].Data["slackUser"] != "U1" {
			t.Errorf("activity data = %v, want the Slack user", acts[0].Data)
		}
	})
}

func TestResolveInRelease(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		actor := triage.Actor{UserID: b.dev.ID, Source: triage.SourceWeb}
		for _, c := range []issues.StatusChange{{Status: triage.StatusResolved, InNextRelease: true}, {Status: triage.StatusResolved, InCurrentRelease: true}} {
			_, err := b.svc.Update(ctx, actor, b.issue.ID, issues.Update{Status: &c})
			if triage.ErrorCode(err) != triage.EINVALID {
				t.Errorf("%+v without releases: got %v, want EINVALID", c, err)
			}
		}
		if err := s.RecordRelease(ctx, b.project.ID, "1.0.0"); err != nil {
			t.Fatal(err)
		}
		res, err := b.svc.Update(ctx, actor, b.issue.ID, issues.Update{Status: &issues.StatusChange{Status: triage.StatusResolved, InCurrentRelease: true}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Issue.StatusDetails.InRelease != "1.0.0" || res.Activities[0].Type != triage.ActivitySetResolvedInRel {
			t.Errorf("details %+v, activity %s", res.Issue.StatusDetails, res.Activities[0].Type)
		}
		res, err = b.svc.Update(ctx, actor, b.issue.ID, issues.Update{Status: &issues.StatusChange{Status: triage.StatusResolved, InNextRelease: true}})
		if err != nil || !res.Issue.StatusDetails.InNextRelease || len(res.Activities) != 1 {
			t.Errorf("next release: %+v, %v", res, err)
		}
	})
}

func TestAssignment(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		actor := triage.Actor{UserID: b.owner.ID, Source: triage.SourceAPI}
		refused := []*triage.Assignee{
			{Type: "user", ID: b.stranger.ID},  // member without access
			{Type: "user", ID: b.outsider.ID},  // not a member
			{Type: "user", ID: 424242},         // no such user
			{Type: "team", ID: b.otherTeam.ID}, // does not own the project
			{Type: "team", ID: 424242},
		}
		for _, a := range refused {
			_, err := b.svc.Update(ctx, actor, b.issue.ID, assign(a))
			if triage.ErrorCode(err) != triage.EINVALID || triage.ErrorMessage(err) == "" {
				t.Errorf("assign %v: got %v, want EINVALID with a reason", a, err)
			}
		}
		res, err := b.svc.Update(ctx, actor, b.issue.ID, assign(&triage.Assignee{Type: "user", ID: b.dev.ID}))
		if err != nil {
			t.Fatal(err)
		}
		if a := res.Issue.Assignee; a == nil || a.ID != b.dev.ID || a.Name != "Dev" || len(res.Activities) != 1 {
			t.Fatalf("assignee = %+v, %d activities", a, len(res.Activities))
		}
		res, _ = b.svc.Update(ctx, actor, b.issue.ID, assign(&triage.Assignee{Type: "user", ID: b.dev.ID}))
		if len(res.Activities) != 0 {
			t.Error("assigning the same user again wrote activity")
		}
		res, err = b.svc.Update(ctx, actor, b.issue.ID, assign(&triage.Assignee{Type: "team", ID: b.team.ID}))
		if err != nil || res.Issue.Assignee.Type != "team" || res.Issue.Assignee.Name != "backend" {
			t.Fatalf("team assign: %+v, %v", res, err)
		}
		res, err = b.svc.Update(ctx, actor, b.issue.ID, assign(nil))
		if err != nil || res.Issue.Assignee != nil || res.Activities[0].Type != triage.ActivityUnassigned {
			t.Fatalf("unassign: %+v, %v", res, err)
		}
		acts, _ := s.Activities(ctx, b.issue.ID, 100)
		if len(acts) != 3 {
			t.Errorf("%d activities, want 3 (assign user, assign team, unassign)", len(acts))
		}
	})
}

// TestConcurrentChanges: 50 changes at once to one issue leave exactly one
// activity per effective change and a consistent final state.
func TestConcurrentChanges(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		actor := triage.Actor{UserID: b.dev.ID, Source: triage.SourceAPI}
		var wg sync.WaitGroup
		var mu sync.Mutex
		effective := 0
		for i := 0; i < 50; i++ {
			st := triage.StatusResolved
			if i%2 == 1 {
				st = triage.StatusUnresolved
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := b.svc.Update(ctx, actor, b.issue.ID, status(st))
				if err != nil {
					t.Errorf("update: %v", err)
					return
				}
				mu.Lock()
				effective += len(res.Activities)
				mu.Unlock()
			}()
		}
		wg.Wait()
		acts, err := s.Activities(ctx, b.issue.ID, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(acts) != effective || effective == 0 {
			t.Fatalf("%d activities for %d effective changes", len(acts), effective)
		}
		// Effective changes alternate: no two consecutive entries are the same.
		for i := 1; i < len(acts); i++ {
			if acts[i].Type == acts[i-1].Type {
				t.Fatalf("two consecutive %s entries: a change was applied twice", acts[i].Type)
			}
		}
		final, _ := s.IssueByID(ctx, b.issue.ID)
		wantFinal := triage.StatusResolved
		if acts[0].Type == triage.ActivitySetUnresolved {
			wantFinal = triage.StatusUnresolved
		}
		if final.Status != wantFinal {
			t.Errorf("final status %s disagrees with the newest activity %s", final.Status, acts[0].Type)
		}
	})
}

// TestAssigneesAreWhoAccessAllows: the people an issue may be assigned to
// are exactly those internal/access lets see its project (an owner or admin
// of the organization, a member of a team that owns it), not a rule of the
// issue service's own.
func TestAssigneesAreWhoAccessAllows(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		admin, err := s.CreateUser(ctx, "admin@acme.test", "Ada", "h", false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddMember(ctx, b.org.ID, admin.ID, triage.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		rule := access.New(s)
		actor := triage.Actor{UserID: b.owner.ID, Source: triage.SourceWeb}
		for _, c := range []struct {
			who     string
			u       *triage.User
			allowed bool
		}{
			{"owner, on no team", b.owner, true},
			{"admin, on no team", admin, true},
			{"member of the owning team", b.dev, true},
			{"member on no owning team", b.stranger, false},
			{"member of another organization", b.outsider, false},
		} {
			sees, err := rule.CanSeeProject(ctx, c.u.ID, b.project.ID)
			if err != nil {
				t.Fatal(err)
			}
			if sees != c.allowed {
				t.Fatalf("%s: access says %v, want %v", c.who, sees, c.allowed)
			}
			res, err := b.svc.Update(ctx, actor, b.issue.ID, assign(&triage.Assignee{Type: "user", ID: c.u.ID}))
			switch {
			case c.allowed && err != nil:
				t.Errorf("%s: assigning refused: %v", c.who, err)
			case c.allowed && (res.Issue.Assignee == nil || res.Issue.Assignee.ID != c.u.ID):
				t.Errorf("%s: assignee is %+v after assigning", c.who, res.Issue.Assignee)
			case !c.allowed && triage.ErrorCode(err) != triage.EINVALID:
				t.Errorf("%s: got %v, want EINVALID", c.who, err)
			case !c.allowed && !strings.Contains(triage.ErrorMessage(err), c.u.Email):
				t.Errorf("%s: the refusal %q does not name %s", c.who, triage.ErrorMessage(err), c.u.Email)
			}
		}
	})
}
