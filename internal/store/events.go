package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// StoredEvent is one event row: the compressed normalized JSON and the
// columns lists filter on.
type StoredEvent struct {
	ID          int64
	ProjectID   int64
	IssueID     int64
	EventID     string
	Timestamp   time.Time
	Received    time.Time
	Release     string
	Environment string
	Data        []byte // compressed; the ingest package knows the format
}

// InsertEvents stores events, skipping any whose (project, event id) is
// stored already, and returns the event ids it inserted.
func (q *Queries) InsertEvents(ctx context.Context, events []StoredEvent) (map[string]bool, error) {
	inserted := make(map[string]bool, len(events))
	const cols = 8
	for start := 0; start < len(events); start += 100 {
		chunk := events[start:min(start+100, len(events))]
		var sb strings.Builder
		sb.WriteString(`INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, release, environment, data) VALUES `)
		args := make([]any, 0, len(chunk)*cols)
		for i, e := range chunk {
			if i > 0 {
				sb.WriteString(", ")
			}
			n := i * cols
			fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8)
			args = append(args, e.ProjectID, e.IssueID, e.EventID, micros(e.Timestamp), micros(e.Received), e.Release, e.Environment, e.Data)
		}
		sb.WriteString(` ON CONFLICT (project_id, event_id) DO NOTHING RETURNING event_id`)
		rows, err := q.q.QueryContext(ctx, sb.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("insert events: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			inserted[id] = true
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return inserted, nil
}

// IssueEvents lists an issue's newest events.
func (q *Queries) IssueEvents(ctx context.Context, issueID int64, limit int) ([]StoredEvent, error) {
	rows, err := q.q.QueryContext(ctx,
		`SELECT id, project_id, issue_id, event_id, timestamp, received_at, release, environment, data
		 FROM events WHERE issue_id = $1 ORDER BY id DESC LIMIT $2`, issueID, limit)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []StoredEvent
	for rows.Next() {
		var e StoredEvent
		var ts, rcv int64
		if err := rows.Scan(&e.ID, &e.ProjectID, &e.IssueID, &e.EventID, &ts, &rcv, &e.Release, &e.Environment, &e.Data); err != nil {
			return nil, err
		}
		e.Timestamp, e.Received = fromMicros(ts), fromMicros(rcv)
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteEventsBefore removes up to limit events received before t and
// returns how many it removed; call it until it returns fewer than limit.
func (q *Queries) DeleteEventsBefore(ctx context.Context, t time.Time, limit int) (int64, error) {
	res, err := q.q.ExecContext(ctx,
		`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_at < $1 ORDER BY id LIMIT $2)`,
		micros(t), limit)
	if err != nil {
		return 0, fmt.Errorf("delete old events: %w", err)
	}
	return res.RowsAffected()
}

// IssuesByHashes returns the project's issues with the given grouping
// hashes, keyed by hash, for one batch of events.
func (q *Queries) IssuesByHashes(ctx context.Context, projectID int64, hashes []string) (map[string]int64, error) {
	out := make(map[string]int64, len(hashes))
	for start := 0; start < len(hashes); start += 500 {
		chunk := hashes[start:min(start+500, len(hashes))]
		args := []any{projectID}
		ph := make([]string, len(chunk))
		for i, h := range chunk {
			args = append(args, h)
			ph[i] = fmt.Sprintf("$%d", i+2)
		}
		rows, err := q.q.QueryContext(ctx,
			`SELECT group_hash, id FROM issues WHERE project_id = $1 AND group_hash IN (`+strings.Join(ph, ", ")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("find issues: %w", err)
		}
		for rows.Next() {
			var h string
			var id int64
			if err := rows.Scan(&h, &id); err != nil {
				rows.Close()
				return nil, err
			}
			out[h] = id
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ProjectKey returns a project's public key; ENOTFOUND if no such project.
func (q *Queries) ProjectKey(ctx context.Context, projectID int64) (string, error) {
	var key string
	err := q.q.QueryRowContext(ctx, `SELECT public_key FROM projects WHERE id = $1`, projectID).Scan(&key)
	return key, translate(err, "project")
}
