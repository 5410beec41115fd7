package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"

	"triage/internal/testutil/dbtest"
	"triage/internal/testutil/mailpit"
)

// TestAlertEmail: a rule emails the project's team, another names a member;
// an event from the real SDK brings each of them one email with the
// issue's title, culprit, counts, stack frames and link; someone who may
// not see the project is refused as a recipient and gets nothing.
func TestAlertEmail(t *testing.T) {
	t.Parallel()
	mp := mailpit.New(t)
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ada, mel, bea := mailpit.Address(t, "ada"), mailpit.Address(t, "mel"), mailpit.Address(t, "bea")
			e := env{"TRIAGE_DATABASE_URL": dbtest.URL(t, engine), "TRIAGE_ADDR": freeAddr(t), "TRIAGE_SECRET_KEY": alertSecretKey,
				"TRIAGE_SMTP_URL": mp.SMTPURL(), "TRIAGE_EMAIL_FROM": "Triage <triage@example.test>"}
			for _, args := range [][]string{
				{"user", "create", "--email", ada, "--password", "correct horse", "--name", "Ada"},
				{"user", "create", "--email", mel, "--password", "battery staple", "--name", "Mel"},
				{"user", "create", "--email", bea, "--password", "battery staple", "--name", "Bea"},
				{"org", "create", "--slug", "acme", "--owner", ada},
				{"member", "add", "--org", "acme", "--email", mel},
				{"member", "add", "--org", "acme", "--email", bea},
				{"team", "create", "--org", "acme", "--slug", "core", "--member", mel},
			} {
				if _, stderr, err := triageCmd(t, e, args...); err != nil {
					t.Fatalf("%v: %v %s", args, err, stderr)
				}
			}
			out, _, err := triageCmd(t, e, "project", "create", "--org", "acme", "--slug", "api", "--team", "core")
			if err != nil {
				t.Fatal(err)
			}
			dsn := lastLine(out)
			out, _, err = triageCmd(t, e, "token", "create", "--email", ada)
			if err != nil {
				t.Fatal(err)
			}
			w := &alertWorld{t: t, adaToken: lastLine(out)}
			w.base = startServe(t, e)

			var members []struct {
				User struct{ ID, Email string }
			}
			if code := w.api("GET", "/api/0/organizations/acme/members/", w.adaToken, "", &members); code != 200 {
				t.Fatalf("members: %d", code)
			}
			ids := map[string]string{}
			for _, m := range members {
				ids[m.User.Email] = m.User.ID
			}
			rules := "/api/0/projects/acme/api/rules/"
			var refused struct{ Detail, Field string }
			if code := w.api("POST", rules, w.adaToken, `{"name": "To Bea", "conditions": {"firstSeen": true},
				"action": {"type": "email", "target": "members", "userIds": ["`+ids[bea]+`"]}}`, &refused); code != 400 || refused.Field != "action.userIds" {
				t.Errorf("a rule emailing Bea, who may not see api: %d %+v, want 400 on action.userIds", code, refused)
			}
			if code := w.api("POST", rules, w.adaToken, `{"name": "To nobody", "action": {"type": "email", "target": "everyone"}}`, &refused); code != 400 || refused.Field != "action.target" {
				t.Errorf("an unknown target: %d %+v", code, refused)
			}
			var teamRule, adaRule struct {
				ID     string
				Action struct {
					Type, Target, Status string
					UserIDs              []string
				}
			}
			if code := w.api("POST", rules, w.adaToken, `{"name": "New errors to the team", "conditions": {"firstSeen": true},
				"action": {"type": "email", "target": "teams"}}`, &teamRule); code != 201 || teamRule.Action.Type != "email" || teamRule.Action.Target != "teams" {
				t.Fatalf("team rule: %d %+v", code, teamRule)
			}
			if code := w.api("POST", rules, w.adaToken, `{"name": "New errors to Ada", "conditions": {"firstSeen": true},
				"action": {"type": "email", "target": "members", "userIds": ["`+ids[ada]+`"]}}`, &adaRule); code != 201 ||
				len(adaRule.Action.UserIDs) != 1 || adaRule.Action.UserIDs[0] != ids[ada] {
				t.Fatalf("Ada's rule: %d %+v", code, adaRule)
			}

			client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn, Release: "api@1.0.0", Environment: "production"})
			if err != nil {
				t.Fatal(err)
			}
			hub := sentry.NewHub(client, sentry.NewScope())
			declineCard(hub)
			if !hub.Flush(10 * time.Second) {
				t.Fatal("the SDK did not flush")
			}
			var issues []struct{ ID, Title, Culprit, Permalink, ShortID string }
			w.waitFor("the issue", func() bool {
				w.api("GET", "/api/0/organizations/acme/issues/", w.adaToken, "", &issues)
				return len(issues) == 1
			})
			issue := issues[0]
			for _, to := range []string{mel, ada} {
				msg := mp.Wait(t, to, 1)[0]
				if len(msg.To) != 1 || msg.To[0].Address != to {
					t.Errorf("email to %v, want only %s", msg.Recipients(), to)
				}
				if msg.Subject != "[api] "+issue.ShortID+": "+issue.Title {
					t.Errorf("subject %q", msg.Subject)
				}
				for _, want := range []string{issue.Title, issue.Culprit, "1 event in total", "declineCard", issue.Permalink} {
					if !strings.Contains(msg.Text, want) {
						t.Errorf("the email to %s does not show %q:\n%s", to, want, msg.Text)
					}
				}
				if !strings.Contains(msg.HTML, `href="`+issue.Permalink+`"`) {
					t.Errorf("the HTML part has no link to the issue:\n%s", msg.HTML)
				}
			}
			var rule struct{ Action struct{ Status string } }
			w.waitFor("the rules to record the delivery", func() bool {
				w.api("GET", rules+teamRule.ID+"/", w.adaToken, "", &rule)
				return rule.Action.Status == "ok"
			})
			if msgs, err := mp.Messages(t.Context(), bea); err != nil || len(msgs) != 0 {
				t.Errorf("Bea, who may not see api, got %d emails (%v)", len(msgs), err)
			}
			if msgs, _ := mp.Messages(t.Context(), mel); len(msgs) != 1 {
				t.Errorf("Mel got %d emails, want 1", len(msgs))
			}
		})
	}
}

var errCardDeclined = errors.New("card declined by the bank")

func declineCard(hub *sentry.Hub) { hub.CaptureException(errCardDeclined) }
