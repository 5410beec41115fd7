package alert

import (
	"testing"
	"time"

	"triage"
	"triage/internal/issues"
)

func TestUnignoredText(t *testing.T) {
	t.Parallel()
	until := time.Date(2026, 11, 1, 14, 30, 0, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name string
		args issues.Transition
		want string
	}{
		{"count", issues.Transition{Kind: issues.Unignored, Reason: "ignoreCount", Ignore: triage.StatusDetails{IgnoreCount: 5}},
			"*No longer ignored*: it was ignored until it happened 5 more times, and it did"},
		{"count of one", issues.Transition{Kind: issues.Unignored, Reason: "ignoreCount", Ignore: triage.StatusDetails{IgnoreCount: 1}},
			"*No longer ignored*: it was ignored until it happened once more, and it did"},
		{"duration", issues.Transition{Kind: issues.Unignored, Reason: "ignoreUntil", Ignore: triage.StatusDetails{IgnoreMinutes: 30, IgnoreUntil: &until}},
			"*No longer ignored*: it was ignored for 30 minutes, and a new event arrived after"},
		{"time, in UTC", issues.Transition{Kind: issues.Unignored, Reason: "ignoreUntil", Ignore: triage.StatusDetails{IgnoreUntil: &until}},
			"*No longer ignored*: it was ignored until 2026-11-01 13:30 UTC, and a new event arrived"},
		{"nothing known", issues.Transition{Kind: issues.Unignored, Reason: "ignoreUntil"},
			"*No longer ignored*: a new event arrived after the ignore ran out"},
	} {
		if got := transitionText(&tc.args); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
