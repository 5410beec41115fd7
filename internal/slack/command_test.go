package slack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	goslack "github.com/slack-go/slack"

	"triage"
	"triage/internal/slack"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

func TestSlashCommand(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s, "v2")
		b.install(b.owner, "T1", "U1")
		run := func(team, user, text string) string {
			t.Helper()
			form := url.Values{"team_id": {team}, "user_id": {user}, "channel_id": {"C1"}, "command": {"/triage"},
				"text": {text}, "response_url": {b.fake.NewResponseURL(team, "C1", user)}}
			w := b.signedPost("/extensions/slack/commands/", "application/x-www-form-urlencoded", form.Encode())
			if w.Code != http.StatusOK {
				t.Fatalf("%q: %d %s", text, w.Code, w.Body)
			}
			var reply struct{ ResponseType, Text string }
			if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(w.Body.String(), `"response_type":"ephemeral"`) {
				t.Errorf("%q: not ephemeral: %s", text, w.Body)
			}
			return reply.Text
		}
		for _, text := range []string{"", "help", " HELP "} {
			if got := run("T1", "U2", text); !strings.Contains(got, "/triage link") {
				t.Errorf("%q: %q", text, got)
			}
		}
		if got := run("T1", "U2", "link"); !strings.Contains(got, "<"+prefix+"/extensions/slack/link-identity/") {
			t.Errorf("link: %q", got)
		} else {
			// The link works: the member follows it.
			u := strings.TrimPrefix(strings.SplitN(got, "|", 2)[0], "<")
			if w := b.do("POST", u, b.member, nil); w.Code != http.StatusOK {
				t.Errorf("following the command's link: %d", w.Code)
			}
		}
		if got := run("T1", "U1", "link"); !strings.Contains(got, "already linked") || !strings.Contains(got, "owner@example.com") {
			t.Errorf("link when linked: %q", got)
		}
		if got := run("T1", "U3", "unlink"); !strings.Contains(got, "not linked") {
			t.Errorf("unlink when not linked: %q", got)
		}
		if got := run("T1", "U1", "unlink"); !strings.Contains(got, "/extensions/slack/unlink-identity/") {
			t.Errorf("unlink: %q", got)
		}
		if got := run("T1", "U1", "resolve <!channel>"); !strings.Contains(got, "Unknown command `resolve`") || !strings.Contains(got, "/triage link") {
			t.Errorf("unknown: %q", got)
		}
		if got := run("T9", "U1", "link"); !strings.Contains(got, "not installed") {
			t.Errorf("unknown workspace: %q", got)
		}
	})
}

