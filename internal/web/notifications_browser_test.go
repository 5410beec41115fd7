package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"triage/internal/store"
	"triage/internal/testutil/browser"
)

// TestBrowserNotificationSettings is what a person does: follow the
// Notifications link at the top of a page, turn comment messages off,
// keep only the web project, save, and see the page say so and keep it.
func TestBrowserNotificationSettings(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	ctx := browser.New(t)
	click := pageClicker(t, ctx)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(b.url+"/organizations/acme/issues/"),
		chromedp.SendKeys(chromedp.CSS("#email"), "bob@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
	); err != nil {
		t.Fatal(err)
	}
	click("#login")
	click("#nav-notifications")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#dm-comments")),
		chromedp.Click(chromedp.CSS("#dm-project-"+itoa(b.web.ID))),
	); err != nil {
		t.Fatal(err)
	}
	click("#save")
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#flash")))
	if err != nil || !strings.Contains(flash, "saved") {
		t.Errorf("flash after saving: %q, %v", flash, err)
	}
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`["#dm-assigned", "#dm-regressed", "#dm-comments", "#dm-project-`+itoa(b.web.ID)+`"]
		.map(s => document.querySelector(s).checked ? "on" : "off").join(" ")`))
	if err != nil || state != "on on off on" {
		t.Errorf("checkboxes after saving: %q, %v", state, err)
	}
	set, err := b.store.DMSettings(t.Context(), b.bob.ID)
	if err != nil || !set.Assigned || !set.Regressed || set.Comments || len(set.ProjectIDs) != 1 || set.ProjectIDs[0] != b.web.ID {
		t.Errorf("stored settings %+v, %v", set, err)
	}
}
