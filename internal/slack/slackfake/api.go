package slackfake

import (
	"slices"
	"strings"
	"time"
)

// handler answers one Web API method; it runs with s.mu held. tok is nil
// for methods that take no token.
type handler func(s *Server, rq *apiRequest, tok *tokenState) *result

type methodSpec struct {
	h handler
	// noToken: the method authenticates with client credentials instead.
	noToken bool
	// appToken: only app-level (xapp-) tokens may call it; otherwise they
	// may not.
	appToken bool
	// scopes: the token needs one of these; the handler checks more
	// specific scopes itself.
	scopes []string
}

var methods map[string]methodSpec

func init() {
	methods = map[string]methodSpec{
		"oauth.v2.access":       {h: (*Server).oauthV2Access, noToken: true},
		"oauth.token":           {h: (*Server).oauthToken, noToken: true},
		"auth.test":             {h: (*Server).authTest},
		"auth.revoke":           {h: (*Server).authRevoke},
		"team.info":             {h: (*Server).teamInfo, scopes: []string{"team:read"}},
		"chat.postMessage":      {h: (*Server).chatPostMessage, scopes: []string{"chat:write"}},
		"chat.postEphemeral":    {h: (*Server).chatPostEphemeral, scopes: []string{"chat:write"}},
		"chat.update":           {h: (*Server).chatUpdate, scopes: []string{"chat:write"}},
		"chat.unfurl":           {h: (*Server).chatUnfurl, scopes: []string{"links:write"}},
		"dialog.open":           {h: (*Server).dialogOpen},
		"views.open":            {h: (*Server).viewsOpen},
		"views.update":          {h: (*Server).viewsUpdate},
		"views.publish":         {h: (*Server).viewsPublish},
		"conversations.info":    {h: (*Server).conversationsInfo},
		"conversations.list":    {h: (*Server).conversationsList},
		"conversations.open":    {h: (*Server).conversationsOpen, scopes: []string{"im:write", "mpim:write", "channels:manage", "groups:write"}},
		"users.info":            {h: (*Server).usersInfo, scopes: []string{"users:read"}},
		"users.lookupByEmail":   {h: (*Server).usersLookupByEmail, scopes: []string{"users:read.email"}},
		"apps.connections.open": {h: (*Server).appsConnectionsOpen, appToken: true, scopes: []string{"connections:write"}},
	}
}

// dispatch runs the checks Slack runs before a method does its work, in
// Slack's order, then the method; s.mu is held.
func (s *Server) dispatch(rq *apiRequest) *result {
	spec, ok := methods[rq.method]
	if !ok {
		r := errResult("unknown_method")
		r.body["req_method"] = rq.method
		return r
	}
	if r := s.takeFailure(rq.method); r != nil {
		return r
	}
	if spec.noToken {
		return spec.h(s, rq, nil)
	}
	tok, code := s.authenticate(rq.token)
	if code != "" {
		return errResult(code)
	}
	if spec.appToken != (tok.Kind == KindApp) {
		return errResult("not_allowed_token_type")
	}
	if r := s.methodRateLimit(tok, rq.method); r != nil {
		return r
	}
	if len(spec.scopes) > 0 && !tok.hasAny(spec.scopes...) {
		return missingScope(tok, spec.scopes[0])
	}
	r := spec.h(s, rq, tok)
	r.scopes = strings.Join(tok.Scopes, ",")
	return r
}

func missingScope(tok *tokenState, needed string) *result {
	r := errResult("missing_scope")
	r.body["needed"] = needed
	r.body["provided"] = strings.Join(tok.Scopes, ",")
	return r
}

// Token kinds.
const (
	KindBot       = "bot"       // xoxb-, from oauth.v2.access
	KindUser      = "user"      // xoxp-, the installer's token
	KindWorkspace = "workspace" // xoxa-, from the legacy oauth.token flow
	KindApp       = "app"       // xapp-, app-level, for Socket Mode
)

// Token is an access token the fake accepts.
type Token struct {
	Value  string
	TeamID string
	// UserID is who acts with the token: the bot user for bot and
	// workspace tokens, the person for user tokens.
	UserID string
	// Kind is one of the Kind constants; inferred from Value's prefix when
	// empty.
	Kind      string
	Scopes    []string
	ExpiresAt time.Time // zero: never expires
}

type tokenState struct {
	Token
	revoked  bool
	forceErr string
}

// hasAny reports whether the token holds one of scopes. The workspace-app
// scopes chat:write:bot and chat:write:user count as chat:write.
func (t *tokenState) hasAny(scopes ...string) bool {
	for _, want := range scopes {
		for _, have := range t.Scopes {
			if have == want || (want == "chat:write" && strings.HasPrefix(have, "chat:write:")) {
				return true
			}
		}
	}
	return false
}

