package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"triage"
)

// Alert rule action statuses.
const (
	ActionOK     = "ok"
	ActionBroken = "broken"
)

// Notification statuses.
const (
	NotificationPending   = "pending"
	NotificationDelivered = "delivered"
	NotificationFailed    = "failed"
	NotificationCancelled = "cancelled"
)

// AlertRule is a rule as stored. Conditions is JSON that the alert package
// owns (it validates and evaluates it); the store only keeps it.
type AlertRule struct {
	ID              int64
	ProjectID       int64
	Name            string
	Conditions      string
	IntegrationID   int64
	ChannelID       string
	ChannelName     string
	ThrottleMinutes int64
	Thread          bool
	ActionStatus    string
	ActionReason    string
	ActionChangedAt time.Time
	CreatedBy       int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// alertRuleCols lists a rule's columns, qualified with alias ("r." or "").
func alertRuleCols(alias string) string {
	return strings.ReplaceAll(`@id, @project_id, @name, @conditions, @integration_id, @channel_id, @channel_name,
	@throttle_minutes, @thread, @action_status, @action_reason, @action_changed_at, COALESCE(@created_by, 0),
	@created_at, @updated_at`, "@", alias)
}

func scanAlertRule(row interface{ Scan(...any) error }) (*AlertRule, error) {
	var r AlertRule
	var changed, created, updated int64
	err := row.Scan(&r.ID, &r.ProjectID, &r.Name, &r.Conditions, &r.IntegrationID, &r.ChannelID, &r.ChannelName,
		&r.ThrottleMinutes, &r.Thread, &r.ActionStatus, &r.ActionReason, &changed, &r.CreatedBy, &created, &updated)
	if err != nil {
		return nil, err
	}
	if changed != 0 {
		r.ActionChangedAt = fromMicros(changed)
	}
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &r, nil
}

// CreateAlertRule inserts r (its ID and times are filled in); the action
// starts ok.
func (q *Queries) CreateAlertRule(ctx context.Context, r *AlertRule) error {
	now := q.now().UTC().Truncate(time.Microsecond)
	var createdBy *int64
	if r.CreatedBy != 0 {
		createdBy = &r.CreatedBy
	}
	err := q.q.QueryRowContext(ctx, `INSERT INTO alert_rules (project_id, name, conditions, integration_id,
		channel_id, channel_name, throttle_minutes, thread, action_status, action_reason, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'ok', '', $9, $10, $10) RETURNING id`,
		r.ProjectID, r.Name, r.Conditions, r.IntegrationID, r.ChannelID, r.ChannelName, r.ThrottleMinutes, r.Thread,
		createdBy, micros(now)).Scan(&r.ID)
	if err != nil {
		return translate(err, "alert rule")
	}
	r.ActionStatus, r.ActionReason, r.CreatedAt, r.UpdatedAt = ActionOK, "", now, now
	return nil
}

// UpdateAlertRule rewrites the rule's settings. A changed action (workspace
// or channel) was just checked, so its status goes back to ok. ENOTFOUND if
// the rule is gone.
func (q *Queries) UpdateAlertRule(ctx context.Context, r *AlertRule) error {
	now := micros(q.now())
	res, err := q.q.ExecContext(ctx, `UPDATE alert_rules SET name = $1, conditions = $2, integration_id = $3,
		channel_id = $4, channel_name = $5, throttle_minutes = $6, thread = $7, updated_at = $8,
		action_status = 'ok', action_reason = '', action_changed_at = $8
		WHERE id = $9 AND project_id = $10`,
		r.Name, r.Conditions, r.IntegrationID, r.ChannelID, r.ChannelName, r.ThrottleMinutes, r.Thread, now, r.ID, r.ProjectID)
	if err != nil {
		return translate(err, "alert rule")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "alert rule not found")
	}
	return nil
}

