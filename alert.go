package triage

import "time"

// Alert rule action statuses.
const (
	AlertActionOK     = "ok"
	AlertActionBroken = "broken"
)

// Notification statuses.
const (
	NotificationPending   = "pending"
	NotificationDelivered = "delivered"
	NotificationFailed    = "failed"
	NotificationCancelled = "cancelled"
)

// Alert rule action types: post to a Slack channel, or email people.
const (
	AlertActionSlack = "slack"
	AlertActionEmail = "email"
)

// Whom an email action writes to: every member of the project's teams, or
// named members (EmailUserIDs). Only those who may see the project receive
// it.
const (
	EmailTargetTeams   = "teams"
	EmailTargetMembers = "members"
)

// AlertRule is a rule as stored. Conditions is JSON that the alert package
// owns (it validates and evaluates it); the store only keeps it.
type AlertRule struct {
	ID          int64
	ProjectID   int64
	Name        string
	Conditions  string
	ActionType  string // AlertActionSlack ("" reads as it) or AlertActionEmail
	EmailTarget string
	// EmailUserIDs are the members an email action with target "members"
	// writes to.
	EmailUserIDs    []int64
	IntegrationID   int64 // 0 for an email action
	ChannelID       string
	ChannelName     string
	ThrottleMinutes int64
	Thread          bool
	ActionStatus    string
	ActionReason    string
	ActionChangedAt time.Time
	CreatedBy       int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// AlertNotification is one notification of one rule about one issue.
type AlertNotification struct {
	ID            int64
	RuleID        int64 // 0 once the rule is deleted
	IssueID       int64
	Cause         string
	IntegrationID int64
	ChannelID     string
	Status        string
	Reason        string
	MessageTS     string
	ThreadTS      string
	ReservedAt    time.Time
	CreatedAt     time.Time
	FinishedAt    time.Time
}

// AlertEmail is one alert email to one person: the ledger of email
// actions, as AlertNotification is of Slack's.
type AlertEmail struct {
	ID        int64
	RuleID    int64 // 0 once the rule is deleted
	IssueID   int64
	UserID    int64
	Cause     string
	Status    string // a Notification* status
	Reason    string
	CreatedAt time.Time
}
