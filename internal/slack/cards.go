package slack

import (
	"context"
	"fmt"
	"triage/internal/slack/message"
	"triage/internal/store"
)

// loadCard reads everything the issue's card shows in one workspace.
func (i *Integration) loadCard(ctx context.Context, q *store.Queries, integrationID, issueID int64) (*message.Card, error) {
	d, err := q.SlackCard(ctx, integrationID, issueID)
	if err != nil {
		return nil, fmt.Errorf("load card of issue %d: %w", issueID, err)
	}
	return &message.Card{
		Issue: d.Issue, URL: i.absURL(d.Issue.Path()) + "?referrer=slack", HasRelease: d.HasRelease,
		Teams: d.Teams, Users: d.Users, SlackIDs: d.SlackIDs, Last: d.Last,
	}, nil
}