// DeleteAlertRule removes a rule; notifications already queued for it are
// cancelled when their job runs. ENOTFOUND if there is no such rule in the
// project.
func (q *Queries) DeleteAlertRule(ctx context.Context, projectID, id int64) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM alert_rules WHERE id = $1 AND project_id = $2`, id, projectID)
	if err != nil {
		return fmt.Errorf("delete alert rule %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "alert rule not found")
	}
	return nil
}

// AlertRule returns a project's rule; ENOTFOUND if it has no such rule.
func (q *Queries) AlertRule(ctx context.Context, projectID, id int64) (*AlertRule, error) {
	r, err := scanAlertRule(q.q.QueryRowContext(ctx,
		`SELECT `+alertRuleCols("")+` FROM alert_rules WHERE id = $1 AND project_id = $2`, id, projectID))
	return r, translate(err, "alert rule")
}

// AlertRuleByID returns a rule of any project; ENOTFOUND if there is none.
func (q *Queries) AlertRuleByID(ctx context.Context, id int64) (*AlertRule, error) {
	r, err := scanAlertRule(q.q.QueryRowContext(ctx, `SELECT `+alertRuleCols("")+` FROM alert_rules WHERE id = $1`, id))
	return r, translate(err, "alert rule")
}

// AlertRules lists a project's rules, oldest first.
func (q *Queries) AlertRules(ctx context.Context, projectID int64) ([]*AlertRule, error) {
	return q.alertRules(ctx, `SELECT `+alertRuleCols("")+` FROM alert_rules WHERE project_id = $1 ORDER BY id`, projectID)
}

// AlertRulesForOrg lists the rules of every project of an organization, by
// project then age.
func (q *Queries) AlertRulesForOrg(ctx context.Context, orgID int64) ([]*AlertRule, error) {
	return q.alertRules(ctx, `SELECT `+alertRuleCols("r.")+` FROM alert_rules r
		JOIN projects p ON p.id = r.project_id WHERE p.org_id = $1 ORDER BY p.slug, r.id`, orgID)
}

func (q *Queries) alertRules(ctx context.Context, query string, args ...any) ([]*AlertRule, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list alert rules: %w", err)
	}
	defer rows.Close()
	var out []*AlertRule
	for rows.Next() {
		r, err := scanAlertRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetAlertActionStatus records whether the rule's action works and why not;
// it reports whether the status changed (so that callers log and count a
// rule breaking once, not once per notification).
func (q *Queries) SetAlertActionStatus(ctx context.Context, ruleID int64, status, reason string) (bool, error) {
	if status != ActionOK && status != ActionBroken {
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

// AlertNotification is one notification of one rule about one issue.
type AlertNotification struct {
	ID            int64
	RuleID        int64 // 0 once the rule is deleted
	IssueID       int64
	Cause         string
	IntegrationID int64
	ChannelID     string
	Status        string
	Reason        string
	MessageTS     string
	ThreadTS      string
	ReservedAt    time.Time
	CreatedAt     time.Time
	FinishedAt    time.Time
}

const notificationCols = `n.id, COALESCE(n.rule_id, 0), n.issue_id, n.cause, n.integration_id, n.channel_id, n.status,
	n.reason, n.message_ts, n.thread_ts, n.reserved_at, n.created_at, n.finished_at`

func scanNotification(row interface{ Scan(...any) error }) (*AlertNotification, error) {
	var n AlertNotification
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
func (q *Queries) CreateAlertNotification(ctx context.Context, n *AlertNotification) (int64, error) {
	ids, err := q.CreateAlertNotifications(ctx, []*AlertNotification{n})
	n.ID = ids[n.RuleID]
	return n.ID, err
}

// CreateAlertNotifications records pending notifications, one per rule,
// and returns their ids by rule. A rule that already has a notification
// for the issue and cause (the job that evaluated the rules ran twice) is
// left out.
func (q *Queries) CreateAlertNotifications(ctx context.Context, ns []*AlertNotification) (map[int64]int64, error) {
	ids := map[int64]int64{}
	if len(ns) == 0 {
		return ids, nil
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
	rows, err := q.q.QueryContext(ctx, `INSERT INTO alert_notifications (rule_id, issue_id, cause, integration_id, channel_id, created_at)
		VALUES `+sb.String()+` ON CONFLICT (rule_id, issue_id, cause) DO NOTHING RETURNING id, rule_id`, args...)
	if err != nil {
		return ids, fmt.Errorf("record alert notifications: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, rule int64
		if err := rows.Scan(&id, &rule); err != nil {
			return ids, err
		}
		ids[rule] = id
	}
	return ids, rows.Err()
}

// AlertNotification returns ENOTFOUND if there is none.
func (q *Queries) AlertNotification(ctx context.Context, id int64) (*AlertNotification, error) {
	n, err := scanNotification(q.q.QueryRowContext(ctx,
		`SELECT `+notificationCols+` FROM alert_notifications n WHERE n.id = $1`, id))
	return n, translate(err, "alert notification")
}

// AlertDelivery is what delivering a notification needs, read at once:
// the notification, its rule (nil once deleted) and the ts of the issue's
// card in the channel ("" when there is none yet).
type AlertDelivery struct {
	Notification *AlertNotification
	Rule         *AlertRule
	CardTS       string
}

// AlertDelivery returns ENOTFOUND if the notification is gone.
func (q *Queries) AlertDelivery(ctx context.Context, id int64) (*AlertDelivery, error) {
	var d AlertDelivery
	var n AlertNotification
	var reserved, created, finished int64
	err := q.q.QueryRowContext(ctx, `SELECT `+notificationCols+`, COALESCE((SELECT c.message_ts FROM alert_notifications c
		WHERE c.issue_id = n.issue_id AND c.integration_id = n.integration_id AND c.channel_id = n.channel_id
		AND c.status = 'delivered' AND c.thread_ts = '' AND c.message_ts <> '' ORDER BY c.id LIMIT 1), '')
		FROM alert_notifications n WHERE n.id = $1`, id).
		Scan(&n.ID, &n.RuleID, &n.IssueID, &n.Cause, &n.IntegrationID, &n.ChannelID, &n.Status, &n.Reason,
			&n.MessageTS, &n.ThreadTS, &reserved, &created, &finished, &d.CardTS)
	if err != nil {
		return nil, translate(err, "alert notification")
	}
	n.ReservedAt, n.CreatedAt, n.FinishedAt = optFromMicros(reserved), fromMicros(created), optFromMicros(finished)
	d.Notification = &n
	if n.RuleID != 0 {
		d.Rule, err = q.AlertRuleByID(ctx, n.RuleID)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			d.Rule, err = nil, nil
		}
	}
	return &d, err
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
// false when the notification was not pending any more.
func (q *Queries) FinishNotification(ctx context.Context, id int64, status, reason, messageTS, threadTS string) (bool, error) {
	switch status {
	case NotificationDelivered, NotificationFailed, NotificationCancelled:
	default:
		return false, triage.Errorf(triage.EINVALID, "unknown notification status %q", status)
	}
	res, err := q.q.ExecContext(ctx, `UPDATE alert_notifications SET status = $1, reason = $2, message_ts = $3,
		thread_ts = $4, finished_at = $5 WHERE id = $6 AND status = 'pending'`,
		status, reason, messageTS, threadTS, micros(q.now()), id)
	if err != nil {
		return false, fmt.Errorf("finish notification %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
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

// AlertCards lists the issue's cards, the first one per channel, oldest
// first.
func (q *Queries) AlertCards(ctx context.Context, issueID int64) ([]AlertCard, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT integration_id, channel_id, message_ts FROM alert_notifications
		WHERE issue_id = $1 AND status = 'delivered' AND thread_ts = '' AND message_ts <> '' ORDER BY id`, issueID)
	if err != nil {
		return nil, fmt.Errorf("list cards of issue %d: %w", issueID, err)
	}
	defer rows.Close()
	var out []AlertCard
	seen := map[AlertCard]bool{}
	for rows.Next() {
		var c AlertCard
		if err := rows.Scan(&c.IntegrationID, &c.ChannelID, &c.TS); err != nil {
			return nil, err
		}
		key := AlertCard{IntegrationID: c.IntegrationID, ChannelID: c.ChannelID}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, c)
	}
	return out, rows.Err()
}

