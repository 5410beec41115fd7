package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"triage"
)

// alertRuleCols lists a rule's columns, qualified with alias ("r." or "").
func alertRuleCols(alias string) string {
	return strings.ReplaceAll(`@id, @project_id, @name, @conditions, COALESCE(@integration_id, 0), @channel_id, @channel_name,
	@throttle_minutes, @thread, @action_status, @action_reason, @action_changed_at, COALESCE(@created_by, 0),
	@created_at, @updated_at, @kind, @query, @target, @action_type, @email_user_ids`, "@", alias)
}

// optionalAlertRuleCols is alertRuleCols for a rule that may be missing
// (a LEFT JOIN): every column reads as its zero value, the id as 0.
func optionalAlertRuleCols(alias string) string {
	return strings.ReplaceAll(`COALESCE(@id, 0), COALESCE(@project_id, 0), COALESCE(@name, ''), COALESCE(@conditions, ''),
	COALESCE(@integration_id, 0), COALESCE(@channel_id, ''), COALESCE(@channel_name, ''), COALESCE(@throttle_minutes, 0),
	COALESCE(@thread, FALSE), COALESCE(@action_status, ''), COALESCE(@action_reason, ''), COALESCE(@action_changed_at, 0),
	COALESCE(@created_by, 0), COALESCE(@created_at, 0), COALESCE(@updated_at, 0), COALESCE(@kind, ''), COALESCE(@query, ''),
	COALESCE(@target, ''), COALESCE(@action_type, ''), COALESCE(@email_user_ids, '[]')`, "@", alias)
}

// scanAlertRule reads alertRuleCols, then extra (columns selected after
// them).
func scanAlertRule(row rowScanner, extra ...any) (*triage.AlertRule, error) {
	var r triage.AlertRule
	var changed, created, updated int64
	var userIDs string
	dest := []any{&r.ID, &r.ProjectID, &r.Name, &r.Conditions, &r.IntegrationID, &r.ChannelID, &r.ChannelName,
		&r.ThrottleMinutes, &r.Thread, &r.ActionStatus, &r.ActionReason, &changed, &r.CreatedBy, &created, &updated,
		&r.Kind, &r.Query, &r.Target, &r.ActionType, &userIDs}
	err := row.Scan(append(dest, extra...)...)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(userIDs), &r.EmailUserIDs); err != nil {
		return nil, fmt.Errorf("alert rule %d email users: %w", r.ID, err)
	}
	if changed != 0 {
		r.ActionChangedAt = fromMicros(changed)
	}
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &r, nil
}

// CreateAlertRule inserts r (its ID and times are filled in); the action
// starts ok.
func (q *Queries) CreateAlertRule(ctx context.Context, r *triage.AlertRule) error {
	now := q.now().UTC().Truncate(time.Microsecond)
	var createdBy *int64
	if r.CreatedBy != 0 {
		createdBy = &r.CreatedBy
	}
	if r.Kind == "" {
		r.Kind = triage.AlertRuleKindRule
	}
	if r.ActionType == "" {
		r.ActionType = triage.AlertActionSlack
	}
	if r.Target == "" && r.ActionType == triage.AlertActionSlack {
		r.Target = triage.AlertTargetChannel
	}
	err := q.q.QueryRowContext(ctx, `INSERT INTO alert_rules (project_id, name, conditions, integration_id,
		channel_id, channel_name, throttle_minutes, thread, action_status, action_reason, created_by, created_at, updated_at,
		kind, query, target, action_type, email_user_ids)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'ok', '', $9, $10, $10, $11, $12, $13, $14, $15) RETURNING id`,
		r.ProjectID, r.Name, r.Conditions, nullID(r.IntegrationID), r.ChannelID, r.ChannelName, r.ThrottleMinutes, r.Thread,
		createdBy, micros(now), r.Kind, r.Query, r.Target, r.ActionType, idsJSON(r.EmailUserIDs)).Scan(&r.ID)
	if err != nil {
		return translate(err, "alert rule")
	}
	r.ActionStatus, r.ActionReason, r.CreatedAt, r.UpdatedAt = triage.AlertActionOK, "", now, now
	return nil
}

