package alert

import (
	"context"
	"time"

	"triage/internal/slack"
)

// FromSlack adapts the Slack integration to what alerts need.
func FromSlack(i *slack.Integration) Slack { return slackAdapter{i} }

type slackAdapter struct{ *slack.Integration }

func (a slackAdapter) PrepareCard(ctx context.Context, integrationID, issueID int64) (Message, error) {
	m, err := a.Integration.PrepareCard(ctx, integrationID, issueID)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (a slackAdapter) PrepareReply(ctx context.Context, integrationID int64, text string) (Message, error) {
	m, err := a.Integration.PrepareReply(ctx, integrationID, text)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (a slackAdapter) ChannelInfo(ctx context.Context, integrationID int64, channelID string) (Channel, error) {
	c, err := a.Integration.ChannelInfo(ctx, integrationID, channelID)
	return Channel(c), err
}

func (a slackAdapter) ChannelsPage(ctx context.Context, integrationID int64, cursor string) ([]Channel, string, error) {
	page, next, err := a.Integration.ChannelsPage(ctx, integrationID, cursor)
	out := make([]Channel, len(page))
	for k, c := range page {
		out[k] = Channel(c)
	}
	return out, next, err
}

func (slackAdapter) PermanentReason(err error) (string, bool) { return slack.PermanentReason(err) }

func (slackAdapter) RetryAfter(err error) (time.Duration, bool) { return slack.RetryAfter(err) }
