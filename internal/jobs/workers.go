package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"triage/internal/store"
)

// Pruner deletes what retention no longer keeps.
type Pruner interface {
	// DeleteEventsBefore deletes at most limit events received before
	// cutoff and returns how many it deleted; no error code of its own.
	DeleteEventsBefore(ctx context.Context, cutoff time.Time, limit int) (int64, error)
	// DeleteIssueHoursBefore deletes the hourly counts older than cutoff;
	// no error code of its own.
	DeleteIssueHoursBefore(ctx context.Context, cutoff time.Time) (int64, error)
}

var _ Pruner = (*store.Store)(nil)

// PruneWorker deletes events older than the retention period, in small
// batches so that it never holds the database's write lock for long.
type PruneWorker struct {
	river.WorkerDefaults[PruneEvents]
	Store     Pruner
	Retention time.Duration
	Now       func() time.Time
	Logger    *slog.Logger
}

func (w *PruneWorker) Work(ctx context.Context, _ *river.Job[PruneEvents]) error {
	cutoff := w.Now().Add(-w.Retention)
	var total int64
	for {
		n, err := w.Store.DeleteEventsBefore(ctx, cutoff, 1000)
		if err != nil {
			return fmt.Errorf("prune events: %w", err)
		}
		total += n
		if n < 1000 {
			break
		}
	}
	if total > 0 {
		w.Logger.Info("pruned old events", "deleted", total, "older_than", cutoff.Format(time.RFC3339))
	}
	// Trends show 14 days at most; older hourly counts are never read.
	if _, err := w.Store.DeleteIssueHoursBefore(ctx, w.Now().Add(-15*24*time.Hour)); err != nil {
		return fmt.Errorf("prune trends: %w", err)
	}
	return nil
}

// PrunePeriodic schedules PruneEvents hourly (and once at start).
func PrunePeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return PruneEvents{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}

// IssueEventWorker hands the ingestion jobs (issue.created,
// issue.regressed, event.received) to a handler; alert rules plug in
// here. With no handler the job completes:
// there is nothing to notify.
type IssueEventWorker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	Handle func(ctx context.Context, args T) error
}

func (w *IssueEventWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	if w.Handle == nil {
		return nil
	}
	return w.Handle(ctx, job.Args)
}