// UpdateAlertRule rewrites the rule's settings. A changed action (workspace
// or channel) was just checked, so its status goes back to ok. ENOTFOUND if
// the rule is gone.
func (q *Queries) UpdateAlertRule(ctx context.Context, r *triage.AlertRule) error {
	now := micros(q.now())
	if r.ActionType == "" {
		r.ActionType = triage.AlertActionSlack
	}
	if r.Target == "" && r.ActionType == triage.AlertActionSlack {
		r.Target = triage.AlertTargetChannel
	}
	res, err := q.q.ExecContext(ctx, `UPDATE alert_rules SET name = $1, conditions = $2, integration_id = $3,
		channel_id = $4, channel_name = $5, throttle_minutes = $6, thread = $7, updated_at = $8,
		action_status = 'ok', action_reason = '', action_changed_at = $8, query = $11, target = $12,
		action_type = $13, email_user_ids = $14
		WHERE id = $9 AND project_id = $10`,
		r.Name, r.Conditions, nullID(r.IntegrationID), r.ChannelID, r.ChannelName, r.ThrottleMinutes, r.Thread, now, r.ID, r.ProjectID,
		r.Query, r.Target, r.ActionType, idsJSON(r.EmailUserIDs))
	if err != nil {
		return translate(err, "alert rule")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "alert rule not found")
	}
	return nil
}

// DeleteAlertRule removes a rule (not a subscription: DeleteSubscription); notifications already
// queued for it are cancelled when their job runs. ENOTFOUND if there is
// no such rule in the project.
func (q *Queries) DeleteAlertRule(ctx context.Context, projectID, id int64) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM alert_rules WHERE id = $1 AND project_id = $2 AND kind = 'rule'`, id, projectID)
	if err != nil {
		return fmt.Errorf("delete alert rule %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "alert rule not found")
	}
	return nil
}

// AlertRule returns a project's rule (not a subscription); ENOTFOUND if
// it has no such rule.
func (q *Queries) AlertRule(ctx context.Context, projectID, id int64) (*triage.AlertRule, error) {
	r, err := scanAlertRule(q.q.QueryRowContext(ctx,
		`SELECT `+alertRuleCols("")+` FROM alert_rules WHERE id = $1 AND project_id = $2 AND kind = 'rule'`, id, projectID))
	return r, translate(err, "alert rule")
}

// AlertRuleByID returns a rule of any project; ENOTFOUND if there is none.
func (q *Queries) AlertRuleByID(ctx context.Context, id int64) (*triage.AlertRule, error) {
	r, err := scanAlertRule(q.q.QueryRowContext(ctx, `SELECT `+alertRuleCols("")+` FROM alert_rules WHERE id = $1`, id))
	return r, translate(err, "alert rule")
}

// AlertRules lists a project's rules (not its channel subscriptions),
// oldest first.
func (q *Queries) AlertRules(ctx context.Context, projectID int64) ([]*triage.AlertRule, error) {
	return q.alertRules(ctx, `SELECT `+alertRuleCols("")+` FROM alert_rules WHERE project_id = $1 AND kind = 'rule' ORDER BY id`, projectID)
}

// ProjectNotifiers lists everything that may post a project's issues to
// Slack: its rules and its channel subscriptions, oldest first.
func (q *Queries) ProjectNotifiers(ctx context.Context, projectID int64) ([]*triage.AlertRule, error) {
	return q.alertRules(ctx, `SELECT `+alertRuleCols("")+` FROM alert_rules WHERE project_id = $1 ORDER BY id`, projectID)
}

// AlertRulesForOrg lists the rules of every project of an organization, by
// project then age.
func (q *Queries) AlertRulesForOrg(ctx context.Context, orgID int64) ([]*triage.AlertRule, error) {
	return q.alertRules(ctx, `SELECT `+alertRuleCols("r.")+` FROM alert_rules r
		JOIN projects p ON p.id = r.project_id WHERE p.org_id = $1 AND r.kind = 'rule' ORDER BY p.slug, r.id`, orgID)
}

func (q *Queries) alertRules(ctx context.Context, query string, args ...any) ([]*triage.AlertRule, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	return collect(rows, err, "list alert rules", func(row rowScanner) (*triage.AlertRule, error) {
		return scanAlertRule(row)
	})
}

// SetAlertActionStatus records whether the rule's action works and why not;
// it reports whether the status changed (so that callers log and count a
// rule breaking once, not once per notification).
func (q *Queries) SetAlertActionStatus(ctx context.Context, ruleID int64, status, reason string) (bool, error) {
	if status != triage.AlertActionOK && status != triage.AlertActionBroken {
		return false, triage.Errorf(triage.EINVALID, "unknown action status %q", status)
	}
	res, err := q.q.ExecContext(ctx, `UPDATE alert_rules SET action_status = $1, action_reason = $2, action_changed_at = $3
		WHERE id = $4 AND (action_status <> $1 OR action_reason <> $2)`, status, reason, micros(q.now()), ruleID)
	if err != nil {
		return false, fmt.Errorf("set action status of alert rule %d: %w", ruleID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// BrokenAlertRules counts broken rules by reason, for /metrics.
func (q *Queries) BrokenAlertRules(ctx context.Context) (map[string]int64, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT action_reason, COUNT(*) FROM alert_rules
		WHERE action_status = 'broken' GROUP BY action_reason`)
	if err != nil {
		return nil, fmt.Errorf("count broken alert rules: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var reason string
		var n int64
		if err := rows.Scan(&reason, &n); err != nil {
			return nil, err
		}
		out[reason] = n
	}
	return out, rows.Err()
}

