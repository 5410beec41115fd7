package alert

import (
	"testing"
	"time"

	"triage/internal/jobs"
)

func TestUnignoredText(t *testing.T) {
	t.Parallel()
	until := time.Date(2026, 11, 1, 14, 30, 0, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name string
		args jobs.IssueUnignored
		want string
	}{
		{"count", jobs.IssueUnignored{Reason: "ignoreCount", Count: 5},
			"*No longer ignored*: it was ignored until it happened 5 more times, and it did"},
		{"count of one", jobs.IssueUnignored{Reason: "ignoreCount", Count: 1},
			"*No longer ignored*: it was ignored until it happened once more, and it did"},
		{"duration", jobs.IssueUnignored{Reason: "ignoreUntil", Minutes: 30, Until: &until},
			"*No longer ignored*: it was ignored for 30 minutes, and a new event arrived after"},
		{"time, in UTC", jobs.IssueUnignored{Reason: "ignoreUntil", Until: &until},
			"*No longer ignored*: it was ignored until 2026-11-01 13:30 UTC, and a new event arrived"},
		{"nothing known", jobs.IssueUnignored{Reason: "ignoreUntil"},
			"*No longer ignored*: a new event arrived after the ignore ran out"},
	} {
		if got := unignoredText(tc.args); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
