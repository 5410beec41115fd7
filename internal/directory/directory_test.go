package directory_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"triage"
	"triage/internal/directory"
	"triage/internal/jobs"
	"triage/internal/password"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

var testParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func cheapHash(pw string) (string, error) { return password.HashWithParams(pw, testParams) }

// world: acme with alice (owner), adam (admin), bob (member, team
// backend), carol (member, no team); other with dave (owner).
type world struct {
	t                       *testing.T
	s                       *store.Store
	dir                     *directory.Service
	alice, adam, bob, carol *triage.User
	dave                    *triage.User
	acme, other             *triage.Organization
	backend                 *triage.Team
	forgotten               []int64 // projects whose keys were forgotten
	sessionsOf              map[int64]string
}

// must is for steps that cannot fail in a working build: the panic fails
// the test with a stack.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func newWorld(t *testing.T, s *store.Store, j directory.Jobs) *world {
	ctx := context.Background()
	w := &world{t: t, s: s, sessionsOf: map[int64]string{}}
	w.dir = directory.New(directory.Deps{Store: s, Jobs: j, HashPassword: cheapHash,
		KeysChanged: func(id int64) { w.forgotten = append(w.forgotten, id) }})
	hash, err := cheapHash("old password")
	if err != nil {
		t.Fatal(err)
	}
	user := func(name string) *triage.User {
		u := must(s.CreateUser(ctx, name+"@example.com", name, hash, false))
		// A logged-in browser session of the user's.
		tok := "session-" + name
		if err := s.CommitSession(ctx, tok, []byte("x"), time.Now().Add(time.Hour), u.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		w.sessionsOf[u.ID] = tok
		return u
	}
	w.alice, w.adam, w.bob, w.carol, w.dave = user("alice"), user("adam"), user("bob"), user("carol"), user("dave")
	w.acme = must(s.CreateOrganization(ctx, "acme", "Acme", w.alice.ID))
	w.other = must(s.CreateOrganization(ctx, "other", "Other", w.dave.ID))
	must(s.AddMember(ctx, w.acme.ID, w.adam.ID, triage.RoleAdmin))
	must(s.AddMember(ctx, w.acme.ID, w.bob.ID, triage.RoleMember))
	must(s.AddMember(ctx, w.acme.ID, w.carol.ID, triage.RoleMember))
	w.backend = must(s.CreateTeam(ctx, w.acme.ID, "backend", "Backend"))
	if err := s.AddTeamMember(ctx, w.backend.ID, w.bob.ID); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) loggedIn(u *triage.User) bool {
	w.t.Helper()
	_, _, found, err := w.s.FindSession(context.Background(), w.sessionsOf[u.ID], time.Now(), time.Now().Add(-time.Hour))
	if err != nil {
		w.t.Fatal(err)
	}
	return found
}

// wantCode checks an error's code and, for EINVALID, the field it names.
func wantCode(t *testing.T, what string, err error, code, field string) {
	t.Helper()
	if got := triage.ErrorCode(err); got != code {
		t.Errorf("%s: %v (code %q), want %q", what, err, got, code)
		return
	}
	if field != "" && directory.Field(err) != field {
		t.Errorf("%s: %q names field %q, want %q", what, triage.ErrorMessage(err), directory.Field(err), field)
	}
}

