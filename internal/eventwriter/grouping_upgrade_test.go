package eventwriter_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"triage/internal/ingest"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// chained is an error wrapping a cause: grouping version 2 hashes the
// cause too, version 1 only the thrown error, so the two hashes differ.
func chained(t *testing.T, id int, at time.Time, order int) *ingest.Event {
	t.Helper()
	body := fmt.Sprintf(`{"event_id":"%032x","level":"error","platform":"go","timestamp":%q,
		"exception":[{"type":"*net.OpError","value":"dial tcp: timeout"},
		{"type":"*fmt.wrapError","value":"charge order %d: dial tcp: timeout","stacktrace":{"frames":[
		{"module":"main","function":"charge","filename":"main.go","lineno":10,"in_app":true}]}}]}`, id, at.Format(time.RFC3339), order)
	e, err := ingest.ParseStore([]byte(body), at)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestGroupingUpgradeKeepsIssues: an issue created under grouping version
// 1 (its hash is the version 1 hash) still receives the events of its
// kind after the upgrade; nothing splits off into a new issue.
func TestGroupingUpgradeKeepsIssues(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		at := time.Date(2026, 11, 1, 11, 0, 0, 0, time.UTC)
		old := chained(t, 1, at, 41)
		if old.GroupingHashV1() == old.GroupingHash() {
			t.Fatal("the versions hash this event alike: the test proves nothing")
		}
		err := s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.CreateIssues(ctx, b.project.ID, []store.FirstSeen{{EventID: old.EventID, NewIssue: store.NewIssue{
				ProjectID: b.project.ID, GroupHash: old.GroupingHashV1(), Title: "old title", Level: "error", SeenAt: at, GroupingVersion: 1}}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := 2; i <= 3; i++ { // the second save finds it in the writer's cache
			if err := b.w.Save(ctx, b.project.ID, []*ingest.Event{chained(t, i, at.Add(time.Duration(i)*time.Minute), 40+i)}); err != nil {
				t.Fatal(err)
			}
		}
		list := b.issues(t)
		if len(list) != 1 {
			t.Fatalf("%d issues after the upgrade, want the old one only", len(list))
		}
		if list[0].TimesSeen != 2 {
			t.Errorf("the old issue counted %d new events, want 2", list[0].TimesSeen)
		}
		// The title follows the newest event, as Sentry's does.
		if want := "*fmt.wrapError: charge order 43: dial tcp: timeout"; list[0].Title != want {
			t.Errorf("title %q, want %q", list[0].Title, want)
		}
		// An event older than the last one seen leaves the title alone.
		if err := b.w.Save(ctx, b.project.ID, []*ingest.Event{chained(t, 4, at.Add(-time.Minute), 7)}); err != nil {
			t.Fatal(err)
		}
		if list = b.issues(t); len(list) != 1 || list[0].Title != "*fmt.wrapError: charge order 43: dial tcp: timeout" {
			t.Errorf("after an older event: %d issues, title %q", len(list), list[0].Title)
		}
	})
}
