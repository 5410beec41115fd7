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

// AlertRule is a rule as stored. Conditions is JSON that the alert package
// owns (it validates and evaluates it); the store only keeps it.
type AlertRule struct {
	ID              int64
	ProjectID       int64
	Name            string
	Conditions      string
	IntegrationID   int64
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
