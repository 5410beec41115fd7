package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"triage"
)

// cardClaim is a notification that is to post the issue's card in a
// channel: the first one about the issue there.
type cardClaim struct {
	IssueID        int64
	IntegrationID  int64
	ChannelID      string
	NotificationID int64
}

// claimCards gives each claim's card to its notification, unless the card
// is claimed already (by an earlier notification, in this process or
// another: the table's primary key decides). It runs in the statement or
// transaction that records the notifications (CreateNotificationsAndClaim),
// so that a claim exists exactly when its notification does.
func (q *Queries) claimCards(ctx context.Context, claims []cardClaim) error {
	if len(claims) == 0 {
		return nil
	}
	var sb strings.Builder
	var args []any
	for k, c := range claims {
		if k > 0 {
			sb.WriteString(", ")
		}
		args = append(args, c.IssueID, c.IntegrationID, c.ChannelID, c.NotificationID)
		b := len(args) - 4
		fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, '')", b+1, b+2, b+3, b+4)
	}
	q.forgetMessages()
	if _, err := q.q.ExecContext(ctx, `INSERT INTO alert_cards (issue_id, integration_id, channel_id, notification_id, ts)
		VALUES `+sb.String()+` ON CONFLICT (issue_id, integration_id, channel_id) DO NOTHING`, args...); err != nil {
		return fmt.Errorf("claim %d cards: %w", len(claims), err)
	}
	return nil
}

// TakeCard gives the card of the notification's issue in its channel to
// notification id when nobody holds it (from is 0) or when from, the
// notification that held it, ended without posting it. It reports whether
// id holds the card now: false means another notification got there
// first.
func (q *Queries) TakeCard(ctx context.Context, id, from int64) (bool, error) {
	q.forgetMessages()
	var got int64
	err := q.q.QueryRowContext(ctx, `INSERT INTO alert_cards (issue_id, integration_id, channel_id, notification_id, ts)
		SELECT issue_id, integration_id, channel_id, id, '' FROM alert_notifications WHERE id = $1
		ON CONFLICT (issue_id, integration_id, channel_id) DO UPDATE SET notification_id = excluded.notification_id
		WHERE alert_cards.ts = '' AND alert_cards.notification_id = $2
		RETURNING notification_id`, id, from).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("take card for notification %d: %w", id, err)
	}
	return got == id, nil
}

