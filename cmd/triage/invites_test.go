package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"triage/internal/testutil/dbtest"
	"triage/internal/testutil/mailpit"
)

// TestInviteCommand: `triage invite create` prints the link last; with
// email configured a running serve emails it; the link creates the
// account; bad input changes nothing.
func TestInviteCommand(t *testing.T) {
	t.Parallel()
	mp := mailpit.New(t)
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			dbURL := dbtest.URL(t, engine)
			e := env{"TRIAGE_DATABASE_URL": dbURL, "TRIAGE_ADDR": freeAddr(t), "TRIAGE_SECRET_KEY": strings.Repeat("k", 40),
				"TRIAGE_SMTP_URL": mp.SMTPURL(), "TRIAGE_EMAIL_FROM": "Triage <triage@example.test>"}
			for _, args := range [][]string{
				{"user", "create", "--email", "ada@example.com", "--password", "ada's password"},
				{"org", "create", "--slug", "acme", "--name", "Acme", "--owner", "ada@example.com"},
				{"team", "create", "--org", "acme", "--slug", "backend"},
			} {
				if _, stderr, err := triageCmd(t, e, args...); err != nil {
					t.Fatalf("%v: %v\n%s", args, err, stderr)
				}
			}
			before := dbFingerprint(t, dbURL)
			for _, bad := range []struct {
				args []string
				want string
			}{
				{[]string{"invite", "create", "--org", "acme", "--email", "not an address"}, "--email"},
				{[]string{"invite", "create", "--org", "acme", "--email", "x@example.com", "--role", "boss"}, "--role"},
				{[]string{"invite", "create", "--org", "acme", "--email", "x@example.com", "--team", "ghosts"}, "--team"},
				{[]string{"invite", "create", "--org", "nope", "--email", "x@example.com"}, "nope"},
				{[]string{"invite", "create", "--org", "acme", "--email", "ada@example.com"}, "already a member"},
				{[]string{"invite", "create", "--org", "acme"}, "--email is required"},
			} {
				_, _, err := triageCmd(t, e, bad.args...)
				if err == nil || !strings.Contains(err.Error(), bad.want) {
					t.Errorf("%v: %v, want an error naming %q", bad.args, err, bad.want)
				}
			}
			if after := dbFingerprint(t, dbURL); after != before {
				t.Error("refused invite commands changed the database")
			}

			base := startServe(t, e)
			to := mailpit.Address(t, "cli")
			out, stderr, err := triageCmd(t, e, "invite", "create", "--org", "acme", "--email", to, "--role", "admin", "--team", "backend")
			if err != nil {
				t.Fatalf("invite create: %v\n%s", err, stderr)
			}
			link := lastLine(out)
			if !strings.HasPrefix(link, base+"/invites/") || !strings.Contains(out, "queued an email") {
				t.Fatalf("invite create printed:\n%s", out)
			}
			msg := mp.Wait(t, to, 1)[0]
			if msg.Subject != "The administrator of Triage invited you to Acme on Triage" || len(msg.Links()) != 1 {
				t.Errorf("email %q with links %v", msg.Subject, msg.Links())
			}
			emailed := msg.Links()[0]

			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for _, l := range []string{link, emailed} {
				resp, err := client.Get(l)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(body), "Join Acme on Triage") {
					t.Fatalf("%s: %d\n%s", l, resp.StatusCode, body)
				}
			}
			resp, err := client.PostForm(emailed, url.Values{"name": {"Cli"}, "password": {"a long password"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/organizations/acme/issues/" {
				t.Fatalf("accept: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			// The printed link was the same invite: used up now.
			resp, err = client.Get(link)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusConflict {
				t.Errorf("the printed link after the emailed one was used: %d, want 409", resp.StatusCode)
			}
		})
	}
}

// TestInviteCommandWithoutEmail prints the link and says email is off.
func TestInviteCommandWithoutEmail(t *testing.T) {
	t.Parallel()
	e := env{"TRIAGE_DATABASE_URL": dbtest.URL(t, "sqlite"), "TRIAGE_SECRET_KEY": strings.Repeat("k", 40), "TRIAGE_URL_PREFIX": "https://triage.example.com"}
	for _, args := range [][]string{
		{"user", "create", "--email", "ada@example.com", "--password", "ada's password"},
		{"org", "create", "--slug", "acme", "--owner", "ada@example.com"},
	} {
		if _, stderr, err := triageCmd(t, e, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
	}
	out, _, err := triageCmd(t, e, "invite", "create", "--org", "acme", "--email", "bo@example.com")
	if err != nil || !strings.Contains(out, "email is not configured") || !strings.HasPrefix(lastLine(out), "https://triage.example.com/invites/") {
		t.Fatalf("invite create: %v\n%s", err, out)
	}
	out, _, err = triageCmd(t, e, "user", "reset-link", "--email", "ada@example.com")
	if err != nil || !strings.HasPrefix(lastLine(out), "https://triage.example.com/auth/reset/") {
		t.Fatalf("user reset-link: %v\n%s", err, out)
	}
}
