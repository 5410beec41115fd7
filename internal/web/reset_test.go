package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"triage"
	"triage/internal/store"
	"triage/internal/testutil/mailpit"
)

func TestPasswordResetWithoutEmail(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	c := b.client()
	if r := b.get(c, "/auth/login/"); !strings.Contains(r.body, `href="/auth/reset/"`) {
		t.Errorf("the login page has no link to reset a password:\n%s", r.body)
	}
	for _, r := range []response{b.get(c, "/auth/reset/"), b.post(c, "/auth/reset/", url.Values{"email": {"alice@example.com"}})} {
		if r.status != 200 || !strings.Contains(r.body, `id="no-email"`) || !strings.Contains(r.body, "triage user reset-link") {
			t.Errorf("reset without email: %d, want a page saying email is off and what to do\n%s", r.status, r.body)
		}
	}
}

// resetUser makes a member of acme whose address is a Mailpit address of
// this test.
func (b *bundle) resetUser(t *testing.T, name string) *triage.User {
	t.Helper()
	ctx := context.Background()
	u := must(b.store.CreateUser(ctx, mailpit.Address(t, name), name, must(cheapHash(testPassword)), false))
	must(b.store.AddMember(ctx, b.acme.ID, u.ID, triage.RoleAdmin))
	return u
}

func (b *bundle) loginAs(c *http.Client, email, pw string) response {
	return b.post(c, "/auth/login/", url.Values{"email": {email}, "password": {pw}})
}

// TestPasswordReset: the mailed link sets a new password once, ends every
// other session, and the page never tells whether an address exists.
func TestPasswordReset(t *testing.T) {
	t.Parallel()
	mp := mailpit.New(t)
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setupWith(t, engine, options{mail: mp})
			u := b.resetUser(t, "forgetful")
			laptop, phone := b.client(), b.client()
			for _, c := range []*http.Client{laptop, phone} {
				if r := b.loginAs(c, u.Email, testPassword); r.status != http.StatusSeeOther {
					t.Fatalf("login: %d", r.status)
				}
			}

			anon := b.client()
			known := b.post(anon, "/auth/reset/", url.Values{"email": {u.Email}})
			unknown := b.post(anon, "/auth/reset/", url.Values{"email": {"nobody-" + u.Email}})
			if known.status != 200 || unknown.status != 200 || !strings.Contains(known.body, `id="reset-sent"`) ||
				strings.ReplaceAll(unknown.body, "nobody-"+u.Email, u.Email) != known.body {
				t.Fatalf("the answers for a known and an unknown address differ:\n%d %s\n%d %s", known.status, known.body, unknown.status, unknown.body)
			}
			msg := mp.Wait(t, u.Email, 1)[0]
			if msg.Subject != "Reset your Triage password" || len(msg.To) != 1 || msg.To[0].Address != u.Email || !strings.Contains(msg.HTML, `id="reset"`) {
				t.Errorf("received %q to %v", msg.Subject, msg.Recipients())
			}
			links := msg.Links()
			if len(links) != 1 || !strings.HasPrefix(links[0], b.url+"/auth/reset/") {
				t.Fatalf("links in the email: %v", links)
			}
			path := strings.TrimPrefix(links[0], b.url)

			// Asking again at once sends nothing more (no inbox flooding).
			b.post(anon, "/auth/reset/", url.Values{"email": {u.Email}})

			if r := b.get(anon, path); r.status != 200 || !strings.Contains(r.body, `name="password"`) {
				t.Fatalf("the reset form: %d\n%s", r.status, r.body)
			}
			if r := b.post(anon, path, url.Values{"password": {"short"}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "at least 8 characters") {
				t.Errorf("a short password: %d", r.status)
			}
			r := b.post(anon, path, url.Values{"password": {"a brand new password"}})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/organizations/acme/issues/" {
				t.Fatalf("set password: %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
			}
			if r := b.get(anon, "/organizations/acme/issues/"); r.status != 200 {
				t.Errorf("the browser that reset is logged in: %d", r.status)
			}
			for name, c := range map[string]*http.Client{"laptop": laptop, "phone": phone} {
				if r := b.get(c, "/organizations/acme/issues/"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/auth/login/") {
					t.Errorf("the %s's session after the reset: %d, want sent to log in", name, r.status)
				}
			}
			if r := b.post(b.client(), path, url.Values{"password": {"yet another password"}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "has been used") {
				t.Errorf("the link again: %d\n%s", r.status, r.body)
			}
			if r := b.loginAs(b.client(), u.Email, testPassword); r.status != 200 {
				t.Errorf("the old password still logs in: %d", r.status)
			}
			if r := b.loginAs(b.client(), u.Email, "a brand new password"); r.status != http.StatusSeeOther {
				t.Errorf("the new password does not log in: %d", r.status)
			}
			if msgs, err := mp.Messages(context.Background(), u.Email); err != nil || len(msgs) != 1 {
				t.Errorf("%d reset emails (%v), want 1: the second request came too soon", len(msgs), err)
			}
		})
	}
}
