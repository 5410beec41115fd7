package store

import (
	"context"
	"fmt"
	"strings"
)

// The counts search, tags and trends read, written by the event writer in
// its batch's transaction. SQLite runs fixed-size multi-row statements
// kept prepared (compiling is most of a small statement's cost there);
// PostgreSQL gets one statement of arrays per batch.

// TagCount is how often a tag value was seen on an issue's new events,
// first and last (unix microseconds).
type TagCount struct {
	IssueID     int64
	Key, Value  string
	N           int64
	First, Last int64
}

// HourCount is how many events an issue received in an hour (its start
// in unix seconds).
type HourCount struct {
	IssueID, Hour, N int64
}

// chunkSizes are the row counts of SQLite's prepared multi-row statements:
// a batch is cut into as few of them as it takes.
var chunkSizes = []int{128, 16, 1}

// CountIssueTags adds tag counts; rows must be distinct by issue, key and
// value.
func (q *Queries) CountIssueTags(ctx context.Context, rows []TagCount) error {
	if len(rows) == 0 {
		return nil
	}
	const conflict = ` ON CONFLICT (issue_id, key, value) DO UPDATE SET times_seen = issue_tags.times_seen + excluded.times_seen,
		first_seen = CASE WHEN excluded.first_seen < issue_tags.first_seen THEN excluded.first_seen ELSE issue_tags.first_seen END,
		last_seen = CASE WHEN excluded.last_seen > issue_tags.last_seen THEN excluded.last_seen ELSE issue_tags.last_seen END`
	if q.engine == Postgres {
		ids, ns, firsts, lasts := make([]int64, len(rows)), make([]int64, len(rows)), make([]int64, len(rows)), make([]int64, len(rows))
		keys, values := make([]string, len(rows)), make([]string, len(rows))
		for k, r := range rows {
			ids[k], keys[k], values[k], ns[k], firsts[k], lasts[k] = r.IssueID, r.Key, r.Value, r.N, r.First, r.Last
		}
		_, err := q.q.ExecContext(ctx, `INSERT INTO issue_tags (issue_id, key, value, times_seen, first_seen, last_seen)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])`+conflict,
			ids, keys, values, ns, firsts, lasts)
		if err != nil {
			return fmt.Errorf("count tags: %w", err)
		}
		return nil
	}
	return q.chunked(ctx, len(rows), 6, `INSERT INTO issue_tags (issue_id, key, value, times_seen, first_seen, last_seen) VALUES `, conflict,
		func(args []any, k int) []any {
			r := rows[k]
			return append(args, r.IssueID, r.Key, r.Value, r.N, r.First, r.Last)
		})
}

// CountIssueHours adds events to issues' hourly counts; rows must be
// distinct by issue and hour.
func (q *Queries) CountIssueHours(ctx context.Context, rows []HourCount) error {
	if len(rows) == 0 {
		return nil
	}
	const conflict = ` ON CONFLICT (issue_id, hour) DO UPDATE SET n = issue_hours.n + excluded.n`
	if q.engine == Postgres {
		ids, hours, ns := make([]int64, len(rows)), make([]int64, len(rows)), make([]int64, len(rows))
		for k, r := range rows {
			ids[k], hours[k], ns[k] = r.IssueID, r.Hour, r.N
		}
		_, err := q.q.ExecContext(ctx, `INSERT INTO issue_hours (issue_id, hour, n)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])`+conflict, ids, hours, ns)
		if err != nil {
			return fmt.Errorf("count hours: %w", err)
		}
		return nil
	}
	return q.chunked(ctx, len(rows), 3, `INSERT INTO issue_hours (issue_id, hour, n) VALUES `, conflict,
		func(args []any, k int) []any {
			r := rows[k]
			return append(args, r.IssueID, r.Hour, r.N)
		})
}

// RefreshUserCounts sets the issues' user counts from their user tags.
func (q *Queries) RefreshUserCounts(ctx context.Context, issueIDs []int64) error {
	if len(issueIDs) == 0 {
		return nil
	}
	const set = `UPDATE issues SET user_count = (SELECT COUNT(*) FROM issue_tags t WHERE t.issue_id = issues.id AND t.key = 'user') WHERE id `
	if q.engine == Postgres {
		if _, err := q.q.ExecContext(ctx, set+`= ANY($1::bigint[])`, issueIDs); err != nil {
			return fmt.Errorf("count users: %w", err)
		}
		return nil
	}
	for len(issueIDs) > 0 {
		part := issueIDs[:min(500, len(issueIDs))]
		issueIDs = issueIDs[len(part):]
		args := make([]any, len(part))
		ph := make([]string, len(part))
		for k, id := range part {
			args[k] = id
			ph[k] = fmt.Sprintf("$%d", k+1)
		}
		if _, err := q.q.ExecContext(ctx, set+`IN (`+strings.Join(ph, ", ")+`)`, args...); err != nil {
			return fmt.Errorf("count users: %w", err)
		}
	}
	return nil
}

// RecordEnvironments notes a project's environments (known ones are
// left alone).
func (q *Queries) RecordEnvironments(ctx context.Context, projectID int64, names []string) error {
	for _, n := range names {
		if _, err := q.q.ExecContext(ctx, `INSERT INTO environments (project_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, projectID, n); err != nil {
			return fmt.Errorf("record environment: %w", err)
		}
	}
	return nil
}

// chunked runs "head (row), (row)… tail" over n rows of width
// parameters each, in prepared statements of chunkSizes rows.
func (q *Queries) chunked(ctx context.Context, n, width int, head, tail string, row func(args []any, k int) []any) error {
	args := make([]any, 0, chunkSizes[0]*width)
	for k := 0; k < n; {
		size := chunkSizes[len(chunkSizes)-1]
		for _, c := range chunkSizes {
			if n-k >= c {
				size = c
				break
			}
		}
		st, err := q.prepared(ctx, valuesStatement(head, tail, size, width))
		if err != nil {
			return err
		}
		args = args[:0]
		for j := range size {
			args = row(args, k+j)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(head)[2], err)
		}
		k += size
	}
	return nil
}

// valuesStatement is head, rows placeholder groups of width, and tail.
func valuesStatement(head, tail string, rows, width int) string {
	var sb strings.Builder
	sb.WriteString(head)
	for r := range rows {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for c := range width {
			if c > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "$%d", r*width+c+1)
		}
		sb.WriteByte(')')
	}
	sb.WriteString(tail)
	return sb.String()
}