// AlertCardIn returns the ts of the issue's first card in the channel, ""
// when there is none.
func (q *Queries) AlertCardIn(ctx context.Context, issueID, integrationID int64, channelID string) (string, error) {
	var ts string
	err := q.q.QueryRowContext(ctx, `SELECT message_ts FROM alert_notifications WHERE issue_id = $1
		AND integration_id = $2 AND channel_id = $3 AND status = 'delivered' AND thread_ts = '' AND message_ts <> ''
		ORDER BY id LIMIT 1`, issueID, integrationID, channelID).Scan(&ts)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("find card of issue %d: %w", issueID, err)
	}
	return ts, nil
}

// PendingCards lists, per channel, the issue's first pending notification
// where the issue has no card yet: each will post a card, whose thread a
// change made now should reach once it is out.
func (q *Queries) PendingCards(ctx context.Context, issueID int64) ([]int64, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT MIN(n.id) FROM alert_notifications n WHERE n.issue_id = $1 AND n.status = 'pending'
		AND NOT EXISTS (SELECT 1 FROM alert_notifications c WHERE c.issue_id = n.issue_id AND c.integration_id = n.integration_id
			AND c.channel_id = n.channel_id AND c.status = 'delivered' AND c.thread_ts = '' AND c.message_ts <> '')
		GROUP BY n.integration_id, n.channel_id ORDER BY 1`, issueID)
	if err != nil {
		return nil, fmt.Errorf("list pending cards of issue %d: %w", issueID, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
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
	args := []any{micros(since)}
	ph := make([]string, len(ruleIDs))
	for k, id := range ruleIDs {
		args = append(args, id)
		ph[k] = fmt.Sprintf("$%d", k+2)
	}
	rows, err := q.q.QueryContext(ctx, `SELECT rule_id, status, COUNT(*) FROM alert_notifications
		WHERE created_at >= $1 AND rule_id IN (`+strings.Join(ph, ", ")+`) GROUP BY rule_id, status`, args...)
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
		out[id][status] = n
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

// Pace is one key's send schedule: the GCRA theoretical arrival time and
// the end of the last Retry-After.
type Pace struct {
	Key          string
	TAT          time.Time
	BlockedUntil time.Time
}

// LockPaces reads the schedules of keys, creating missing ones, and locks
// them until the transaction ends (rows on PostgreSQL; SQLite's immediate
// transaction holds the write lock already). Keys are locked in sorted
// order, so two transactions cannot deadlock.
func (q *Queries) LockPaces(ctx context.Context, keys []string) (map[string]*Pace, error) {
	keys = slices.Sorted(slices.Values(keys))
	lock := ""
	if q.engine == Postgres {
		lock = " FOR UPDATE"
	}
	out := map[string]*Pace{}
	for _, k := range keys {
		if _, err := q.q.ExecContext(ctx, `INSERT INTO alert_pacing (key, tat, blocked_until) VALUES ($1, 0, 0)
			ON CONFLICT (key) DO NOTHING`, k); err != nil {
			return nil, fmt.Errorf("create pace %s: %w", k, err)
		}
		var tat, blocked int64
		if err := q.q.QueryRowContext(ctx, `SELECT tat, blocked_until FROM alert_pacing WHERE key = $1`+lock, k).
			Scan(&tat, &blocked); err != nil {
			return nil, fmt.Errorf("lock pace %s: %w", k, err)
		}
		out[k] = &Pace{Key: k, TAT: fromMicros(tat), BlockedUntil: fromMicros(blocked)}
	}
	return out, nil
}

// SavePace writes a schedule read with LockPaces.
func (q *Queries) SavePace(ctx context.Context, p *Pace) error {
	_, err := q.q.ExecContext(ctx, `UPDATE alert_pacing SET tat = $1, blocked_until = $2 WHERE key = $3`,
		micros(p.TAT), micros(p.BlockedUntil), p.Key)
	if err != nil {
		return fmt.Errorf("save pace %s: %w", p.Key, err)
	}
	return nil
}

// ReservePace books the next send slot of one key in one statement (GCRA
// with interval iv and tolerance tol, past any Retry-After) and returns it.
func (q *Queries) ReservePace(ctx context.Context, key string, now time.Time, iv, tol time.Duration) (time.Time, error) {
	greatest := "GREATEST"
	if q.engine == SQLite {
		greatest = "MAX" // SQLite's scalar max of several values
	}
	slot := greatest + `(CAST($2 AS BIGINT), alert_pacing.tat - CAST($4 AS BIGINT), alert_pacing.blocked_until)`
	var at int64
	// SET reads the row as it was, so slot and tat both start from the
	// old schedule; a new key sends now.
	err := q.q.QueryRowContext(ctx, `INSERT INTO alert_pacing (key, tat, blocked_until, last_slot) VALUES ($1, CAST($2 AS BIGINT) + CAST($3 AS BIGINT), 0, $2)
		ON CONFLICT (key) DO UPDATE SET last_slot = `+slot+`,
		tat = `+greatest+`(alert_pacing.tat, `+slot+`) + CAST($3 AS BIGINT)
		RETURNING last_slot`, key, micros(now), iv.Microseconds(), tol.Microseconds()).Scan(&at)
	if err != nil {
		return time.Time{}, fmt.Errorf("reserve pace %s: %w", key, err)
	}
	return fromMicros(at), nil
}

// ClaimSend checks one send against key's schedule of actual sends (GCRA
// with interval iv and tolerance tol): when it conforms it is recorded and
// ClaimSend returns 0; otherwise it returns how long to wait.
func (q *Queries) ClaimSend(ctx context.Context, key string, now time.Time, iv, tol time.Duration) (time.Duration, error) {
	greatest := "GREATEST"
	if q.engine == SQLite {
		greatest = "MAX"
	}
	var sentTAT, claim int64
	n := micros(now)
	err := q.q.QueryRowContext(ctx, `INSERT INTO alert_pacing (key, sent_tat, last_claim) VALUES ($1, CAST($2 AS BIGINT) + CAST($3 AS BIGINT), $2)
		ON CONFLICT (key) DO UPDATE SET
		last_claim = CASE WHEN alert_pacing.sent_tat - CAST($4 AS BIGINT) <= CAST($2 AS BIGINT) THEN CAST($2 AS BIGINT) ELSE alert_pacing.last_claim END,
		sent_tat = CASE WHEN alert_pacing.sent_tat - CAST($4 AS BIGINT) <= CAST($2 AS BIGINT)
			THEN `+greatest+`(alert_pacing.sent_tat, CAST($2 AS BIGINT)) + CAST($3 AS BIGINT) ELSE alert_pacing.sent_tat END
		RETURNING sent_tat, last_claim`, key, n, iv.Microseconds(), tol.Microseconds()).Scan(&sentTAT, &claim)
	if err != nil {
		return 0, fmt.Errorf("claim send on %s: %w", key, err)
	}
	if claim == n {
		return 0, nil
	}
	return time.Duration(sentTAT-tol.Microseconds()-n) * time.Microsecond, nil
}

// BlockPace records a Retry-After on key: no slot before until.
func (q *Queries) BlockPace(ctx context.Context, key string, until time.Time) error {
	greatest := "GREATEST"
	if q.engine == SQLite {
		greatest = "MAX"
	}
	_, err := q.q.ExecContext(ctx, `INSERT INTO alert_pacing (key, tat, blocked_until, last_slot) VALUES ($1, $2, $2, 0)
		ON CONFLICT (key) DO UPDATE SET blocked_until = `+greatest+`(alert_pacing.blocked_until, CAST($2 AS BIGINT)),
		tat = `+greatest+`(alert_pacing.tat, CAST($2 AS BIGINT))`, key, micros(until))
	if err != nil {
		return fmt.Errorf("block pace %s: %w", key, err)
	}
	return nil
}

// BlockedUntil returns the latest end of a Retry-After among keys (zero
// when none is in force or known).
func (q *Queries) BlockedUntil(ctx context.Context, keys []string) (time.Time, error) {
	if len(keys) == 0 {
		return time.Time{}, nil
	}
	args := make([]any, len(keys))
	ph := make([]string, len(keys))
	for k, key := range keys {
		args[k] = key
		ph[k] = fmt.Sprintf("$%d", k+1)
	}
	var until int64
	err := q.q.QueryRowContext(ctx, `SELECT COALESCE(MAX(blocked_until), 0) FROM alert_pacing
		WHERE key IN (`+strings.Join(ph, ", ")+`)`, args...).Scan(&until)
	if err != nil {
		return time.Time{}, fmt.Errorf("read pace blocks: %w", err)
	}
	if until == 0 {
		return time.Time{}, nil
	}
	return fromMicros(until), nil
}

// SlackChannel is one channel of a workspace as last listed.
type SlackChannel struct {
	IntegrationID int64
	ID            string
	Name          string
	IsPrivate     bool
	IsArchived    bool
	IsMember      bool
	SeenAt        time.Time
}

// UpsertSlackChannels stores one page of conversations.list.
func (q *Queries) UpsertSlackChannels(ctx context.Context, integrationID int64, chans []SlackChannel, seen time.Time) error {
	for _, c := range chans {
		_, err := q.q.ExecContext(ctx, `INSERT INTO slack_channels (integration_id, channel_id, name, is_private,
			is_archived, is_member, seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (integration_id, channel_id) DO UPDATE SET name = excluded.name,
			is_private = excluded.is_private, is_archived = excluded.is_archived,
			is_member = excluded.is_member, seen_at = excluded.seen_at`,
			integrationID, c.ID, c.Name, c.IsPrivate, c.IsArchived, c.IsMember, micros(seen))
		if err != nil {
			return fmt.Errorf("store channel %s: %w", c.ID, err)
		}
	}
	return nil
}

// UpsertSlackChannel stores one channel (as conversations.info saw it).
func (q *Queries) UpsertSlackChannel(ctx context.Context, c SlackChannel) error {
	return q.UpsertSlackChannels(ctx, c.IntegrationID, []SlackChannel{c}, q.now())
}

// DeleteSlackChannelsBefore forgets channels a full listing that began at
// t did not see again (deleted, or private and the bot was removed).
func (q *Queries) DeleteSlackChannelsBefore(ctx context.Context, integrationID int64, t time.Time) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM slack_channels WHERE integration_id = $1 AND seen_at < $2`,
		integrationID, micros(t))
	if err != nil {
		return fmt.Errorf("forget old channels: %w", err)
	}
	return nil
}