func TestSignedEndpointsVerifyFirst(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s, "v2")
		for _, path := range []string{"/extensions/slack/commands/", "/extensions/slack/action/", "/extensions/slack/event/", "/extensions/slack/options-load/"} {
			r := httptest.NewRequest("POST", path, strings.NewReader("payload=%7B%7D"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			b.mux.ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized {
				t.Errorf("%s unsigned: %d", path, w.Code)
			}
		}
		for _, path := range []string{"/extensions/slack/action/", "/extensions/slack/options-load/"} {
			w := b.signedPost(path, "application/x-www-form-urlencoded", "payload=%7B%7D")
			if w.Code != http.StatusBadRequest {
				t.Errorf("%s signed, empty payload: %d %s", path, w.Code, w.Body)
			}
		}
		w := b.signedPost("/extensions/slack/event/", "application/json", `{"type":"url_verification","challenge":"abc"}`)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"challenge":"abc"`) {
			t.Errorf("url_verification: %d %s", w.Code, w.Body)
		}
		w = b.signedPost("/extensions/slack/event/", "application/json", `{"type":"event_callback"}`)
		if w.Code != http.StatusBadRequest {
			t.Errorf("event without a workspace: %d", w.Code)
		}
	})
}

func TestTokenRotation(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s, "v2")
		ctx := context.Background()
		in := b.install(b.owner, "T1", "U1", rotating(time.Hour))
		first := b.lastAccessToken("oauth.v2.access")
		if in.RefreshTokenEnc == "" || in.TokenExpiresAt.IsZero() {
			t.Fatalf("rotation not stored: %+v", in)
		}
		api, err := b.integ.WebAPI().Client(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.AuthTestContext(ctx); err != nil {
			t.Fatalf("fresh token: %v", err)
		}
		if n := len(b.fake.Calls("oauth.v2.access")); n != 1 {
			t.Errorf("refreshed a fresh token: %d exchanges", n)
		}

		b.clock.Advance(55 * time.Minute) // within the refresh margin
		api, err = b.integ.WebAPI().Client(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.AuthTestContext(ctx); err != nil {
			t.Fatalf("refreshed token: %v", err)
		}
		calls := b.fake.Calls("oauth.v2.access")
		if len(calls) != 2 || calls[1].Params["grant_type"] != "refresh_token" || calls[1].Error != "" {
			t.Fatalf("refresh calls = %+v", calls)
		}
		second := b.lastAccessToken("oauth.v2.access")
		after, _ := s.IntegrationByID(ctx, in.ID)
		if got, _ := b.box.Open(after.AccessTokenEnc); got != second || second == first {
			t.Errorf("stored token not rotated")
		}
		var firstResp struct {
			RefreshToken string `json:"refresh_token"`
		}
		_ = json.Unmarshal(calls[0].Response, &firstResp)
		if _, err := goslack.RefreshOAuthV2TokenContext(ctx, &http.Client{Timeout: 5 * time.Second}, "client-id", "client-secret",
			firstResp.RefreshToken, goslack.OAuthOptionAPIURL(b.fake.APIURL())); err == nil || !strings.Contains(err.Error(), "invalid_refresh_token") {
			t.Errorf("old refresh token still works on Slack: %v", err)
		}
		if !after.TokenExpiresAt.After(in.TokenExpiresAt) {
			t.Errorf("expiry not moved: %v", after.TokenExpiresAt)
		}

		// The periodic job renews what would expire before its next run.
		b.clock.Advance(30 * time.Minute)
		if n, err := b.integ.WebAPI().RefreshDue(ctx, time.Hour); err != nil || n != 1 {
			t.Errorf("RefreshDue = %d, %v", n, err)
		}
		if n, err := b.integ.WebAPI().RefreshDue(ctx, time.Minute); err != nil || n != 0 {
			t.Errorf("RefreshDue with nothing due = %d, %v", n, err)
		}
		// Calls: install, refresh on use, the test replaying the spent
		// refresh token, the job's refresh.
		if calls := b.fake.Calls("oauth.v2.access"); len(calls) != 4 || calls[3].Error != "" {
			t.Errorf("job refresh calls = %d", len(calls))
		}

		// The old refresh token is spent on Slack's side; a refused refresh
		// marks the integration for reinstall.
		b.clock.Advance(55 * time.Minute)
		b.fake.FailNext("oauth.v2.access", "invalid_refresh_token")
		if _, err := b.integ.WebAPI().Client(ctx, in.ID); triage.ErrorCode(err) != triage.EINVALID {
			t.Fatalf("failed refresh: %v", err)
		}
		after, _ = s.IntegrationByID(ctx, in.ID)
		if after.Status != triage.IntegrationNeedsReinstall || !strings.Contains(after.StatusReason, "invalid_refresh_token") {
			t.Errorf("after failed refresh: %s %q", after.Status, after.StatusReason)
		}
		html, err := b.integ.SettingsSection(ctx, b.org, b.owner, &triage.Member{Role: triage.RoleOwner})
		if err != nil || !strings.Contains(string(html), "Needs reinstall") || !strings.Contains(string(html), "slack-install") {
			t.Errorf("settings section: %v %s", err, html)
		}
	})
}

func TestSettingsSection(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s, "v2")
		ctx := context.Background()
		b.install(b.owner, "T1", "U1")
		html, err := b.integ.SettingsSection(ctx, b.org, b.member, &triage.Member{Role: triage.RoleMember})
		if err != nil {
			t.Fatal(err)
		}
		if h := string(html); !strings.Contains(h, "Acme Slack") || strings.Contains(h, "slack-install") || !strings.Contains(h, "None linked") {
			t.Errorf("member's section: %s", h)
		}
		html, _ = b.integ.SettingsSection(ctx, b.org, b.owner, &triage.Member{Role: triage.RoleOwner})
		if h := string(html); !strings.Contains(h, "slack-install") || !strings.Contains(h, "/extensions/slack/unlink-identity/") || strings.Contains(h, "xox") {
			t.Errorf("owner's section: %s", h)
		}
	})
}

func TestManifest(t *testing.T) {
	t.Parallel()
	raw, err := slack.Manifest("https://triage.example.com:8443", false)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			SlashCommands []struct{ Command, URL string } `json:"slash_commands"`
			UnfurlDomains []string                        `json:"unfurl_domains"`
			BotUser       struct {
				DisplayName string `json:"display_name"`
			} `json:"bot_user"`
			AppHome struct {
				HomeTab     bool `json:"home_tab_enabled"`
				MessagesTab bool `json:"messages_tab_enabled"`
			} `json:"app_home"`
		}
		OAuth struct {
			RedirectURLs []string `json:"redirect_urls"`
			Scopes       struct{ Bot []string }
		} `json:"oauth_config"`
		Settings struct {
			Events struct {
				RequestURL string   `json:"request_url"`
				BotEvents  []string `json:"bot_events"`
			} `json:"event_subscriptions"`
			Interactivity struct {
				IsEnabled   bool   `json:"is_enabled"`
				RequestURL  string `json:"request_url"`
				OptionsLoad string `json:"message_menu_options_url"`
			}
			SocketMode bool `json:"socket_mode_enabled"`
		}
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	p := "https://triage.example.com:8443"
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/triage" ||
		m.Features.SlashCommands[0].URL != p+"/extensions/slack/commands/" ||
		len(m.Features.UnfurlDomains) != 1 || m.Features.UnfurlDomains[0] != "triage.example.com" ||
		m.Features.BotUser.DisplayName == "" || !m.Features.AppHome.HomeTab || !m.Features.AppHome.MessagesTab ||
		!slices.Contains(m.OAuth.Scopes.Bot, "im:write") ||
		len(m.OAuth.RedirectURLs) != 1 || m.OAuth.RedirectURLs[0] != p+"/extensions/slack/setup/" ||
		strings.Join(m.OAuth.Scopes.Bot, " ") != strings.Join(slack.BotScopes(), " ") ||
		m.Settings.Events.RequestURL != p+"/extensions/slack/event/" ||
		strings.Join(m.Settings.Events.BotEvents, ",") != "app_home_opened,app_uninstalled,link_shared,tokens_revoked,message.channels,message.groups" ||
		m.Settings.Interactivity.RequestURL != p+"/extensions/slack/action/" ||
		m.Settings.Interactivity.OptionsLoad != p+"/extensions/slack/options-load/" || m.Settings.SocketMode {
		t.Errorf("manifest = %s", raw)
	}
	for _, scope := range []string{"channels:history", "groups:history"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, scope) {
			t.Errorf("manifest lacks the bot scope %s that thread replies need", scope)
		}
	}
	raw, _ = slack.Manifest(p, true)
	// Socket Mode gets the same events and scopes, without request URLs.
	if !strings.Contains(string(raw), `"message.channels"`) || !strings.Contains(string(raw), `"message.groups"`) ||
		!strings.Contains(string(raw), `"channels:history"`) || !strings.Contains(string(raw), `"groups:history"`) {
		t.Errorf("socket mode manifest lacks the thread reply events or scopes: %s", raw)
	}
	if strings.Contains(string(raw), "/extensions/slack/event/") || strings.Contains(string(raw), "/extensions/slack/commands/") ||
		!strings.Contains(string(raw), `"socket_mode_enabled": true`) || !strings.Contains(string(raw), "/extensions/slack/setup/") {
		t.Errorf("socket mode manifest = %s", raw)
	}
	if _, err := slack.Manifest("not a url", false); err == nil {
		t.Error("bad prefix accepted")
	}
}
