package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"triage/internal/store"
	"triage/internal/testutil/browser"
)

// TestBrowserAlertRule: an owner logs in, opens the alert rules, clicks
// New rule, fills the form, saves and finds the rule in the table.
func TestBrowserAlertRule(t *testing.T) {
	t.Parallel()
	p := setupRulePages(t, store.SQLite)
	ctx := browser.New(t)

	// click presses a link or button that loads a new page, and waits for it.
	click := pageClicker(t, ctx)
	text := textReader(t, ctx)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(p.url+rulesPath),
		chromedp.SendKeys(chromedp.CSS("#email"), "alice@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
	); err != nil {
		t.Fatal(err)
	}
	click("#login")
	click("#new-rule")
	// The only project and the only workspace are picked already.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#rule-name"), "New errors from the browser"),
		chromedp.Click(chromedp.CSS("#rule-first-seen")),
		chromedp.SetValue(chromedp.CSS("#rule-level"), "error"),
		chromedp.SetValue(chromedp.CSS("#rule-channel"), itoa(p.acmeSlack)+":C1"),
	); err != nil {
		t.Fatal(err)
	}
	click("#save")

	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil {
		t.Fatal(err)
	} else if loc != p.url+rulesPath {
		t.Errorf("after saving, the browser is at %s, want the alert rules", loc)
	}
	if got := text("#flash"); got != "Alert rule “New errors from the browser” created." {
		t.Errorf("flash: %q", got)
	}
	if table := text("#alert-rules"); !strings.Contains(table, "New errors from the browser") ||
		!strings.Contains(table, "a new issue, level at least error") || !strings.Contains(table, "#alerts") {
		t.Errorf("the rules table after saving: %q", table)
	}
}
