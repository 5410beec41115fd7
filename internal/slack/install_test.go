package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"triage/internal/slack"
	"triage/internal/slack/slackfake"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

func TestInstallV2ReinstallAndSecondWorkspace(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s, "v2")
		ctx := context.Background()

		state := b.startInstall(b.owner)
		w := b.do("GET", "/organizations/acme/integrations/slack/setup/", b.owner, nil)
		loc, _ := url.Parse(w.Header().Get("Location"))
		if got := loc.Query().Get("scope"); !strings.Contains(got, "chat:write,") || strings.Contains(got, " ") {
			t.Errorf("v2 scope = %q, want comma-joined", got)
		}
		w = b.callback(b.owner, state, b.code("T1", "U1"))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Acme Slack") {
			t.Fatalf("callback: %d %s", w.Code, w.Body)
		}
		in, err := s.IntegrationByTeam(ctx, "T1")
		if err != nil {
			t.Fatal(err)
		}
		if in.Name != "Acme Slack" || in.DomainName != "acme.slack.com" || in.Icon != "https://example.com/acme.png" ||
			in.BotUserID != "U1BOT" || in.InstallType != "v2" || in.Status != store.IntegrationActive || in.AppID == "" {
			t.Errorf("integration = %+v", in)
		}
		token := b.lastAccessToken("oauth.v2.access")
		if !strings.HasPrefix(token, "xoxb-") || strings.Contains(in.AccessTokenEnc, token) {
			t.Fatalf("token %q stored as %q", token, in.AccessTokenEnc)
		}
		if got, err := b.box.Open(in.AccessTokenEnc); err != nil || got != token {
			t.Errorf("sealed token opens to %q, %v", got, err)
		}
		if b.linkedUser(in, "U1") != b.owner.ID {
			t.Error("installer not linked to owner")
		}
		if calls := b.fake.Calls("team.info"); len(calls) != 1 || calls[0].Error != "" {
			t.Errorf("team.info calls = %+v", calls)
		}

		// An admin reinstalls the same workspace: same row, link moves.
		again := b.install(b.admin, "T1", "U1")
		if again.ID != in.ID || len(b.orgIntegrations()) != 1 {
			t.Errorf("reinstall made another integration: %d vs %d", again.ID, in.ID)
		}
		if b.linkedUser(in, "U1") != b.admin.ID {
			t.Error("installer link did not move to the admin")
		}

		// A second workspace in the same organization.
		second := b.install(b.owner, "T2", "V1")
		if second.ID == in.ID || len(b.orgIntegrations()) != 2 {
			t.Errorf("second workspace: %+v, %d attached", second, len(b.orgIntegrations()))
		}

		// The JSON list has DESIGN's shape and no token.
		v, err := b.integ.IntegrationsJSON(ctx, b.org.ID)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(v)
		var list []map[string]any
		_ = json.Unmarshal(raw, &list)
		if len(list) != 2 || list[0]["provider"] != "slack" || list[0]["externalId"] != "T1" ||
			list[0]["domainName"] != "acme.slack.com" || list[0]["status"] != "active" || list[0]["id"] == nil {
			t.Errorf("integrations JSON = %s", raw)
		}
		if bytes.Contains(raw, []byte("xox")) || bytes.Contains(raw, []byte("v1:")) {
			t.Errorf("integrations JSON leaks a token: %s", raw)
		}
	})
}

func TestInstallWorkspaceFlow(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s, "workspace")
		w := b.do("GET", "/organizations/acme/integrations/slack/setup/", b.owner, nil)
		loc, _ := url.Parse(w.Header().Get("Location"))
		if got := loc.Query().Get("scope"); !strings.Contains(got, "chat:write chat:write.public") {
			t.Errorf("workspace scope = %q, want space-joined", got)
		}
		in := b.install(b.owner, "T1", "U2")
		if in.InstallType != "workspace" || in.DomainName != "acme.slack.com" || in.BotUserID != "U1BOT" {
			t.Errorf("integration = %+v", in)
		}
		if calls := b.fake.Calls("oauth.token"); len(calls) != 1 || calls[0].Error != "" || calls[0].Params["grant_type"] != "authorization_code" {
			t.Errorf("oauth.token calls = %+v", calls)
		}
		if !strings.HasPrefix(b.lastAccessToken("oauth.token"), "xoxa-") {
			t.Errorf("token = %q", b.lastAccessToken("oauth.token"))
		}
		if b.linkedUser(in, "U2") != b.owner.ID {
			t.Error("installer_user_id not linked")
		}
		b.install(b.admin, "T1", "U2")
		if b.linkedUser(in, "U2") != b.admin.ID {
			t.Error("reinstall did not move the installer link")
		}
	})
}

