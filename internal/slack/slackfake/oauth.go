package slackfake

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// codeLifetime is how long Slack honours an OAuth code.
const codeLifetime = 10 * time.Minute

// defaultRotationLifetime is how long a rotating token lives on Slack.
const defaultRotationLifetime = 12 * time.Hour

type oauthApp struct {
	clientID, clientSecret string
}

// SetOAuthApp sets the app's OAuth credentials; exchanges must present them.
func (s *Server) SetOAuthApp(clientID, clientSecret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.app = oauthApp{clientID: clientID, clientSecret: clientSecret}
}

// Grant is what a person approved on Slack's authorize page; NewOAuthCode
// turns it into the code Slack would redirect back with.
type Grant struct {
	TeamID string
	// UserID is the installer (authed_user, installer_user_id).
	UserID     string
	Scopes     []string // bot scopes
	UserScopes []string // user scopes; a user token is issued when set
	// RedirectURI, when set, must be repeated exactly in the exchange.
	RedirectURI string
	// Rotation turns on token rotation: tokens expire after ExpiresIn
	// (12 h when zero) and come with a refresh token.
	Rotation  bool
	ExpiresIn time.Duration
	// Workspace marks a code from the legacy workspace-app flow, to be
	// exchanged at oauth.token; oauth.v2.access refuses it.
	Workspace bool
}

type codeState struct {
	grant   Grant
	created time.Time
	used    bool
}

type refreshState struct {
	tok  Token         // the access token it renews: kind, team, user, scopes
	life time.Duration // how long each renewed token lives
}

// NewOAuthCode returns a single-use code for g, valid for 10 minutes. It
// grants what g says, for the fake's own tests of odd grants; a test of
// Triage's install goes through Authorize, which grants what Triage asked.
func (s *Server) NewOAuthCode(g Grant) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.workspaces[g.TeamID]
	if ws == nil {
		panic("slackfake: NewOAuthCode: unknown workspace " + g.TeamID)
	}
	g.Scopes, g.UserScopes = slices.Clone(g.Scopes), slices.Clone(g.UserScopes)
	code := fmt.Sprintf("%d.%d.%s", 1000000000+s.nextSeq(), s.now().Unix(), randomHex(20))
	s.codes[code] = &codeState{grant: g, created: s.now()}
	return code
}

// Authorize is Slack's authorize page approving what an app asked for:
// authorizeURL is where the app sent the person's browser (Slack's
// /oauth/v2/authorize, or /oauth/authorize for the legacy workspace flow,
// at any host). The code it returns grants exactly the scopes and user
// scopes the URL requested, for the redirect_uri it named, as Slack's
// would; an app that forgets to ask for a scope gets a token without it.
// From g it takes who approves (TeamID, UserID) and token rotation
// (Rotation, ExpiresIn); g's scope, redirect and flow fields must be empty.
func (s *Server) Authorize(authorizeURL string, g Grant) (string, error) {
	u, err := url.Parse(authorizeURL)
	if err != nil {
		return "", fmt.Errorf("slackfake: authorize URL: %w", err)
	}
	if len(g.Scopes) > 0 || len(g.UserScopes) > 0 || g.RedirectURI != "" || g.Workspace {
		return "", errors.New("slackfake: Authorize takes the scopes, redirect and flow from the URL, not from the grant")
	}
	q := u.Query()
	switch {
	case strings.HasSuffix(u.Path, "/oauth/v2/authorize"):
	case strings.HasSuffix(u.Path, "/oauth/authorize"):
		g.Workspace = true
	default:
		return "", fmt.Errorf("slackfake: %s is not an authorize page", u.Path)
	}
	s.mu.Lock()
	app := s.app
	s.mu.Unlock()
	if id := q.Get("client_id"); id == "" || id != app.clientID {
		return "", fmt.Errorf("slackfake: authorize: invalid_client_id %q", id)
	}
	split := func(v string) []string {
		return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
	}
	g.Scopes, g.UserScopes, g.RedirectURI = split(q.Get("scope")), split(q.Get("user_scope")), q.Get("redirect_uri")
	if len(g.Scopes) == 0 && len(g.UserScopes) == 0 {
		return "", errors.New("slackfake: authorize: invalid_scope (no scope requested)")
	}
	return s.NewOAuthCode(g), nil
}

// clientAuth checks the client credentials from the form or HTTP basic auth.
func (s *Server) clientAuth(rq *apiRequest) string {
	id, secret := rq.params["client_id"], rq.params["client_secret"]
	if id == "" && rq.basicID != "" {
		id, secret = rq.basicID, rq.basicSecret
	}
	switch {
	case id == "" || s.app.clientID == "" || id != s.app.clientID:
		return "invalid_client_id"
	case secret != s.app.clientSecret:
		return "bad_client_secret"
	}
	return ""
}

// takeCode validates and consumes a code for the given flow.
func (s *Server) takeCode(rq *apiRequest, workspaceFlow bool) (*codeState, string) {
	c := s.codes[rq.params["code"]]
	if c == nil || c.used || s.now().Sub(c.created) >= codeLifetime {
		return nil, "invalid_code"
	}
	if c.grant.Workspace != workspaceFlow {
		if workspaceFlow {
			return nil, "invalid_code"
		}
		return nil, "oauth_authorization_url_mismatch"
	}
	if c.grant.RedirectURI != "" && rq.params["redirect_uri"] != c.grant.RedirectURI {
		return nil, "bad_redirect_uri"
	}
	c.used = true
	return c, ""
}

