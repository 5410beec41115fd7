package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"triage"
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
		 FROM events WHERE issue_id = $1 ORDER BY received_at DESC, id DESC LIMIT $2`, issueID, limit)
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

// EnabledKeys returns the DSN keys that may send events to the project
// (none when every key is disabled); ENOTFOUND if there is no such
// project or it is being deleted.
func (q *Queries) EnabledKeys(ctx context.Context, projectID int64) ([]string, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT p.id, k.public_key FROM projects p
		LEFT JOIN project_keys k ON k.project_id = p.id AND k.disabled_at IS NULL
		WHERE p.id = $1 AND p.deleted_at IS NULL`, projectID)
	if err != nil {
		return nil, fmt.Errorf("load project keys: %w", err)
	}
	defer rows.Close()
	found := false
	keys := []string{}
	for rows.Next() {
		var id int64
		var key sql.NullString
		if err := rows.Scan(&id, &key); err != nil {
			return nil, fmt.Errorf("load project keys: %w", err)
		}
		found = true
		if key.Valid {
			keys = append(keys, key.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load project keys: %w", err)
	}
	if !found {
		return nil, triage.Errorf(triage.ENOTFOUND, "project not found")
	}
	return keys, nil
}

// StoreEvents stores a batch of events the way each engine does best and
// returns the event ids it inserted (ids stored already are skipped): one
// multi-row statement on PostgreSQL, where round trips cost most; one
// prepared statement per row on SQLite, where compiling SQL costs most.
func (q *Queries) StoreEvents(ctx context.Context, events []StoredEvent) (map[string]bool, error) {
	if q.engine == Postgres {
		return q.InsertEvents(ctx, events)
	}
	inserted := make(map[string]bool, len(events))
	for _, e := range events {
		isNew, err := q.InsertEvent(ctx, e)
		if err != nil {
			return nil, err
		}
		if isNew {
			inserted[e.EventID] = true
		}
	}
	return inserted, nil
}

// InsertEvent stores one event through a prepared statement and reports
// whether it was new (false: its event id was stored already).
func (q *Queries) InsertEvent(ctx context.Context, e StoredEvent) (bool, error) {
	st, err := q.prepared(ctx, `INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, release, environment, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (project_id, event_id) DO NOTHING`)
	if err != nil {
		return false, err
	}
	res, err := st.ExecContext(ctx, e.ProjectID, e.IssueID, e.EventID, micros(e.Timestamp), micros(e.Received), e.Release, e.Environment, e.Data)
	if err != nil {
		return false, fmt.Errorf("insert event: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// IssueState is what ingestion needs to decide a transition.
type IssueState struct {
	ProjectID     int64
	Status        triage.Status
	StatusDetails triage.StatusDetails
	TimesSeen     int64
	IgnoreBase    int64
}

// IssueCount is n more events of an issue, the newest seen at LastSeen;
// Level, Title and Culprit, when set, become the issue's (they come from
// the newest event, as Sentry's do). Users is how many users the events
// brought that the issue had not seen before (CountIssueTags says).
type IssueCount struct {
	IssueID  int64
	N        int64
	LastSeen time.Time
	Level    string
	Title    string
	Culprit  string
	Users    int64
}

// CountIssuesEvents adds events (and users) to issues' counters and
// returns each issue's state by id, with TimesSeen as it was before, in
// one statement that also locks the rows until the transaction ends (a
// batch of events touches many issues; one round trip each was most of a
// batch's time on PostgreSQL). On SQLite, a few prepared statements of
// fixed sizes (values.go).
func (q *Queries) CountIssuesEvents(ctx context.Context, counts []IssueCount) (map[int64]*IssueState, error) {
	out := make(map[int64]*IssueState, len(counts))
	// One row per issue: an UPDATE … FROM joining an issue twice would
	// apply only one of its rows.
	n := make(map[int64]int64, len(counts))
	merged := make([]IssueCount, 0, len(counts))
	at := make(map[int64]int, len(counts))
	for _, c := range counts {
		n[c.IssueID] += c.N
		k, ok := at[c.IssueID]
		if !ok {
			at[c.IssueID] = len(merged)
			merged = append(merged, c)
			continue
		}
		m := &merged[k]
		m.N += c.N
		m.Users += c.Users
		if !c.LastSeen.Before(m.LastSeen) && c.Title != "" {
			m.Title, m.Culprit = c.Title, c.Culprit
		}
		if c.LastSeen.After(m.LastSeen) {
			m.LastSeen = c.LastSeen
		}
		if c.Level != "" {
			m.Level = c.Level
		}
	}
	counts = merged
	// SQLite's RETURNING sees only the updated table, so the old count is
	// worked out here.
	const set = `UPDATE issues SET times_seen = times_seen + v.n, user_count = user_count + v.users,
		last_seen = CASE WHEN last_seen < v.ts THEN v.ts ELSE last_seen END,
		level = CASE WHEN v.level = '' THEN issues.level ELSE v.level END,
		title = CASE WHEN v.title = '' OR issues.last_seen > v.ts THEN issues.title ELSE v.title END,
		culprit = CASE WHEN v.title = '' OR issues.last_seen > v.ts THEN issues.culprit ELSE v.culprit END
		FROM `
	const where = ` WHERE issues.id = v.id
		RETURNING issues.id, issues.project_id, issues.status, issues.status_details, issues.times_seen, issues.ignore_base`
	read := func(st stmt, args []any) error {
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("count events of %d issues: %w", len(counts), err)
		}
		defer rows.Close()
		for rows.Next() {
			var s IssueState
			var id int64
			var status, details string
			if err := rows.Scan(&id, &s.ProjectID, &status, &details, &s.TimesSeen, &s.IgnoreBase); err != nil {
				return fmt.Errorf("count events: %w", err)
			}
			s.Status = triage.Status(status)
			s.TimesSeen -= n[id]
			if err := json.Unmarshal([]byte(details), &s.StatusDetails); err != nil {
				return fmt.Errorf("decode status details of issue %d: %w", id, err)
			}
			out[id] = &s
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("count events: %w", err)
		}
		return rows.Close()
	}
	if q.engine == Postgres {
		ids, ns, ts, users := make([]int64, len(counts)), make([]int64, len(counts)), make([]int64, len(counts)), make([]int64, len(counts))
		levels, titles, culprits := make([]string, len(counts)), make([]string, len(counts)), make([]string, len(counts))
		for k, c := range counts {
			ids[k], ns[k], ts[k], users[k], levels[k], titles[k], culprits[k] = c.IssueID, c.N, micros(c.LastSeen), c.Users, c.Level, c.Title, c.Culprit
		}
		err := read(unprepared{q.q, set + `unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[])
			AS v(id, n, ts, level, title, culprit, users)` + where}, []any{ids, ns, ts, levels, titles, culprits, users})
		return out, err
	}
	// VALUES names its columns column1…
	err := q.eachValuesChunk(ctx, set+`(SELECT column1 AS id, column2 AS n, column3 AS ts, column4 AS level, column5 AS title, column6 AS culprit,
		column7 AS users FROM (VALUES `, 7, `) AS x) AS v`+where, len(counts),
		func(i int, dst []any) []any {
			c := &counts[i]
			return append(dst, c.IssueID, c.N, micros(c.LastSeen), c.Level, c.Title, c.Culprit, c.Users)
		}, read)
	return out, err
}
