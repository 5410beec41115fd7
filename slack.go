package triage

import (
	"context"
	"time"
)

// SlackChannel is a Slack conversation as alert rules need it: its id,
// name, and whether the bot can post there. The channel cache (the store)
// also fills in which workspace it belongs to and when it was last listed.
type SlackChannel struct {
	ID         string
	Name       string
	IsPrivate  bool
	IsArchived bool
	IsMember   bool

	IntegrationID int64
	SeenAt        time.Time
}

// SlackPost is a Slack message rendered ahead of its send slot, so that
// the post leaves the moment the slot comes.
type SlackPost interface {
	// Post sends it to the channel (in the thread of threadTS when set)
	// and returns its ts. It must be safe for concurrent use.
	Post(ctx context.Context, channelID, threadTS string) (string, error)
}
