package directory

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"triage"
	"triage/internal/jobs"
	"triage/internal/store"
)

// deleteBatch is how many rows one short transaction of a deletion
// removes: small enough that ingestion, which shares SQLite's one writer,
// never waits long behind it.
const deleteBatch = 500

// deleteSlice is how long one run of the job works before it gives the
// worker back (and is run again at once): a project with millions of
// events never meets the job timeout, and a restart loses at most a slice.
const deleteSlice = 30 * time.Second

// DeleteProjectWorker works jobs.ProjectDelete: the events of a project
// being deleted go first, a batch per transaction, each counted in the
// progress the projects page shows; then its issues (with their activity,
// tags and remembered messages), then the project row with its keys,
// rules and team links. It resumes where it stopped after a restart.
type DeleteProjectWorker struct {
	river.WorkerDefaults[jobs.ProjectDelete]
	Store  *store.Store
	Logger *slog.Logger
	Now    func() time.Time
}

func (w *DeleteProjectWorker) Work(ctx context.Context, job *river.Job[jobs.ProjectDelete]) error {
	id := job.Args.ProjectID
	if _, err := w.Store.ProjectDeletionByID(ctx, id); triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil // done already, or never begun
	} else if err != nil {
		return err
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	until := now().Add(deleteSlice)
	for _, step := range []func(tx *store.Tx) (int64, error){
		func(tx *store.Tx) (int64, error) { return tx.DeleteProjectEvents(ctx, id, deleteBatch) },
		func(tx *store.Tx) (int64, error) { return tx.DeleteProjectIssues(ctx, id, deleteBatch) },
	} {
		for {
			if now().After(until) {
				return river.JobSnooze(0)
			}
			var n int64
			err := w.Store.InTx(ctx, func(tx *store.Tx) error {
				var err error
				n, err = step(tx)
				return err
			})
			if err != nil {
				return fmt.Errorf("delete project %d: %w", id, err)
			}
			if n < deleteBatch {
				break
			}
		}
	}
	if err := w.Store.InTx(ctx, func(tx *store.Tx) error { return tx.FinishProjectDeletion(ctx, id) }); err != nil {
		return err
	}
	if w.Logger != nil {
		w.Logger.Info("project deleted", "project_id", id)
	}
	return nil
}
