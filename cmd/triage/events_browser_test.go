package main

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/getsentry/sentry-go"

	"triage/internal/store"
	"triage/internal/testutil/browser"
)

var errCoupon = errors.New("coupon expired")

// applyCoupon reports an error where it happens, so that the SDK records
// this file's lines around the capture as the frame's source context.
func applyCoupon(hub *sentry.Hub) {
	// five lines of context before the capture...
	code := "SPRING"
	_ = code
	//
	//
	hub.CaptureException(fmt.Errorf("apply %s: %w", "SPRING", errCoupon))
	// ...and five after it.
	//
	//
	//
	//
}

// TestEventPageInBrowser: an error the real sentry-go SDK sent, with
// breadcrumbs, a request, tags and a user, shows each of them on the issue
// page in Chromium, with its file name, five lines of source on each side
// of the error line, and links between the issue's events.
func TestEventPageInBrowser(t *testing.T) {
	t.Parallel()
	browser.Require(t)
	b := setupIngest(t, store.SQLite)
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: b.dsn, Release: "shop@3.1.0", Environment: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	hub := sentry.NewHub(client, sentry.NewScope())
	hub.ConfigureScope(func(s *sentry.Scope) {
		s.SetTag("checkout_step", "payment")
		s.SetUser(sentry.User{ID: "u-7", Email: "pat@example.com"})
		req := httptest.NewRequest("POST", "https://shop.test/cart/pay?coupon=SPRING", nil)
		req.Header.Set("X-Request-Id", "req-4711")
		s.SetRequest(req)
	})
	hub.AddBreadcrumb(&sentry.Breadcrumb{Category: "cart", Message: "added item sku-42", Level: sentry.LevelInfo}, nil)
	applyCoupon(hub)
	applyCoupon(hub) // the same error again: a second event of the issue
	if !hub.Flush(10 * time.Second) {
		t.Fatal("the SDK did not flush")
	}
	var issueID any
	deadline := time.Now().Add(15 * time.Second)
	for issueID == nil && time.Now().Before(deadline) {
		for _, i := range b.issues(t) {
			if i["count"] == float64(2) {
				issueID = i["id"]
			}
		}
		if issueID == nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if issueID == nil {
		t.Fatal("no issue with both events")
	}

	ctx := browser.New(t)
	issueURL := fmt.Sprintf("%s/organizations/acme/issues/%v/", b.base, issueID)
	if err := chromedp.Do(ctx, chromedp.Navigate(issueURL),
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@acme.test"),
		chromedp.SendKeys(chromedp.CSS("#password"), "correct horse"),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#login"))); err != nil {
		t.Fatal(err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != issueURL {
		t.Fatalf("after login the browser is at %s, want the issue page", loc)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return s
	}
	for sel, wants := range map[string][]string{
		"#breadcrumbs": {"cart", "added item sku-42"},
		"#request":     {"POST", "https://shop.test/cart/pay", "coupon", "SPRING", "X-Request-Id", "req-4711"},
		"#tags":        {"checkout_step", "payment"},
		"#user":        {"u-7", "pat@example.com"},
		"#exception":   {"*fmt.wrapError", "apply SPRING: coupon expired", "events_browser_test.go", "applyCoupon"},
	} {
		got := text(sel)
		for _, want := range wants {
			if !strings.Contains(got, want) {
				t.Errorf("%s shows %q, lacking %q", sel, got, want)
			}
		}
	}
	// The frame that captured: five lines on each side of the error line,
	// the error line marked.
	type context struct {
		Before, After int
		Line          string
	}
	ctxLines, err := chromedp.Run(ctx, chromedp.Evaluate[context](`(() => {
		const pre = [...document.querySelectorAll('#exception li.frame.in-app pre.context')]
			.find(p => p.textContent.includes('CaptureException'));
		if (!pre) return {Before: -1, After: -1, Line: ''};
		const lines = [...pre.children];
		const at = lines.findIndex(l => l.classList.contains('error-line'));
		return {Before: at, After: lines.length - at - 1, Line: at >= 0 ? lines[at].textContent : ''};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if ctxLines.Before != 5 || ctxLines.After != 5 || !strings.Contains(ctxLines.Line, `hub.CaptureException(fmt.Errorf("apply %s: %w", "SPRING", errCoupon))`) {
		t.Errorf("source context %+v, want 5 lines each side of the capture", ctxLines)
	}
	if !strings.Contains(ctxLines.Line, "\thub.CaptureException") {
		t.Errorf("the error line %q lost its leading tab", ctxLines.Line)
	}
	// The issue page shows the latest event: older goes to the first,
	// which links back to the newer one and has no older.
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#event-nav a[rel=Older]"))); err != nil {
		t.Fatal(err)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.Contains(loc, "/events/") {
		t.Fatalf("older went to %s, not an event page", loc)
	}
	if nav := text("#event-nav"); !strings.Contains(nav, "Newer") {
		t.Errorf("the older event's nav %q", nav)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#event-nav a[rel=Older]').length`))
	if err != nil || n != 0 {
		t.Errorf("the oldest event links to an older one (%d, %v)", n, err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#event-nav a[rel=Newer]"))); err != nil {
		t.Fatal(err)
	}
	if h := text("#event-heading"); !strings.Contains(h, "Latest event") {
		t.Errorf("newer from the oldest is not the latest: %q", h)
	}
}