func kindOf(value string) string {
	switch {
	case strings.HasPrefix(value, "xoxb-"), strings.HasPrefix(value, "xoxe.xoxb-"):
		return KindBot
	case strings.HasPrefix(value, "xoxp-"), strings.HasPrefix(value, "xoxe.xoxp-"):
		return KindUser
	case strings.HasPrefix(value, "xoxa-"):
		return KindWorkspace
	case strings.HasPrefix(value, "xapp-"):
		return KindApp
	}
	return KindBot
}

// AddToken makes the fake accept a token. Bot and workspace tokens act as
// the workspace's bot user when UserID is empty.
func (s *Server) AddToken(t Token) {
	if t.Kind == "" {
		t.Kind = kindOf(t.Value)
	}
	t.Scopes = slices.Clone(t.Scopes)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.Kind != KindApp {
		ws := s.workspaces[t.TeamID]
		if ws == nil {
			panic("slackfake: AddToken: unknown workspace " + t.TeamID)
		}
		if t.UserID == "" {
			t.UserID = ws.BotUserID
		}
	}
	s.tokens[t.Value] = &tokenState{Token: t}
}

// AddBotToken adds a non-expiring bot token for team with
// DefaultBotScopes, for tests that skip the install.
func (s *Server) AddBotToken(team, token string) {
	s.AddToken(Token{Value: token, TeamID: team, Kind: KindBot, Scopes: DefaultBotScopes()})
}

// AddAppToken adds an app-level token (xapp-…) with connections:write, for
// Socket Mode.
func (s *Server) AddAppToken(token string) {
	s.AddToken(Token{Value: token, Kind: KindApp, Scopes: []string{"connections:write"}})
}

// RevokeToken revokes a token as auth.revoke does: calls then fail with
// token_revoked.
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[token]; t != nil {
		t.revoked = true
	}
}

// SetTokenError makes every call with token fail with code (for example
// account_inactive); "" clears it.
func (s *Server) SetTokenError(token, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[token]; t != nil {
		t.forceErr = code
	}
}

// Uninstall removes the app from team as Slack does: its bot and
// workspace tokens answer account_inactive, user tokens token_revoked, and
// refresh tokens stop working.
func (s *Server) Uninstall(team string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if t.TeamID != team {
			continue
		}
		if t.Kind == KindUser {
			t.revoked = true
		} else {
			t.forceErr = "account_inactive"
		}
	}
	for k, r := range s.refresh {
		if r.tok.TeamID == team {
			delete(s.refresh, k)
		}
	}
}

// TokenInfo returns a token as the fake holds it, to check what an install
// or a refresh issued.
func (s *Server) TokenInfo(token string) (Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[token]
	if t == nil {
		return Token{}, false
	}
	out := t.Token
	out.Scopes = slices.Clone(out.Scopes)
	return out, true
}

func (s *Server) authenticate(value string) (*tokenState, string) {
	if value == "" {
		return nil, "not_authed"
	}
	t := s.tokens[value]
	switch {
	case t == nil:
		return nil, "invalid_auth"
	case t.forceErr != "":
		return nil, t.forceErr
	case t.revoked:
		return nil, "token_revoked"
	case !t.ExpiresAt.IsZero() && !s.now().Before(t.ExpiresAt):
		return nil, "token_expired"
	}
	return t, ""
}

func (s *Server) authTest(rq *apiRequest, tok *tokenState) *result {
	if tok.Kind == KindApp {
		return okResult(map[string]any{"app_id": DefaultAppID, "is_enterprise_install": false})
	}
	ws := s.workspaces[tok.TeamID]
	u := s.users[tok.UserID]
	name := tok.UserID
	if u != nil {
		name = u.Name
	}
	f := map[string]any{
		"url":                   "https://" + ws.Domain + ".slack.com/",
		"team":                  ws.Name,
		"user":                  name,
		"team_id":               ws.ID,
		"user_id":               tok.UserID,
		"is_enterprise_install": false,
	}
	if tok.Kind == KindBot {
		f["bot_id"] = ws.BotID
	}
	return okResult(f)
}

func (s *Server) authRevoke(rq *apiRequest, tok *tokenState) *result {
	if parseBool(rq.params["test"]) {
		return okResult(map[string]any{"revoked": false})
	}
	tok.revoked = true
	return okResult(map[string]any{"revoked": true})
}

func parseBool(v string) bool { return v == "true" || v == "1" }