// FireAlert takes one rule's throttle for the issue; see FireAlerts.
func (q *Queries) FireAlert(ctx context.Context, ruleID, issueID int64, now time.Time, throttle time.Duration) (bool, error) {
	fired, err := q.FireAlerts(ctx, issueID, now, map[int64]time.Duration{ruleID: throttle})
	return fired[ruleID], err
}

// FireAlerts takes the throttle of each rule (rule id → throttle) for the
// issue and returns the rules that fired: those that have been quiet for
// the issue since the throttle they had when they last fired. One
// statement, so two processes evaluating the same issue at once cannot
// both fire a rule.
func (q *Queries) FireAlerts(ctx context.Context, issueID int64, now time.Time, throttles map[int64]time.Duration) (map[int64]bool, error) {
	fired := map[int64]bool{}
	if len(throttles) == 0 {
		return fired, nil
	}
	var sb strings.Builder
	args := []any{issueID, micros(now)}
	for _, id := range slices.Sorted(maps.Keys(throttles)) {
		if len(args) > 2 {
			sb.WriteString(", ")
		}
		args = append(args, id, micros(now.Add(throttles[id])))
		fmt.Fprintf(&sb, "($%d, $1, $2, $%d)", len(args)-1, len(args))
	}
	rows, err := q.q.QueryContext(ctx, `INSERT INTO alert_throttle (rule_id, issue_id, fired_at, quiet_until) VALUES `+sb.String()+`
		ON CONFLICT (rule_id, issue_id) DO UPDATE SET fired_at = excluded.fired_at, quiet_until = excluded.quiet_until
		WHERE alert_throttle.quiet_until <= excluded.fired_at RETURNING rule_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("take throttles for issue %d: %w", issueID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		fired[id] = true
	}
	return fired, rows.Err()
}

const notificationCols = `n.id, COALESCE(n.rule_id, 0), n.issue_id, n.cause, n.integration_id, n.channel_id, n.status,
	n.reason, n.message_ts, n.thread_ts, n.reserved_at, n.created_at, n.finished_at`

func scanNotification(row rowScanner) (*triage.AlertNotification, error) {
	var n triage.AlertNotification
	var reserved, created, finished int64
	err := row.Scan(&n.ID, &n.RuleID, &n.IssueID, &n.Cause, &n.IntegrationID, &n.ChannelID, &n.Status, &n.Reason,
		&n.MessageTS, &n.ThreadTS, &reserved, &created, &finished)
	if err != nil {
		return nil, err
	}
	if reserved != 0 {
		n.ReservedAt = fromMicros(reserved)
	}
	if finished != 0 {
		n.FinishedAt = fromMicros(finished)
	}
	n.CreatedAt = fromMicros(created)
	return &n, nil
}

// CreateAlertNotification records one pending notification; see
// CreateAlertNotifications.
func (q *Queries) CreateAlertNotification(ctx context.Context, n *triage.AlertNotification) (int64, error) {
	ids, err := q.CreateAlertNotifications(ctx, []*triage.AlertNotification{n})
	n.ID = ids[n.RuleID]
	return n.ID, err
}

// CreateAlertNotifications records pending notifications, one per rule,
// and returns their ids by rule. A rule that already has a notification
// for the issue and cause (the job that evaluated the rules ran twice) is
// left out.
func (q *Queries) CreateAlertNotifications(ctx context.Context, ns []*triage.AlertNotification) (map[int64]int64, error) {
	if len(ns) == 0 {
		return map[int64]int64{}, nil
	}
	var sb strings.Builder
	args := []any{micros(q.now())}
	for k, n := range ns {
		if k > 0 {
			sb.WriteString(", ")
		}
		args = append(args, n.RuleID, n.IssueID, n.Cause, n.IntegrationID, n.ChannelID)
		b := len(args) - 5
		fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $1)", b+1, b+2, b+3, b+4, b+5)
	}
	q.forgetMessages()
	return idsByRule(q.q.QueryContext(ctx, `INSERT INTO alert_notifications (rule_id, issue_id, cause, integration_id, channel_id, created_at)
		VALUES `+sb.String()+` ON CONFLICT (rule_id, issue_id, cause) DO NOTHING RETURNING id, rule_id`, args...))
}

// idsByRule reads rows of (notification id, rule id) into the ids by rule;
// the map is empty, never nil, when there are none or on an error.
func idsByRule(rows *sql.Rows, err error) (map[int64]int64, error) {
	pairs, err := collect(rows, err, "record alert notifications", func(r rowScanner) ([2]int64, error) {
		var p [2]int64
		err := r.Scan(&p[0], &p[1])
		return p, err
	})
	ids := make(map[int64]int64, len(pairs))
	for _, p := range pairs {
		ids[p[1]] = p[0]
	}
	return ids, err
}

// AlertNotification returns ENOTFOUND if there is none.
func (q *Queries) AlertNotification(ctx context.Context, id int64) (*triage.AlertNotification, error) {
	n, err := scanNotification(q.q.QueryRowContext(ctx,
		`SELECT `+notificationCols+` FROM alert_notifications n WHERE n.id = $1`, id))
	return n, translate(err, "alert notification")
}

// AlertDelivery is what delivering a notification needs, read at once:
// the notification, its rule (nil once deleted) and the ts of the issue's
// card in the channel ("" when there is none yet).
type AlertDelivery struct {
	Notification *triage.AlertNotification
	Rule         *triage.AlertRule
	CardTS       string
	// CardHolder is the notification that holds the issue's card in the
	// channel (see CreateNotificationsAndClaim), 0 when nobody does; HolderStatus is its
	// status.
	CardHolder   int64
	HolderStatus string
	// Attached: the workspace is still attached to the issue's
	// organization.
	Attached bool
}

// AlertDelivery returns ENOTFOUND if the notification is gone. One
// statement: the notification, its card, its workspace's attachment and
// its rule (a burst of notifications is thousands of these).
func (q *Queries) AlertDelivery(ctx context.Context, id int64) (*AlertDelivery, error) {
	ds, err := q.AlertDeliveries(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if d := ds[id]; d != nil {
		return d, nil
	}
	return nil, translate(sql.ErrNoRows, "alert notification")
}

// AlertDeliveries is AlertDelivery for several notifications in one
// statement (a batch's), by id; one that is gone is not in the map.
func (q *Queries) AlertDeliveries(ctx context.Context, ids []int64) (map[int64]*AlertDelivery, error) {
	out := make(map[int64]*AlertDelivery, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args, in := inList(nil, ids)
	rows, err := q.q.QueryContext(ctx, `SELECT `+optionalAlertRuleCols("r.")+`, `+notificationCols+`,
		COALESCE(ac.ts, ''), COALESCE(ac.notification_id, 0), COALESCE(hn.status, ''),
		EXISTS (SELECT 1 FROM issues i JOIN projects p ON p.id = i.project_id
			JOIN organization_integrations oi ON oi.org_id = p.org_id AND oi.integration_id = n.integration_id
			WHERE i.id = n.issue_id)
		FROM alert_notifications n
		LEFT JOIN alert_cards ac ON ac.issue_id = n.issue_id AND ac.integration_id = n.integration_id AND ac.channel_id = n.channel_id
		LEFT JOIN alert_notifications hn ON hn.id = ac.notification_id
		LEFT JOIN alert_rules r ON r.id = n.rule_id
		WHERE n.id IN (`+in+`)`, args...)
	ds, err := collect(rows, err, "read alert deliveries", func(row rowScanner) (*AlertDelivery, error) {
		var d AlertDelivery
		var n triage.AlertNotification
		var reserved, created, finished int64
		r, err := scanAlertRule(row,
			&n.ID, &n.RuleID, &n.IssueID, &n.Cause, &n.IntegrationID, &n.ChannelID, &n.Status, &n.Reason,
			&n.MessageTS, &n.ThreadTS, &reserved, &created, &finished, &d.CardTS, &d.CardHolder, &d.HolderStatus, &d.Attached)
		if err != nil {
			return nil, err
		}
		n.ReservedAt, n.CreatedAt, n.FinishedAt = optFromMicros(reserved), fromMicros(created), optFromMicros(finished)
		d.Notification = &n
		if r.ID != 0 { // nil: no rule (a team's assignment), or deleted since
			d.Rule = r
		}
		return &d, nil
	})
	for _, d := range ds {
		out[d.Notification.ID] = d
	}
	return out, err
}

// ReserveNotification remembers the send slot a snoozed notification holds.
func (q *Queries) ReserveNotification(ctx context.Context, id int64, at time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE alert_notifications SET reserved_at = $1 WHERE id = $2`, optMicros(at), id)
	if err != nil {
		return fmt.Errorf("reserve slot for notification %d: %w", id, err)
	}
	return nil
}

