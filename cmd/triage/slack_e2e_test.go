package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"triage/internal/slack"
	"triage/internal/slack/slackfake"
	"triage/internal/store"
	"triage/internal/testutil/browser"
	"triage/internal/testutil/dbtest"
)

const signingSecret = "e2e-signing-secret-0123456789abcdef"

type slackBundle struct {
	fake   *slackfake.Server
	base   string // where this test reaches Triage
	prefix string // TRIAGE_URL_PREFIX: what Triage calls itself
	env    env
	admin  *http.Client // logged in as ada, follows no redirects
}

// setupSlack starts a fake Slack with workspace T1 (users U1 ada, U2 bob;
// channel C1) and Triage configured against it, with ada (owner) and bob
// (member) in organization acme.
func setupSlack(t *testing.T, engine store.Engine) *slackBundle {
	t.Helper()
	return setupSlackPrefix(t, engine, "")
}

// setupSlackPrefix is setupSlack with TRIAGE_URL_PREFIX set (as when
// several processes sit behind one proxy); "" leaves the default.
func setupSlackPrefix(t *testing.T, engine store.Engine, prefix string) *slackBundle {
	t.Helper()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.SetOAuthApp("cid.123", "client-secret")
	fake.AddWorkspace(slackfake.Workspace{ID: "T1", Name: "Acme Slack", Domain: "acme", BotUserID: "UBOT"})
	fake.AddUser(slackfake.User{ID: "U1", TeamID: "T1", Name: "ada", Email: "ada@acme.test"})
	fake.AddUser(slackfake.User{ID: "U2", TeamID: "T1", Name: "bob", Email: "bob@acme.test"})
	fake.AddChannel(slackfake.Channel{ID: "C1", TeamID: "T1", Name: "errors", Members: []string{"U1", "U2"}, BotMember: true})
	addr := freeAddr(t)
	e := env{
		"TRIAGE_DATABASE_URL": dbtest.URL(t, engine), "TRIAGE_ADDR": addr, "TRIAGE_SECRET_KEY": strings.Repeat("s", 40),
		"SLACK_CLIENT_ID": "cid.123", "SLACK_CLIENT_SECRET": "client-secret", "SLACK_SIGNING_SECRET": signingSecret,
		"SLACK_API_URL": fake.APIURL(), "SLACK_AUTHORIZE_URL": fake.URL() + "/oauth/v2/authorize",
	}
	for _, args := range [][]string{
		{"user", "create", "--email", "ada@acme.test", "--password", "correct horse", "--name", "Ada"},
		{"user", "create", "--email", "bob@acme.test", "--password", "battery staple", "--name", "Bob"},
		{"org", "create", "--slug", "acme", "--owner", "ada@acme.test"},
		{"member", "add", "--org", "acme", "--email", "bob@acme.test"},
	} {
		if _, _, err := triageCmd(t, e, args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	if prefix != "" {
		e["TRIAGE_URL_PREFIX"] = prefix
	}
	b := &slackBundle{fake: fake, env: e, base: startServe(t, e)}
	b.prefix = b.base
	if prefix != "" {
		b.prefix = prefix
	}
	b.admin = b.login(t, "ada@acme.test", "correct horse")
	return b
}

func (b *slackBundle) login(t *testing.T, email, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(b.base+"/auth/login/", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login as %s: %d", email, resp.StatusCode)
	}
	return c
}

// install runs the OAuth install as ada: Triage's redirect to Slack, the
// consent (the fake's code), and the redirect back.
func (b *slackBundle) install(t *testing.T) {
	t.Helper()
	resp, err := b.admin.Get(b.base + "/organizations/acme/integrations/slack/setup/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("install start: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("client_id") != "cid.123" || q.Get("redirect_uri") != b.prefix+"/extensions/slack/setup/" || q.Get("state") == "" {
		t.Fatalf("authorize URL %s", loc)
	}
	// Slack grants what the authorize URL asked for, nothing more.
	code, err := b.fake.Authorize(loc.String(), slackfake.Grant{TeamID: "T1", UserID: "U1"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = b.admin.Get(b.base + "/extensions/slack/setup/?" + url.Values{"code": {code}, "state": {q.Get("state")}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Acme Slack") {
		t.Fatalf("install callback: %d\n%s", resp.StatusCode, body)
	}
}

// command sends a signed /triage slash command and returns the reply text.
func (b *slackBundle) command(t *testing.T, user, text, responseURL string) string {
	t.Helper()
	form := url.Values{"team_id": {"T1"}, "user_id": {user}, "channel_id": {"C1"}, "channel_name": {"errors"},
		"command": {"/triage"}, "text": {text}, "response_url": {responseURL}, "trigger_id": {"1.2.3"}}
	body := form.Encode()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, _ := http.NewRequest("POST", b.base+"/extensions/slack/commands/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", slack.ComputeSignature(signingSecret, ts, []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/triage %s: %d %v", text, resp.StatusCode, err)
	}
	if reply.ResponseType != "ephemeral" {
		t.Errorf("/triage %s replied %q, want ephemeral", text, reply.ResponseType)
	}
	return reply.Text
}

var linkURLPattern = regexp.MustCompile(`https?://[^\s|>]+/extensions/slack/link-identity/[^\s|>]+/`)

// TestSlackInstallAndLinkInBrowser: an owner installs the workspace; a
// member asks for a link with /triage link, opens it in a real browser,
// logs in, confirms, and lands on the success page with the deep link back
// to Slack, which got the confirmation.
func TestSlackInstallAndLinkInBrowser(t *testing.T) {
	t.Parallel()
	b := setupSlack(t, store.SQLite)
	b.install(t)

	req, _ := http.NewRequest("GET", b.base+"/api/0/organizations/acme/integrations/", nil)
	out, _, err := triageCmd(t, b.env, "token", "create", "--email", "ada@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+lastLine(out))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `"externalId":"T1"`) || !strings.Contains(string(raw), `"status":"active"`) || strings.Contains(string(raw), "xox") {
		t.Fatalf("integrations: %s", raw)
	}

	responseURL := b.fake.NewResponseURL("T1", "C1", "U2")
	reply := b.command(t, "U2", "link", responseURL)
	linkURL := linkURLPattern.FindString(reply)
	if linkURL == "" {
		t.Fatalf("/triage link replied without a link: %q", reply)
	}

	ctx := browser.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(linkURL)); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.Contains(loc, "/auth/login/") {
		t.Fatalf("logged out, the link went to %s (%v), want the login form", loc, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#email"), "bob@acme.test"),
		chromedp.SendKeys(chromedp.CSS("#password"), "battery staple"),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#login"))); err != nil {
		t.Fatal(err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != linkURL {
		t.Fatalf("after login the browser is at %s, want back at the link", loc)
	}
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(page, "Acme Slack") {
		t.Fatalf("confirm page does not name the workspace: %q %v", page, err)
	}
	resp2, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#confirm")))
	if err != nil || resp2.Status != 200 {
		t.Fatalf("confirm: %v %v", resp2, err)
	}
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#back-to-slack"), "href"))
	if err != nil || href.Value != "slack://channel?id=C1&team=T1" {
		t.Fatalf("deep link %q, %v", href.Value, err)
	}
	posts := b.fake.ResponseURLPosts(responseURL)
	if len(posts) != 1 || !strings.Contains(string(posts[0].Body), `"response_type":"ephemeral"`) || !strings.Contains(string(posts[0].Body), `"replace_original":false`) {
		t.Fatalf("Slack got %d confirmations: %+v", len(posts), posts)
	}
	if got := b.command(t, "U2", "link", ""); !strings.Contains(got, "bob@acme.test") {
		t.Errorf("/triage link after linking: %q, want it to name the linked account", got)
	}
}

// TestSocketModeThroughServe: with SLACK_APP_TOKEN, `triage serve` opens
// Socket Mode and answers a slash command in the envelope's ack; /readyz
// stays ready and the socket metrics count the connection.
func TestSocketModeThroughServe(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.SetOAuthApp("cid.123", "client-secret")
	fake.AddWorkspace(slackfake.Workspace{ID: "T1", Name: "Acme Slack", Domain: "acme", BotUserID: "UBOT"})
	fake.AddAppToken("xapp-1-test")
	e := env{
		"TRIAGE_DATABASE_URL": dbtest.URL(t, store.SQLite), "TRIAGE_ADDR": freeAddr(t), "TRIAGE_SECRET_KEY": strings.Repeat("s", 40),
		"SLACK_CLIENT_ID": "cid.123", "SLACK_CLIENT_SECRET": "client-secret", "SLACK_SIGNING_SECRET": signingSecret,
		"SLACK_API_URL": fake.APIURL(), "SLACK_APP_TOKEN": "xapp-1-test",
	}
	base := startServe(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fake.WaitForSocketConnections(ctx, 1); err != nil {
		t.Fatalf("serve opened no Socket Mode connection: %v", err)
	}
	id := fake.SendSlashCommand(url.Values{"team_id": {"T9"}, "user_id": {"U1"}, "channel_id": {"C1"}, "command": {"/triage"}, "text": {"help"}})
	ack, err := fake.WaitForAck(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// T9 has not installed Triage: the answer says so, in the ack.
	if !strings.Contains(strings.ToLower(string(ack.Payload)), "not installed") {
		t.Errorf("ack payload %s: want the not-installed answer", ack.Payload)
	}
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/readyz %d with Socket Mode connected", resp.StatusCode)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "triage_slack_socket_connections_total 1") {
		t.Errorf("metrics do not count the socket connection")
	}
}

// TestSlackRemoveWorkspace: an admin removes a workspace from the
// organization; a member may not; the integrations list no longer has it.
func TestSlackRemoveWorkspace(t *testing.T) {
	t.Parallel()
	b := setupSlack(t, store.SQLite)
	b.install(t)
	bob := b.login(t, "bob@acme.test", "battery staple")
	remove := b.base + "/organizations/acme/integrations/slack/1/remove/"
	resp, err := bob.PostForm(remove, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("member removing: %d, want 403", resp.StatusCode)
	}
	resp, err = b.admin.PostForm(remove, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin removing: %d, want 303 back to settings", resp.StatusCode)
	}
	out, _, err := triageCmd(t, b.env, "token", "create", "--email", "ada@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", b.base+"/api/0/organizations/acme/integrations/", nil)
	req.Header.Set("Authorization", "Bearer "+lastLine(out))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(raw), "T1") {
		t.Errorf("integrations after removal: %s", raw)
	}
	// Slack requests from the removed workspace no longer reach acme.
	if got := b.command(t, "U1", "link", ""); !strings.Contains(strings.ToLower(got), "not installed") && !strings.Contains(strings.ToLower(got), "not connected") {
		t.Errorf("/triage link after removal: %q", got)
	}
}

// TestReadyzShowsSocketModeDown: while Socket Mode's connection is down
// (dropped, and Slack refusing new ones), /readyz answers 503 naming it;
// once Triage is connected again, 200.
func TestReadyzShowsSocketModeDown(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.SetOAuthApp("cid.123", "client-secret")
	fake.AddWorkspace(slackfake.Workspace{ID: "T1", Name: "Acme Slack", Domain: "acme", BotUserID: "UBOT"})
	fake.AddAppToken("xapp-1-test")
	e := env{
		"TRIAGE_DATABASE_URL": dbtest.URL(t, store.SQLite), "TRIAGE_ADDR": freeAddr(t), "TRIAGE_SECRET_KEY": strings.Repeat("s", 40),
		"SLACK_CLIENT_ID": "cid.123", "SLACK_CLIENT_SECRET": "client-secret", "SLACK_SIGNING_SECRET": signingSecret,
		"SLACK_API_URL": fake.APIURL(), "SLACK_APP_TOKEN": "xapp-1-test",
	}
	base := startServe(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	readyz := func() (int, string) {
		t.Helper()
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitReadyz := func(what string, want int) string {
		t.Helper()
		for {
			code, body := readyz()
			if code == want {
				return body
			}
			select {
			case <-ctx.Done():
				t.Fatalf("waiting for /readyz %d (%s): still %d %q", want, what, code, body)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	if err := fake.WaitForSocketConnections(ctx, 1); err != nil {
		t.Fatalf("serve opened no Socket Mode connection: %v", err)
	}
	waitReadyz("connected", http.StatusOK)

	fake.RefuseSockets(true)
	fake.DropConnection()
	body := waitReadyz("connection dropped", http.StatusServiceUnavailable)
	if !strings.Contains(strings.ToLower(body), "socket mode") {
		t.Errorf("/readyz body %q does not name Socket Mode", body)
	}
	// Still down after Triage tried again and was refused.
	if err := fake.WaitForRefusedSockets(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if code, body := readyz(); code != http.StatusServiceUnavailable || !strings.Contains(strings.ToLower(body), "socket mode") {
		t.Errorf("/readyz %d %q while reconnecting fails, want 503 naming Socket Mode", code, body)
	}

	fake.RefuseSockets(false)
	if err := fake.WaitForSocketConnections(ctx, 2); err != nil {
		t.Fatalf("no reconnection: %v", err)
	}
	waitReadyz("reconnected", http.StatusOK)
}
