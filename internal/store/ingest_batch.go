package store

import (
	"context"
	"fmt"
	"strings"

	"triage"
)

// The batch forms of the queries ingestion runs for each new group: a
// batch of events may bring dozens of new issues, and a round trip each
// was most of its time on PostgreSQL.

// IssueIDsByHash returns the ids of the project's issues with those
// grouping hashes; hashes without an issue are absent from the map.
func (q *Queries) IssueIDsByHash(ctx context.Context, projectID int64, hashes []string) (map[string]int64, error) {
	out := make(map[string]int64, len(hashes))
	read := func(st stmt, args []any) error {
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("find issues by hash: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var h string
			var id int64
			if err := rows.Scan(&h, &id); err != nil {
				return fmt.Errorf("find issues by hash: %w", err)
			}
			out[h] = id
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find issues by hash: %w", err)
		}
		return rows.Close()
	}
	if q.engine != Postgres {
		// Prepared statements of a few sizes (values.go): a list of a new
		// length for every batch was compiled for every batch.
		err := q.eachValuesChunk(ctx, `SELECT group_hash, id FROM issues WHERE group_hash IN (VALUES `, 1, `) AND project_id = ?`, len(hashes),
			func(i int, dst []any) []any { return append(dst, hashes[i]) },
			func(st stmt, args []any) error { return read(st, append(args, projectID)) })
		return out, err
	}
	const chunk = 500
	for len(hashes) > 0 {
		part := hashes[:min(chunk, len(hashes))]
		hashes = hashes[len(part):]
		args, in := inList([]any{projectID}, part)
		if err := read(unprepared{q.q, `SELECT group_hash, id FROM issues WHERE project_id = $1 AND group_hash IN (` + in + `)`}, args); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FirstSeen is a new issue and the event that opened it.
type FirstSeen struct {
	NewIssue
	EventID string
}

// CreateIssues inserts a project's new issues with consecutive short
// numbers, each with its first_seen activity, in three statements, and
// returns their ids by grouping hash. Call it in a transaction; the hashes
// must be new and distinct (ECONFLICT otherwise).
func (q *Queries) CreateIssues(ctx context.Context, projectID int64, issues []FirstSeen) (map[string]int64, error) {
	ids := make(map[string]int64, len(issues))
	if len(issues) == 0 {
		return ids, nil
	}
	// On PostgreSQL the short numbers are taken in a statement of their
	// own, committed at once, on connections kept for it: inside the
	// batch's transaction the project's row stayed locked until its
	// commit, and every other writer creating an issue in the project
	// waited for it. A batch that then rolls back leaves a gap in the
	// short ids, as Sentry's counter does. SQLite has one writer: the
	// counter stays in the transaction.
	var counter queryer = q.q
	if q.engine == Postgres && q.counters != nil {
		counter = q.counters
	}
	var base int64
	err := counter.QueryRowContext(ctx,
		`UPDATE projects SET next_short_num = next_short_num + $2 WHERE id = $1 RETURNING next_short_num - $2`,
		projectID, int64(len(issues))).Scan(&base)
	if err != nil {
		return nil, translate(err, "project")
	}
	read := func(st stmt, args []any) error {
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return translate(err, "issue")
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var h string
			if err := rows.Scan(&id, &h); err != nil {
				return translate(err, "issue")
			}
			ids[h] = id
		}
		if err := rows.Err(); err != nil {
			return translate(err, "issue")
		}
		return translate(rows.Close(), "issue")
	}
	const insert = `INSERT INTO issues (project_id, short_num, group_hash, title, culprit, level, first_seen, last_seen, first_release, grouping_version) VALUES `
	if q.engine != Postgres {
		// Prepared statements of a few sizes (values.go), as above.
		err := q.eachValuesChunk(ctx, insert, 10, ` RETURNING id, group_hash`, len(issues),
			func(i int, dst []any) []any {
				n := &issues[i]
				at := micros(n.SeenAt)
				return append(dst, projectID, base+int64(i), n.GroupHash, n.Title, n.Culprit, n.Level, at, at, n.Release, max(n.GroupingVersion, 1))
			}, read)
		if err != nil {
			return nil, err
		}
		return ids, q.addFirstSeen(ctx, issues, ids)
	}
	const chunk = 500 // 9 parameters a row
	for off := 0; off < len(issues); off += chunk {
		part := issues[off:min(off+chunk, len(issues))]
		var sb strings.Builder
		args := make([]any, 0, 9*len(part))
		for k, n := range part {
			if k > 0 {
				sb.WriteString(", ")
			}
			b := 9 * k
			fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", b+1, b+2, b+3, b+4, b+5, b+6, b+7, b+7, b+8, b+9)
			at := micros(n.SeenAt)
			args = append(args, projectID, base+int64(off+k), n.GroupHash, n.Title, n.Culprit, n.Level, at, n.Release, max(n.GroupingVersion, 1))
		}
		if err := read(unprepared{q.q, insert + sb.String() + ` RETURNING id, group_hash`}, args); err != nil {
			return nil, err
		}
	}
	return ids, q.addFirstSeen(ctx, issues, ids)
}

// addFirstSeen writes the first_seen activities of new issues.
func (q *Queries) addFirstSeen(ctx context.Context, issues []FirstSeen, ids map[string]int64) error {
	acts := make([]*triage.Activity, len(issues))
	now := q.now()
	for k, n := range issues {
		acts[k] = &triage.Activity{IssueID: ids[n.GroupHash], Type: triage.ActivityFirstSeen, Source: triage.SourceSystem,
			Data: map[string]any{"eventId": n.EventID}, CreatedAt: now}
	}
	return q.AddActivities(ctx, acts)
}

// AddActivities appends several entries to issues' logs in one statement
// per 1,000 (their ids are not read back).
func (q *Queries) AddActivities(ctx context.Context, acts []*triage.Activity) error {
	if q.engine != Postgres {
		// Prepared statements of a few sizes (values.go), as above.
		type row struct {
			data   string
			userID *int64
		}
		rows := make([]row, len(acts))
		for k, a := range acts {
			var err error
			if rows[k].data, rows[k].userID, err = activityRow(q, a); err != nil {
				return err
			}
		}
		return q.eachValuesChunk(ctx, `INSERT INTO activities (issue_id, type, user_id, source, data, created_at) VALUES `, 6, ``, len(acts),
			func(i int, dst []any) []any {
				a := acts[i]
				return append(dst, a.IssueID, a.Type, rows[i].userID, string(a.Source), rows[i].data, micros(a.CreatedAt))
			},
			func(st stmt, args []any) error {
				if _, err := st.ExecContext(ctx, args...); err != nil {
					return fmt.Errorf("add activities: %w", err)
				}
				return nil
			})
	}
	const chunk = 1000 // 6 parameters a row
	for off := 0; off < len(acts); off += chunk {
		part := acts[off:min(off+chunk, len(acts))]
		var sb strings.Builder
		args := make([]any, 0, 6*len(part))
		for k, a := range part {
			data, userID, err := activityRow(q, a)
			if err != nil {
				return err
			}
			if k > 0 {
				sb.WriteString(", ")
			}
			b := 6 * k
			fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $%d)", b+1, b+2, b+3, b+4, b+5, b+6)
			args = append(args, a.IssueID, a.Type, userID, string(a.Source), data, micros(a.CreatedAt))
		}
		if _, err := q.q.ExecContext(ctx, `INSERT INTO activities (issue_id, type, user_id, source, data, created_at) VALUES `+sb.String(), args...); err != nil {
			return fmt.Errorf("add activities: %w", err)
		}
	}
	return nil
}
