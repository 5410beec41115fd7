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

// Kinds of alert rules, and where a rule's messages go.
const (
	// AlertRuleKindRule is a rule made in settings or the API.
	AlertRuleKindRule = "rule"
	// AlertRuleKindSubscription is a channel subscription made with
	// /triage subscribe: a project's new and regressed issues matching
	// Query go to the channel, through the same delivery as rules.
	AlertRuleKindSubscription = "subscription"
)

// A rule's action: post to Slack, or email people. One model for both:
// ActionType says which, Target says to whom, read with ActionType.
const (
	AlertActionSlack = "slack"
	AlertActionEmail = "email"

	// AlertTargetChannel (slack) posts to the rule's channel.
	AlertTargetChannel = "channel"
	// AlertTargetTeam (slack) posts to the channel linked (/triage link
	// team) to each team that owns the rule's project, in the rule's
	// workspace.
	AlertTargetTeam = "team"
	// AlertTargetTeams (email) writes to every member of the project's
	// teams.
	AlertTargetTeams = "teams"
	// AlertTargetMembers (email) writes to the named members
	// (EmailUserIDs). Only those who may see the project receive it.
	AlertTargetMembers = "members"
)

// AlertRule is a rule as stored. Conditions is JSON that the alert package
// owns (it validates and evaluates it); the store only keeps it.
type AlertRule struct {
	ID         int64
	ProjectID  int64
	Name       string
	Conditions string
	ActionType string // AlertActionSlack ("" reads as it) or AlertActionEmail
	// EmailUserIDs are the members an email action with target
	// AlertTargetMembers writes to.
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
	// Kind is AlertRuleKindRule or AlertRuleKindSubscription; Query is a
	// subscription's search query; Target is, for a Slack action,
	// AlertTargetChannel (ChannelID) or AlertTargetTeam (ChannelID empty)
	// and, for an email action, AlertTargetTeams or AlertTargetMembers.
	Kind   string
	Query  string
	Target string
}

// TeamChannel is the Slack channel a team's notifications go to.
type TeamChannel struct {
	TeamID        int64
	TeamSlug      string
	IntegrationID int64
	ChannelID     string
	ChannelName   string
	LinkedBy      int64
	CreatedAt     time.Time
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
