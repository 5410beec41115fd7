package eventwriter_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"triage/internal/eventwriter"
	"triage/internal/ingest"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// rawLevelCount is the issue_tags row of level:error as the table holds it,
// read without folding first (as the store's readers would): what the
// writer itself has folded.
func rawLevelCount(t *testing.T, s *store.Store) (counted int64, pending int) {
	t.Helper()
	ctx := context.Background()
	if err := s.Pool().QueryRowContext(ctx, `SELECT COALESCE(SUM(times_seen), 0) FROM issue_tags WHERE key = 'level' AND value = 'error'`).Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if err := s.Pool().QueryRowContext(ctx, `SELECT COUNT(*) FROM pending_counts`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	return counted, pending
}

// On PostgreSQL a batch's tag and hourly counts are written pending with
// its events; the writer folds them into the count tables soon after, with
// no reader asking, and folds what is left when it stops.
func TestWriterFoldsItsCounts(t *testing.T) {
	t.Parallel()
	s := dbtest.Open(t, store.Postgres, nil)
	ctx, stop := context.WithCancel(context.Background())
	w := eventwriter.New(s, &recorder{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	ran := make(chan struct{})
	go func() {
		w.Run(ctx)
		close(ran)
	}()
	u, _ := s.CreateUser(ctx, "o@acme.test", "", "h", false)
	org, _ := s.CreateOrganization(ctx, "acme", "", u.ID)
	p, err := s.CreateProject(ctx, org.ID, "web", "")
	if err != nil {
		t.Fatal(err)
	}
	save := func(n int64) {
		e, err := ingest.ParseStore(taggedEvent(n), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Save(context.Background(), p.ID, []*ingest.Event{e}); err != nil {
			t.Fatal(err)
		}
	}
	save(1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		counted, pending := rawLevelCount(t, s)
		if counted == 1 && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the batch: level:error counted %d times in issue_tags, %d batches pending; want 1 and 0", counted, pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A batch right before the writer stops: folded on the way out.
	save(2)
	stop()
	<-ran
	if counted, pending := rawLevelCount(t, s); counted != 2 || pending != 0 {
		t.Errorf("after the writer stopped: level:error counted %d times, %d batches pending; want 2 and 0", counted, pending)
	}
}
