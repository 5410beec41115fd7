package ingest

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
)

// The real sentry-go SDK, configured only with a DSN, sends to the handler.

func captureAtCheckout(hub *sentry.Hub, err error) { hub.CaptureException(err) }

func captureAtRefund(hub *sentry.Hub, err error) { hub.CaptureException(err) }

func TestSentryGoSDK(t *testing.T) {
	t.Parallel()
	b := setup(t, HandlerOptions{})
	srv := httptest.NewServer(b.mux)
	defer srv.Close()
	dsn := fmt.Sprintf("http://%s@%s/42", testKey, strings.TrimPrefix(srv.URL, "http://"))
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn, Release: "shop@2.0.0", Environment: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hub := sentry.NewHub(client, sentry.NewScope())
	errDeclined := errors.New("card declined")
	for _, id := range []int{1001, 2002} { // the same error from the same site, different values
		captureAtCheckout(hub, fmt.Errorf("charge order %d: %w", id, errDeclined))
	}
	captureAtRefund(hub, fmt.Errorf("charge order %d: %w", 3003, errDeclined)) // from another site
	hub.CaptureMessage("cache hit rate fell to 12%")
	if !hub.Flush(10 * time.Second) {
		t.Fatal("flush timed out")
	}

	events := b.sink.events()
	if len(events) != 4 {
		t.Fatalf("sink got %d events, want 4", len(events))
	}
	byTitle := map[string]*Event{}
	for _, ev := range events {
		byTitle[ev.Title()] = ev
		if ev.Release != "shop@2.0.0" || ev.Environment != "test" || ev.SDK.Name != "sentry.go" || ev.Platform != "go" {
			t.Errorf("%s: release %q environment %q sdk %+v platform %q", ev.Title(), ev.Release, ev.Environment, ev.SDK, ev.Platform)
		}
	}
	first := byTitle["*fmt.wrapError: charge order 1001: card declined"]
	second := byTitle["*fmt.wrapError: charge order 2002: card declined"]
	refund := byTitle["*fmt.wrapError: charge order 3003: card declined"]
	message := byTitle["cache hit rate fell to 12%"]
	if first == nil || second == nil || refund == nil || message == nil {
		t.Fatalf("titles: %v", keys(byTitle))
	}
	if first.GroupingHash() != second.GroupingHash() {
		t.Error("the same error from the same site split into two groups")
	}
	if first.GroupingHash() == refund.GroupingHash() || first.GroupingHash() == message.GroupingHash() {
		t.Error("different errors grouped together")
	}
	if c := first.Culprit(); c != "triage/internal/ingest in captureAtCheckout" {
		t.Errorf("culprit %q", c)
	}
	if c := refund.Culprit(); c != "triage/internal/ingest in captureAtRefund" {
		t.Errorf("culprit %q", c)
	}
	if first.Level != LevelError || message.Level != LevelInfo {
		t.Errorf("levels %q, %q", first.Level, message.Level)
	}
}

func keys(m map[string]*Event) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