// SlackChannels lists a workspace's cached channels whose name contains
// query (any when ""), by name, at most limit.
func (q *Queries) SlackChannels(ctx context.Context, integrationID int64, query string, limit int) ([]SlackChannel, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	pattern := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(query)) + "%"
	rows, err := q.q.QueryContext(ctx, `SELECT integration_id, channel_id, name, is_private, is_archived, is_member, seen_at
		FROM slack_channels WHERE integration_id = $1 AND LOWER(name) LIKE $2 ESCAPE '\'
		ORDER BY name, channel_id LIMIT $3`, integrationID, pattern, limit)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	defer rows.Close()
	var out []SlackChannel
	for rows.Next() {
		var c SlackChannel
		var seen int64
		if err := rows.Scan(&c.IntegrationID, &c.ID, &c.Name, &c.IsPrivate, &c.IsArchived, &c.IsMember, &seen); err != nil {
			return nil, err
		}
		c.SeenAt = fromMicros(seen)
		out = append(out, c)
	}
	return out, rows.Err()
}

// SlackChannelByID returns a cached channel; ENOTFOUND if it is not cached.
func (q *Queries) SlackChannelByID(ctx context.Context, integrationID int64, channelID string) (*SlackChannel, error) {
	var c SlackChannel
	var seen int64
	err := q.q.QueryRowContext(ctx, `SELECT integration_id, channel_id, name, is_private, is_archived, is_member, seen_at
		FROM slack_channels WHERE integration_id = $1 AND channel_id = $2`, integrationID, channelID).
		Scan(&c.IntegrationID, &c.ID, &c.Name, &c.IsPrivate, &c.IsArchived, &c.IsMember, &seen)
	if err != nil {
		return nil, translate(err, "channel")
	}
	c.SeenAt = fromMicros(seen)
	return &c, nil
}