func (s *Server) oauthV2Access(rq *apiRequest, _ *tokenState) *result {
	if code := s.clientAuth(rq); code != "" {
		return errResult(code)
	}
	switch rq.params["grant_type"] {
	case "", "authorization_code":
	case "refresh_token":
		return s.oauthRefresh(rq)
	default:
		return errResult("invalid_grant_type")
	}
	c, code := s.takeCode(rq, false)
	if code != "" {
		return errResult(code)
	}
	g := c.grant
	ws := s.workspaces[g.TeamID]
	f := map[string]any{
		"app_id":                ws.AppID,
		"team":                  map[string]any{"id": ws.ID, "name": ws.Name},
		"enterprise":            nil,
		"is_enterprise_install": false,
	}
	authed := map[string]any{"id": g.UserID}
	if len(g.Scopes) > 0 {
		bot := s.issue(Token{TeamID: ws.ID, UserID: ws.BotUserID, Kind: KindBot, Scopes: g.Scopes}, g)
		f["access_token"] = bot.Value
		f["token_type"] = "bot"
		f["scope"] = strings.Join(g.Scopes, ",")
		f["bot_user_id"] = ws.BotUserID
		s.addRotation(f, bot, g)
	}
	if len(g.UserScopes) > 0 {
		user := s.issue(Token{TeamID: ws.ID, UserID: g.UserID, Kind: KindUser, Scopes: g.UserScopes}, g)
		authed["scope"] = strings.Join(g.UserScopes, ",")
		authed["access_token"] = user.Value
		authed["token_type"] = "user"
		s.addRotation(authed, user, g)
	}
	f["authed_user"] = authed
	return okResult(f)
}

// addRotation adds refresh_token and expires_in for a rotating token.
func (s *Server) addRotation(f map[string]any, t *tokenState, g Grant) {
	if !g.Rotation {
		return
	}
	rt := "xoxe-1-" + randomHex(24)
	s.refresh[rt] = &refreshState{tok: t.Token, life: t.ExpiresAt.Sub(s.now())}
	f["refresh_token"] = rt
	f["expires_in"] = int(t.ExpiresAt.Sub(s.now()).Seconds())
}

// issue stores a new access token. Without rotation a bot reinstalled in
// the same workspace keeps its token, as on Slack, with the new scopes.
func (s *Server) issue(t Token, g Grant) *tokenState {
	if !g.Rotation && t.Kind == KindBot {
		for _, old := range s.tokens {
			if old.Kind == KindBot && old.TeamID == t.TeamID && old.ExpiresAt.IsZero() &&
				!old.revoked && old.forceErr == "" && strings.HasPrefix(old.Value, "xoxb-") {
				old.Scopes = slices.Clone(t.Scopes)
				return old
			}
		}
	}
	prefix := map[string]string{KindBot: "xoxb-", KindUser: "xoxp-", KindWorkspace: "xoxa-2-"}[t.Kind]
	if g.Rotation {
		prefix = "xoxe." + prefix + "1-"
		life := g.ExpiresIn
		if life <= 0 {
			life = defaultRotationLifetime
		}
		t.ExpiresAt = s.now().Add(life)
	}
	t.Value = fmt.Sprintf("%s%d-%d-%s", prefix, 100000+s.nextSeq(), s.now().Unix(), randomHex(12))
	t.Scopes = slices.Clone(t.Scopes)
	ts := &tokenState{Token: t}
	s.tokens[t.Value] = ts
	return ts
}

func (s *Server) oauthRefresh(rq *apiRequest) *result {
	rt := rq.params["refresh_token"]
	r := s.refresh[rt]
	if r == nil {
		return errResult("invalid_refresh_token")
	}
	delete(s.refresh, rt)
	ws := s.workspaces[r.tok.TeamID]
	g := Grant{Rotation: true, ExpiresIn: r.life}
	t := s.issue(Token{TeamID: r.tok.TeamID, UserID: r.tok.UserID, Kind: r.tok.Kind, Scopes: r.tok.Scopes}, g)
	f := map[string]any{
		"access_token":          t.Value,
		"token_type":            r.tok.Kind,
		"scope":                 strings.Join(t.Scopes, ","),
		"app_id":                ws.AppID,
		"team":                  map[string]any{"id": ws.ID, "name": ws.Name},
		"enterprise":            nil,
		"is_enterprise_install": false,
	}
	if t.Kind == KindBot {
		f["bot_user_id"] = ws.BotUserID
	}
	s.addRotation(f, t, g)
	return okResult(f)
}

// oauthToken is the legacy workspace-app exchange (the seed's flow).
func (s *Server) oauthToken(rq *apiRequest, _ *tokenState) *result {
	if code := s.clientAuth(rq); code != "" {
		return errResult(code)
	}
	if gt := rq.params["grant_type"]; gt != "" && gt != "authorization_code" {
		return errResult("invalid_grant_type")
	}
	c, code := s.takeCode(rq, true)
	if code != "" {
		return errResult(code)
	}
	g := c.grant
	ws := s.workspaces[g.TeamID]
	t := s.issue(Token{TeamID: ws.ID, UserID: ws.BotUserID, Kind: KindWorkspace, Scopes: g.Scopes}, Grant{})
	return okResult(map[string]any{
		"access_token":        t.Value,
		"token_type":          "app",
		"app_id":              ws.AppID,
		"app_user_id":         ws.BotUserID,
		"installer_user_id":   g.UserID,
		"authorizing_user_id": g.UserID,
		"team_id":             ws.ID,
		"team_name":           ws.Name,
		"scope":               strings.Join(g.Scopes, ","),
		"permissions": []any{map[string]any{
			"scopes": g.Scopes, "resource_type": "team", "resource_id": 0,
		}},
	})
}
