package slack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"triage"
	"triage/internal/config"
	"triage/internal/secretbox"
	"triage/internal/signing"
	"triage/internal/slack"
	"triage/internal/slack/slackfake"
	"triage/internal/store"
)

const (
	prefix        = "https://triage.example.com"
	signingSecret = "test-signing-secret"
	secretKey     = "0123456789abcdef0123456789abcdef"
)

// bundle is one test's world: a store, a fake Slack with two workspaces,
// an organization with an owner, an admin and a member, and an outsider.
type bundle struct {
	t     *testing.T
	s     *store.Store
	fake  *slackfake.Server
	clock *slackfake.ManualClock
	cfg   *config.Config
	box   *secretbox.Box
	integ *slack.Integration
	mux   *http.ServeMux
	org   *triage.Organization

	owner, admin, member, outsider *triage.User
	authorizeURL                   string // where Triage last sent the installer
}

func setup(t *testing.T, s *store.Store, flow string) *bundle {
	t.Helper()
	ctx := context.Background()
	clock := slackfake.NewManualClock(time.Now())
	fake := slackfake.New(slackfake.WithClock(clock.Now))
	t.Cleanup(fake.Close)
	fake.SetOAuthApp("client-id", "client-secret")
	fake.AddWorkspace(slackfake.Workspace{ID: "T1", Name: "Acme Slack", Domain: "acme", IconURL: "https://example.com/acme.png"})
	fake.AddWorkspace(slackfake.Workspace{ID: "T2", Name: "Beta Slack", Domain: "beta"})
	for _, u := range []string{"U1", "U2", "U3"} {
		fake.AddUser(slackfake.User{ID: u, TeamID: "T1"})
	}
	fake.AddUser(slackfake.User{ID: "V1", TeamID: "T2"})
	fake.AddChannel(slackfake.Channel{ID: "C1", TeamID: "T1", Name: "alerts", Members: []string{"U1", "U2", "U3"}, BotMember: true})

	cfg := &config.Config{
		URLPrefix: prefix, SecretKey: secretKey,
		SlackClientID: "client-id", SlackClientSecret: "client-secret", SlackSigningSecret: signingSecret,
		SlackAPIURL: fake.APIURL(), SlackAuthorizeURL: fake.URL() + "/oauth/v2/authorize", SlackOAuthFlow: flow,
	}
	if flow == "workspace" {
		cfg.SlackAuthorizeURL = fake.URL() + "/oauth/authorize"
	}
	b := &bundle{t: t, s: s, fake: fake, clock: clock, cfg: cfg, box: secretbox.New([]byte(secretKey))}
	b.integ = slack.New(slack.Deps{
		Store: s, Signer: signing.New([]byte(secretKey)), Box: b.box, Config: cfg,
		HTTPClient: &http.Client{Timeout: 5 * time.Second}, Now: clock.Now,
	})
	mk := func(email string) *triage.User {
		u, err := s.CreateUser(ctx, email, "", "hash", false)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	b.owner, b.admin, b.member, b.outsider = mk("owner@example.com"), mk("admin@example.com"), mk("member@example.com"), mk("outsider@example.com")
	var err error
	if b.org, err = s.CreateOrganization(ctx, "acme", "Acme Inc", b.owner.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMember(ctx, b.org.ID, b.admin.ID, triage.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMember(ctx, b.org.ID, b.member.ID, triage.RoleMember); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /organizations/{org}/integrations/slack/setup/{$}", b.integ.InstallStart())
	mux.Handle("GET /extensions/slack/setup/{$}", b.integ.InstallCallback())
	for _, m := range []string{"GET", "POST"} {
		mux.Handle(m+" /extensions/slack/link-identity/{signed}/{$}", b.integ.LinkIdentity())
		mux.Handle(m+" /extensions/slack/unlink-identity/{signed}/{$}", b.integ.UnlinkIdentity())
	}
	mux.Handle("POST /extensions/slack/commands/{$}", b.integ.Command())
	mux.Handle("POST /extensions/slack/action/{$}", b.integ.Action())
	mux.Handle("POST /extensions/slack/event/{$}", b.integ.Event())
	mux.Handle("POST /extensions/slack/options-load/{$}", b.integ.OptionsLoad())
	b.mux = mux
	return b
}

// do serves one request as user (nil: logged out).
func (b *bundle) do(method, target string, user *triage.User, body io.Reader) *httptest.ResponseRecorder {
	b.t.Helper()
	target = strings.TrimPrefix(target, prefix)
	r := httptest.NewRequest(method, target, body)
	if user != nil {
		r = r.WithContext(triage.NewContextWithUser(r.Context(), user))
	}
	w := httptest.NewRecorder()
	b.mux.ServeHTTP(w, r)
	return w
}

// signedPost sends a body signed like Slack signs it.
func (b *bundle) signedPost(path, contentType, body string) *httptest.ResponseRecorder {
	b.t.Helper()
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	ts := strconv.FormatInt(b.clock.Now().Unix(), 10)
	r.Header.Set("Content-Type", contentType)
	r.Header.Set(slack.HeaderTimestamp, ts)
	r.Header.Set(slack.HeaderSignature, slack.ComputeSignature(signingSecret, ts, []byte(body)))
	w := httptest.NewRecorder()
	b.mux.ServeHTTP(w, r)
	return w
}

// startInstall runs the first leg and returns the state Slack would echo.
func (b *bundle) startInstall(user *triage.User) string {
	b.t.Helper()
	w := b.do("GET", "/organizations/acme/integrations/slack/setup/", user, nil)
	if w.Code != http.StatusFound {
		b.t.Fatalf("install start: %d %s", w.Code, w.Body)
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil {
		b.t.Fatal(err)
	}
	if got := loc.Query().Get("redirect_uri"); got != prefix+"/extensions/slack/setup/" {
		b.t.Errorf("redirect_uri = %q", got)
	}
	if loc.Query().Get("client_id") != "client-id" {
		b.t.Errorf("client_id = %q", loc.Query().Get("client_id"))
	}
	b.authorizeURL = loc.String()
	return loc.Query().Get("state")
}

type grantOpt func(*slackfake.Grant)

func rotating(life time.Duration) grantOpt {
	return func(g *slackfake.Grant) { g.Rotation, g.ExpiresIn = true, life }
}

// code is Slack's authorize page approving what Triage's last redirect
// asked for (the first leg runs now if none has): the token grants the
// scopes Triage requested, no more.
func (b *bundle) code(team, installer string, opts ...grantOpt) string {
	b.t.Helper()
	if b.authorizeURL == "" {
		b.startInstall(b.owner)
	}
	g := slackfake.Grant{TeamID: team, UserID: installer}
	for _, o := range opts {
		o(&g)
	}
	code, err := b.fake.Authorize(b.authorizeURL, g)
	if err != nil {
		b.t.Fatal(err)
	}
	return code
}

func (b *bundle) callback(user *triage.User, state, code string) *httptest.ResponseRecorder {
	b.t.Helper()
	return b.do("GET", "/extensions/slack/setup/?"+url.Values{"state": {state}, "code": {code}}.Encode(), user, nil)
}

// install runs the whole flow and expects success.
func (b *bundle) install(user *triage.User, team, installer string, opts ...grantOpt) *store.Integration {
	b.t.Helper()
	state := b.startInstall(user)
	w := b.callback(user, state, b.code(team, installer, opts...))
	if w.Code != http.StatusOK {
		b.t.Fatalf("install callback: %d %s", w.Code, w.Body)
	}
	in, err := b.s.IntegrationByTeam(context.Background(), team)
	if err != nil {
		b.t.Fatal(err)
	}
	return in
}

// linkedUser returns who the Slack user is linked to, 0 for nobody.
func (b *bundle) linkedUser(in *store.Integration, slackUser string) int64 {
	b.t.Helper()
	id, err := b.s.IdentityByExternalID(context.Background(), in.ID, slackUser)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return 0
	} else if err != nil {
		b.t.Fatal(err)
	}
	return id.UserID
}

func (b *bundle) orgIntegrations() []*store.Integration {
	b.t.Helper()
	list, err := b.s.IntegrationsForOrg(context.Background(), b.org.ID)
	if err != nil {
		b.t.Fatal(err)
	}
	return list
}

// lastAccessToken is the access token Slack handed out last for method.
func (b *bundle) lastAccessToken(method string) string {
	b.t.Helper()
	calls := b.fake.Calls(method)
	if len(calls) == 0 {
		b.t.Fatalf("no %s call", method)
	}
	var resp struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(calls[len(calls)-1].Response, &resp)
	return resp.AccessToken
}
