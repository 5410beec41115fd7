package search

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want []Term
	}{
		{"", nil},
		{"   ", nil},
		{"timeout", []Term{{Kind: KindText, Value: "timeout"}}},
		{`"connection reset" db`, []Term{{Kind: KindText, Value: "connection reset"}, {Kind: KindText, Value: "db"}}},
		{`!flaky`, []Term{{Kind: KindText, Value: "flaky", Negate: true}}},
		{"is:unresolved", []Term{{Kind: KindIs, Key: "is", Value: "unresolved"}}},
		{"IS:Resolved is:archived", []Term{{Kind: KindIs, Key: "is", Value: "resolved"}, {Kind: KindIs, Key: "is", Value: "ignored"}}},
		{"is:assigned !is:unassigned is:all", []Term{{Kind: KindIs, Key: "is", Value: "assigned"},
			{Kind: KindIs, Key: "is", Value: "unassigned", Negate: true}, {Kind: KindIs, Key: "is", Value: "all"}}},
		{"assigned:me assigned:Ada@Example.com assigned:#backend", []Term{{Kind: KindAssigned, Key: "assigned", Value: "me"},
			{Kind: KindAssigned, Key: "assigned", Value: "Ada@Example.com"}, {Kind: KindAssigned, Key: "assigned", Value: "#backend"}}},
		{"assigned:My_Teams !assigned:none assigned:[me,MY_TEAMS,#web,a@b.c]", []Term{{Kind: KindAssigned, Key: "assigned", Value: "my_teams"},
			{Kind: KindAssigned, Key: "assigned", Value: "none", Negate: true}, {Kind: KindAssigned, Key: "assigned", Value: "[me,my_teams,#web,a@b.c]"}}},
		{"level:error !level:warn", []Term{{Kind: KindLevel, Key: "level", Value: "error"}, {Kind: KindLevel, Key: "level", Value: "warning", Negate: true}}},
		{"environment:production Release:web@1.2", []Term{{Kind: KindTag, Key: "environment", Value: "production"}, {Kind: KindTag, Key: "release", Value: "web@1.2"}}},
		{"project:web", []Term{{Kind: KindProject, Key: "project", Value: "web"}}},
		{"firstSeen:-24h", []Term{{Kind: KindFirstSeen, Key: "firstSeen", Value: "-24h", Op: OpGe, Time: now.Add(-24 * time.Hour)}}},
		{"lastSeen:+7d", []Term{{Kind: KindLastSeen, Key: "lastSeen", Value: "+7d", Op: OpLe, Time: now.Add(-7 * 24 * time.Hour)}}},
		{"firstSeen:>2026-01-01", []Term{{Kind: KindFirstSeen, Key: "firstSeen", Value: "2026-01-01", Op: OpGt, Time: day}}},
		{"last_seen:2026-01-01", []Term{{Kind: KindLastSeen, Key: "lastSeen", Value: "2026-01-01", Op: OpEq, Time: day, Until: day.AddDate(0, 0, 1)}}},
		{"firstSeen:<=2026-01-01T10:00:00Z", []Term{{Kind: KindFirstSeen, Key: "firstSeen", Value: "2026-01-01T10:00:00Z", Op: OpLe, Time: day.Add(10 * time.Hour)}}},
		{"times_seen:>100 timesSeen:<=5 times_seen:7", []Term{{Kind: KindTimesSeen, Key: "times_seen", Value: "100", Op: OpGt, Number: 100},
			{Kind: KindTimesSeen, Key: "times_seen", Value: "5", Op: OpLe, Number: 5}, {Kind: KindTimesSeen, Key: "times_seen", Value: "7", Op: OpEq, Number: 7}}},
		{"browser:Chrome", []Term{{Kind: KindTag, Key: "browser", Value: "Chrome"}}},
		{`browser:"Chrome 120.0"`, []Term{{Kind: KindTag, Key: "browser", Value: "Chrome 120.0"}}},
		{`!customer_tier:free`, []Term{{Kind: KindTag, Key: "customer_tier", Value: "free", Negate: true}}},
		{"user.email:a@b.c user.id:42 user.ip_address:10.0.0.1", []Term{{Kind: KindTag, Key: "user", Value: "email:a@b.c"},
			{Kind: KindTag, Key: "user", Value: "id:42"}, {Kind: KindTag, Key: "user", Value: "ip:10.0.0.1"}}},
		{"url:https://shop.example.com/cart?x=1", []Term{{Kind: KindTag, Key: "url", Value: "https://shop.example.com/cart?x=1"}}},
		{`msg:"say \"hi\" \\ there"`, []Term{{Kind: KindTag, Key: "msg", Value: `say "hi" \ there`}}},
		{`"TypeError: x is undefined"`, []Term{{Kind: KindText, Value: "TypeError: x is undefined"}}},
		{`key:""`, []Term{{Kind: KindTag, Key: "key", Value: ""}}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in, now)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got.Terms); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
		}
		again, err := Parse(got.String(), now)
		if err != nil || !cmp.Equal(got.Terms, again.Terms) {
			t.Errorf("Parse(%q).String() = %q reads back as %+v, %v", tt.in, got.String(), again.Terms, err)
		}
	}
}