// postedCard records the card notification id posted (ts): its claim gets
// the ts, or, when the card was not claimed (a notification recorded
// before claims existed), it becomes the card.
func (q *Queries) postedCard(ctx context.Context, id int64, ts string) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO alert_cards (issue_id, integration_id, channel_id, notification_id, ts)
		SELECT issue_id, integration_id, channel_id, id, $2 FROM alert_notifications WHERE id = $1
		ON CONFLICT (issue_id, integration_id, channel_id) DO UPDATE SET ts = excluded.ts
		WHERE alert_cards.notification_id = excluded.notification_id`, id, ts)
	if err != nil {
		return fmt.Errorf("record card of notification %d: %w", id, err)
	}
	return nil
}

// releaseCard drops the claim of a notification that ended without
// posting its card, so that the next notification takes the card over.
func (q *Queries) releaseCard(ctx context.Context, id int64) error {
	if _, err := q.q.ExecContext(ctx, `DELETE FROM alert_cards WHERE notification_id = $1 AND ts = ''`, id); err != nil {
		return fmt.Errorf("release card of notification %d: %w", id, err)
	}
	return nil
}

// finishNotificationPG is FinishNotification in one round trip: the
// notification's row, and its card's claim (recorded or released), in
// one statement. (A burst of notifications is thousands of these.)
func (q *Queries) finishNotificationPG(ctx context.Context, id int64, status, reason, messageTS, threadTS string) (bool, error) {
	var n int64
	err := q.q.QueryRowContext(ctx, `WITH f AS (
			UPDATE alert_notifications SET status = $1, reason = $2, message_ts = $3, thread_ts = $4, finished_at = $5
			WHERE id = $6 AND status = 'pending' RETURNING id, issue_id, integration_id, channel_id),
		posted AS (
			INSERT INTO alert_cards (issue_id, integration_id, channel_id, notification_id, ts)
			SELECT issue_id, integration_id, channel_id, id, $3 FROM f WHERE $1 = 'delivered' AND $4 = '' AND $3 <> ''
			ON CONFLICT (issue_id, integration_id, channel_id) DO UPDATE SET ts = excluded.ts
			WHERE alert_cards.notification_id = excluded.notification_id),
		released AS (
			DELETE FROM alert_cards WHERE $1 <> 'delivered' AND ts = '' AND notification_id IN (SELECT id FROM f))
		SELECT COUNT(*) FROM f`, status, reason, messageTS, threadTS, micros(q.now()), id).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("finish notification %d: %w", id, err)
	}
	return n == 1, nil
}

// CreateNotificationsAndClaim is CreateAlertNotifications followed by
// claimCards for the notifications created: the first notification about
// an issue in a channel claims its card. One statement on PostgreSQL.
func (q *Queries) CreateNotificationsAndClaim(ctx context.Context, ns []*triage.AlertNotification) (map[int64]int64, error) {
	if len(ns) == 0 {
		return map[int64]int64{}, nil
	}
	if q.engine != Postgres {
		ids, err := q.CreateAlertNotifications(ctx, ns)
		if err != nil {
			return ids, err
		}
		var claims []cardClaim
		for _, n := range ns {
			if id := ids[n.RuleID]; id != 0 {
				claims = append(claims, cardClaim{IssueID: n.IssueID, IntegrationID: n.IntegrationID, ChannelID: n.ChannelID, NotificationID: id})
			}
		}
		return ids, q.claimCards(ctx, claims)
	}
	var sb strings.Builder
	args := []any{micros(q.now())}
	for k, n := range ns {
		if k > 0 {
			sb.WriteString(", ")
		}
		args = append(args, n.RuleID, n.IssueID, n.Cause, n.IntegrationID, n.ChannelID)
		b := len(args) - 5
		fmt.Fprintf(&sb, "(CAST($%d AS BIGINT), CAST($%d AS BIGINT), CAST($%d AS TEXT), CAST($%d AS BIGINT), CAST($%d AS TEXT), CAST($1 AS BIGINT))",
			b+1, b+2, b+3, b+4, b+5)
	}
	q.forgetMessages()
	return idsByRule(q.q.QueryContext(ctx, `WITH n AS (
			INSERT INTO alert_notifications (rule_id, issue_id, cause, integration_id, channel_id, created_at)
			VALUES `+sb.String()+` ON CONFLICT (rule_id, issue_id, cause) DO NOTHING
			RETURNING id, rule_id, issue_id, integration_id, channel_id),
		claimed AS (
			INSERT INTO alert_cards (issue_id, integration_id, channel_id, notification_id, ts)
			SELECT DISTINCT ON (issue_id, integration_id, channel_id) issue_id, integration_id, channel_id, id, '' FROM n
			ORDER BY issue_id, integration_id, channel_id, id
			ON CONFLICT (issue_id, integration_id, channel_id) DO NOTHING)
		SELECT id, rule_id FROM n`, args...))
}

// EventsSince reads, in one snapshot, the issue's count of events and how
// many of its events arrived at or after since, counting up to limit: a
// frequency condition subtracts the events counted after the ones it
// judges. ENOTFOUND if the issue is gone.
func (q *Queries) EventsSince(ctx context.Context, issueID int64, since time.Time, limit int64) (timesSeen, n int64, err error) {
	err = q.q.QueryRowContext(ctx, `SELECT i.times_seen, (SELECT COUNT(*) FROM (SELECT 1 FROM events e
		WHERE e.issue_id = $1 AND e.received_at >= $2 LIMIT $3) x) FROM issues i WHERE i.id = $1`,
		issueID, micros(since), limit).Scan(&timesSeen, &n)
	return timesSeen, n, translate(err, "issue")
}

// Delivered is a notification's message as Slack took it.
type Delivered struct {
	Notification *triage.AlertNotification // its ID, issue, workspace and channel
	// TS is the message's ts; ThreadTS the thread it went to, "" for a
	// card at the top of the channel.
	TS, ThreadTS string
	// FixRule, when not 0, is a rule whose action is marked ok again.
	FixRule int64
}

// RecordDelivery marks a notification delivered with its message. A card
// (no thread) also becomes the issue's card in the channel (see
// FinishNotification) and one of the Slack messages Triage keeps up to
// date (RememberSlackMessage), even when an earlier run recorded the
// notification already; d.FixRule's action is marked ok again. All in one
// commit, and on PostgreSQL in one statement: a burst of notifications is
// thousands of these. It reports whether the notification was pending.
//
// A card's record on PostgreSQL also locks its issue's row FOR SHARE (the
// statement's locked), as a change to the issue locks it FOR UPDATE: a
// change under way ends before the card is recorded, so that the
// delivery's check after this commit (refreshIfChanged) sees it, and a
// change that starts later waits for the commit and sees the card. On
// SQLite the write transaction holds the whole database already.
func (s *Store) RecordDelivery(ctx context.Context, d Delivered) (bool, error) {
	n := d.Notification
	if d.TS == "" {
		return false, triage.Errorf(triage.EINVALID, "a delivered notification needs its message's ts")
	}
	if s.Engine != Postgres {
		var pending bool
		err := s.InTx(ctx, func(tx *Tx) error {
			var err error
			if pending, err = tx.FinishNotification(ctx, n.ID, triage.NotificationDelivered, "", d.TS, d.ThreadTS); err != nil {
				return err
			}
			if d.ThreadTS == "" {
				if err := tx.RememberSlackMessage(ctx, &triage.SlackMessage{IssueID: n.IssueID, IntegrationID: n.IntegrationID,
					ChannelID: n.ChannelID, TS: d.TS, Kind: triage.SlackMessageCard}); err != nil {
					return err
				}
			}
			if d.FixRule != 0 {
				_, err = tx.SetAlertActionStatus(ctx, d.FixRule, triage.AlertActionOK, "")
			}
			return err
		})
		return pending, err
	}
	var count int64
	s.forgetMessages()
	err := s.q.QueryRowContext(ctx, `WITH f AS (
			UPDATE alert_notifications SET status = 'delivered', reason = '', message_ts = $1, thread_ts = $2, finished_at = $3
			WHERE id = $4 AND status = 'pending' RETURNING id, issue_id, integration_id, channel_id),
		posted AS (
			INSERT INTO alert_cards (issue_id, integration_id, channel_id, notification_id, ts)
			SELECT issue_id, integration_id, channel_id, id, $1 FROM f WHERE $2 = ''
			ON CONFLICT (issue_id, integration_id, channel_id) DO UPDATE SET ts = excluded.ts
			WHERE alert_cards.notification_id = excluded.notification_id),
		locked AS (
			SELECT id FROM issues WHERE id = $5 AND $2 = '' FOR SHARE),
		remembered AS (
			INSERT INTO slack_messages (issue_id, integration_id, channel_id, ts, thread_ts, kind, url, created_at)
			SELECT id, CAST($6 AS BIGINT), CAST($7 AS TEXT), $1, '', 'card', '', $3 FROM locked
			ON CONFLICT (integration_id, channel_id, ts, issue_id) DO UPDATE SET
				thread_ts = excluded.thread_ts, kind = excluded.kind, url = excluded.url),
		fixed AS (
			UPDATE alert_rules SET action_status = 'ok', action_reason = '', action_changed_at = $3
			WHERE id = $8 AND (action_status <> 'ok' OR action_reason <> ''))
		SELECT COUNT(*) FROM f`,
		d.TS, d.ThreadTS, micros(s.now()), n.ID, n.IssueID, n.IntegrationID, n.ChannelID, d.FixRule).Scan(&count)
	if err != nil {
		return false, fmt.Errorf("record delivery of notification %d: %w", n.ID, err)
	}
	return count == 1, nil
}
