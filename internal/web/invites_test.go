package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"triage/internal/config"
	"triage/internal/invite"
	"triage/internal/jobs"
	"triage/internal/mail"
	"triage/internal/passreset"
	"triage/internal/password"
	"triage/internal/signing"
	"triage/internal/store"
	"triage/internal/testutil/mailpit"
)

func cheapHash(pw string) (string, error) { return password.HashWithParams(pw, testParams) }

// accountServices builds the invite and reset services of a test server;
// with mp, email goes through River jobs to that Mailpit.
func accountServices(t *testing.T, s *store.Store, dbURL, prefix string, mp *mailpit.Server) (*invite.Service, *passreset.Service) {
	t.Helper()
	signer := signing.New([]byte("a test secret key that is long enough"))
	var m *mail.Mailer
	if mp != nil {
		m = mail.NewMailer(nil)
	}
	logger := testLogger(t)
	inv := invite.New(invite.Deps{Store: s, Signer: signer, Mailer: m, URLPrefix: prefix, Logger: logger, HashPassword: cheapHash})
	rs := passreset.New(passreset.Deps{Store: s, Signer: signer, Mailer: m, URLPrefix: prefix, Logger: logger, HashPassword: cheapHash})
	if mp == nil {
		return inv, rs
	}
	w := mail.NewWorker(mail.NewSMTP(config.SMTP{Host: mp.SMTPHost, Port: mp.SMTPPort, Username: "triage", Password: "secret",
		Security: config.SMTPPlain}, "Triage <triage@example.test>"), logger, nil)
	w.Handle(invite.MailKind, inv)
	w.Handle(passreset.MailKind, rs)
	workers := river.NewWorkers()
	w.Register(workers)
	ctx := context.Background()
	jc, err := jobs.New(ctx, s, dbURL, logger, workers, jobs.Options{Work: true, Queues: mail.Queues()})
	if err != nil {
		t.Fatal(err)
	}
	if err := jc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = jc.Stop(stopCtx)
	})
	m.SetJobs(jc)
	return inv, rs
}

var inviteLinkPattern = regexp.MustCompile(`id="invite-link" value="([^"]+)"`)

// inviteLink is the link the invites page shows after inviting.
func inviteLink(t *testing.T, r response) string {
	t.Helper()
	m := inviteLinkPattern.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no invite link on the page (status %d):\n%s", r.status, r.body)
	}
	return html.UnescapeString(m[1])
}

