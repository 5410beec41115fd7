package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"triage"
)

// An issue's events are read newest first by (received_at, id): the order
// they arrived in, the id breaking ties.

const eventColumns = `id, project_id, issue_id, event_id, timestamp, received_at, release, environment, data`

func scanEvent(r rowScanner) (StoredEvent, error) {
	var e StoredEvent
	var ts, rcv int64
	if err := r.Scan(&e.ID, &e.ProjectID, &e.IssueID, &e.EventID, &ts, &rcv, &e.Release, &e.Environment, &e.Data); err != nil {
		return e, err
	}
	e.Timestamp, e.Received = fromMicros(ts), fromMicros(rcv)
	return e, nil
}

// IssueEventsAt lists limit of an issue's events, newest first, skipping
// the offset newest.
func (q *Queries) IssueEventsAt(ctx context.Context, issueID int64, offset, limit int) ([]StoredEvent, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE issue_id = $1
		ORDER BY received_at DESC, id DESC LIMIT $2 OFFSET $3`, issueID, limit, offset)
	return collect(rows, err, "list events", scanEvent)
}

// IssueEvent returns one event of an issue (of the project) by its event
// id; ENOTFOUND when the issue has no such event. The project finds the
// row through its unique (project_id, event_id) index.
func (q *Queries) IssueEvent(ctx context.Context, projectID, issueID int64, eventID string) (StoredEvent, error) {
	e, err := scanEvent(q.q.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events
		WHERE project_id = $1 AND event_id = $2 AND issue_id = $3`, projectID, eventID, issueID))
	if errors.Is(err, sql.ErrNoRows) {
		return e, triage.Errorf(triage.ENOTFOUND, "event not found")
	} else if err != nil {
		return e, fmt.Errorf("load event: %w", err)
	}
	return e, nil
}

// IssueEdgeEvent returns an issue's oldest or latest event; ENOTFOUND when
// it has none.
func (q *Queries) IssueEdgeEvent(ctx context.Context, issueID int64, oldest bool) (StoredEvent, error) {
	order := "DESC"
	if oldest {
		order = "ASC"
	}
	e, err := scanEvent(q.q.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE issue_id = $1
		ORDER BY received_at `+order+`, id `+order+` LIMIT 1`, issueID))
	if errors.Is(err, sql.ErrNoRows) {
		return e, triage.Errorf(triage.ENOTFOUND, "the issue has no stored events")
	} else if err != nil {
		return e, fmt.Errorf("load event: %w", err)
	}
	return e, nil
}

// EventNeighbors are the event ids around one event of an issue; "" where
// there is none (the event is the oldest, or the latest).
type EventNeighbors struct {
	Oldest, Older, Newer, Latest string
}

// IssueEventNeighbors finds the events around e in its issue.
func (q *Queries) IssueEventNeighbors(ctx context.Context, e StoredEvent) (EventNeighbors, error) {
	var n EventNeighbors
	rcv := micros(e.Received)
	for _, c := range []struct {
		dst   *string
		where string
		order string
	}{
		{&n.Older, `(received_at < $2 OR (received_at = $2 AND id < $3))`, "DESC"},
		{&n.Oldest, `(received_at < $2 OR (received_at = $2 AND id < $3))`, "ASC"},
		{&n.Newer, `(received_at > $2 OR (received_at = $2 AND id > $3))`, "ASC"},
		{&n.Latest, `(received_at > $2 OR (received_at = $2 AND id > $3))`, "DESC"},
	} {
		err := q.q.QueryRowContext(ctx, `SELECT event_id FROM events WHERE issue_id = $1 AND `+c.where+`
			ORDER BY received_at `+c.order+`, id `+c.order+` LIMIT 1`, e.IssueID, rcv, e.ID).Scan(c.dst)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return n, fmt.Errorf("find neighbouring events: %w", err)
		}
	}
	return n, nil
}