func TestRolesAndRemoval(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWorld(t, s, nil)
		d := w.dir

		_, err := d.SetRole(ctx, w.bob.ID, "acme", w.carol.ID, "admin")
		wantCode(t, "a member changing a role", err, triage.EFORBIDDEN, "")
		_, err = d.SetRole(ctx, w.dave.ID, "acme", w.carol.ID, "admin")
		wantCode(t, "a stranger changing a role", err, triage.ENOTFOUND, "")
		_, err = d.SetRole(ctx, w.alice.ID, "acme", w.dave.ID, "admin")
		wantCode(t, "another organization's member", err, triage.ENOTFOUND, "")
		_, err = d.SetRole(ctx, w.alice.ID, "acme", w.carol.ID, "boss")
		wantCode(t, "an unknown role", err, triage.EINVALID, "role")
		_, err = d.SetRole(ctx, w.adam.ID, "acme", w.carol.ID, "owner")
		wantCode(t, "an admin making an owner", err, triage.EFORBIDDEN, "")
		_, err = d.SetRole(ctx, w.alice.ID, "acme", w.alice.ID, "member")
		wantCode(t, "the last owner stepping down", err, triage.EINVALID, "role")

		m, err := d.SetRole(ctx, w.adam.ID, "acme", w.carol.ID, "admin")
		if err != nil || m.Role != triage.RoleAdmin {
			t.Fatalf("an admin making carol an admin: %v %v", m, err)
		}
		if got := must(s.Member(ctx, w.acme.ID, w.carol.ID)).Role; got != triage.RoleAdmin {
			t.Errorf("carol's role is %s after the change", got)
		}

		// Everyone in the organization sees who is there; nobody else.
		_, ms, err := d.Members(ctx, w.bob.ID, "acme")
		if err != nil || len(ms) != 4 {
			t.Errorf("bob lists %d members (%v), want 4", len(ms), err)
		}
		_, _, err = d.Members(ctx, w.dave.ID, "acme")
		wantCode(t, "a stranger listing members", err, triage.ENOTFOUND, "")

		// Removal.
		_, err = d.RemoveMember(ctx, w.bob.ID, "acme", w.carol.ID)
		wantCode(t, "a member removing someone", err, triage.EFORBIDDEN, "")
		_, err = d.RemoveMember(ctx, w.adam.ID, "acme", w.alice.ID)
		wantCode(t, "an admin removing an owner", err, triage.EFORBIDDEN, "")
		_, err = d.RemoveMember(ctx, w.alice.ID, "acme", w.alice.ID)
		wantCode(t, "removing the last owner", err, triage.EINVALID, "member")
		_, err = d.RemoveMember(ctx, w.alice.ID, "acme", w.dave.ID)
		wantCode(t, "removing another organization's member", err, triage.ENOTFOUND, "")
		if !w.loggedIn(w.bob) {
			t.Fatal("bob's session is gone before his removal")
		}
		if _, err := d.RemoveMember(ctx, w.adam.ID, "acme", w.bob.ID); err != nil {
			t.Fatalf("removing bob: %v", err)
		}
		if w.loggedIn(w.bob) {
			t.Error("bob's session still works after his removal")
		}
		if !w.loggedIn(w.carol) {
			t.Error("removing bob ended carol's session")
		}
		if _, err := s.Member(ctx, w.acme.ID, w.bob.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("bob is still a member: %v", err)
		}
		if ms := must(s.TeamMembers(ctx, w.backend.ID)); len(ms) != 0 {
			t.Errorf("bob is still on #backend: %v", ms)
		}
		// With a second owner, the first may step down.
		must(d.SetRole(ctx, w.alice.ID, "acme", w.carol.ID, "owner"))
		if _, err := d.SetRole(ctx, w.alice.ID, "acme", w.alice.ID, "member"); err != nil {
			t.Errorf("an owner stepping down beside another owner: %v", err)
		}
	})
}