// SlackChannelByName returns a cached channel by name; ENOTFOUND if none.
func (q *Queries) SlackChannelByName(ctx context.Context, integrationID int64, name string) (*SlackChannel, error) {
	var id string
	err := q.q.QueryRowContext(ctx, `SELECT channel_id FROM slack_channels WHERE integration_id = $1 AND name = $2
		ORDER BY is_archived, channel_id LIMIT 1`, integrationID, name).Scan(&id)
	if err != nil {
		return nil, translate(err, "channel")
	}
	return q.SlackChannelByID(ctx, integrationID, id)
}

// ChannelSync is the progress of a workspace's channel listing.
type ChannelSync struct {
	IntegrationID int64
	Cursor        string // next page; "" between listings
	StartedAt     time.Time
	FinishedAt    time.Time
	Pages         int64
	Error         string
}

// ChannelSyncState returns the workspace's listing progress; a workspace
// never listed gets a zero ChannelSync.
func (q *Queries) ChannelSyncState(ctx context.Context, integrationID int64) (*ChannelSync, error) {
	s := ChannelSync{IntegrationID: integrationID}
	var started, finished int64
	err := q.q.QueryRowContext(ctx, `SELECT cursor, started_at, finished_at, pages, error FROM slack_channel_syncs
		WHERE integration_id = $1`, integrationID).Scan(&s.Cursor, &started, &finished, &s.Pages, &s.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return &s, nil
	} else if err != nil {
		return nil, fmt.Errorf("read channel sync of integration %d: %w", integrationID, err)
	}
	s.StartedAt, s.FinishedAt = optFromMicros(started), optFromMicros(finished)
	return &s, nil
}

// SaveChannelSync writes the workspace's listing progress.
func (q *Queries) SaveChannelSync(ctx context.Context, s *ChannelSync) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO slack_channel_syncs (integration_id, cursor, started_at, finished_at, pages, error)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (integration_id) DO UPDATE SET cursor = excluded.cursor,
		started_at = excluded.started_at, finished_at = excluded.finished_at, pages = excluded.pages, error = excluded.error`,
		s.IntegrationID, s.Cursor, optMicros(s.StartedAt), optMicros(s.FinishedAt), s.Pages, s.Error)
	if err != nil {
		return fmt.Errorf("save channel sync of integration %d: %w", s.IntegrationID, err)
	}
	return nil
}

// ActiveIntegrationIDs lists the workspaces whose tokens may be used.
func (q *Queries) ActiveIntegrationIDs(ctx context.Context) ([]int64, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id FROM integrations WHERE status = 'active' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list active integrations: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func optFromMicros(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return fromMicros(n)
}
