package slack

import (
	"context"
	"triage"

	"github.com/slack-go/slack"
)

// conversation is what alerts need of a channel.
func conversation(c *slack.Channel) triage.SlackChannel {
	return triage.SlackChannel{ID: c.ID, Name: c.Name, IsPrivate: c.IsPrivate, IsArchived: c.IsArchived, IsMember: c.IsMember}
}

// channelsPageSize is conversations.list's page: Slack recommends at most
// 200; fewer pages keep a listing within Tier 2's 20 calls a minute.
const channelsPageSize = 200

// ChannelsPage is one page of conversations.list: the public channels and
// the private channels the bot is in, archived ones left out, and the
// cursor of the next page ("" after the last). Errors are classified by
// PermanentReason and RetryAfter; the caller paces the calls.
func (a Alerts) ChannelsPage(ctx context.Context, integrationID int64, cursor string) ([]triage.SlackChannel, string, error) {
	api, err := a.i.web.Client(ctx, integrationID)
	if err != nil {
		return nil, "", err
	}
	chans, next, err := api.GetConversationsContext(ctx, &slack.GetConversationsParameters{
		Cursor: cursor, Limit: channelsPageSize, ExcludeArchived: true,
		Types: []string{"public_channel", "private_channel"},
	})
	if err != nil {
		return nil, "", a.i.web.Failed(ctx, integrationID, "conversations.list", err)
	}
	out := make([]triage.SlackChannel, 0, len(chans))
	for k := range chans {
		out = append(out, conversation(&chans[k]))
	}
	return out, next, nil
}

// ChannelInfo is conversations.info for one channel, as the bot sees it: a
// private channel the bot is not in answers channel_not_found.
func (a Alerts) ChannelInfo(ctx context.Context, integrationID int64, channelID string) (triage.SlackChannel, error) {
	api, err := a.i.web.Client(ctx, integrationID)
	if err != nil {
		return triage.SlackChannel{}, err
	}
	ch, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channelID})
	if err != nil {
		return triage.SlackChannel{}, a.i.web.Failed(ctx, integrationID, "conversations.info", err)
	}
	return conversation(ch), nil
}

// BotName is the name of the workspace's bot user, the one people type in
// "/invite @name".
func (a Alerts) BotName(ctx context.Context, integrationID int64) (string, error) {
	in, err := a.i.d.Store.IntegrationByID(ctx, integrationID)
	if err != nil {
		return "", err
	}
	if in.BotUserID == "" {
		return "", nil
	}
	api, err := a.i.web.Client(ctx, integrationID)
	if err != nil {
		return "", err
	}
	u, err := api.GetUserInfoContext(ctx, in.BotUserID)
	if err != nil {
		return "", a.i.web.Failed(ctx, integrationID, "users.info", err)
	}
	return u.Name, nil
}
