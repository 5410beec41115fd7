package main

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestTeamAdminLinksTeam (issue 17): a team's admin, who is no owner or
// admin of the organization, may send the team's notifications to a Slack
// channel and stop them, over HTTP and Socket Mode; a contributor may not,
// and is told who may. The role is set on the team page by an owner (a
// member gets 403, a made-up role 400) and with `triage team role`.
func TestTeamAdminLinksTeam(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := setupChannels(t, engine, nil)
			ctx := context.Background()
			s, err := store.Open(ctx, w.dbURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			mel, err := s.UserByEmail(ctx, "mel@acme.test")
			s.Close()
			if err != nil {
				t.Fatal(err)
			}

			// Mel is a contributor on #core: refused, with who may.
			if got := w.command("U2", "C4", "link team core"); !strings.Contains(got, "or an admin of team #core") {
				t.Fatalf("contributor linking the team: %q", got)
			}

			// The team page: an owner makes Mel the team's admin.
			rolePath := "/organizations/acme/settings/teams/core/members/" + strconv.FormatInt(mel.ID, 10) + "/role/"
			post := func(c *http.Client, role string) int {
				t.Helper()
				resp, err := c.PostForm(w.base+rolePath, url.Values{"role": {role}})
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			ada := w.browser("ada@acme.test", "correct horse")
			melWeb := w.browser("mel@acme.test", "battery staple")
			if page := w.get(ada, "/organizations/acme/settings/teams/core/"); !strings.Contains(page, `action="`+rolePath+`"`) {
				t.Fatalf("the team page has no role form for Mel")
			}
			if code := post(melWeb, "admin"); code != http.StatusForbidden {
				t.Errorf("a member setting team roles: %d, want 403", code)
			}
			if code := post(ada, "boss"); code != http.StatusBadRequest {
				t.Errorf("a made-up role: %d, want 400", code)
			}
			if code := post(ada, "admin"); code != http.StatusSeeOther {
				t.Fatalf("setting the role: %d", code)
			}
			if page := w.get(melWeb, "/organizations/acme/settings/teams/core/"); !strings.Contains(page, "Team admin") {
				t.Errorf("the team page does not show Mel as the team's admin")
			}

			// Now Mel links and unlinks #core, over both transports.
			if got := w.command("U2", "C4", "link team core"); !strings.Contains(got, "*#core*") || !strings.Contains(got, "now come to this channel") {
				t.Fatalf("team admin linking over HTTP: %q", got)
			}
			if got := w.socketCommand("U2", "C4", "subscriptions"); !strings.Contains(got, "#core") {
				t.Errorf("after linking: %q", got)
			}
			if got := w.socketCommand("U2", "C4", "unlink team"); !strings.Contains(got, "no longer gets the notifications of *#core*") {
				t.Fatalf("team admin unlinking over Socket Mode: %q", got)
			}
			if got := w.socketCommand("U2", "C5", "link team core"); !strings.Contains(got, "now come to this channel") {
				t.Fatalf("team admin linking over Socket Mode: %q", got)
			}

			// `triage team role` takes it back: Mel may no longer unlink.
			e := env{"TRIAGE_DATABASE_URL": w.dbURL, "TRIAGE_SECRET_KEY": alertSecretKey}
			if _, stderr, err := triageCmd(t, e, "team", "role", "--org", "acme", "--team", "core", "--email", "mel@acme.test", "--role", "contributor"); err != nil {
				t.Fatalf("team role: %v %s", err, stderr)
			}
			if _, _, err := triageCmd(t, e, "team", "role", "--org", "acme", "--team", "core", "--email", "ada@acme.test", "--role", "admin"); err == nil {
				t.Error("team role for someone off the team succeeded")
			}
			if got := w.command("U2", "C5", "unlink team core"); !strings.Contains(got, "or an admin of team #core") {
				t.Errorf("contributor unlinking: %q", got)
			}
			if got := w.command("U1", "C5", "subscriptions"); !strings.Contains(got, "#core") {
				t.Errorf("the refused unlink changed the channel: %q", got)
			}
		})
	}
}
