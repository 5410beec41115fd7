package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"triage/internal/jobs"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestJobsFollowTheirTransaction: a job inserted in a rolled-back
// transaction never runs; one inserted in a committed transaction runs.
func TestJobsFollowTheirTransaction(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			url := dbtest.URL(t, engine)
			s, err := store.Open(ctx, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			worked := make(chan int64, 10)
			workers := river.NewWorkers()
			river.AddWorker(workers, &jobs.IssueEventWorker[jobs.IssueCreated]{Handle: func(_ context.Context, a jobs.IssueCreated) error {
				worked <- a.IssueID
				return nil
			}})
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			c, err := jobs.New(ctx, s, url, logger, workers, jobs.Options{Work: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer c.Stop(context.Background())
			errAbort := errors.New("abort")
			err = s.InTx(ctx, func(tx *store.Tx) error {
				if err := c.Insert(ctx, tx, jobs.IssueCreated{IssueID: 1}, nil); err != nil {
					return err
				}
				return errAbort
			})
			if !errors.Is(err, errAbort) {
				t.Fatal(err)
			}
			if err := s.InTx(ctx, func(tx *store.Tx) error {
				return c.Insert(ctx, tx, jobs.IssueCreated{IssueID: 2}, nil)
			}); err != nil {
				t.Fatal(err)
			}
			select {
			case id := <-worked:
				if id != 2 {
					t.Fatalf("worked the job of issue %d, want 2 (1 was rolled back)", id)
				}
			case <-ctx.Done():
				t.Fatal("the committed job never ran")
			}
			select {
			case id := <-worked:
				t.Fatalf("a second job ran for issue %d", id)
			case <-time.After(500 * time.Millisecond):
			}
		})
	}
}
