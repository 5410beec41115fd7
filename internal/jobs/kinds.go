package jobs

import "time"

// IssueCreated is published when ingestion creates an issue. Alert rules
// consume it.
type IssueCreated struct {
	IssueID int64  `json:"issue_id"`
	EventID string `json:"event_id"`
	At
}

// At is the issue as the batch of events behind a job left it: rules judge
// the events, not the issue as it is when their job runs. Jobs queued
// before it existed have it zero.
type At struct {
	// TimesSeen counts the issue's events up to and including the batch's
	// (the batch's last event is the issue's TimesSeen-th).
	TimesSeen int64 `json:"times_seen,omitempty"`
	// Level is the issue's level after the batch.
	Level string `json:"level,omitempty"`
	// ReceivedAt is when the batch's newest event arrived.
	ReceivedAt time.Time `json:"received_at,omitzero"`
}

func (IssueCreated) Kind() string { return "issue.created" }

// IssueRegressed is published when a resolved issue receives an event again.
type IssueRegressed struct {
	IssueID int64  `json:"issue_id"`
	EventID string `json:"event_id"`
	Release string `json:"release,omitempty"`
}

func (IssueRegressed) Kind() string { return "issue.regressed" }

// EventReceived is published once per issue per ingestion batch with the
// number of events the batch added (frequency conditions count these).
type EventReceived struct {
	IssueID int64  `json:"issue_id"`
	EventID string `json:"event_id"` // the newest of the batch
	Count   int64  `json:"count"`
	At
}

func (EventReceived) Kind() string { return "event.received" }

// PruneEvents deletes events older than the retention period.
type PruneEvents struct{}

func (PruneEvents) Kind() string { return "events.prune" }

// ProjectDelete removes a project that is being deleted (already hidden):
// its events in short transactions, then its issues, then the row.
type ProjectDelete struct {
	ProjectID int64 `json:"project_id"`
}

func (ProjectDelete) Kind() string { return "project.delete" }
