package web

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// pageClicker returns what the browser tests call click: it clicks the
// element sel selects and fails the test unless the page it leads to
// answers 200.
func pageClicker(t *testing.T, ctx context.Context) func(sel string) {
	return func(sel string) {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
		if resp.Status != 200 {
			t.Fatalf("click %s: page answered %d", sel, resp.Status)
		}
	}
}

// textReader returns what the browser tests call text: the trimmed text
// of the element sel selects.
func textReader(t *testing.T, ctx context.Context) func(sel string) string {
	return func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
}
