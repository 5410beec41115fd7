package slackfake_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"triage/internal/slack/slackfake"
)

const (
	clientID     = "1234.5678"
	clientSecret = "s3cret"
	redirect     = "https://triage.example.com/extensions/slack/setup/"
)

func TestOAuthV2WithRotation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.SetOAuthApp(clientID, clientSecret)
	code := b.fake.NewOAuthCode(slackfake.Grant{
		TeamID: team, UserID: alice, Scopes: slackfake.DefaultBotScopes(),
		RedirectURI: redirect, Rotation: true,
	})
	opt := slack.OAuthOptionAPIURL(b.fake.APIURL())
	hc := http.DefaultClient

	if _, err := slack.GetOAuthV2ResponseContext(ctx(t), hc, clientID, clientSecret, code, "https://evil.example.com/", opt); slackErr(t, err) != "bad_redirect_uri" {
		t.Errorf("wrong redirect_uri: %v", err)
	}
	// A failed exchange leaves the code usable; a wrong secret fails first.
	if _, err := slack.GetOAuthV2ResponseContext(ctx(t), hc, clientID, "wrong", code, redirect, opt); slackErr(t, err) != "bad_client_secret" {
		t.Errorf("wrong secret: %v", err)
	}
	resp, err := slack.GetOAuthV2ResponseContext(ctx(t), hc, clientID, clientSecret, code, redirect, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.AccessToken, "xoxe.xoxb-") || resp.TokenType != "bot" || resp.BotUserID != botUser ||
		resp.AppID != "A0TRIAGE" || resp.Team.ID != team || resp.Team.Name != "Acme" || resp.AuthedUser.ID != alice ||
		resp.ExpiresIn != 43200 || !strings.HasPrefix(resp.RefreshToken, "xoxe-1-") ||
		resp.Scope != strings.Join(slackfake.DefaultBotScopes(), ",") {
		t.Errorf("response = %+v", resp)
	}
	if _, err := slack.GetOAuthV2ResponseContext(ctx(t), hc, clientID, clientSecret, code, redirect, opt); slackErr(t, err) != "invalid_code" {
		t.Errorf("reused code: %v", err)
	}

	api := slack.New(resp.AccessToken, slack.OptionAPIURL(b.fake.APIURL()))
	if _, err := api.AuthTestContext(ctx(t)); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	b.clock.Advance(12 * time.Hour)
	if _, err := api.AuthTestContext(ctx(t)); slackErr(t, err) != "token_expired" {
		t.Errorf("after 12 h: %v", err)
	}

	fresh, err := slack.RefreshOAuthV2TokenContext(ctx(t), hc, clientID, clientSecret, resp.RefreshToken, opt)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == resp.AccessToken || fresh.RefreshToken == resp.RefreshToken || fresh.ExpiresIn != 43200 {
		t.Errorf("refresh = %+v", fresh)
	}
	if _, err := slack.RefreshOAuthV2TokenContext(ctx(t), hc, clientID, clientSecret, resp.RefreshToken, opt); slackErr(t, err) != "invalid_refresh_token" {
		t.Errorf("reused refresh token: %v", err)
	}
	api = slack.New(fresh.AccessToken, slack.OptionAPIURL(b.fake.APIURL()))
	if _, _, err := api.PostMessageContext(ctx(t), general, slack.MsgOptionText("still here", false)); err != nil {
		t.Errorf("refreshed token: %v", err)
	}
	if _, err := slack.RefreshOAuthV2TokenContext(ctx(t), hc, clientID, clientSecret, fresh.RefreshToken, opt); err != nil {
		t.Errorf("second refresh: %v", err)
	}
}

