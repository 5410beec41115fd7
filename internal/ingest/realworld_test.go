package ingest_test

import (
	"testing"
	"time"

	"triage/internal/ingest"
	"triage/internal/testutil/realworld"
)

// realworldEvent parses a payload the way the handler does.
func realworldEvent(t *testing.T, p realworld.Payload) *ingest.Event {
	t.Helper()
	received := time.Now()
	if !p.Envelope {
		ev, err := ingest.ParseStore(p.Body, received)
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		return ev
	}
	env, err := ingest.ParseEnvelope(p.Body)
	if err != nil {
		t.Fatalf("%s: %v", p.Name, err)
	}
	events, err := env.Events(received)
	if err != nil || len(events) != 1 {
		t.Fatalf("%s: %d events, %v", p.Name, len(events), err)
	}
	return events[0]
}

// TestRealworldTitles checks every payload real SDKs sent against the
// title and culprit Sentry gave it.
func TestRealworldTitles(t *testing.T) {
	t.Parallel()
	payloads, err := realworld.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(payloads) < 21 {
		t.Fatalf("%d payloads, want 21", len(payloads))
	}
	checked := 0
	for _, p := range payloads {
		ev := realworldEvent(t, p)
		if p.Title == "" {
			continue
		}
		checked++
		if got := ev.Title(); got != p.Title {
			t.Errorf("%s: Title() = %q, Sentry's %q", p.Name, got, p.Title)
		}
		if got := ev.Culprit(); p.CulpritKnown && got != p.Culprit {
			t.Errorf("%s: Culprit() = %q, Sentry's %q", p.Name, got, p.Culprit)
		}
	}
	if checked < 16 {
		t.Errorf("only %d payloads have Sentry's title", checked)
	}
}

// TestRealworldGroups checks that different problems from real SDKs make
// different issues, and the same problem one.
func TestRealworldGroups(t *testing.T) {
	t.Parallel()
	payloads, err := realworld.All()
	if err != nil {
		t.Fatal(err)
	}
	// The same problem sent twice: the same Django view dividing by zero,
	// and the same bundle's error served from two hosts.
	same := map[string]string{"incoming": "python_zero_division", "small_js_error_source": "small_js_error"}
	byHash := map[string]string{}
	hashes := map[string]string{}
	for _, p := range payloads {
		ev := realworldEvent(t, p)
		h := ev.GroupingHash()
		hashes[p.Name] = h
		if ev.GroupingReason() == "" {
			t.Errorf("%s: no grouping reason", p.Name)
		}
		if other, ok := byHash[h]; ok && same[p.Name] != other && same[other] != p.Name {
			t.Errorf("%s and %s are different problems but group together (%s)", other, p.Name, ev.GroupingReason())
		}
		byHash[h] = p.Name
	}
	for a, b := range same {
		if hashes[a] != hashes[b] {
			t.Errorf("%s and %s are the same problem but group apart", a, b)
		}
	}
}
