package alert

import (
	"context"
	"fmt"

	"triage/internal/jobs"
	"triage/internal/store"
)

// HandleUnignored rebuilds the cards of an issue that an event brought
// back from an ignore, and says why in each card's thread. No rule listens
// to it: the issue's cards are already where people look. The replies are
// keyed by the event, as a regression's are, so a re-run of the job while
// they are queued adds none.
func (s *Service) HandleUnignored(ctx context.Context, a jobs.IssueUnignored) error {
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		params, err := s.cardJobs(ctx, tx, a.IssueID, unignoredText(a), "unignored:"+a.EventID)
		if err != nil || len(params) == 0 {
			return err
		}
		return s.jobs.InsertMany(ctx, tx, params)
	})
}

// unignoredText says what the ignore was and what ended it.
func unignoredText(a jobs.IssueUnignored) string {
	const head = "*No longer ignored*: "
	switch {
	case a.Reason == "ignoreCount" && a.Count == 1:
		return head + "it was ignored until it happened once more, and it did"
	case a.Reason == "ignoreCount" && a.Count > 1:
		return head + fmt.Sprintf("it was ignored until it happened %d more times, and it did", a.Count)
	case a.Minutes > 0:
		return head + fmt.Sprintf("it was ignored for %d minutes, and a new event arrived after", a.Minutes)
	case a.Until != nil:
		return head + "it was ignored until " + a.Until.UTC().Format("2006-01-02 15:04 UTC") + ", and a new event arrived"
	}
	return head + "a new event arrived after the ignore ran out"
}
