package slack

import (
	"context"

	"github.com/slack-go/slack"
)

// PreparedMessage is a message rendered, with its workspace's client in
// hand, ready to go out the moment its send slot comes: alerts prepare
// before they wait for a slot, so that the database reads that rendering
// takes never delay (and bunch up) the posts a channel's rate limit paces.
type PreparedMessage struct {
	i             *Integration
	api           *slack.Client
	integrationID int64
	opts          []slack.MsgOption
}

// PrepareCard renders the issue's card for a workspace.
func (i *Integration) PrepareCard(ctx context.Context, integrationID, issueID int64) (*PreparedMessage, error) {
	c, err := i.loadCard(ctx, i.d.Store.Queries, integrationID, issueID)
	if err != nil {
		return nil, err
	}
	api, err := i.client(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	return &PreparedMessage{i: i, api: api, integrationID: integrationID,
		opts: []slack.MsgOption{slack.MsgOptionText(c.fallback(), false), slack.MsgOptionBlocks(c.blocks()...)}}, nil
}

// PrepareReply prepares a text message (Slack mrkdwn) for a thread.
func (i *Integration) PrepareReply(ctx context.Context, integrationID int64, text string) (*PreparedMessage, error) {
	api, err := i.client(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	return &PreparedMessage{i: i, api: api, integrationID: integrationID, opts: []slack.MsgOption{slack.MsgOptionText(text, false)}}, nil
}

// Post sends the message to the channel (in the thread of threadTS when
// set) with chat.postMessage and returns its ts. It is safe for concurrent
// use (one card may go to several channels). The caller remembers a card
// (store.RememberSlackMessage) in the transaction that records its
// delivery, so that later changes to the issue rebuild it.
func (m *PreparedMessage) Post(ctx context.Context, channelID, threadTS string) (string, error) {
	opts := m.opts
	if threadTS != "" {
		opts = append(opts[:len(opts):len(opts)], slack.MsgOptionTS(threadTS))
	}
	_, ts, err := m.api.PostMessageContext(ctx, channelID, opts...)
	if err != nil {
		return "", m.i.slackFailed(ctx, m.integrationID, "chat.postMessage", err)
	}
	return ts, nil
}