// TestParseErrors: a term Triage cannot read is an error naming it, never
// a term silently dropped.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, term, reason string }{
		{"level:critical", "level:critical", "level: takes"},
		{"is:open", "is:open", "is: takes"},
		{"db level:", "level:", "has no value"},
		{"TypeError: boom", "TypeError:", "has no value"},
		{":x", ":x", "needs a key"},
		{"a/b:c", "a/b:c", "not a key"},
		{`browser:"Chrome`, `browser:"Chrome`, "closing double quote"},
		{"firstSeen:yesterday", "firstSeen:yesterday", "firstSeen: takes"},
		{"firstSeen:>-24h", "firstSeen:>-24h", "without < or >"},
		{"lastSeen:-24x", "lastSeen:-24x", "relative time"},
		{"!lastSeen:-1h", "!lastSeen:-1h", "cannot be negated"},
		{"times_seen:>many", "times_seen:>many", "whole number"},
		{"times_seen:-1", "times_seen:-1", "whole number"},
		{"user.phone:1", "user.phone:1", "user. takes"},
		{"assigned:#", "assigned:#", "team slug"},
		{"assigned:bob", "assigned:bob", "takes me, my_teams"},
		{"assigned:[me, my_teams]", "assigned:[me,", "has no spaces"},
		{"assigned:[me,bob]", "assigned:[me,bob]", "takes me, my_teams"},
		{"assigned:[]", "assigned:[]", "takes me, my_teams"},
		{"assigned:me]", "assigned:me]", "takes me, my_teams"},
		{"!", "!", "nothing to search for"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in, now)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want a *search.Error", tt.in, err)
			continue
		}
		if pe.Term != tt.term || !strings.Contains(pe.Reason, tt.reason) || !strings.Contains(err.Error(), tt.term) {
			t.Errorf("Parse(%q): term %q, reason %q; want term %q, a reason with %q", tt.in, pe.Term, pe.Reason, tt.term, tt.reason)
		}
	}
}

// TestAssignees: an assigned: term's values, one or a list.
func TestAssignees(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{"assigned:ME": {"me"}, "assigned:[me,my_teams]": {"me", "my_teams"},
		"assigned:[#web,a@b.c,none]": {"#web", "a@b.c", "none"}} {
		q, err := Parse(in, now)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if diff := cmp.Diff(want, q.Terms[0].Assignees()); diff != "" {
			t.Errorf("Parse(%q) assignees (-want +got):\n%s", in, diff)
		}
	}
}

func TestHasIs(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{"": false, "level:error db": false, "is:resolved": true, "!is:assigned": true} {
		q, err := Parse(in, now)
		if err != nil || q.HasIs() != want {
			t.Errorf("Parse(%q).HasIs() = %v (%v), want %v", in, q.HasIs(), err, want)
		}
	}
}

func TestCursor(t *testing.T) {
	t.Parallel()
	for _, c := range []Cursor{{}, {Value: 1767225600000000, ID: 42}, {Value: -3, ID: 7, Prev: true}} {
		got, err := ParseCursor(c.String())
		if err != nil || got != c {
			t.Errorf("ParseCursor(%q) = %+v, %v; want %+v", c.String(), got, err, c)
		}
	}
	for _, bad := range []string{"x", "1:2", "1:2:3", "a:1:0", "1:-2:0"} {
		if _, err := ParseCursor(bad); err == nil {
			t.Errorf("ParseCursor(%q) accepted", bad)
		}
	}
}

func TestTrend(t *testing.T) {
	t.Parallel()
	at := func(s string) int64 { tm, _ := time.Parse(time.RFC3339, s); return tm.Unix() }
	hourly := map[int64]int64{
		at("2026-03-10T12:00:00Z"): 3, // this hour: the last bucket
		at("2026-03-09T13:00:00Z"): 2, // 23 hours ago: the first
		at("2026-03-09T12:00:00Z"): 5, // 24 hours ago: outside 24h
		at("2026-02-25T00:00:00Z"): 7, // the first of 14 days
		at("2026-02-24T23:00:00Z"): 9, // outside 14d
	}
	h := Period24h.Trend(hourly, now)
	if len(h) != 24 || h[23].Count != 3 || h[0].Count != 2 || h[0].Start.Format(time.RFC3339) != "2026-03-09T13:00:00Z" {
		t.Errorf("24h trend = %+v", h)
	}
	d := Period14d.Trend(hourly, now)
	var sum int64
	for _, b := range d {
		sum += b.Count
	}
	if len(d) != 14 || d[0].Count != 7 || d[13].Count != 3 || d[12].Count != 2+5 || sum != 17 || d[0].Start.Format(time.RFC3339) != "2026-02-25T00:00:00Z" {
		t.Errorf("14d trend = %+v", d)
	}
}