func TestOAuthV2WithoutRotationKeepsBotToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.SetOAuthApp(clientID, clientSecret)
	opt := slack.OAuthOptionAPIURL(b.fake.APIURL())
	var tokens []string
	for range 2 {
		code := b.fake.NewOAuthCode(slackfake.Grant{TeamID: team, UserID: bob, Scopes: []string{"chat:write"}, UserScopes: []string{"identity.basic"}})
		resp, err := slack.GetOAuthV2ResponseContext(ctx(t), http.DefaultClient, clientID, clientSecret, code, "", opt)
		if err != nil {
			t.Fatal(err)
		}
		if resp.RefreshToken != "" || resp.ExpiresIn != 0 || resp.AuthedUser.TokenType != "user" ||
			!strings.HasPrefix(resp.AuthedUser.AccessToken, "xoxp-") {
			t.Errorf("response = %+v", resp)
		}
		tokens = append(tokens, resp.AccessToken)
	}
	// The setup's bot token was issued first, so a reinstall returns it.
	if tokens[0] != tokens[1] || tokens[0] != botToken {
		t.Errorf("reinstall gave %v, want the existing bot token both times", tokens)
	}
	if info, _ := b.fake.TokenInfo(botToken); strings.Join(info.Scopes, ",") != "chat:write" {
		t.Errorf("scopes after reinstall = %v", info.Scopes)
	}
}

func TestOAuthTokenWorkspaceFlow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.SetOAuthApp(clientID, clientSecret)
	code := b.fake.NewOAuthCode(slackfake.Grant{
		TeamID: team, UserID: alice, Workspace: true,
		Scopes: []string{"chat:write", "channels:read", "links:write"},
	})
	// A workspace-flow code is no good at oauth.v2.access.
	_, err := slack.GetOAuthV2ResponseContext(ctx(t), http.DefaultClient, clientID, clientSecret, code, "", slack.OAuthOptionAPIURL(b.fake.APIURL()))
	if got := slackErr(t, err); got != "oauth_authorization_url_mismatch" {
		t.Errorf("v2 with a workspace code: %q", got)
	}
	resp := rawCall(t, b.fake, "oauth.token", "", url.Values{
		"client_id": {clientID}, "client_secret": {clientSecret}, "code": {code}, "grant_type": {"authorization_code"},
	})
	tok, _ := resp["access_token"].(string)
	if resp["ok"] != true || !strings.HasPrefix(tok, "xoxa-") || resp["team_id"] != team || resp["team_name"] != "Acme" ||
		resp["installer_user_id"] != alice || resp["authorizing_user_id"] != alice || resp["scope"] != "chat:write,channels:read,links:write" {
		t.Fatalf("oauth.token = %v", resp)
	}
	again := rawCall(t, b.fake, "oauth.token", "", url.Values{"client_id": {clientID}, "client_secret": {clientSecret}, "code": {code}})
	if again["error"] != "invalid_code" {
		t.Errorf("reused code: %v", again)
	}
	api := slack.New(tok, slack.OptionAPIURL(b.fake.APIURL()))
	if _, _, err := api.PostMessageContext(ctx(t), general, slack.MsgOptionText("from a workspace token", false)); err != nil {
		t.Errorf("workspace token post: %v", err)
	}
}

func TestTeamInfoAndAuthTest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	info, err := b.api.GetTeamInfoContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != team || info.Domain != "acme" || info.Icon["image_132"] != "https://example.com/acme-132.png" {
		t.Errorf("team.info = %+v", info)
	}
	at, err := b.api.AuthTestContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if at.TeamID != team || at.UserID != botUser || at.URL != "https://acme.slack.com/" || at.BotID == "" {
		t.Errorf("auth.test = %+v", at)
	}
}

func TestUninstallAndTokenErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.Uninstall(team)
	_, err := b.api.AuthTestContext(ctx(t))
	if got := slackErr(t, err); got != "account_inactive" {
		t.Errorf("after uninstall: %q", got)
	}
	// A token in a JSON body is ignored, as by Slack.
	req, _ := http.NewRequest(http.MethodPost, b.fake.APIURL()+"auth.test", strings.NewReader(`{"token":"`+botToken+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := b.fake.Calls("auth.test"); c[len(c)-1].Error != "not_authed" {
		t.Errorf("token in JSON body: %+v", c[len(c)-1])
	}
}
