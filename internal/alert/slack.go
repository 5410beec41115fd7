package alert

import (
	"context"
	"time"
	"triage"
)

// Slack is what alerts need from the Slack integration, in Triage's own
// types (cmd/triage passes internal/slack's Integration.Alerts()). Errors
// are read through PermanentReason, RetryAfter and DeadWorkspace, which
// consult the one table of Slack error codes (internal/slack/webapi), so
// this package never sees slack-go's types nor keeps a table of its own.
type Slack interface {
	// PrepareCard renders the issue's card for a workspace, ready to post.
	PrepareCard(ctx context.Context, integrationID, issueID int64) (Message, error)
	// PrepareReply prepares a text (Slack mrkdwn) for a thread.
	PrepareReply(ctx context.Context, integrationID int64, text string) (Message, error)
	// UpdateCards rebuilds every message Triage posted about the issue so
	// that it shows the issue's current state.
	UpdateCards(ctx context.Context, issueID int64) error
	// ChannelInfo is conversations.info as the bot sees the channel.
	ChannelInfo(ctx context.Context, integrationID int64, channelID string) (Channel, error)
	// ChannelsPage is one page of conversations.list (public and private
	// channels the bot can see) and the cursor of the next ("" at the end).
	ChannelsPage(ctx context.Context, integrationID int64, cursor string) ([]Channel, string, error)
	// BotName is the bot user's name, for "/invite @name".
	BotName(ctx context.Context, integrationID int64) (string, error)
	// PermanentReason returns Slack's error code (or another short reason)
	// when err will not heal by retrying: channel_not_found, is_archived,
	// not_in_channel, invalid_auth, account_inactive, token_revoked,
	// message_limit_exceeded, …
	PermanentReason(err error) (string, bool)
	// RetryAfter returns how long Slack asked to wait (HTTP 429).
	RetryAfter(err error) (time.Duration, bool)
	// DeadWorkspace tells whether err means the workspace's token no
	// longer works: every rule on it is broken until a reinstall.
	DeadWorkspace(err error) bool
}

// Message is a message rendered ahead of its send slot.
type Message = triage.SlackPost

// Channel is a Slack conversation as alerts need it.
type Channel = triage.SlackChannel

// reasonHint explains a permanent failure to an admin, in settings and in
// the API. bot is the bot's name for /invite.
func reasonHint(reason, bot string) string {
	if bot == "" {
		bot = "triage"
	}
	switch reason {
	case "":
		return ""
	case "channel_not_found":
		return "Slack does not show this channel to Triage's bot: it was deleted, or it is a private channel the bot is not in. For a private channel, type /invite @" + bot + " in it."
	case "not_in_channel":
		return "The bot is not in this channel and may not post to it: type /invite @" + bot + " in the channel."
	case "is_archived":
		return "The channel is archived: unarchive it or pick another channel."
	case "invalid_auth", "token_revoked", "token_expired", "not_authed":
		return "Slack no longer accepts Triage's token for this workspace: reinstall Triage in Slack from the organization's settings."
	case "account_inactive":
		return "Triage was removed from this Slack workspace: reinstall it from the organization's settings."
	case "integration_inactive":
		return "The Slack workspace is disabled or needs a reinstall: reinstall Triage from the organization's settings."
	case "message_limit_exceeded":
		return "The workspace reached the message limit of Slack's free plan: alerts resume when Slack allows messages again."
	case "integration_detached":
		return "The Slack workspace was removed from this organization: pick another workspace for the rule, or connect it again."
	case "slack_not_configured":
		return "Slack is not configured on this server: set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET."
	case "missing_scope":
		return "Triage's Slack app lacks a permission it needs: reinstall it from the organization's settings."
	case "retries_exhausted":
		return "Slack kept failing for this notification; Triage gave up after several hours of retries."
	case "rule_deleted":
		return "The rule was deleted before the notification went out."
	}
	return "Slack refused the message (" + reason + ")."
}