func TestTeams(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWorld(t, s, nil)
		d := w.dir
		_, err := d.CreateTeam(ctx, w.bob.ID, "acme", "ops", "")
		wantCode(t, "a member creating a team", err, triage.EFORBIDDEN, "")
		_, err = d.CreateTeam(ctx, w.alice.ID, "acme", "Ops Team", "")
		wantCode(t, "a bad slug", err, triage.EINVALID, "slug")
		_, err = d.CreateTeam(ctx, w.alice.ID, "acme", "backend", "")
		wantCode(t, "a taken slug", err, triage.ECONFLICT, "")
		_, err = d.CreateTeam(ctx, w.alice.ID, "acme", "ops", strings.Repeat("n", 101))
		wantCode(t, "a long name", err, triage.EINVALID, "name")
		ops := must(d.CreateTeam(ctx, w.adam.ID, "acme", "ops", "Operations"))
		if ops.Name != "Operations" {
			t.Errorf("team name %q", ops.Name)
		}
		wantCode(t, "adding a stranger", d.AddTeamMember(ctx, w.alice.ID, "acme", "ops", w.dave.ID), triage.EINVALID, "user")
		wantCode(t, "a member adding to a team", d.AddTeamMember(ctx, w.bob.ID, "acme", "ops", w.carol.ID), triage.EFORBIDDEN, "")
		wantCode(t, "another organization's team", d.AddTeamMember(ctx, w.dave.ID, "acme", "ops", w.carol.ID), triage.ENOTFOUND, "")
		wantCode(t, "an unknown team", d.AddTeamMember(ctx, w.alice.ID, "acme", "nope", w.carol.ID), triage.ENOTFOUND, "")
		if err := d.AddTeamMember(ctx, w.alice.ID, "acme", "ops", w.carol.ID); err != nil {
			t.Fatal(err)
		}
		_, ti, err := d.Team(ctx, w.bob.ID, "acme", "ops")
		if err != nil || len(ti.Members) != 1 || ti.Members[0].ID != w.carol.ID {
			t.Fatalf("bob sees #ops as %+v, %v", ti, err)
		}
		if _, _, err := d.Team(ctx, w.dave.ID, "acme", "ops"); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("dave sees acme's team: %v", err)
		}
		wantCode(t, "removing a non-member", d.RemoveTeamMember(ctx, w.alice.ID, "acme", "ops", w.bob.ID), triage.ENOTFOUND, "")
		if err := d.RemoveTeamMember(ctx, w.alice.ID, "acme", "ops", w.carol.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "a member deleting a team", d.DeleteTeam(ctx, w.bob.ID, "acme", "ops"), triage.EFORBIDDEN, "")
		if err := d.DeleteTeam(ctx, w.alice.ID, "acme", "ops"); err != nil {
			t.Fatal(err)
		}
		_, teams, _ := d.Teams(ctx, w.alice.ID, "acme")
		if len(teams) != 1 || teams[0].Slug != "backend" {
			t.Errorf("teams after deleting ops: %v", teams)
		}
	})
}

