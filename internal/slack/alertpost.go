package slack

import (
	"context"
	"time"
	"triage"
	"triage/internal/slack/webapi"

	"github.com/slack-go/slack"
)

// Alerts is the integration as internal/alert needs it (its Slack
// interface), in Triage's own types: alert rules render, post and rebuild
// cards, look up channels, and read failures through the one table of
// Slack error codes (webapi.Decide), without importing this package or
// slack-go. cmd/triage hands Integration.Alerts() to alert.New.
type Alerts struct{ i *Integration }

// Alerts is the side of the integration that alert rules use.
func (i *Integration) Alerts() Alerts { return Alerts{i} }

// UpdateCards rebuilds every message Triage posted about the issue.
func (a Alerts) UpdateCards(ctx context.Context, issueID int64) error {
	return a.i.UpdateCards(ctx, issueID)
}

// PermanentReason is webapi.PermanentReason.
func (Alerts) PermanentReason(err error) (string, bool) { return webapi.PermanentReason(err) }

// RetryAfter is webapi.RetryAfter.
func (Alerts) RetryAfter(err error) (time.Duration, bool) { return webapi.RetryAfter(err) }

// DeadWorkspace is webapi.DeadWorkspace.
func (Alerts) DeadWorkspace(err error) bool { return webapi.DeadWorkspace(err) }

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
func (a Alerts) PrepareCard(ctx context.Context, integrationID, issueID int64) (triage.SlackPost, error) {
	i := a.i
	c, err := i.loadCard(ctx, i.d.Store.Queries, integrationID, issueID)
	if err != nil {
		return nil, err
	}
	api, err := i.web.Client(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	return &PreparedMessage{i: i, api: api, integrationID: integrationID,
		opts: []slack.MsgOption{slack.MsgOptionText(c.Fallback(), false), slack.MsgOptionBlocks(c.Blocks()...)}}, nil
}

// PrepareReply prepares a text message (Slack mrkdwn) for a thread.
func (a Alerts) PrepareReply(ctx context.Context, integrationID int64, text string) (triage.SlackPost, error) {
	i := a.i
	api, err := i.web.Client(ctx, integrationID)
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
		return "", m.i.web.Failed(ctx, m.integrationID, "chat.postMessage", err)
	}
	return ts, nil
}
