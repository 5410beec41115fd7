package web

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"triage/internal/alert"
	"triage/internal/store"
	"triage/internal/testutil/browser"
)

// TestBrowserSlackChannels: an owner opens Settings → Slack channels,
// sees the channel subscription made in Slack (not the other
// organization's), types a query the search cannot read and is told why
// next to it with the query kept, saves a good one, and removes the
// subscription.
func TestBrowserSlackChannels(t *testing.T) {
	t.Parallel()
	p := setupRulePages(t, store.SQLite)
	ctx := context.Background()
	if _, err := p.alerts.Subscribe(ctx, p.alice.ID, alert.ChannelRef{IntegrationID: p.acmeSlack, ChannelID: "C1", ChannelName: "alerts"}, "web", "level:error"); err != nil {
		t.Fatal(err)
	}
	bctx := browser.New(t)
	load := func(actions ...chromedp.Action[chromedp.Void]) int64 {
		t.Helper()
		resp, err := chromedp.RunResponse(bctx, actions...)
		if err != nil {
			t.Fatalf("%v", err)
		}
		return resp.Status
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	value := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Value(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("value of %s: %v", sel, err)
		}
		return v
	}
	if err := chromedp.Do(bctx,
		chromedp.Navigate(p.url+"/organizations/acme/settings/"),
		chromedp.SendKeys(chromedp.CSS("#email"), "alice@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
	); err != nil {
		t.Fatal(err)
	}
	load(chromedp.Click(chromedp.CSS("#login")))
	if code := load(chromedp.Click(chromedp.CSS("#slack-channels-link"))); code != 200 {
		t.Fatalf("Slack channels page: %d", code)
	}
	if table := text("#subscription-list"); !strings.Contains(table, "#alerts") || !strings.Contains(table, "web") || strings.Contains(table, "other-alerts") {
		t.Errorf("subscriptions table: %q", table)
	}
	if v := value("#subscription-list input[name=query]"); v != "level:error" {
		t.Errorf("query field %q", v)
	}

	if err := chromedp.Do(bctx, chromedp.SetValue(chromedp.CSS("#subscription-list input[name=query]"), "level:loud")); err != nil {
		t.Fatal(err)
	}
	if code := load(chromedp.Click(chromedp.CSS(".save-subscription"))); code != 400 {
		t.Errorf("bad query answered %d, want 400", code)
	}
	if msg := text("#subscription-list .field-error"); !strings.Contains(msg, `cannot search for "level:loud"`) {
		t.Errorf("error next to the query: %q", msg)
	}
	if v := value("#subscription-list input[name=query]"); v != "level:loud" {
		t.Errorf("the refused query was not kept: %q", v)
	}

	if err := chromedp.Do(bctx, chromedp.SetValue(chromedp.CSS("#subscription-list input[name=query]"), "level:fatal checkout")); err != nil {
		t.Fatal(err)
	}
	load(chromedp.Click(chromedp.CSS(".save-subscription")))
	if got := text("#flash"); got != "Subscription saved." {
		t.Errorf("flash %q", got)
	}
	if v := value("#subscription-list input[name=query]"); v != "level:fatal checkout" {
		t.Errorf("saved query %q", v)
	}
	subs, _, err := p.alerts.OrgFollows(ctx, p.alice.ID, p.acme)
	if err != nil || len(subs) != 1 || subs[0].Query != "level:fatal checkout" {
		t.Fatalf("stored %+v, %v", subs, err)
	}

	load(chromedp.Click(chromedp.CSS(".delete-subscription")))
	if got := text("#no-subscriptions"); !strings.Contains(got, "No channel follows") {
		t.Errorf("after removing: %q", got)
	}
}