func TestProjectsAndKeys(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWorld(t, s, nil)
		d := w.dir
		_, err := d.CreateProject(ctx, w.bob.ID, "acme", "web", "", "backend")
		wantCode(t, "a member creating a project", err, triage.EFORBIDDEN, "")
		_, err = d.CreateProject(ctx, w.alice.ID, "acme", "Web!", "", "")
		wantCode(t, "a bad slug", err, triage.EINVALID, "slug")
		_, err = d.CreateProject(ctx, w.alice.ID, "acme", "web", "", "nope")
		wantCode(t, "an unknown team", err, triage.EINVALID, "team")

		// Without a team: only owners and admins see it, until a team gets it.
		p := must(d.CreateProject(ctx, w.alice.ID, "acme", "web", "Web", ""))
		_, err = d.CreateProject(ctx, w.alice.ID, "acme", "web", "", "")
		wantCode(t, "a taken slug", err, triage.ECONFLICT, "")
		if _, _, err := d.Project(ctx, w.bob.ID, "acme", "web"); triage.ErrorCode(err) != triage.EFORBIDDEN {
			t.Errorf("bob sees a project no team of his owns: %v", err)
		}
		if _, _, err := d.Project(ctx, w.dave.ID, "acme", "web"); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("dave sees acme's project: %v", err)
		}
		wantCode(t, "a member attaching a team", d.AttachTeam(ctx, w.bob.ID, "acme", "web", "backend"), triage.EFORBIDDEN, "")
		wantCode(t, "attaching an unknown team", d.AttachTeam(ctx, w.alice.ID, "acme", "web", "nope"), triage.EINVALID, "team")
		if err := d.AttachTeam(ctx, w.adam.ID, "acme", "web", "backend"); err != nil {
			t.Fatal(err)
		}
		_, pi, err := d.Project(ctx, w.bob.ID, "acme", "web")
		if err != nil || len(pi.Teams) != 1 || len(pi.Keys) != 1 || !pi.Keys[0].Enabled() {
			t.Fatalf("bob's view of web after #backend got it: %+v %v", pi, err)
		}
		first := pi.Keys[0]
		if first.PublicKey != p.PublicKey {
			t.Errorf("the project's DSN key %q is not its first key %q", p.PublicKey, first.PublicKey)
		}

		// Keys.
		_, err = d.CreateKey(ctx, w.bob.ID, "acme", "web", "ci")
		wantCode(t, "a member creating a key", err, triage.EFORBIDDEN, "")
		second := must(d.CreateKey(ctx, w.alice.ID, "acme", "web", "staging"))
		if keys := must(s.EnabledKeys(ctx, p.ID)); len(keys) != 2 {
			t.Errorf("enabled keys %v, want both", keys)
		}
		_, err = d.SetKeyEnabled(ctx, w.alice.ID, "acme", "web", 999999, false)
		wantCode(t, "disabling an unknown key", err, triage.ENOTFOUND, "")
		other := must(d.CreateProject(ctx, w.dave.ID, "other", "secret", "", ""))
		otherKeys := must(s.ProjectKeys(ctx, other.ID))
		_, err = d.SetKeyEnabled(ctx, w.alice.ID, "acme", "web", otherKeys[0].ID, false)
		wantCode(t, "disabling another organization's key", err, triage.ENOTFOUND, "")
		w.forgotten = nil
		if _, err := d.SetKeyEnabled(ctx, w.alice.ID, "acme", "web", first.ID, false); err != nil {
			t.Fatal(err)
		}
		if keys := must(s.EnabledKeys(ctx, p.ID)); len(keys) != 1 || keys[0] != second.PublicKey {
			t.Errorf("enabled keys after disabling the first: %v", keys)
		}
		if len(w.forgotten) != 1 || w.forgotten[0] != p.ID {
			t.Errorf("ingestion was told of %v, want [%d]", w.forgotten, p.ID)
		}
		if got := must(s.ProjectByID(ctx, p.ID)).PublicKey; got != second.PublicKey {
			t.Errorf("the project's DSN uses %q, want the enabled key %q", got, second.PublicKey)
		}
		rotated := must(d.RotateKey(ctx, w.alice.ID, "acme", "web", second.ID))
		if rotated.PublicKey == second.PublicKey || rotated.Label != "staging" {
			t.Errorf("rotated key %+v", rotated)
		}
		if keys := must(s.EnabledKeys(ctx, p.ID)); len(keys) != 1 || keys[0] != rotated.PublicKey {
			t.Errorf("enabled keys after rotating: %v", keys)
		}
		must(d.SetKeyEnabled(ctx, w.alice.ID, "acme", "web", first.ID, true))
		if keys := must(s.EnabledKeys(ctx, p.ID)); len(keys) != 2 {
			t.Errorf("enabled keys after enabling the first again: %v", keys)
		}

		// Rename.
		_, err = d.RenameProject(ctx, w.bob.ID, "acme", "web", "site", "Site")
		wantCode(t, "a member renaming", err, triage.EFORBIDDEN, "")
		must(d.CreateProject(ctx, w.alice.ID, "acme", "api", "", ""))
		_, err = d.RenameProject(ctx, w.alice.ID, "acme", "web", "api", "")
		wantCode(t, "renaming to a taken slug", err, triage.ECONFLICT, "")
		_, err = d.RenameProject(ctx, w.alice.ID, "acme", "web", "new", "")
		wantCode(t, "renaming to new", err, triage.EINVALID, "slug")
		renamed := must(d.RenameProject(ctx, w.alice.ID, "acme", "web", "site", "Site"))
		if renamed.Slug != "site" || renamed.Name != "Site" {
			t.Errorf("renamed project %+v", renamed)
		}

		// Detach.
		wantCode(t, "detaching a team that does not own it", d.DetachTeam(ctx, w.alice.ID, "acme", "api", "backend"), triage.ENOTFOUND, "")
		if err := d.DetachTeam(ctx, w.alice.ID, "acme", "site", "backend"); err != nil {
			t.Fatal(err)
		}
		if ok := must(s.HasProjectAccess(ctx, w.bob.ID, p.ID)); ok {
			t.Error("bob still sees the project after #backend lost it")
		}
	})
}