// FinishNotification marks a pending notification delivered (with the
// message it posted), failed or cancelled (with the reason). It reports
// false when the notification was not pending any more. A card delivered
// is recorded as the issue's card in the channel when the notification
// held it (see CreateNotificationsAndClaim); a notification that ends without posting
// gives up its claim. Call it in a transaction, so that both go together.
func (q *Queries) FinishNotification(ctx context.Context, id int64, status, reason, messageTS, threadTS string) (bool, error) {
	switch status {
	case triage.NotificationDelivered, triage.NotificationFailed, triage.NotificationCancelled:
	default:
		return false, triage.Errorf(triage.EINVALID, "unknown notification status %q", status)
	}
	q.forgetMessages()
	if q.engine == Postgres {
		return q.finishNotificationPG(ctx, id, status, reason, messageTS, threadTS)
	}
	res, err := q.q.ExecContext(ctx, `UPDATE alert_notifications SET status = $1, reason = $2, message_ts = $3,
		thread_ts = $4, finished_at = $5 WHERE id = $6 AND status = 'pending'`,
		status, reason, messageTS, threadTS, micros(q.now()), id)
	if err != nil {
		return false, fmt.Errorf("finish notification %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil || n != 1 {
		return false, err
	}
	switch {
	case status != triage.NotificationDelivered:
		err = q.releaseCard(ctx, id)
	case threadTS == "" && messageTS != "":
		err = q.postedCard(ctx, id, messageTS)
	}
	return err == nil, err
}

// AlertCard is a card Triage posted at the top of a channel about an issue.
type AlertCard struct {
	IntegrationID int64
	ChannelID     string
	TS            string
	// PendingID is the notification that will post the card, when it is
	// not out yet (TS is then empty).
	PendingID int64
}

// AlertCards lists the issue's cards, one per channel, oldest first.
func (q *Queries) AlertCards(ctx context.Context, issueID int64) ([]AlertCard, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT integration_id, channel_id, ts FROM alert_cards
		WHERE issue_id = $1 AND ts <> '' ORDER BY notification_id`, issueID)
	return collect(rows, err, "list cards of issue", func(r rowScanner) (AlertCard, error) {
		var c AlertCard
		err := r.Scan(&c.IntegrationID, &c.ChannelID, &c.TS)
		return c, err
	})
}

// IssueCards lists the issue's cards, posted and still on their way, in
// one statement: a change reading them sees each card either pending or
// posted, never neither (two reads could fall on both sides of the
// delivery's commit).
func (q *Queries) IssueCards(ctx context.Context, issueID int64) ([]AlertCard, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT integration_id, channel_id, ts, notification_id FROM alert_cards
		WHERE issue_id = $1 ORDER BY notification_id`, issueID)
	return collect(rows, err, "list cards of issue", func(r rowScanner) (AlertCard, error) {
		var c AlertCard
		var id int64
		err := r.Scan(&c.IntegrationID, &c.ChannelID, &c.TS, &id)
		if c.TS == "" {
			c.PendingID = id
		}
		return c, err
	})
}

