package store

import (
	"context"
	"fmt"

	"triage"
)

// DeleteIssueEvents deletes up to limit of the issue's events, oldest
// first, and says how many it deleted: an issue with many events is
// deleted in short transactions, so that no writer waits long for one.
func (q *Queries) DeleteIssueEvents(ctx context.Context, issueID int64, limit int) (int64, error) {
	res, err := q.q.ExecContext(ctx,
		`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE issue_id = $1 ORDER BY id LIMIT $2)`, issueID, limit)
	if err != nil {
		return 0, fmt.Errorf("delete events of issue %d: %w", issueID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete events of issue %d: %w", issueID, err)
	}
	return n, nil
}

// DeleteIssue deletes an issue with everything that belongs to it (its
// activity, remembered Slack messages and alert notifications go with it
// by the schema's cascades; its remaining events and its counts are
// deleted after its row, see deleteCounted). ENOTFOUND when there is no
// such issue.
func (q *Queries) DeleteIssue(ctx context.Context, issueID int64) error {
	q.forgetMessages()
	res, err := q.q.ExecContext(ctx, `DELETE FROM issues WHERE id = $1`, issueID)
	if err != nil {
		return fmt.Errorf("delete issue %d: %w", issueID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete issue %d: %w", issueID, err)
	}
	if n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "issue not found")
	}
	return q.deleteCounted(ctx, []int64{issueID})
}

// deleteCounted deletes the events, tag counts and hourly counts of
// issues whose rows were just deleted in this transaction. On PostgreSQL
// these rows carry no foreign key (migration 00019): the issues' rows go
// first, so that an event writer that was adding to one of them (it
// updates the issue's row in its transaction) has committed, and each
// statement here sees its rows; a writer that comes after finds no issue
// to count its events in and rolls back. SQLite's foreign keys delete them
// with the issues.
//
// Folds of pending counts (FoldCounts) share countsLock, which this takes
// alone before deleting the counts: a fold that started earlier has
// committed by then, and a later one finds the issues gone.
func (q *Queries) deleteCounted(ctx context.Context, issueIDs []int64) error {
	if q.engine != Postgres || len(issueIDs) == 0 {
		return nil
	}
	if _, err := q.q.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(countsLock)); err != nil {
		return fmt.Errorf("wait for folds of counts: %w", err)
	}
	for _, table := range []string{"events", "issue_tags", "issue_hours"} {
		if _, err := q.q.ExecContext(ctx, `DELETE FROM `+table+` WHERE issue_id = ANY($1)`, issueIDs); err != nil {
			return fmt.Errorf("delete the %s of %d deleted issues: %w", table, len(issueIDs), err)
		}
	}
	return nil
}
