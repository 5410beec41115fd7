package invite_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"triage"
	"triage/internal/invite"
	"triage/internal/password"
	"triage/internal/signing"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

var cheap = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func hash(pw string) (string, error) { return password.HashWithParams(pw, cheap) }

// clock is a settable time for expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// world: acme with alice (owner), adam (admin), bob (member); team backend
// owns project web; other has dave (owner).
type world struct {
	s                      *store.Store
	svc                    *invite.Service
	clock                  *clock
	alice, adam, bob, dave *triage.User
	acme, other            *triage.Organization
	backend                *triage.Team
	web                    *triage.Project
}

func setup(t *testing.T, s *store.Store) *world {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	w := &world{s: s, clock: &clock{t: time.Now()}}
	user := func(name string) *triage.User {
		h, err := hash("password-" + name)
		must(err)
		u, err := s.CreateUser(ctx, name+"@example.com", name, h, false)
		must(err)
		return u
	}
	w.alice, w.adam, w.bob, w.dave = user("alice"), user("adam"), user("bob"), user("dave")
	var err error
	w.acme, err = s.CreateOrganization(ctx, "acme", "Acme", w.alice.ID)
	must(err)
	w.other, err = s.CreateOrganization(ctx, "other", "Other", w.dave.ID)
	must(err)
	_, err = s.AddMember(ctx, w.acme.ID, w.adam.ID, triage.RoleAdmin)
	must(err)
	_, err = s.AddMember(ctx, w.acme.ID, w.bob.ID, triage.RoleMember)
	must(err)
	w.backend, err = s.CreateTeam(ctx, w.acme.ID, "backend", "Backend")
	must(err)
	w.web, err = s.CreateProject(ctx, w.acme.ID, "web", "Web", w.backend.ID)
	must(err)
	w.svc = invite.New(invite.Deps{Store: s, Signer: signing.New([]byte(strings.Repeat("k", 32))),
		URLPrefix: "http://triage.test", Now: w.clock.now, HashPassword: hash})
	return w
}

// token is the signed part of an invite URL.
func token(t *testing.T, url string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(url, "http://triage.test/invites/")
	if !ok || !strings.HasSuffix(rest, "/") {
		t.Fatalf("invite URL %q is not http://triage.test/invites/{token}/", url)
	}
	return strings.TrimSuffix(rest, "/")
}

func code(err error) string { return triage.ErrorCode(err) }

func TestInviteNewAccount(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := setup(t, s)
		c, err := w.svc.Create(ctx, w.adam.ID, "acme", invite.Input{Email: " Newbie@Example.com ", Teams: []string{"backend"}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Invite.Email != "newbie@example.com" || c.Invite.Role != triage.RoleMember || c.Emailed {
			t.Fatalf("created %+v emailed=%t, want newbie@example.com as member, not emailed (no mail)", c.Invite, c.Emailed)
		}
		tok := token(t, c.URL)
		o, err := w.svc.Open(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if o.Account != nil || o.Org.ID != w.acme.ID {
			t.Fatalf("opened %+v, want a new account for acme", o)
		}
		var fe *invite.FieldError
		if _, _, err := w.svc.AcceptNew(ctx, tok, "Newbie", "short"); !errors.As(err, &fe) || fe.Field != "password" {
			t.Fatalf("short password: %v, want a password field error", err)
		}
		u, org, err := w.svc.AcceptNew(ctx, tok, "Newbie", "a long password")
		if err != nil {
			t.Fatal(err)
		}
		if org.Slug != "acme" || u.Email != "newbie@example.com" || u.Name != "Newbie" {
			t.Fatalf("accepted: %+v in %s", u, org.Slug)
		}
		if m, err := s.Member(ctx, w.acme.ID, u.ID); err != nil || m.Role != triage.RoleMember {
			t.Fatalf("membership %+v, %v", m, err)
		}
		if ok, err := s.HasProjectAccess(ctx, u.ID, w.web.ID); err != nil || !ok {
			t.Fatalf("the new member sees project web (through team backend): %t, %v", ok, err)
		}
		if _, hashed, err := s.PasswordHash(ctx, u.Email); err != nil {
			t.Fatal(err)
		} else if ok, _ := password.Verify("a long password", hashed); !ok {
			t.Fatal("the chosen password does not log in")
		}
		// One time.
		if _, _, err := w.svc.AcceptNew(ctx, tok, "Again", "another password"); code(err) != triage.ECONFLICT {
			t.Fatalf("second use: %v, want ECONFLICT (used)", err)
		}
		if _, err := w.svc.Open(ctx, tok); code(err) != triage.ECONFLICT || !strings.Contains(triage.ErrorMessage(err), "already been used") {
			t.Fatalf("open after use: %v", err)
		}
		if _, _, p, err := w.svc.Pending(ctx, w.alice.ID, "acme"); err != nil || len(p) != 0 {
			t.Fatalf("pending after acceptance: %+v, %v", p, err)
		}
	})
}

func TestInvitePermissions(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := setup(t, s)
		var fe *invite.FieldError
		for _, tc := range []struct {
			name  string
			user  *triage.User
			org   string
			in    invite.Input
			code  string
			field string
		}{
			{"member", w.bob, "acme", invite.Input{Email: "x@example.com"}, triage.EFORBIDDEN, ""},
			{"admin makes an owner", w.adam, "acme", invite.Input{Email: "x@example.com", Role: "owner"}, triage.EFORBIDDEN, ""},
			{"another organization", w.dave, "acme", invite.Input{Email: "x@example.com"}, triage.ENOTFOUND, ""},
			{"no such organization", w.alice, "nope", invite.Input{Email: "x@example.com"}, triage.ENOTFOUND, ""},
			{"bad email", w.alice, "acme", invite.Input{Email: "not an address"}, triage.EINVALID, "email"},
			{"no email", w.alice, "acme", invite.Input{}, triage.EINVALID, "email"},
			{"bad role", w.alice, "acme", invite.Input{Email: "x@example.com", Role: "boss"}, triage.EINVALID, "role"},
			{"unknown team", w.alice, "acme", invite.Input{Email: "x@example.com", Teams: []string{"ghosts"}}, triage.EINVALID, "team"},
			{"already a member", w.alice, "acme", invite.Input{Email: "BOB@example.com"}, triage.ECONFLICT, ""},
		} {
			_, err := w.svc.Create(ctx, tc.user.ID, tc.org, tc.in)
			if code(err) != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
			if tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field) {
				t.Errorf("%s: %v, want a field error on %s", tc.name, err, tc.field)
			}
		}
		if _, err := w.svc.Create(ctx, w.alice.ID, "acme", invite.Input{Email: "boss@example.com", Role: "owner"}); err != nil {
			t.Errorf("an owner invites an owner: %v", err)
		}
		if _, _, _, err := w.svc.Pending(ctx, w.bob.ID, "acme"); code(err) != triage.EFORBIDDEN {
			t.Errorf("a member lists invites: %v, want EFORBIDDEN", err)
		}
		c, err := w.svc.Create(ctx, w.adam.ID, "acme", invite.Input{Email: "y@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Revoke(ctx, w.dave.ID, "other", c.Invite.ID); code(err) != triage.ENOTFOUND {
			t.Errorf("revoking acme's invite through other: %v, want ENOTFOUND", err)
		}
		if _, err := w.svc.Revoke(ctx, w.bob.ID, "acme", c.Invite.ID); code(err) != triage.EFORBIDDEN {
			t.Errorf("a member revokes: %v, want EFORBIDDEN", err)
		}
		if _, err := w.svc.Revoke(ctx, w.adam.ID, "acme", c.Invite.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Open(ctx, token(t, c.URL)); code(err) != triage.ENOTFOUND || !strings.Contains(triage.ErrorMessage(err), "revoked") {
			t.Errorf("a revoked invite opens: %v, want ENOTFOUND saying it was revoked", err)
		}
		if _, err := w.svc.Open(ctx, token(t, c.URL)+"x"); code(err) != triage.ENOTFOUND {
			t.Errorf("a tampered link opens: %v", err)
		}
	})
}