// AlertCardIn returns the ts of the issue's card in the channel, "" when
// there is none (yet).
func (q *Queries) AlertCardIn(ctx context.Context, issueID, integrationID int64, channelID string) (string, error) {
	var ts string
	err := q.q.QueryRowContext(ctx, `SELECT ts FROM alert_cards WHERE issue_id = $1
		AND integration_id = $2 AND channel_id = $3`, issueID, integrationID, channelID).Scan(&ts)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("find card of issue %d: %w", issueID, err)
	}
	return ts, nil
}

// PendingCards lists the notifications that hold one of the issue's cards
// and have not posted it yet: a change made now should reach each card's
// thread once it is out.
func (q *Queries) PendingCards(ctx context.Context, issueID int64) ([]int64, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT notification_id FROM alert_cards WHERE issue_id = $1 AND ts = ''
		ORDER BY notification_id`, issueID)
	return collect(rows, err, "list pending cards of issue", func(r rowScanner) (int64, error) {
		var id int64
		err := r.Scan(&id)
		return id, err
	})
}

// HasAlertNotifications tells whether any notification about the issue
// exists (pending or delivered): an issue change then has cards to update.
func (q *Queries) HasAlertNotifications(ctx context.Context, issueID int64) (bool, error) {
	var n int64
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM alert_notifications WHERE issue_id = $1
		AND status IN ('pending', 'delivered') LIMIT 1) x`, issueID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check notifications of issue %d: %w", issueID, err)
	}
	return n > 0, nil
}

