package issues_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"triage"
	"triage/internal/issues"
	"triage/internal/store"
)

// releases is a project's releases by when they were first seen.
type releases map[string]int64

func (r releases) ReleaseFirstSeen(_ context.Context, _ int64, version string) (int64, error) {
	if r == nil {
		return 0, errors.New("the decision read a release it did not need")
	}
	at, ok := r[version]
	if !ok {
		return 0, triage.Errorf(triage.ENOTFOUND, "release not found")
	}
	return at, nil
}

// TestDecide pins the one rule for what new events do to an issue:
// regression, a resolution in a release covering older releases, and the
// end of an ignore by time and by count.
func TestDecide(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Minute), now.Add(time.Minute)
	rels := releases{"1.0": 100, "1.1": 200, "1.2": 300}
	ev := func(id, rel string) issues.Arrival { return issues.Arrival{EventID: id, Release: rel} }
	resolved := func(d triage.StatusDetails) *store.IssueState {
		return &store.IssueState{ProjectID: 1, Status: triage.StatusResolved, StatusDetails: d, TimesSeen: 5}
	}
	ignored := func(d triage.StatusDetails, seen, base int64) *store.IssueState {
		return &store.IssueState{ProjectID: 1, Status: triage.StatusIgnored, StatusDetails: d, TimesSeen: seen, IgnoreBase: base}
	}
	tests := []struct {
		name  string
		rels  releases // nil: the decision must not read releases
		st    *store.IssueState
		fresh []issues.Arrival
		want  *issues.Transition
	}{
		{"unresolved stays", nil, &store.IssueState{Status: triage.StatusUnresolved}, []issues.Arrival{ev("a", "1.0")}, nil},
		{"no new events", nil, resolved(triage.StatusDetails{}), nil, nil},
		{"plain resolve: any event regresses", nil, resolved(triage.StatusDetails{}), []issues.Arrival{ev("a", "1.0"), ev("b", "1.1")},
			&issues.Transition{Kind: issues.Regressed, Event: ev("a", "1.0")}},
		{"plain resolve: an event without a release regresses", nil, resolved(triage.StatusDetails{}), []issues.Arrival{ev("a", "")},
			&issues.Transition{Kind: issues.Regressed, Event: ev("a", "")}},
		{"in release: the same release is covered", nil, resolved(triage.StatusDetails{InRelease: "1.1"}), []issues.Arrival{ev("a", "1.1")}, nil},
		{"in release: an older release is covered", rels, resolved(triage.StatusDetails{InRelease: "1.1"}), []issues.Arrival{ev("a", "1.0")}, nil},
		{"in release: a newer release regresses", rels, resolved(triage.StatusDetails{InRelease: "1.1"}), []issues.Arrival{ev("a", "1.2")},
			&issues.Transition{Kind: issues.Regressed, Event: ev("a", "1.2")}},
		{"in release: the first uncovered event regresses", rels, resolved(triage.StatusDetails{InRelease: "1.1"}),
			[]issues.Arrival{ev("a", "1.0"), ev("b", "1.1"), ev("c", "1.2"), ev("d", "")},
			&issues.Transition{Kind: issues.Regressed, Event: ev("c", "1.2")}},
		{"in release: an event without a release regresses", nil, resolved(triage.StatusDetails{InRelease: "1.1"}), []issues.Arrival{ev("a", "")},
			&issues.Transition{Kind: issues.Regressed, Event: ev("a", "")}},
		{"in release: a resolving release never seen covers nothing", releases{"1.0": 100}, resolved(triage.StatusDetails{InRelease: "9.9"}),
			[]issues.Arrival{ev("a", "1.0")}, &issues.Transition{Kind: issues.Regressed, Event: ev("a", "1.0")}},
		{"next release: the release current at resolve is covered", nil, resolved(triage.StatusDetails{InNextRelease: true, ReleaseAtResolve: "1.1"}),
			[]issues.Arrival{ev("a", "1.1")}, nil},
		{"next release: a later release regresses", rels, resolved(triage.StatusDetails{InNextRelease: true, ReleaseAtResolve: "1.1"}),
			[]issues.Arrival{ev("a", "1.0"), ev("b", "1.2")}, &issues.Transition{Kind: issues.Regressed, Event: ev("b", "1.2")}},
		{"ignored forever stays", nil, ignored(triage.StatusDetails{}, 100, 0), []issues.Arrival{ev("a", "")}, nil},
		{"ignored until later stays", nil, ignored(triage.StatusDetails{IgnoreUntil: &future}, 5, 0), []issues.Arrival{ev("a", "")}, nil},
		{"ignored until a time passed ends", nil, ignored(triage.StatusDetails{IgnoreMinutes: 30, IgnoreUntil: &past}, 5, 0),
			[]issues.Arrival{ev("a", ""), ev("b", "")},
			&issues.Transition{Kind: issues.Unignored, Event: ev("b", ""), Reason: "ignoreUntil", Ignore: triage.StatusDetails{IgnoreMinutes: 30, IgnoreUntil: &past}}},
		{"ignored until the count: short of it stays", nil, ignored(triage.StatusDetails{IgnoreCount: 3}, 6, 5), []issues.Arrival{ev("a", "")}, nil},
		{"ignored until the count: reached ends", nil, ignored(triage.StatusDetails{IgnoreCount: 3}, 6, 5), []issues.Arrival{ev("a", ""), ev("b", "")},
			&issues.Transition{Kind: issues.Unignored, Event: ev("b", ""), Reason: "ignoreCount", Ignore: triage.StatusDetails{IgnoreCount: 3}}},
		{"ignored until the count: passed in one batch ends", nil, ignored(triage.StatusDetails{IgnoreCount: 1}, 5, 5),
			[]issues.Arrival{ev("a", ""), ev("b", ""), ev("c", "")},
			&issues.Transition{Kind: issues.Unignored, Event: ev("c", ""), Reason: "ignoreCount", Ignore: triage.StatusDetails{IgnoreCount: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := issues.Decide(context.Background(), tt.rels, tt.st, tt.fresh, now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTransitionActivity: what a transition writes in the issue's log.
func TestTransitionActivity(t *testing.T) {
	t.Parallel()
	reg := (&issues.Transition{Kind: issues.Regressed, Event: issues.Arrival{EventID: "e1", Release: "1.2"}}).Activity(7)
	if want := (&triage.Activity{IssueID: 7, Type: triage.ActivitySetRegression, Source: triage.SourceSystem,
		Data: map[string]any{"version": "1.2", "eventId": "e1"}}); !cmp.Equal(reg, want) {
		t.Errorf("regression activity %+v, want %+v", reg, want)
	}
	un := (&issues.Transition{Kind: issues.Unignored, Event: issues.Arrival{EventID: "e2"}, Reason: "ignoreCount"}).Activity(7)
	if want := (&triage.Activity{IssueID: 7, Type: triage.ActivitySetUnresolved, Source: triage.SourceSystem,
		Data: map[string]any{"reason": "ignoreCount"}}); !cmp.Equal(un, want) {
		t.Errorf("unignore activity %+v, want %+v", un, want)
	}
}
