package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"triage"
)

// Kinds of remembered Slack messages.
const (
	// SlackMessageCard is a message Triage posted; chat.update edits it.
	SlackMessageCard = "card"
	// SlackMessageUnfurl is a person's message whose link Triage unfurled;
	// chat.unfurl with the same URL replaces the unfurl.
	SlackMessageUnfurl = "unfurl"
)

// SlackMessage is one Slack message Triage posted or unfurled about an
// issue, remembered so that a change to the issue can rebuild it.
type SlackMessage struct {
	ID            int64
	IssueID       int64
	IntegrationID int64
	ChannelID     string
	TS            string
	ThreadTS      string
	Kind          string
	// URL is the link as shared, for unfurls.
	URL       string
	CreatedAt time.Time
}

// MarkSlackEventSeen records an Events API delivery by its event_id and
// reports whether it is the first time: false means an earlier delivery was
// handled already (in a committed transaction) and this one is a retry.
func (q *Queries) MarkSlackEventSeen(ctx context.Context, eventID string) (bool, error) {
	if eventID == "" {
		return false, triage.Errorf(triage.EINVALID, "event_id is empty")
	}
	res, err := q.q.ExecContext(ctx, `INSERT INTO slack_events_seen (event_id, received_at) VALUES ($1, $2)
		ON CONFLICT (event_id) DO NOTHING`, eventID, micros(q.now()))
	if err != nil {
		return false, fmt.Errorf("mark slack event seen: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteSlackEventsSeenBefore forgets deliveries received before t (Slack
// stops retrying after about an hour).
func (q *Queries) DeleteSlackEventsSeenBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM slack_events_seen WHERE received_at < $1`, micros(t))
	if err != nil {
		return 0, fmt.Errorf("delete old slack events: %w", err)
	}
	return res.RowsAffected()
}

// RememberSlackMessage stores m; remembering the same message for the same
// issue again updates its thread and URL instead of adding a row.
func (q *Queries) RememberSlackMessage(ctx context.Context, m *SlackMessage) error {
	if m.ChannelID == "" || m.TS == "" {
		return triage.Errorf(triage.EINVALID, "a remembered Slack message needs a channel and a ts")
	}
	if m.Kind != SlackMessageCard && m.Kind != SlackMessageUnfurl {
		return triage.Errorf(triage.EINVALID, "unknown Slack message kind %q", m.Kind)
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = q.now().UTC().Truncate(time.Microsecond)
	}
	err := q.q.QueryRowContext(ctx, `INSERT INTO slack_messages (issue_id, integration_id, channel_id, ts, thread_ts, kind, url, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (integration_id, channel_id, ts, issue_id) DO UPDATE SET
			thread_ts = excluded.thread_ts, kind = excluded.kind, url = excluded.url
		RETURNING id`,
		m.IssueID, m.IntegrationID, m.ChannelID, m.TS, m.ThreadTS, m.Kind, m.URL, micros(m.CreatedAt)).Scan(&m.ID)
	if err != nil {
		return translate(err, "Slack message")
	}
	return nil
}

// SlackMessagesForIssue lists the remembered messages about an issue,
// oldest first.
func (q *Queries) SlackMessagesForIssue(ctx context.Context, issueID int64) ([]*SlackMessage, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, issue_id, integration_id, channel_id, ts, thread_ts, kind, url, created_at
		FROM slack_messages WHERE issue_id = $1 ORDER BY id`, issueID)
	if err != nil {
		return nil, fmt.Errorf("list slack messages of issue %d: %w", issueID, err)
	}
	defer rows.Close()
	var out []*SlackMessage
	for rows.Next() {
		var m SlackMessage
		var created int64
		if err := rows.Scan(&m.ID, &m.IssueID, &m.IntegrationID, &m.ChannelID, &m.TS, &m.ThreadTS, &m.Kind, &m.URL, &created); err != nil {
			return nil, err
		}
		m.CreatedAt = fromMicros(created)
		out = append(out, &m)
	}
	return out, rows.Err()
}

// HasOtherSlackMessages tells whether the issue has a remembered message
// other than the one at (integrationID, channelID, ts); pass zero values to
// skip none. It lets a change skip queueing an update when there is nothing
// else to update.
func (q *Queries) HasOtherSlackMessages(ctx context.Context, issueID, integrationID int64, channelID, ts string) (bool, error) {
	var n int64
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM slack_messages WHERE issue_id = $1
		AND NOT (integration_id = $2 AND channel_id = $3 AND ts = $4) LIMIT 1) x`,
		issueID, integrationID, channelID, ts).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check slack messages of issue %d: %w", issueID, err)
	}
	return n > 0, nil
}

// ForgetSlackMessage stops updating a message (deleted, or in a channel
// Triage can no longer reach). Forgetting one that is gone is not an error.
func (q *Queries) ForgetSlackMessage(ctx context.Context, id int64) error {
	if _, err := q.q.ExecContext(ctx, `DELETE FROM slack_messages WHERE id = $1`, id); err != nil {
		return fmt.Errorf("forget slack message %d: %w", id, err)
	}
	return nil
}

// SlackUserIDs maps each of the Triage users that is linked in the
// workspace to their Slack user id; users not linked there are absent.
func (q *Queries) SlackUserIDs(ctx context.Context, integrationID int64, userIDs []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(userIDs) == 0 {
		return out, nil
	}
	args := []any{integrationID}
	ph := make([]string, len(userIDs))
	for k, id := range userIDs {
		args = append(args, id)
		ph[k] = fmt.Sprintf("$%d", k+2)
	}
	rows, err := q.q.QueryContext(ctx, `SELECT user_id, external_id FROM identities
		WHERE integration_id = $1 AND user_id IN (`+strings.Join(ph, ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("list slack user ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var ext string
		if err := rows.Scan(&id, &ext); err != nil {
			return nil, err
		}
		out[id] = ext
	}
	return out, rows.Err()
}