// NotificationCounts counts each rule's notifications by status since t,
// for the settings page.
func (q *Queries) NotificationCounts(ctx context.Context, ruleIDs []int64, since time.Time) (map[int64]map[string]int64, error) {
	out := map[int64]map[string]int64{}
	if len(ruleIDs) == 0 {
		return out, nil
	}
	args, in := inList([]any{micros(since)}, ruleIDs)
	rows, err := q.q.QueryContext(ctx, `SELECT rule_id, status, COUNT(*) FROM alert_notifications
		WHERE created_at >= $1 AND rule_id IN (`+in+`) GROUP BY rule_id, status
		UNION ALL SELECT rule_id, status, COUNT(*) FROM alert_emails
		WHERE created_at >= $1 AND rule_id IN (`+in+`) GROUP BY rule_id, status`, args...)
	if err != nil {
		return nil, fmt.Errorf("count notifications: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, n int64
		var status string
		if err := rows.Scan(&id, &status, &n); err != nil {
			return nil, err
		}
		if out[id] == nil {
			out[id] = map[string]int64{}
		}
		out[id][status] += n
	}
	return out, rows.Err()
}

// CountRecentEvents counts the issue's events received at or after since,
// stopping at limit (a frequency condition only needs to know "more than N").
func (q *Queries) CountRecentEvents(ctx context.Context, issueID int64, since time.Time, limit int64) (int64, error) {
	var n int64
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE issue_id = $1
		AND received_at >= $2 LIMIT $3) x`, issueID, micros(since), limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count recent events of issue %d: %w", issueID, err)
	}
	return n, nil
}

// EventEnvironment returns the environment of one of the project's events,
// "" when it has none or the event is gone.
func (q *Queries) EventEnvironment(ctx context.Context, projectID int64, eventID string) (string, error) {
	var env string
	err := q.q.QueryRowContext(ctx, `SELECT environment FROM events WHERE project_id = $1 AND event_id = $2`,
		projectID, eventID).Scan(&env)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("read environment of event %s: %w", eventID, err)
	}
	return env, nil
}

func optFromMicros(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return fromMicros(n)
}
