package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"triage"
	"triage/internal/store"
	"triage/internal/testutil/browser"
)

// TestBrowserResolve is what a person does: log in through the form, open
// the issue list, open an issue, press Resolve and see it resolved.
func TestBrowserResolve(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	ctx := browser.New(t)

	text := textReader(t, ctx)
	location := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// click presses a link or button that loads a new page, and waits for it.
	click := pageClicker(t, ctx)

	if err := chromedp.Do(ctx, chromedp.Navigate(b.url+"/organizations/acme/issues/")); err != nil {
		t.Fatal(err)
	}
	if loc := location(); !strings.HasPrefix(loc, b.url+"/auth/login/") {
		t.Fatalf("logged out, the issue list sent the browser to %s, want the login form", loc)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#email"), "alice@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
	); err != nil {
		t.Fatal(err)
	}
	click("#login")
	if loc := location(); loc != b.url+"/organizations/acme/issues/" {
		t.Fatalf("after login the browser is at %s, want back at the issue list", loc)
	}
	if list := text("#issues"); !strings.Contains(list, "WEB-1") || !strings.Contains(list, "TypeError: x is undefined") {
		t.Fatalf("issue list: %q", list)
	}

	click(`#issues a.issue-title[href="` + b.issue.Path() + `"]`)
	if got := text("#short-id"); got != "WEB-1" {
		t.Fatalf("issue page shows %q, want WEB-1", got)
	}
	if got := text("#status"); got != "Unresolved" {
		t.Fatalf("status before: %q", got)
	}

	click("#resolve")
	if got := text("#status"); got != "Resolved" {
		t.Errorf("status after Resolve: %q, want Resolved", got)
	}
	if got := text("#flash"); got != "Issue resolved." {
		t.Errorf("flash after Resolve: %q", got)
	}
	if got := text("#activity li"); !strings.Contains(got, "Alice marked this issue as resolved") || !strings.Contains(got, "on the web") {
		t.Errorf("newest activity: %q", got)
	}
	if st := b.reload(b.issue).Status; st != triage.StatusResolved {
		t.Errorf("stored status %s, want resolved", st)
	}
}
