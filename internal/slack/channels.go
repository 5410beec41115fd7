package slack

import (
	"context"

	"github.com/slack-go/slack"
)

// Conversation is a channel as alert rules need it: its id, name, and
// whether the bot can post there.
type Conversation struct {
	ID         string
	Name       string
	IsPrivate  bool
	IsArchived bool
	IsMember   bool
}

func conversation(c *slack.Channel) Conversation {
	return Conversation{ID: c.ID, Name: c.Name, IsPrivate: c.IsPrivate, IsArchived: c.IsArchived, IsMember: c.IsMember}
}

// channelsPageSize is conversations.list's page: Slack recommends at most
// 200; fewer pages keep a listing within Tier 2's 20 calls a minute.
const channelsPageSize = 200

// ChannelsPage is one page of conversations.list: the public channels and
// the private channels the bot is in, archived ones left out, and the
// cursor of the next page ("" after the last). Errors are classified by
// PermanentReason and RetryAfter; the caller paces the calls.
func (i *Integration) ChannelsPage(ctx context.Context, integrationID int64, cursor string) ([]Conversation, string, error) {
	api, err := i.client(ctx, integrationID)
	if err != nil {
		return nil, "", err
	}
	chans, next, err := api.GetConversationsContext(ctx, &slack.GetConversationsParameters{
		Cursor: cursor, Limit: channelsPageSize, ExcludeArchived: true,
		Types: []string{"public_channel", "private_channel"},
	})
	if err != nil {
		return nil, "", i.slackFailed(ctx, integrationID, "conversations.list", err)
	}
	out := make([]Conversation, 0, len(chans))
	for k := range chans {
		out = append(out, conversation(&chans[k]))
	}
	return out, next, nil
}

// ChannelInfo is conversations.info for one channel, as the bot sees it: a
// private channel the bot is not in answers channel_not_found.
func (i *Integration) ChannelInfo(ctx context.Context, integrationID int64, channelID string) (Conversation, error) {
	api, err := i.client(ctx, integrationID)
	if err != nil {
		return Conversation{}, err
	}
	ch, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channelID})
	if err != nil {
		return Conversation{}, i.slackFailed(ctx, integrationID, "conversations.info", err)
	}
	return conversation(ch), nil
}

// BotName is the name of the workspace's bot user, the one people type in
// "/invite @name".
func (i *Integration) BotName(ctx context.Context, integrationID int64) (string, error) {
	in, err := i.d.Store.IntegrationByID(ctx, integrationID)
	if err != nil {
		return "", err
	}
	if in.BotUserID == "" {
		return "", nil
	}
	api, err := i.client(ctx, integrationID)
	if err != nil {
		return "", err
	}
	u, err := api.GetUserInfoContext(ctx, in.BotUserID)
	if err != nil {
		return "", i.slackFailed(ctx, integrationID, "users.info", err)
	}
	return u.Name, nil
}