func TestInviteExpiresAndReplaces(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := setup(t, s)
		first, err := w.svc.Create(ctx, w.alice.ID, "acme", invite.Input{Email: "z@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		second, err := w.svc.Create(ctx, w.alice.ID, "acme", invite.Input{Email: "z@example.com", Role: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Open(ctx, token(t, first.URL)); code(err) != triage.ENOTFOUND {
			t.Errorf("the replaced invite opens: %v", err)
		}
		_, _, p, err := w.svc.Pending(ctx, w.alice.ID, "acme")
		if err != nil || len(p) != 1 || p[0].Role != triage.RoleAdmin {
			t.Fatalf("pending: %+v, %v; want the newer admin invite alone", p, err)
		}
		w.clock.add(invite.Lifetime + time.Minute)
		if _, err := w.svc.Open(ctx, token(t, second.URL)); code(err) != triage.EINVALID || !strings.Contains(triage.ErrorMessage(err), "expired") {
			t.Errorf("after 7 days: %v, want EINVALID (expired)", err)
		}
		if _, _, p, err := w.svc.Pending(ctx, w.alice.ID, "acme"); err != nil || len(p) != 0 {
			t.Errorf("an expired invite is still pending: %+v, %v", p, err)
		}
	})
}

func TestInviteExistingAccount(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := setup(t, s)
		c, err := w.svc.Create(ctx, w.alice.ID, "acme", invite.Input{Email: "dave@example.com", Role: "admin", Teams: []string{"backend"}})
		if err != nil {
			t.Fatal(err)
		}
		tok := token(t, c.URL)
		o, err := w.svc.Open(ctx, tok)
		if err != nil || o.Account == nil || o.Account.ID != w.dave.ID {
			t.Fatalf("open: %+v, %v; want dave's account", o, err)
		}
		if _, _, err := w.svc.AcceptNew(ctx, tok, "Dave 2", "a long password"); code(err) != triage.ECONFLICT {
			t.Errorf("creating a second account for dave: %v, want ECONFLICT", err)
		}
		if _, err := w.svc.AcceptExisting(ctx, tok, w.bob); code(err) != triage.EFORBIDDEN {
			t.Errorf("bob accepts dave's invite: %v, want EFORBIDDEN", err)
		}
		org, err := w.svc.AcceptExisting(ctx, tok, w.dave)
		if err != nil || org.ID != w.acme.ID {
			t.Fatalf("dave accepts: %v", err)
		}
		if m, err := s.Member(ctx, w.acme.ID, w.dave.ID); err != nil || m.Role != triage.RoleAdmin {
			t.Fatalf("dave's membership: %+v, %v", m, err)
		}
		if _, err := w.svc.AcceptExisting(ctx, tok, w.dave); code(err) != triage.ECONFLICT {
			t.Errorf("second acceptance: %v, want ECONFLICT (used)", err)
		}
	})
}
