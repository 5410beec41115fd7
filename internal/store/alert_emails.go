package store

import (
	"context"
	"encoding/json"
	"fmt"

	"triage"
)

// idsJSON is how a list of ids is stored in a TEXT column.
func idsJSON(ids []int64) string {
	b, _ := json.Marshal(append([]int64{}, ids...))
	return string(b)
}

// CreateAlertEmails records one pending alert email per user for the
// rule, issue and cause, and returns the new rows' ids by user; a user who
// already has one for that cause (the job ran twice) gets none.
func (q *Queries) CreateAlertEmails(ctx context.Context, ruleID, issueID int64, cause string, userIDs []int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	now := micros(q.now())
	for _, u := range userIDs {
		var id int64
		err := q.q.QueryRowContext(ctx, `INSERT INTO alert_emails (rule_id, issue_id, user_id, cause, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (rule_id, issue_id, cause, user_id) DO NOTHING RETURNING id`,
			ruleID, issueID, u, cause, now).Scan(&id)
		if err := translate(err, "alert email"); triage.ErrorCode(err) == triage.ENOTFOUND {
			continue // already recorded
		} else if err != nil {
			return nil, fmt.Errorf("record alert email: %w", err)
		}
		out[u] = id
	}
	return out, nil
}

// AlertEmail returns ENOTFOUND if there is no such row.
func (q *Queries) AlertEmail(ctx context.Context, id int64) (*triage.AlertEmail, error) {
	var e triage.AlertEmail
	var created int64
	err := q.q.QueryRowContext(ctx, `SELECT id, COALESCE(rule_id, 0), issue_id, user_id, cause, status, reason, created_at
		FROM alert_emails WHERE id = $1`, id).Scan(&e.ID, &e.RuleID, &e.IssueID, &e.UserID, &e.Cause, &e.Status, &e.Reason, &created)
	if err != nil {
		return nil, translate(err, "alert email")
	}
	e.CreatedAt = fromMicros(created)
	return &e, nil
}

// FinishAlertEmail records what became of a pending alert email; false
// when it was not pending any more.
func (q *Queries) FinishAlertEmail(ctx context.Context, id int64, status, reason string) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE alert_emails SET status = $1, reason = $2, finished_at = $3
		WHERE id = $4 AND status = 'pending'`, status, reason, micros(q.now()), id)
	if err != nil {
		return false, fmt.Errorf("finish alert email %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ProjectTeamMembers lists the members of the teams that own the project,
// by email: whom an email action with target "teams" writes to.
func (q *Queries) ProjectTeamMembers(ctx context.Context, projectID int64) ([]*triage.User, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT DISTINCT `+userCols+` FROM users u
		JOIN team_members tm ON tm.user_id = u.id
		JOIN project_teams pt ON pt.team_id = tm.team_id
		JOIN projects p ON p.id = pt.project_id
		JOIN members m ON m.org_id = p.org_id AND m.user_id = u.id
		WHERE pt.project_id = $1 ORDER BY u.email`, projectID)
	return collect(rows, err, "list the project's team members", scanUser)
}
