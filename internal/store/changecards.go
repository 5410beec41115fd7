package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// changeCards is what a status change's own statement read of the issue's
// alert cards (PostgreSQL: SetIssueStatusLogged), for the change's alert
// hook: the statement runs after the change locked the issue (every
// caller takes the row's lock in an earlier statement of the transaction:
// the change's locking read, or the event writer's count of the issue's
// events), so its snapshot holds every card recorded before the lock was
// granted, as the hook's own read after the lock would, one round trip
// earlier. (In the statement that waits for a lock, the snapshot would
// predate the wait.)
type changeCards struct {
	issueID, activityID int64
	cards               []AlertCard
}

// changeCardsColumn reads the issue ($4) cards as IssueCards does, as one
// JSON array (NULL for none).
const changeCardsColumn = `(SELECT json_agg(json_build_object('i', c.integration_id, 'c', c.channel_id, 't', c.ts, 'n', c.notification_id)
		ORDER BY c.notification_id) FROM alert_cards c WHERE c.issue_id = $4)`

// keepChangeCards keeps the cards a change's statement read (js, NULL
// for none), inside a transaction.
func (q *Queries) keepChangeCards(issueID, activityID int64, js *string) error {
	if q.tx == nil {
		return nil
	}
	m := &changeCards{issueID: issueID, activityID: activityID}
	if js != nil {
		var rows []struct {
			I int64  `json:"i"`
			C string `json:"c"`
			T string `json:"t"`
			N int64  `json:"n"`
		}
		if err := json.Unmarshal([]byte(*js), &rows); err != nil {
			return fmt.Errorf("decode cards of issue %d: %w", issueID, err)
		}
		for _, r := range rows {
			c := AlertCard{IntegrationID: r.I, ChannelID: r.C, TS: r.T}
			if c.TS == "" {
				c.PendingID = r.N
			}
			m.cards = append(m.cards, c)
		}
	}
	q.cards = m
	return nil
}

// ChangeCards is IssueCards for the change that wrote activityID, in its
// transaction: the cards that change's own statement read when it did
// (once; then, or for any other change, IssueCards reads them).
func (q *Queries) ChangeCards(ctx context.Context, issueID, activityID int64) ([]AlertCard, error) {
	if m := q.cards; m != nil && m.issueID == issueID && m.activityID == activityID {
		q.cards = nil
		return m.cards, nil
	}
	return q.IssueCards(ctx, issueID)
}
