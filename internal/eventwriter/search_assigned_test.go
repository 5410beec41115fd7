package eventwriter_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"triage"
	"triage/internal/search"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestSearchAssigned: assigned: by person, by the searcher's teams, by a
// team named, to no one, and lists of these, on both engines. The owner
// is on team backend; bea (an admin, so she sees every project) is on
// frontend; checkout is assigned to backend, query to frontend, assign
// to the owner, render to no one.
func TestSearchAssigned(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := &sender{bundle: setup(t, s)}
		world := searchWorld(t, b)
		bea, err := s.CreateUser(ctx, "bea@acme.test", "Bea", "h", false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddMember(ctx, b.project.OrgID, bea.ID, triage.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		team := func(slug string, member int64) *triage.Team {
			tm, err := s.CreateTeam(ctx, b.project.OrgID, slug, slug)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.AddTeamMember(ctx, tm.ID, member); err != nil {
				t.Fatal(err)
			}
			return tm
		}
		backend, frontend := team("backend", b.owner.ID), team("frontend", bea.ID)
		// A team of another organization with the same slug changes nothing.
		other, err := s.CreateOrganization(ctx, "other", "", bea.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateTeam(ctx, other.ID, "web", "web"); err != nil {
			t.Fatal(err)
		}
		for fn, a := range map[string]*triage.Assignee{"checkout": {Type: "team", ID: backend.ID}, "query": {Type: "team", ID: frontend.ID}} {
			if err := s.SetIssueAssignee(ctx, world[fn].ID, a); err != nil {
				t.Fatal(err)
			}
		}
		owner, beaID := b.owner.ID, bea.ID
		tests := []struct {
			user  int64
			query string
			want  []string
		}{
			{owner, "assigned:me is:all", []string{"assign"}},
			{beaID, "assigned:me is:all", nil},
			{owner, "assigned:my_teams is:all", []string{"checkout"}},
			{beaID, "assigned:my_teams is:all", []string{"query"}},
			{owner, "!assigned:my_teams is:all", []string{"query", "render", "assign"}},
			{owner, "assigned:#frontend is:all", []string{"query"}},
			{owner, "assigned:#web is:all", nil},
			{owner, "!assigned:#backend is:all", []string{"query", "render", "assign"}},
			{owner, "assigned:none is:all", []string{"render"}},
			{owner, "!assigned:none is:all", []string{"checkout", "query", "assign"}},
			{owner, "assigned:[me,my_teams] is:all", []string{"checkout", "assign"}},
			{beaID, "assigned:[me,my_teams] is:all", []string{"query"}},
			{beaID, "assigned:[#backend,o@acme.test] is:all", []string{"checkout", "assign"}},
			{owner, "!assigned:[me,my_teams] is:all", []string{"query", "render"}},
			{owner, "assigned:[none,#frontend] level:warning", []string{"query"}},
		}
		for _, tt := range tests {
			page, err := s.SearchIssues(ctx, search.Request{OrgID: b.project.OrgID, UserID: tt.user,
				Query: mustParse(t, tt.query, *b.clock), Limit: 100})
			if err != nil {
				t.Errorf("search %q: %v", tt.query, err)
				continue
			}
			got := []string{}
			for _, i := range page.Issues {
				for fn, wi := range world {
					if wi.ID == i.ID {
						got = append(got, fn)
					}
				}
			}
			want := append([]string{}, tt.want...)
			slices.Sort(got)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("user %d searching %q (-want +got):\n%s", tt.user, tt.query, diff)
			}
		}
	})
}
