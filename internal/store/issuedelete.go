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
// remaining events, activity, remembered Slack messages and alert
// notifications go with it, by the schema's cascades). ENOTFOUND when
// there is no such issue.
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
	return nil
}
