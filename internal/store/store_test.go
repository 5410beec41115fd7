package store_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"triage"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		engine store.Engine
		bad    bool
	}{
		{"triage.db", store.SQLite, false},
		{"sqlite:/tmp/x.db", store.SQLite, false},
		{"postgres://u@127.0.0.1:5432/db?sslmode=disable", store.Postgres, false},
		{"postgresql://u@h/db", store.Postgres, false},
		{"", "", true},
		{"sqlite:", "", true},
		{"x.db?_pragma=foo", "", true},
	}
	for _, tt := range tests {
		engine, _, _, err := store.ParseURL(tt.in)
		if (err != nil) != tt.bad || engine != tt.engine {
			t.Errorf("ParseURL(%q) = %q, %v; want %q, error %v", tt.in, engine, err, tt.engine, tt.bad)
		}
	}
}

func TestUsersOrgsTeamsProjects(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u, err := s.CreateUser(ctx, " Alice@Example.com ", "Alice", "hash", false)
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "alice@example.com" {
			t.Errorf("email = %q, want it normalised", u.Email)
		}
		if _, err := s.CreateUser(ctx, "alice@example.com", "", "h", false); triage.ErrorCode(err) != triage.ECONFLICT {
			t.Errorf("duplicate email: got %v, want ECONFLICT", err)
		}
		if _, err := s.CreateUser(ctx, "no-at-sign", "", "h", false); triage.ErrorCode(err) != triage.EINVALID {
			t.Errorf("bad email: got %v, want EINVALID", err)
		}
		if _, err := s.UserByEmail(ctx, "nobody@example.com"); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("unknown email: got %v, want ENOTFOUND", err)
		}
		var org *triage.Organization
		err = s.InTx(ctx, func(tx *store.Tx) error {
			org, err = tx.CreateOrganization(ctx, "acme", "Acme", u.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if m, err := s.Member(ctx, org.ID, u.ID); err != nil || m.Role != triage.RoleOwner {
			t.Fatalf("owner membership = %+v, %v", m, err)
		}
		if _, err := s.CreateOrganization(ctx, "acme", "", u.ID); triage.ErrorCode(err) != triage.ECONFLICT {
			t.Errorf("duplicate org: got %v, want ECONFLICT", err)
		}
		if _, err := s.CreateOrganization(ctx, "Bad Slug!", "", u.ID); triage.ErrorCode(err) != triage.EINVALID {
			t.Errorf("bad slug: got %v, want EINVALID", err)
		}
		// A failed transaction leaves nothing behind.
		_ = s.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.CreateOrganization(ctx, "ghost", "", u.ID); err != nil {
				return err
			}
			return triage.Errorf(triage.EINVALID, "abort")
		})
		if _, err := s.OrganizationBySlug(ctx, "ghost"); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("rolled back org exists: %v", err)
		}
		if err := s.RemoveMember(ctx, org.ID, u.ID); triage.ErrorCode(err) != triage.EINVALID {
			t.Errorf("removing last owner: got %v, want EINVALID", err)
		}
		team, err := s.CreateTeam(ctx, org.ID, "backend", "")
		if err != nil {
			t.Fatal(err)
		}
		bob, _ := s.CreateUser(ctx, "bob@example.com", "", "h", false)
		if err := s.AddTeamMember(ctx, team.ID, bob.ID); triage.ErrorCode(err) != triage.EINVALID {
			t.Errorf("team member outside org: got %v, want EINVALID", err)
		}
		if _, err := s.AddMember(ctx, org.ID, bob.ID, triage.RoleMember); err != nil {
			t.Fatal(err)
		}
		if err := s.AddTeamMember(ctx, team.ID, bob.ID); err != nil {
			t.Fatal(err)
		}
		p, err := s.CreateProject(ctx, org.ID, "web", "", team.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.PublicKey) != 32 {
			t.Errorf("public key %q, want 32 hex chars", p.PublicKey)
		}
		if got := p.DSN("https://triage.example.com/"); got != "https://"+p.PublicKey+"@triage.example.com/"+itoa(p.ID) {
			t.Errorf("DSN = %q", got)
		}
		for _, c := range []struct {
			user int64
			want bool
		}{{u.ID, true}, {bob.ID, true}} {
			if ok, err := s.HasProjectAccess(ctx, c.user, p.ID); err != nil || ok != c.want {
				t.Errorf("access(%d) = %v, %v; want %v", c.user, ok, err, c.want)
			}
		}
		carol, _ := s.CreateUser(ctx, "carol@example.com", "", "h", false)
		s.AddMember(ctx, org.ID, carol.ID, triage.RoleMember)
		if ok, _ := s.HasProjectAccess(ctx, carol.ID, p.ID); ok {
			t.Error("a member outside the owning team has access")
		}
		if err := s.RemoveMember(ctx, org.ID, bob.ID); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.HasProjectAccess(ctx, bob.ID, p.ID); ok {
			t.Error("a removed member still has access")
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestIssuesShortIDsAndCounts(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u, _ := s.CreateUser(ctx, "a@example.com", "", "h", false)
		org, _ := s.CreateOrganization(ctx, "acme", "", u.ID)
		p, _ := s.CreateProject(ctx, org.ID, "web", "")
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		var ids []string
		for i := 0; i < 40; i++ {
			var issue *triage.Issue
			err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				issue, err = tx.CreateIssue(ctx, store.NewIssue{ProjectID: p.ID, GroupHash: itoa(int64(i)), Title: "E", Level: "error", SeenAt: now})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, issue.ShortID())
		}
		if ids[0] != "WEB-1" || ids[9] != "WEB-A" || ids[35] != "WEB-10" {
			t.Errorf("short ids = %v…", ids[:12])
		}
		issue, err := s.IssueByHash(ctx, p.ID, "0")
		if err != nil {
			t.Fatal(err)
		}
		if !issue.FirstSeen.Equal(now) || issue.OrgSlug != "acme" || issue.Status != triage.StatusUnresolved {
			t.Errorf("issue = %+v", issue)
		}
		if _, err := s.CountIssuesEvents(ctx, []store.IssueCount{{IssueID: issue.ID, N: 3, LastSeen: now.Add(time.Hour), Level: "fatal"}}); err != nil {
			t.Fatal(err)
		}
		got, _ := s.IssueByID(ctx, issue.ID)
		if got.TimesSeen != 3 || !got.LastSeen.Equal(now.Add(time.Hour)) || got.Level != "fatal" {
			t.Errorf("after counting: seen %d last %v level %s", got.TimesSeen, got.LastSeen, got.Level)
		}
		list, err := s.Issues(ctx, triage.IssueFilter{OrgID: org.ID, Status: triage.StatusUnresolved, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 5 || list[0].ID != issue.ID {
			t.Errorf("list: %d issues, first %v; want 5 with the most recently seen first", len(list), list[0].ShortID())
		}
		// The API asks for one more than a page to learn whether a next
		// page exists: a limit over 100 must not shrink the page.
		if list, _ := s.Issues(ctx, triage.IssueFilter{OrgID: org.ID, Limit: 101}); len(list) != 40 {
			t.Errorf("limit 101: %d issues, want all 40", len(list))
		}
	})
}

func TestSettingIfAbsentAgreesUnderConcurrency(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		got := make([]string, 8)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := s.SetSettingIfAbsent(ctx, "secret_key", itoa(int64(i+1)))
				if err != nil {
					t.Error(err)
				}
				got[i] = v
			}()
		}
		wg.Wait()
		for _, v := range got {
			if v != got[0] {
				t.Fatalf("processes disagree on the setting: %v", got)
			}
		}
	})
}