func TestAccount(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWorld(t, s, nil)
		d := w.dir
		u := must(d.SetName(ctx, w.bob.ID, "  Bob B.  "))
		if u.Name != "Bob B." {
			t.Errorf("name %q", u.Name)
		}
		_, err := d.SetName(ctx, w.bob.ID, "a\nb")
		wantCode(t, "a name on two lines", err, triage.EINVALID, "name")

		wantCode(t, "a wrong old password", d.ChangePassword(ctx, w.bob.ID, "guess", "new password"), triage.EINVALID, "old_password")
		wantCode(t, "a short new password", d.ChangePassword(ctx, w.bob.ID, "old password", "short"), triage.EINVALID, "password")
		if !w.loggedIn(w.bob) {
			t.Fatal("a refused change ended bob's session")
		}
		if err := d.ChangePassword(ctx, w.bob.ID, "old password", "new password"); err != nil {
			t.Fatal(err)
		}
		if w.loggedIn(w.bob) {
			t.Error("bob's sessions survive his password change")
		}
		_, hash, _ := s.PasswordHash(ctx, "bob@example.com")
		if ok, _ := password.Verify("new password", hash); !ok {
			t.Error("the new password does not verify")
		}

		_, _, err = d.CreateToken(ctx, w.bob.ID, " ", time.Time{})
		wantCode(t, "a token without a name", err, triage.EINVALID, "name")
		plain, tok := must2(t)(d.CreateToken(ctx, w.bob.ID, "deploy", time.Time{}))
		if !strings.HasPrefix(plain, password.TokenPrefix) {
			t.Errorf("token %q", plain)
		}
		if u, err := s.UserByTokenHash(ctx, password.HashToken(plain)); err != nil || u.ID != w.bob.ID {
			t.Errorf("the new token authenticates %v, %v", u, err)
		}
		list := must(d.Tokens(ctx, w.bob.ID))
		if len(list) != 1 || list[0].Name != "deploy" || list[0].LastUsedAt.IsZero() {
			t.Errorf("bob's tokens after one use: %+v", list)
		}
		wantCode(t, "revoking someone else's token", d.RevokeToken(ctx, w.carol.ID, tok.ID), triage.ENOTFOUND, "")
		if err := d.RevokeToken(ctx, w.bob.ID, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UserByTokenHash(ctx, password.HashToken(plain)); triage.ErrorCode(err) != triage.EUNAUTHORIZED {
			t.Errorf("a revoked token still authenticates: %v", err)
		}
	})
}

