package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"triage/internal/alert"
)

// TestSlackChannelsPermissions: the Slack channels page shows a
// subscription only to those who may see its project; another
// organization's subscription is 404 from every form; a member without
// access to the project may not change it; a cross-site form post is
// refused like every form's.
func TestSlackChannelsPermissions(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			p := setupRulePages(t, engine)
			ctx := context.Background()
			if _, err := p.alerts.Subscribe(ctx, p.alice.ID, alert.ChannelRef{IntegrationID: p.acmeSlack, ChannelID: "C1"}, "web", ""); err != nil {
				t.Fatal(err)
			}
			subs, _, err := p.alerts.OrgFollows(ctx, p.alice.ID, p.acme)
			if err != nil || len(subs) != 1 || subs[0].ChannelName != "alerts" || subs[0].Query != "" {
				t.Fatalf("subscriptions %+v, %v", subs, err)
			}
			id := itoa(subs[0].ID)
			base := "/organizations/acme/settings/slack/subscriptions/" + id + "/"
			clients := map[string]*http.Client{}
			for _, name := range []string{"alice", "bob", "carol", "dave"} {
				clients[name] = p.client()
				p.login(clients[name], name)
			}
			if r := p.get(clients["bob"], "/organizations/acme/settings/slack/"); r.status != 200 || !strings.Contains(r.body, `data-subscription="`+id+`"`) {
				t.Errorf("bob (team backend owns web): %d", r.status)
			}
			if r := p.get(clients["carol"], "/organizations/acme/settings/slack/"); r.status != 200 || strings.Contains(r.body, `data-subscription="`) {
				t.Errorf("carol (no team) sees the subscription to web: %d", r.status)
			}
			if r := p.get(clients["dave"], "/organizations/acme/settings/slack/"); r.status != 404 {
				t.Errorf("dave (another organization): %d, want 404", r.status)
			}
			if r := p.post(clients["dave"], "/organizations/other/settings/slack/subscriptions/"+id+"/delete/", url.Values{}); r.status != 404 {
				t.Errorf("dave deleting acme's subscription through his organization: %d, want 404", r.status)
			}
			if r := p.post(clients["carol"], base, url.Values{"query": {"x"}}); r.status != 403 {
				t.Errorf("carol changing it: %d, want 403", r.status)
			}
			if r := p.post(clients["alice"], base, url.Values{"query": {"level:error"}}, "Sec-Fetch-Site", "cross-site"); r.status != 403 {
				t.Errorf("cross-site post: %d, want 403", r.status)
			}
			if r := p.post(clients["alice"], base, url.Values{"query": {strings.Repeat("x", alert.MaxQueryLength+1)}}); r.status != 400 || !strings.Contains(r.body, "at most 500") {
				t.Errorf("too long a query: %d", r.status)
			}
			if r := p.post(clients["bob"], base+"delete/", url.Values{}); r.status != http.StatusSeeOther {
				t.Errorf("bob removing it: %d", r.status)
			}
			if subs, _, _ := p.alerts.OrgFollows(ctx, p.alice.ID, p.acme); len(subs) != 0 {
				t.Errorf("%d subscriptions left", len(subs))
			}
		})
	}
}