// TestInvitePagesWithoutEmail: an owner invites from the settings page,
// which says that email is off and shows the link; the link creates the
// account; members and strangers are refused.
func TestInvitePagesWithoutEmail(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setup(t, engine)
			alice, bob, dave := b.client(), b.client(), b.client()
			b.login(alice, "alice")
			b.login(bob, "bob")
			b.login(dave, "dave")
			const page = "/organizations/acme/settings/invites/"

			if r := b.get(alice, page); r.status != 200 || !strings.Contains(r.body, `id="no-email-note"`) {
				t.Fatalf("owner's invites page: %d\n%s", r.status, r.body)
			}
			if r := b.get(bob, page); r.status != http.StatusForbidden {
				t.Errorf("a member opens the invites page: %d, want 403", r.status)
			}
			if r := b.post(bob, page, url.Values{"email": {"x@example.com"}}); r.status != http.StatusForbidden {
				t.Errorf("a member invites: %d, want 403", r.status)
			}
			if r := b.get(dave, page); r.status != http.StatusNotFound {
				t.Errorf("another organization's owner: %d, want 404", r.status)
			}
			r := b.post(alice, page, url.Values{"email": {"not an email"}, "role": {"member"}})
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="field-error"`) || !strings.Contains(r.body, "is not an email address") {
				t.Errorf("a bad address: %d, want 400 with the error next to the field\n%s", r.status, r.body)
			}
			r = b.post(alice, page, url.Values{"email": {"bob@example.com"}})
			if r.status != http.StatusConflict || !strings.Contains(r.body, "already a member of Acme") {
				t.Errorf("inviting a member: %d\n%s", r.status, r.body)
			}

			r = b.post(alice, page, url.Values{"email": {"erin@example.com"}, "role": {"member"}, "team": {"backend"}})
			if r.status != 200 || !strings.Contains(r.body, `id="no-email"`) {
				t.Fatalf("invite without email: %d, want the page saying email is off\n%s", r.status, r.body)
			}
			link := inviteLink(t, r)
			if !strings.HasPrefix(link, b.url+"/invites/") {
				t.Fatalf("invite link %q", link)
			}
			if r := b.get(alice, page); !strings.Contains(r.body, "erin@example.com") || !strings.Contains(r.body, "backend") {
				t.Errorf("pending invites do not list erin in backend:\n%s", r.body)
			}

			// Erin opens the link, with no account.
			erin := b.client()
			path := strings.TrimPrefix(link, b.url)
			if r := b.get(erin, path); r.status != 200 || !strings.Contains(r.body, `name="password"`) || !strings.Contains(r.body, `name="name"`) {
				t.Fatalf("the invite page: %d\n%s", r.status, r.body)
			}
			if r := b.post(erin, path, url.Values{"name": {"Erin"}, "password": {"short"}}); r.status != http.StatusBadRequest ||
				!strings.Contains(r.body, "The password must have at least 8 characters") {
				t.Errorf("a short password: %d\n%s", r.status, r.body)
			}
			r = b.post(erin, path, url.Values{"name": {"Erin"}, "password": {"erin's long password"}})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/organizations/acme/issues/" {
				t.Fatalf("accepting: %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
			}
			if r := b.get(erin, "/organizations/acme/issues/"); r.status != 200 || !strings.Contains(r.body, "TypeError: x is undefined") {
				t.Errorf("the new member of backend does not see web's issues: %d", r.status)
			}
			if r := b.get(b.client(), path); r.status != http.StatusConflict || !strings.Contains(r.body, "already been used") {
				t.Errorf("the link again: %d, want 409 saying it was used\n%s", r.status, r.body)
			}

			// Revoking: the link stops working at once.
			r = b.post(alice, page, url.Values{"email": {"frank@example.com"}})
			link = inviteLink(t, r)
			m := regexp.MustCompile(`/settings/invites/(\d+)/revoke/`).FindStringSubmatch(r.body)
			if m == nil {
				t.Fatalf("no revoke button:\n%s", r.body)
			}
			if r := b.post(bob, page+m[1]+"/revoke/", nil); r.status != http.StatusForbidden {
				t.Errorf("a member revokes: %d", r.status)
			}
			if r := b.post(dave, "/organizations/other/settings/invites/"+m[1]+"/revoke/", nil); r.status != http.StatusNotFound {
				t.Errorf("revoking acme's invite through another organization: %d, want 404", r.status)
			}
			if r := b.post(alice, page+m[1]+"/revoke/", nil); r.status != http.StatusSeeOther {
				t.Fatalf("revoke: %d", r.status)
			}
			if r := b.get(b.client(), strings.TrimPrefix(link, b.url)); r.status != http.StatusNotFound || !strings.Contains(r.body, "revoked") {
				t.Errorf("a revoked link: %d\n%s", r.status, r.body)
			}
		})
	}
}

// TestInviteExistingAccountLogsInFirst: an address with an account logs
// in, comes back to the invite and joins with a button.
func TestInviteExistingAccountLogsInFirst(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setup(t, engine)
			alice := b.client()
			b.login(alice, "alice")
			link := inviteLink(t, b.post(alice, "/organizations/acme/settings/invites/", url.Values{"email": {"dave@example.com"}, "role": {"admin"}}))
			path := strings.TrimPrefix(link, b.url)

			dave := b.client()
			r := b.get(dave, path)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != LoginURL(path) {
				t.Fatalf("logged out, an existing account's invite: %d to %q, want the login form coming back", r.status, r.header.Get("Location"))
			}
			bob := b.client()
			b.login(bob, "bob")
			if r := b.get(bob, path); r.status != http.StatusForbidden || !strings.Contains(r.body, "This invite is for dave@example.com") {
				t.Errorf("bob opens dave's invite: %d\n%s", r.status, r.body)
			}
			r = b.post(dave, "/auth/login/", url.Values{"email": {"dave@example.com"}, "password": {testPassword}, "next": {path}})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != path {
				t.Fatalf("login with next: %d to %q", r.status, r.header.Get("Location"))
			}
			if r := b.get(dave, path); r.status != 200 || !strings.Contains(r.body, `id="accept"`) {
				t.Fatalf("the invite after login: %d\n%s", r.status, r.body)
			}
			if r := b.post(dave, path, nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/organizations/acme/issues/" {
				t.Fatalf("join: %d to %q", r.status, r.header.Get("Location"))
			}
			if r := b.get(dave, "/organizations/acme/settings/invites/"); r.status != 200 {
				t.Errorf("dave, now an admin of acme, opens the invites page: %d", r.status)
			}
		})
	}
}

// TestInviteEmailed: with email configured the invite goes out by email;
// its link works.
func TestInviteEmailed(t *testing.T) {
	t.Parallel()
	mp := mailpit.New(t)
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setupWith(t, engine, options{mail: mp})
			alice := b.client()
			b.login(alice, "alice")
			to := mailpit.Address(t, "invitee")
			r := b.post(alice, "/organizations/acme/settings/invites/", url.Values{"email": {to}, "role": {"admin"}})
			if r.status != 200 || !strings.Contains(r.body, `id="invite-emailed"`) {
				t.Fatalf("invite with email: %d\n%s", r.status, r.body)
			}
			msg := mp.Wait(t, to, 1)[0]
			if msg.Subject != "Alice invited you to Acme on Triage" || len(msg.To) != 1 || msg.To[0].Address != to {
				t.Errorf("received %q to %v", msg.Subject, msg.Recipients())
			}
			if !strings.Contains(msg.Text, "as an admin") || !strings.Contains(msg.HTML, `id="accept"`) {
				t.Errorf("email parts:\n%s\n%s", msg.Text, msg.HTML)
			}
			links := msg.Links()
			if len(links) != 1 || !strings.HasPrefix(links[0], b.url+"/invites/") {
				t.Fatalf("links in the email: %v", links)
			}
			path := strings.TrimPrefix(links[0], b.url)
			invitee := b.client()
			if r := b.get(invitee, path); r.status != 200 || !strings.Contains(r.body, "Join Acme on Triage") {
				t.Fatalf("the emailed link: %d\n%s", r.status, r.body)
			}
			if r := b.post(invitee, path, url.Values{"name": {"Ivy"}, "password": {"ivy's long password"}}); r.status != http.StatusSeeOther {
				t.Fatalf("accepting through the emailed link: %d\n%s", r.status, r.body)
			}
		})
	}
}
