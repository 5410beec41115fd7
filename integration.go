package triage

import "time"

// Integration statuses.
const (
	IntegrationActive         = "active"
	IntegrationNeedsReinstall = "needs_reinstall"
	IntegrationDisabled       = "disabled"
)

// Integration is one installed Slack workspace as stored. The token fields
// hold secretbox-sealed text, never the tokens themselves: the slack
// package seals before writing and opens after reading.
type Integration struct {
	ID          int64
	Provider    string
	ExternalID  string // Slack team id
	Name        string
	DomainName  string
	Icon        string
	BotUserID   string
	AppID       string
	Scopes      string
	InstallType string // "v2" or "workspace"

	AccessTokenEnc  string
	RefreshTokenEnc string
	// TokenExpiresAt is zero when the token does not rotate.
	TokenExpiresAt time.Time

	Status       string
	StatusReason string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Identity links a Slack user of one workspace to a Triage user.
type Identity struct {
	ID            int64
	IntegrationID int64
	ExternalID    string // Slack user id
	UserID        int64
	CreatedAt     time.Time
}

// Kinds of remembered Slack messages.
const (
	// SlackMessageCard is a message Triage posted; chat.update edits it.
	SlackMessageCard = "card"
	// SlackMessageUnfurl is a person's message whose link Triage unfurled;
	// chat.unfurl with the same URL replaces the unfurl.
	SlackMessageUnfurl = "unfurl"
)

// SlackMessage is one Slack message Triage posted or unfurled about an
// issue, remembered so that a change to the issue can rebuild it.
type SlackMessage struct {
	ID            int64
	IssueID       int64
	IntegrationID int64
	ChannelID     string
	TS            string
	ThreadTS      string
	Kind          string
	// URL is the link as shared, for unfurls.
	URL       string
	CreatedAt time.Time
}
