package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"triage/internal/search"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// openAt opens a second store on a database another store migrated: a
// second process.
func openAt(t *testing.T, url string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// writeBrowser stores one event of issue the way the event writer does,
// with a browser tag and its hour counted.
func (w *countedWorld) writeBrowser(ctx context.Context, s *store.Store, issue int64, eventID, browser string) error {
	return s.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.StoreEvents(ctx, []store.StoredEvent{{ProjectID: w.project, IssueID: issue, EventID: eventID,
			Timestamp: w.now, Received: w.now, Data: []byte("{}")}}); err != nil {
			return err
		}
		at := w.now.UnixMicro()
		if _, err := tx.CountBatch(ctx, []store.TagCount{{IssueID: issue, Key: "browser", Value: browser, N: 1, First: at, Last: at}},
			[]store.HourCount{{IssueID: issue, Hour: w.now.Unix() - w.now.Unix()%3600, N: 1}}); err != nil {
			return err
		}
		_, err := tx.CountIssuesEvents(ctx, []store.IssueCount{{IssueID: issue, N: 1, LastSeen: w.now}})
		return err
	})
}

func pendingBatches(t *testing.T, s *store.Store) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM pending_counts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func browserCount(t *testing.T, s *store.Store, issue int64, browser string) int64 {
	t.Helper()
	keys, err := s.IssueTags(context.Background(), issue, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		for _, v := range k.TopValues {
			if k.Key == "browser" && v.Value == browser {
				return v.Count
			}
		}
	}
	return 0
}

// A batch's tag and hourly counts are read right after it commits, by
// this process or another, though on PostgreSQL the writer adds them to
// the count tables after the commit: the tag section, the trends, a tag
// search of the list and of one issue (a channel's subscription) each
// fold what is pending before they read.
func TestCountReadersSeeEveryCommittedBatch(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := dbtest.URL(t, engine)
			a := openAt(t, url)
			if _, err := a.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			w := newCountedWorld(t, a)
			firefox, other := w.issues[0], w.issues[1]
			if err := w.writeBrowser(ctx, a, firefox, "e1", "Firefox"); err != nil {
				t.Fatal(err)
			}
			if engine == store.Postgres {
				if n := pendingBatches(t, a); n != 3 {
					t.Fatalf("%d batches pending, want the three written", n)
				}
			}
			b := a
			if engine == store.Postgres {
				b = openAt(t, url) // another process
			}
			if n := browserCount(t, b, firefox, "Firefox"); n != 1 {
				t.Errorf("tag section: browser Firefox seen %d times, want 1", n)
			}
			hours, err := b.IssueHours(ctx, []int64{firefox, other}, w.now.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			hour := w.now.Unix() - w.now.Unix()%3600
			if hours[firefox][hour] != 2 || hours[other][hour] != 1 {
				t.Errorf("trends: %v, want 2 events for issue %d and 1 for %d in hour %d", hours, firefox, other, hour)
			}

			if err := w.writeBrowser(ctx, a, other, "e2", "Chrome"); err != nil {
				t.Fatal(err)
			}
			q, err := search.Parse("browser:Chrome", w.now)
			if err != nil {
				t.Fatal(err)
			}
			page, err := b.SearchIssues(ctx, search.Request{OrgID: w.org, Query: q})
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != 1 || len(page.Issues) != 1 || page.Issues[0].ID != other {
				t.Errorf("browser:Chrome listed %d issues (total %d), want issue %d alone", len(page.Issues), page.Total, other)
			}
			if err := w.writeBrowser(ctx, a, firefox, "e3", "Chrome"); err != nil {
				t.Fatal(err)
			}
			issue, err := b.IssueByID(ctx, firefox)
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := b.IssueMatches(ctx, issue, q, 0); err != nil || !ok {
				t.Errorf("issue %d against browser:Chrome: %v, %v; want a match", firefox, ok, err)
			}
			if engine == store.Postgres {
				if n := pendingBatches(t, a); n != 0 {
					t.Errorf("%d batches still pending after the reads", n)
				}
			}
		})
	}
}

// Two processes folding at once while both write add every batch once,
// and neither deadlocks the other or a writer.
func TestFoldsOfTwoProcessesCountOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.URL(t, store.Postgres)
	a := openAt(t, url)
	if _, err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b := openAt(t, url)
	w := newCountedWorld(t, a)
	const perWriter = 40
	var writers, folders sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 8)
	for k, s := range []*store.Store{a, b} {
		writers.Go(func() {
			for n := range perWriter {
				// Both issues in turn, both browsers: rows the two
				// processes' batches and folds share.
				if err := w.writeBrowser(ctx, s, w.issues[n%2], fmt.Sprintf("w%d-%d", k, n), []string{"Firefox", "Chrome"}[n%2]); err != nil {
					errs <- err
					return
				}
			}
		})
		folders.Go(func() {
			for {
				if _, err := s.FoldCounts(ctx); err != nil {
					errs <- err
					return
				}
				select {
				case <-done:
					return
				default:
				}
			}
		})
	}
	writers.Wait()
	close(done)
	folders.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Each issue: one event from newCountedWorld, 40 from the writers.
	if n := browserCount(t, a, w.issues[0], "Firefox"); n != perWriter {
		t.Errorf("issue %d: Firefox seen %d times, want %d", w.issues[0], n, perWriter)
	}
	if n := browserCount(t, b, w.issues[1], "Chrome"); n != perWriter {
		t.Errorf("issue %d: Chrome seen %d times, want %d", w.issues[1], n, perWriter)
	}
	hours, err := a.IssueHours(ctx, w.issues[:], w.now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	hour := w.now.Unix() - w.now.Unix()%3600
	for _, id := range w.issues {
		if hours[id][hour] != perWriter+1 {
			t.Errorf("issue %d: %d events in the hour, want %d", id, hours[id][hour], perWriter+1)
		}
	}
}

// Counts still pending when their issue is deleted are not added after
// it: the fold drops them, and the issue leaves nothing behind.
func TestPendingCountsOfADeletedIssue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := dbtest.Open(t, store.Postgres, nil)
	w := newCountedWorld(t, s)
	gone, kept := w.issues[0], w.issues[1]
	if err := w.writeBrowser(ctx, s, gone, "e1", "Firefox"); err != nil {
		t.Fatal(err)
	}
	if n := pendingBatches(t, s); n == 0 {
		t.Fatal("nothing pending: the test would prove nothing")
	}
	if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteIssue(ctx, gone) }); err != nil {
		t.Fatal(err)
	}
	if got := w.rows(t, gone); got != noRows {
		t.Errorf("deleted issue: %s", got)
	}
	if got, want := w.rows(t, kept), "events 1 issue_tags 1 issue_hours 1 "; got != want {
		t.Errorf("other issue: %s, want %s", got, want)
	}
}