func TestInstallErrorsStoreNothing(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s, "v2")
		expect := func(name string, w interface {
			Result() *http.Response
		}, status int, text string) {
			t.Helper()
			res := w.Result()
			var body bytes.Buffer
			_, _ = body.ReadFrom(res.Body)
			if res.StatusCode != status || !strings.Contains(body.String(), text) {
				t.Errorf("%s: %d %q; want %d with %q", name, res.StatusCode, body.String(), status, text)
			}
			if n := len(b.orgIntegrations()); n != 0 {
				t.Errorf("%s: %d integrations stored", name, n)
			}
			if _, err := s.IntegrationByTeam(context.Background(), "T1"); err == nil {
				t.Errorf("%s: integration stored", name)
			}
		}

		expect("member", b.do("GET", "/organizations/acme/integrations/slack/setup/", b.member, nil), http.StatusForbidden, "owner or admin")
		expect("outsider", b.do("GET", "/organizations/acme/integrations/slack/setup/", b.outsider, nil), http.StatusNotFound, "")
		expect("bad state", b.callback(b.owner, "forged", b.code("T1", "U1")), http.StatusBadRequest, "invalid")

		state := b.startInstall(b.owner)
		expect("other user's state", b.callback(b.admin, state, b.code("T1", "U1")), http.StatusBadRequest, "invalid")
		denied := b.do("GET", "/extensions/slack/setup/?"+url.Values{"state": {state}, "error": {"access_denied"}}.Encode(), b.owner, nil)
		expect("denied", denied, http.StatusBadRequest, "cancelled")
		expect("reused state", b.callback(b.owner, state, b.code("T1", "U1")), http.StatusBadRequest, "already used")

		state = b.startInstall(b.owner)
		expect("ok:false", b.callback(b.owner, state, "not-a-code"), http.StatusBadGateway, "invalid_code")

		state = b.startInstall(b.owner)
		b.clock.Advance(11 * time.Minute)
		expect("expired state", b.callback(b.owner, state, b.code("T1", "U1")), http.StatusBadRequest, "expired")

		// team.info refusing also stores nothing.
		state = b.startInstall(b.owner)
		b.fake.FailNext("team.info", "ratelimited")
		expect("team.info failure", b.callback(b.owner, state, b.code("T1", "U1")), http.StatusBadGateway, "ratelimited")
	})
}

func TestTokenNotPlainInSQLiteFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "triage.db")
	s, err := store.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b := setup(t, s, "v2")
	b.install(b.owner, "T1", "U1", rotating(time.Hour))
	calls := b.fake.Calls("oauth.v2.access")
	var resp struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.Unmarshal(calls[0].Response, &resp)
	if resp.AccessToken == "" || resp.RefreshToken == "" {
		t.Fatalf("no tokens in %s", calls[0].Response)
	}
	var all []byte
	for _, f := range []string{path, path + "-wal"} {
		data, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, data...)
	}
	if !bytes.Contains(all, []byte("Acme Slack")) {
		t.Fatal("the database files do not hold the integration at all: wrong files?")
	}
	for _, tok := range []string{resp.AccessToken, resp.RefreshToken} {
		if bytes.Contains(all, []byte(tok)) {
			t.Errorf("token %q…found in plain text in the database file", tok[:8])
		}
	}
}

// TestFakeDefaultTokenHoldsWhatTriageAsks: tests that skip the install get
// a bot token with slackfake.DefaultBotScopes; it must be exactly what
// Triage requests (SLACK.md §2), or a scope Triage forgot to ask for would
// still be on the token those tests use.
func TestFakeDefaultTokenHoldsWhatTriageAsks(t *testing.T) {
	t.Parallel()
	want := slices.Sorted(slices.Values(slackfake.DefaultBotScopes()))
	got := slices.Sorted(slices.Values(slack.BotScopes()))
	if !slices.Equal(got, want) {
		t.Errorf("Triage asks for %v; the fake's default bot token has %v", got, want)
	}
}
