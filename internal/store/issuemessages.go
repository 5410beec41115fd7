package store

import (
	"context"
	"fmt"
)

// issueMessages is what a transaction knows of the messages about one
// issue: up to two of its remembered Slack messages. Inside a transaction
// one query answers the change hooks' question, and writes of the table in
// the transaction forget the answer.
type issueMessages struct {
	issueID int64
	slack   []slackMessageKey // at most two: enough to tell "another one"
}

type slackMessageKey struct {
	integrationID int64
	channelID, ts string
}

// messagesOf returns the transaction's answer for issueID, querying once.
func (q *Queries) messagesOf(ctx context.Context, issueID int64) (*issueMessages, error) {
	if q.tx == nil {
		return nil, fmt.Errorf("messagesOf outside a transaction")
	}
	if m := q.msgs; m != nil && m.issueID == issueID {
		return m, nil
	}
	st, err := q.prepared(ctx, `SELECT integration_id, channel_id, ts FROM slack_messages WHERE issue_id = $1 LIMIT 2`)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, issueID)
	if err != nil {
		return nil, fmt.Errorf("check messages of issue %d: %w", issueID, err)
	}
	defer rows.Close()
	m := &issueMessages{issueID: issueID}
	for rows.Next() {
		var k slackMessageKey
		if err := rows.Scan(&k.integrationID, &k.channelID, &k.ts); err != nil {
			return nil, fmt.Errorf("check messages of issue %d: %w", issueID, err)
		}
		m.slack = append(m.slack, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("check messages of issue %d: %w", issueID, err)
	}
	q.msgs = m
	return m, nil
}

// forgetMessages drops the transaction's answer after a write that may
// change it. Outside a transaction there is none (and the Store's Queries
// are shared by every goroutine).
func (q *Queries) forgetMessages() {
	if q.tx != nil {
		q.msgs = nil
	}
}
