package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"

	"triage/internal/secretbox"
	"triage/internal/slack/slackfake"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

const alertSecretKey = "alerts-test-secret-key-0123456789abcdef"

// alertWorld is triage serve with a fake Slack workspace installed in the
// organization "acme": Ada (owner, linked in Slack as U1) and Mel (member).
type alertWorld struct {
	t                    *testing.T
	base, dsn, projectID string
	adaToken, melToken   string
	fake                 *slackfake.Server
	integrationID        string
	dbURL                string
	signingSecret        string
}

func setupAlerts(t *testing.T, engine store.Engine) *alertWorld {
	t.Helper()
	w, e := prepareAlerts(t, engine)
	w.base = startServe(t, e)
	return w
}

// prepareAlerts builds the world of setupAlerts without starting serve,
// and returns serve's environment.
func prepareAlerts(t *testing.T, engine store.Engine) (*alertWorld, env) {
	t.Helper()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.AddWorkspace(slackfake.Workspace{ID: "T1", Name: "Acme Slack", Domain: "acme", BotName: "triagebot"})
	fake.AddUser(slackfake.User{ID: "U1", TeamID: "T1", Name: "ada"})
	fake.AddChannel(slackfake.Channel{ID: "C1", TeamID: "T1", Name: "alerts", BotMember: true, Members: []string{"U1"}})
	fake.AddChannel(slackfake.Channel{ID: "C2", TeamID: "T1", Name: "secret", IsPrivate: true, BotMember: true})
	fake.AddChannel(slackfake.Channel{ID: "C3", TeamID: "T1", Name: "general"})
	fake.AddBotToken("T1", "xoxb-acme")

	w := &alertWorld{t: t, fake: fake, dbURL: dbtest.URL(t, engine), signingSecret: "alerts-signing-secret"}
	e := env{
		"TRIAGE_DATABASE_URL": w.dbURL, "TRIAGE_ADDR": freeAddr(t), "TRIAGE_SECRET_KEY": alertSecretKey,
		"SLACK_CLIENT_ID": "cid", "SLACK_CLIENT_SECRET": "csecret", "SLACK_SIGNING_SECRET": w.signingSecret,
		"SLACK_API_URL": fake.APIURL(),
	}
	for _, args := range [][]string{
		{"user", "create", "--email", "ada@acme.test", "--password", "correct horse", "--name", "Ada"},
		{"user", "create", "--email", "mel@acme.test", "--password", "battery staple", "--name", "Mel"},
		{"org", "create", "--slug", "acme", "--owner", "ada@acme.test"},
		{"member", "add", "--org", "acme", "--email", "mel@acme.test"},
		{"team", "create", "--org", "acme", "--slug", "core", "--member", "mel@acme.test"},
	} {
		if _, stderr, err := triageCmd(t, e, args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, stderr)
		}
	}
	out, _, err := triageCmd(t, e, "project", "create", "--org", "acme", "--slug", "api", "--team", "core")
	if err != nil {
		t.Fatal(err)
	}
	w.dsn = lastLine(out)
	w.projectID = w.dsn[strings.LastIndex(w.dsn, "/")+1:]
	for _, u := range []struct {
		email string
		dst   *string
	}{{"ada@acme.test", &w.adaToken}, {"mel@acme.test", &w.melToken}} {
		out, _, err := triageCmd(t, e, "token", "create", "--email", u.email)
		if err != nil {
			t.Fatal(err)
		}
		*u.dst = lastLine(out)
	}
	// Install the workspace as the OAuth callback would have.
	ctx := context.Background()
	s, err := store.Open(ctx, w.dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	enc, err := secretbox.New([]byte(alertSecretKey)).Seal("xoxb-acme")
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.UpsertIntegration(ctx, &store.Integration{ExternalID: "T1", Name: "Acme Slack", DomainName: "acme.slack.com",
		BotUserID: "U1BOT", InstallType: "v2", AccessTokenEnc: enc, Scopes: strings.Join(slackfake.DefaultBotScopes(), ",")})
	if err != nil {
		t.Fatal(err)
	}
	org, _ := s.OrganizationBySlug(ctx, "acme")
	ada, _ := s.UserByEmail(ctx, "ada@acme.test")
	if err := s.AttachIntegration(ctx, org.ID, in.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LinkIdentity(ctx, in.ID, "U1", ada.ID); err != nil {
		t.Fatal(err)
	}
	w.integrationID = strconv.FormatInt(in.ID, 10)
	return w, e
}

// api sends a JSON API request with a bearer token and decodes the answer.
func (w *alertWorld) api(method, path, token, body string, out any) int {
	w.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, w.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			w.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

func (w *alertWorld) waitFor(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// click sends a signed Block Kit button click on a card, as Slack does.
func (w *alertWorld) click(issueID, ts, actionID, value string) int {
	w.t.Helper()
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "team": map[string]string{"id": "T1"}, "user": map[string]string{"id": "U1"},
		"channel":      map[string]string{"id": "C1"},
		"container":    map[string]any{"type": "message", "message_ts": ts, "channel_id": "C1"},
		"message":      map[string]any{"ts": ts, "type": "message"},
		"response_url": w.fake.NewMessageResponseURL("T1", "C1", "U1", ts),
		"trigger_id":   w.fake.NewTriggerID(),
		"actions":      []map[string]string{{"type": "button", "action_id": actionID, "block_id": "issue:" + issueID, "value": value}},
	})
	body := url.Values{"payload": {string(payload)}}.Encode()
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(w.signingSecret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	req, _ := http.NewRequest("POST", w.base+"/extensions/slack/action/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (w *alertWorld) get(client *http.Client, path string) string {
	w.t.Helper()
	resp, err := client.Get(w.base + path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

type apiRuleOut struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Detail string `json:"detail"`
	Field  string `json:"field"`
	Action struct {
		ChannelID, ChannelName, Status, Reason, Hint string
	} `json:"action"`
	ThrottleMinutes int  `json:"throttleMinutes"`
	Thread          bool `json:"thread"`
}

// TestAlertsEndToEnd drives triage serve from outside: a rule through the
// API, an event through the envelope endpoint (the real Sentry SDK), the
// card in the right channel of a fake Slack, a resolve from the card's
// button, the rebuilt card and the thread reply saying who resolved it,
// the error coming back and the thread saying it regressed; then a private
// channel without the bot, an archived channel and a revoked token, each
// reported in the settings page and /metrics.
func TestAlertsEndToEnd(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := setupAlerts(t, engine)
			rules := "/api/0/projects/acme/api/rules/"
			action := `"action": {"integrationId": "` + w.integrationID + `", "channel": `

			// The API refuses bad rules with the field and the reason.
			var got apiRuleOut
			if code := w.api("POST", rules, w.adaToken, `{"name": "x", "conditions": {"levl": "error"}, `+action+`"C1"}}`, &got); code != 400 || got.Field != "conditions.levl" {
				t.Errorf("unknown condition: %d %+v", code, got)
			}
			got = apiRuleOut{}
			if code := w.api("POST", rules, w.adaToken, `{"name": "x", `+action+`"#nowhere"}}`, &got); code != 400 || got.Field != "action.channel" || !strings.Contains(got.Detail, "/invite @triagebot") {
				t.Errorf("unknown channel: %d %+v", code, got)
			}
			if code := w.api("POST", rules, w.melToken, `{"name": "x", `+action+`"C1"}}`, nil); code != 403 {
				t.Errorf("member creating a rule: %d, want 403", code)
			}
			got = apiRuleOut{}
			if code := w.api("POST", rules, w.adaToken, `{"name": "New errors", "conditions": {"firstSeen": true, "level": "error"}, `+action+`"C1"}}`, &got); code != 201 {
				t.Fatalf("create: %d %+v", code, got)
			}
			if got.Action.ChannelName != "alerts" || got.Action.Status != "ok" || got.ThrottleMinutes != 30 || !got.Thread {
				t.Errorf("created rule %+v", got)
			}
			ruleID := got.ID
			var list []apiRuleOut
			if code := w.api("GET", rules, w.melToken, "", &list); code != 200 || len(list) != 1 {
				t.Errorf("member list: %d %+v", code, list)
			}
			if code := w.api("PUT", rules+ruleID+"/", w.adaToken, `{"throttleMinutes": 0}`, &got); code != 200 || got.ThrottleMinutes != 0 || got.Name != "New errors" {
				t.Errorf("update: %d %+v", code, got)
			}
			var chans struct {
				Channels []struct{ ID, Name string }
				Syncing  bool
			}
			if code := w.api("GET", "/api/0/organizations/acme/integrations/"+w.integrationID+"/channels/", w.adaToken, "", &chans); code != 200 {
				t.Errorf("channels: %d", code)
			}

			// An event through the envelope endpoint, from the real SDK.
			client, err := sentry.NewClient(sentry.ClientOptions{Dsn: w.dsn, Release: "web@1.0.0", Environment: "production"})
			if err != nil {
				t.Fatal(err)
			}
			hub := sentry.NewHub(client, sentry.NewScope())
			hub.CaptureException(errPayment)
			if !hub.Flush(10 * time.Second) {
				t.Fatal("the SDK did not flush")
			}
			w.waitFor("the card in #alerts", func() bool { return len(w.fake.Messages("C1")) == 1 })
			card := w.fake.Messages("C1")[0]
			if !strings.Contains(string(card.Blocks), "payment declined") {
				t.Fatalf("card: %s", card.Blocks)
			}
			var issues []struct{ ID string }
			w.api("GET", "/api/0/organizations/acme/issues/", w.adaToken, "", &issues)
			if len(issues) != 1 {
				t.Fatalf("issues %+v", issues)
			}
			issueID := issues[0].ID

			// Ada resolves it from the card.
			if code := w.click(issueID, card.TS, "status:resolve", "resolved"); code != 200 {
				t.Fatalf("click: %d", code)
			}
			w.waitFor("the reply saying who resolved it", func() bool {
				m := w.fake.Messages("C1")[0]
				return len(m.Replies) == 1 && m.Replies[0].Text == "*Resolved by <@U1>*"
			})
			w.waitFor("the card showing the resolution", func() bool {
				m, _ := w.fake.GetMessage("C1", card.TS)
				return strings.Contains(string(m.Blocks), "Resolved") && strings.Contains(string(m.Blocks), "Unresolve")
			})

			// The error comes back: a regression, said in the thread.
			hub.CaptureException(errPayment)
			hub.Flush(10 * time.Second)
			w.waitFor("Regressed in the thread", func() bool {
				m := w.fake.Messages("C1")[0]
				for _, r := range m.Replies {
					if strings.HasPrefix(r.Text, "*Regressed*") {
						return true
					}
				}
				return false
			})
			if n := len(w.fake.Messages("C1")); n != 1 {
				t.Errorf("%d top-level messages in #alerts, want the one card", n)
			}

			// Broken actions, each reported precisely. Rules saved while
			// the channels were fine; then the bot leaves #secret and
			// #general is archived.
			for _, ch := range []string{"C2", "C3"} {
				if code := w.api("POST", rules, w.adaToken, `{"name": "to `+ch+`", `+action+`"`+ch+`"}}`, nil); code != 201 {
					t.Fatalf("rule to %s: %d", ch, code)
				}
			}
			w.fake.UpdateChannel("C2", func(c *slackfake.Channel) { c.BotMember = false })
			w.fake.UpdateChannel("C3", func(c *slackfake.Channel) { c.IsArchived = true })
			hub.CaptureMessage("disk almost full")
			hub.Flush(10 * time.Second)
			w.waitFor("both rules broken", func() bool {
				w.api("GET", rules, w.adaToken, "", &list)
				broken := 0
				for _, r := range list {
					if r.Action.Status == "broken" {
						broken++
					}
				}
				return broken == 2
			})
			for _, r := range list {
				switch r.Action.ChannelID {
				case "C2":
					if r.Action.Reason != "channel_not_found" || !strings.Contains(r.Action.Hint, "/invite @triagebot") {
						t.Errorf("private channel: %+v", r.Action)
					}
				case "C3":
					if r.Action.Reason != "is_archived" {
						t.Errorf("archived channel: %+v", r.Action)
					}
				}
			}
			// The settings page, as Ada sees it after logging in, and
			// /metrics say which rule is broken and why.
			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Jar: jar}
			resp, err := browser.PostForm(w.base+"/auth/login/", url.Values{"email": {"ada@acme.test"}, "password": {"correct horse"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if !strings.Contains(w.get(browser, "/organizations/acme/settings/"), "/settings/alerts/") {
				t.Errorf("the settings page does not link to the alert rules")
			}
			page := w.get(browser, "/organizations/acme/settings/alerts/")
			for _, want := range []string{"Broken: channel_not_found", "/invite @triagebot", "Broken: is_archived", "The channel is archived"} {
				if !strings.Contains(page, want) {
					t.Errorf("settings page lacks %q", want)
				}
			}
			metrics := w.get(http.DefaultClient, "/metrics")
			for _, want := range []string{
				`triage_alert_delivery_failures_total{reason="channel_not_found"} 1`,
				`triage_alert_delivery_failures_total{reason="is_archived"} 1`,
				`triage_alert_notifications_total{result="posted"} 1`,
				`triage_alert_rules_broken{reason="channel_not_found"} 1`,
				`triage_alert_rules_broken{reason="is_archived"} 1`,
			} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}

			// The token is revoked: every rule of the workspace says so.
			w.fake.RevokeToken("xoxb-acme")
			renewSession(hub) // a new error: a new issue
			hub.Flush(10 * time.Second)
			dead := func(r string) bool { return r == "token_revoked" || r == "integration_inactive" }
			w.waitFor("the revoked token on every rule", func() bool {
				w.api("GET", rules, w.adaToken, "", &list)
				n := 0
				for _, r := range list {
					if dead(r.Action.Reason) {
						n++
					}
				}
				return n == 3
			})
			// Which reason a rule shows depends on what met the revoked token
			// first: a delivery (token_revoked), or the channel-list refresh,
			// which marks the workspace for reinstall so that deliveries stop
			// before calling Slack (integration_inactive).
			page = w.get(browser, "/organizations/acme/settings/alerts/")
			if !(strings.Contains(page, "Broken: token_revoked") || strings.Contains(page, "Broken: integration_inactive")) || !strings.Contains(page, "reinstall") {
				t.Errorf("settings page does not say the token was revoked")
			}
			if metrics := w.get(http.DefaultClient, "/metrics"); !strings.Contains(metrics, `triage_alert_delivery_failures_total{reason="token_revoked"}`) &&
				!strings.Contains(metrics, `triage_alert_delivery_failures_total{reason="integration_inactive"}`) {
				t.Errorf("/metrics lacks the dead-token failures")
			}
			var integrations []struct{ Status string }
			w.api("GET", "/api/0/organizations/acme/integrations/", w.adaToken, "", &integrations)
			if len(integrations) != 1 || integrations[0].Status != "needs_reinstall" {
				t.Errorf("integrations %+v, want needs_reinstall", integrations)
			}

			// Delete.
			if code := w.api("DELETE", rules+ruleID+"/", w.melToken, "", nil); code != 403 {
				t.Errorf("member delete: %d", code)
			}
			if code := w.api("DELETE", rules+ruleID+"/", w.adaToken, "", nil); code != 204 {
				t.Errorf("delete: %d", code)
			}
			if code := w.api("GET", rules+ruleID+"/", w.adaToken, "", nil); code != 404 {
				t.Errorf("deleted rule: %d", code)
			}
		})
	}
}

// renewSession fails in its own place, so its error is an issue of its own.
func renewSession(hub *sentry.Hub) { hub.CaptureException(errors.New("session store unreachable")) }