func must2(t *testing.T) func(string, *triage.APIToken, error) (string, *triage.APIToken) {
	return func(a string, b *triage.APIToken, err error) (string, *triage.APIToken) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

// TestProjectDeletion: a deleted project is gone from lookups at once, its
// slug is free again, and the River job removes its events and issues,
// counting its progress, then the project.
func TestProjectDeletion(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := dbtest.URL(t, engine)
			s, err := store.Open(ctx, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			workers := river.NewWorkers()
			river.AddWorker(workers, &directory.DeleteProjectWorker{Store: s, Logger: logger})
			jc, err := jobs.New(ctx, s, url, logger, workers, jobs.Options{Work: true})
			if err != nil {
				t.Fatal(err)
			}
			w := newWorld(t, s, jc)
			d := w.dir
			p := must(d.CreateProject(ctx, w.alice.ID, "acme", "web", "", "backend"))
			keep := must(d.CreateProject(ctx, w.alice.ID, "acme", "api", "", "backend"))
			const events = 1234 // more than two batches
			for _, proj := range []*triage.Project{p, keep} {
				err := s.InTx(ctx, func(tx *store.Tx) error {
					for i := range 3 {
						issue, err := tx.CreateIssue(ctx, store.NewIssue{ProjectID: proj.ID, GroupHash: fmt.Sprint("h", i), Title: "boom", Level: "error", SeenAt: time.Now()})
						if err != nil {
							return err
						}
						for j := range events / 3 {
							if _, err := tx.InsertEvent(ctx, store.StoredEvent{ProjectID: proj.ID, IssueID: issue.ID,
								EventID: fmt.Sprintf("%032x", i*100000+j), Timestamp: time.Now(), Received: time.Now(), Data: []byte("{}")}); err != nil {
								return err
							}
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			_, err = d.DeleteProject(ctx, w.bob.ID, "acme", "web", "web")
			wantCode(t, "a member deleting", err, triage.EFORBIDDEN, "")
			_, err = d.DeleteProject(ctx, w.alice.ID, "acme", "web", "wbe")
			wantCode(t, "a mistyped confirmation", err, triage.EINVALID, "confirm")
			_, err = d.DeleteProject(ctx, w.dave.ID, "acme", "web", "web")
			wantCode(t, "a stranger deleting", err, triage.ENOTFOUND, "")

			// Deleted while the workers are stopped: the project is gone
			// at once and its progress is shown.
			if _, err := d.DeleteProject(ctx, w.alice.ID, "acme", "web", "web"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ProjectBySlug(ctx, w.acme.ID, "web"); triage.ErrorCode(err) != triage.ENOTFOUND {
				t.Errorf("the project is still found by its slug: %v", err)
			}
			if _, err := s.ProjectByID(ctx, p.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
				t.Errorf("the project is still found by its id: %v", err)
			}
			if ps := must(s.ProjectsForUser(ctx, w.acme.ID, w.alice.ID)); len(ps) != 1 || ps[0].Slug != "api" {
				t.Errorf("alice's projects during the deletion: %v", ps)
			}
			if ok := must(s.HasProjectAccess(ctx, w.alice.ID, p.ID)); ok {
				t.Error("the owner still has access to a deleted project")
			}
			if _, err := s.EnabledKeys(ctx, p.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
				t.Errorf("ingestion still finds the deleted project's keys: %v", err)
			}
			if len(w.forgotten) == 0 || w.forgotten[len(w.forgotten)-1] != p.ID {
				t.Errorf("ingestion was not told: %v", w.forgotten)
			}
			dels := must(d.Deletions(ctx, w.alice.ID, "acme"))
			if len(dels) != 1 || dels[0].Slug != "web" || dels[0].Total != events/3*3 || dels[0].Done != 0 {
				t.Fatalf("deletions in progress: %+v", dels)
			}
			if dels := must(d.Deletions(ctx, w.bob.ID, "acme")); len(dels) != 0 {
				t.Errorf("a member sees deletions: %+v", dels)
			}
			// The slug is free for a new project at once.
			again := must(d.CreateProject(ctx, w.alice.ID, "acme", "web", "", ""))

			if err := jc.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				jc.Stop(stop)
			})
			deadline := time.Now().Add(30 * time.Second)
			for {
				_, err := s.ProjectDeletionByID(ctx, p.ID)
				if triage.ErrorCode(err) == triage.ENOTFOUND {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				if time.Now().After(deadline) {
					t.Fatal("the project was not deleted within 30 s")
				}
				time.Sleep(20 * time.Millisecond)
			}
			count := func(q string, args ...any) int64 {
				var n int64
				if err := s.Pool().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			if n := count(`SELECT COUNT(*) FROM events WHERE project_id = $1`, p.ID); n != 0 {
				t.Errorf("%d events of the deleted project remain", n)
			}
			if n := count(`SELECT COUNT(*) FROM issues WHERE project_id = $1`, p.ID); n != 0 {
				t.Errorf("%d issues of the deleted project remain", n)
			}
			if n := count(`SELECT COUNT(*) FROM projects WHERE id = $1`, p.ID); n != 0 {
				t.Error("the deleted project's row remains")
			}
			if n := count(`SELECT COUNT(*) FROM events WHERE project_id = $1`, keep.ID); n != events/3*3 {
				t.Errorf("the other project kept %d events, want %d", n, events/3*3)
			}
			if _, err := s.ProjectByID(ctx, again.ID); err != nil {
				t.Errorf("the new project with the freed slug: %v", err)
			}
		})
	}
}
