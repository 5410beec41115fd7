package jobs

// IssueCreated is published when ingestion creates an issue. Alert rules
// consume it.
type IssueCreated struct {
	IssueID int64  `json:"issue_id"`
	EventID string `json:"event_id"`
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
}

func (EventReceived) Kind() string { return "event.received" }

// PruneEvents deletes events older than the retention period.
type PruneEvents struct{}

func (PruneEvents) Kind() string { return "events.prune" }
