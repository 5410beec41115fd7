package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"triage"
	"triage/internal/store"
	"triage/internal/testutil/browser"
)

// TestBrowserCommentAndBulkResolve is what a person does: write a comment
// on the issue page and see it in the activity with their name; then
// check two issues on the list, press Resolve and see them gone from the
// unresolved issues.
func TestBrowserCommentAndBulkResolve(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	ctx := browser.New(t)

	click := pageClicker(t, ctx)
	text := textReader(t, ctx)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(b.url+b.issue.Path()),
		chromedp.SendKeys(chromedp.CSS("#email"), "bob@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
	); err != nil {
		t.Fatal(err)
	}
	click("#login")
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#comment-text"), "Seen after deploy 42 <again>")); err != nil {
		t.Fatal(err)
	}
	click("#comment")
	if got := text("#flash"); got != "Comment added." {
		t.Errorf("flash after commenting: %q", got)
	}
	if got := text("#activity li"); !strings.Contains(got, "Bob commented") || !strings.Contains(got, "Seen after deploy 42 <again>") {
		t.Errorf("newest activity: %q", got)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(b.url+"/organizations/acme/issues/")); err != nil {
		t.Fatal(err)
	}
	if list := text("#issues"); !strings.Contains(list, "WEB-1") || !strings.Contains(list, "WEB-2") {
		t.Fatalf("unresolved issues before: %q", list)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`input.pick[aria-label="Select WEB-1"]`)),
		chromedp.Click(chromedp.CSS(`input.pick[aria-label="Select WEB-2"]`)),
	); err != nil {
		t.Fatal(err)
	}
	click("#bulk-resolve")
	if got := text("#flash"); got != "2 issues resolved." {
		t.Errorf("flash after the bulk resolve: %q", got)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("#issues") || {innerText: ""}).innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rows, "WEB-1") || strings.Contains(rows, "WEB-2") {
		t.Errorf("unresolved issues after resolving both: %q", rows)
	}
	for _, i := range []*triage.Issue{b.issue, b.issue2} {
		if st := b.reload(i).Status; st != triage.StatusResolved {
			t.Errorf("%s is %s", i.ShortID(), st)
		}
	}
}
