package alert

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"triage"
	"triage/internal/issues"
	"triage/internal/store"
)

// unignoredArgs is the issue.unignored job of the versions before
// internal/issues owned the lifecycle: their event writer queued one when
// an event ended an ignore, and its worker rebuilt the issue's cards and
// told their threads why the issue was back. Nothing queues it any more
// (the change itself now carries the ended ignore, see OnIssueChange), but
// an upgrade can find some waiting; without a worker they would sit in the
// queue forever and their replies would be lost. The fields are the old
// job's, as it stored them.
type unignoredArgs struct {
	IssueID int64  `json:"issue_id"`
	EventID string `json:"event_id"`
	// Reason is "ignoreUntil" (a time or a duration ran out) or
	// "ignoreCount".
	Reason  string     `json:"reason"`
	Until   *time.Time `json:"until,omitempty"`
	Minutes int64      `json:"minutes,omitempty"`
	Count   int64      `json:"count,omitempty"`
}

func (unignoredArgs) Kind() string { return "issue.unignored" }

type unignoredWorker struct {
	river.WorkerDefaults[unignoredArgs]
	s *Service
}

// Work forwards an old job to today's jobs: a rebuild of the issue's cards
// and, in each card's thread, the reply the old worker would have posted,
// keyed by the event as it was, so that a re-run adds none. An issue with
// no cards (or deleted since) has nothing to say.
func (w *unignoredWorker) Work(ctx context.Context, job *river.Job[unignoredArgs]) error {
	a := job.Args
	t := &issues.Transition{Kind: issues.Unignored, Reason: a.Reason,
		Ignore: triage.StatusDetails{IgnoreUntil: a.Until, IgnoreMinutes: a.Minutes, IgnoreCount: a.Count}}
	return w.s.store.InTx(ctx, func(tx *store.Tx) error {
		cards, err := threadsOf(ctx, tx, a.IssueID, 0)
		if err != nil || len(cards) == 0 {
			return err
		}
		params := []river.InsertManyParams{{Args: CardsArgs{IssueID: a.IssueID}}}
		for _, card := range cards {
			params = append(params, replyJob(a.IssueID, card, unignoredText(t), "unignored:"+a.EventID))
		}
		return w.s.jobs.InsertMany(ctx, tx, params)
	})
}
