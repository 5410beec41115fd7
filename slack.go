package triage

import "context"

// SlackChannel is a Slack conversation as alert rules need it: its id,
// name, and whether the bot can post there.
type SlackChannel struct {
	ID         string
	Name       string
	IsPrivate  bool
	IsArchived bool
	IsMember   bool
}

// SlackPost is a Slack message rendered ahead of its send slot, so that
// the post leaves the moment the slot comes.
type SlackPost interface {
	// Post sends it to the channel (in the thread of threadTS when set)
	// and returns its ts. It must be safe for concurrent use.
	Post(ctx context.Context, channelID, threadTS string) (string, error)
}
