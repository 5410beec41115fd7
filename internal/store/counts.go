package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
)

// The counts search, tags and trends read, written by the event writer in
// its batch's transaction: one statement each per batch, whatever its
// size.

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

// CountIssueTags adds tag counts; rows must be distinct by issue, key and
// value. It returns how many of the rows with the key "user" were new
// to their issue: the users it adds to each issue.
func (q *Queries) CountIssueTags(ctx context.Context, rows []TagCount) (map[int64]int64, error) {
	var tags, users []TagCount
	for _, r := range rows {
		if r.Key == "user" {
			users = append(users, r)
		} else {
			tags = append(tags, r)
		}
	}
	if err := q.upsertTags(ctx, tags, nil); err != nil {
		return nil, err
	}
	added := map[int64]int64{}
	if err := q.upsertTags(ctx, users, added); err != nil {
		return nil, err
	}
	return added, nil
}

// upsertTags writes rows: in one statement with arrays on PostgreSQL,
// in a few prepared multi-row statements on SQLite (values.go). With
// added, a row whose count after the statement is the count it brought
// was new, and adds one to its issue in added.
func (q *Queries) upsertTags(ctx context.Context, rows []TagCount, added map[int64]int64) error {
	if len(rows) == 0 {
		return nil
	}
	const conflict = tagConflict
	ret := ""
	var sent map[issueValue]int64
	if added != nil {
		ret = ` RETURNING issue_id, value, times_seen`
		sent = make(map[issueValue]int64, len(rows))
		for _, r := range rows {
			sent[issueValue{r.IssueID, r.Value}] = r.N
		}
	}
	// run executes one statement, reading back what added needs.
	run := func(st stmt, args []any) error {
		if added == nil {
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("count tags: %w", err)
			}
			return nil
		}
		res, err := st.QueryContext(ctx, args...)
		return addNew(res, err, "count users", sent, added)
	}
	if q.engine == Postgres {
		return run(unprepared{q.q, `INSERT INTO issue_tags (issue_id, key, value, times_seen, first_seen, last_seen)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])` + conflict + ret},
			tagArrays(rows))
	}
	return q.eachValuesChunk(ctx, `INSERT INTO issue_tags (issue_id, key, value, times_seen, first_seen, last_seen) VALUES `, 6, conflict+ret, len(rows),
		func(i int, dst []any) []any {
			r := &rows[i]
			return append(dst, r.IssueID, r.Key, r.Value, r.N, r.First, r.Last)
		}, run)
}

// CountBatch adds a batch's tag counts and hourly counts (rows distinct
// as CountIssueTags and CountIssueHours want them) and returns, as
// CountIssueTags does, the users each issue gained. On PostgreSQL it is
// one statement: the user tag's rows are upserted (a row whose count after
// the statement is the count it brought was a new user), and the other
// tags and the hours are written as one pending_counts row, which
// FoldCounts adds to issue_tags and issue_hours after the batch commits.
//
// Measured under cmd/triage-load, upserting each batch's sixteen tag rows
// for every issue it touched was the largest statement of the writer's
// transaction, and the senders of the next batch waited for it. A fold
// adds up the batches committed since the last one, so the rows of an
// issue busy under load are updated once a fold instead of once a batch.
func (q *Queries) CountBatch(ctx context.Context, tags []TagCount, hours []HourCount) (map[int64]int64, error) {
	if q.engine != Postgres {
		added, err := q.CountIssueTags(ctx, tags)
		if err != nil {
			return nil, err
		}
		return added, q.CountIssueHours(ctx, hours)
	}
	sent := map[issueValue]int64{}
	var users, others []TagCount
	for _, r := range tags {
		if r.Key == "user" {
			sent[issueValue{r.IssueID, r.Value}] = r.N
			users = append(users, r)
		} else {
			others = append(others, r)
		}
	}
	// Writers upsert user rows only and folds the others, so a writer
	// never waits for a fold.
	rows, err := q.q.QueryContext(ctx, `WITH p AS (INSERT INTO pending_counts (data) VALUES ($7)),
		u AS (INSERT INTO issue_tags (issue_id, key, value, times_seen, first_seen, last_seen)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])`+tagConflict+`
			RETURNING issue_id, value, times_seen)
		SELECT issue_id, value, times_seen FROM u`,
		append(tagArrays(users), encodePending(others, hours))...)
	added := map[int64]int64{}
	if err := addNew(rows, err, "count tags and hours", sent, added); err != nil {
		return nil, err
	}
	return added, nil
}

// SortTagCounts puts rows in the one order every writer and fold upserts
// them in (issue, key, value), so that two transactions touching the same
// rows (two processes on PostgreSQL) lock them in the same order.
func SortTagCounts(rows []TagCount) {
	sort.Slice(rows, func(a, b int) bool {
		x, y := rows[a], rows[b]
		if x.IssueID != y.IssueID {
			return x.IssueID < y.IssueID
		}
		if x.Key != y.Key {
			return x.Key < y.Key
		}
		return x.Value < y.Value
	})
}

// SortHourCounts puts hourly rows in the one order writers and folds
// upsert them in (issue, hour), for the same reason.
func SortHourCounts(rows []HourCount) {
	sort.Slice(rows, func(a, b int) bool {
		x, y := rows[a], rows[b]
		return x.IssueID < y.IssueID || x.IssueID == y.IssueID && x.Hour < y.Hour
	})
}

// tagArrays are rows as the six arrays ($1-$6) the PostgreSQL upserts
// unnest: issue ids, keys, values, counts, first and last seen.
func tagArrays(rows []TagCount) []any {
	ids, ns, firsts, lasts := make([]int64, len(rows)), make([]int64, len(rows)), make([]int64, len(rows)), make([]int64, len(rows))
	keys, values := make([]string, len(rows)), make([]string, len(rows))
	for k, r := range rows {
		ids[k], keys[k], values[k], ns[k], firsts[k], lasts[k] = r.IssueID, r.Key, r.Value, r.N, r.First, r.Last
	}
	return []any{ids, keys, values, ns, firsts, lasts}
}

// addNew reads rows of (issue id, value, count after the statement) and
// adds one to the issue in added for each row whose count is the one it
// brought (sent): a value new to the issue.
func addNew(rows *sql.Rows, err error, what string, sent map[issueValue]int64, added map[int64]int64) error {
	type after struct {
		k issueValue
		n int64
	}
	got, err := collect(rows, err, what, func(row rowScanner) (after, error) {
		var a after
		err := row.Scan(&a.k.issueID, &a.k.value, &a.n)
		return a, err
	})
	if err != nil {
		return err
	}
	for _, a := range got {
		if a.n == sent[a.k] {
			added[a.k.issueID]++
		}
	}
	return nil
}

// The upserts' conflict clauses: counts add up, first and last seen
// widen.
const (
	tagConflict = ` ON CONFLICT (issue_id, key, value) DO UPDATE SET times_seen = issue_tags.times_seen + excluded.times_seen,
		first_seen = CASE WHEN excluded.first_seen < issue_tags.first_seen THEN excluded.first_seen ELSE issue_tags.first_seen END,
		last_seen = CASE WHEN excluded.last_seen > issue_tags.last_seen THEN excluded.last_seen ELSE issue_tags.last_seen END`
	hourConflict = ` ON CONFLICT (issue_id, hour) DO UPDATE SET n = issue_hours.n + excluded.n`
)

type issueValue struct {
	issueID int64
	value   string
}

// CountIssueHours adds events to issues' hourly counts; rows must be
// distinct by issue and hour.
func (q *Queries) CountIssueHours(ctx context.Context, rows []HourCount) error {
	if len(rows) == 0 {
		return nil
	}
	const conflict = hourConflict
	var err error
	if q.engine == Postgres {
		ids, hours, ns := make([]int64, len(rows)), make([]int64, len(rows)), make([]int64, len(rows))
		for k, r := range rows {
			ids[k], hours[k], ns[k] = r.IssueID, r.Hour, r.N
		}
		_, err = q.q.ExecContext(ctx, `INSERT INTO issue_hours (issue_id, hour, n)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])`+conflict, ids, hours, ns)
	} else {
		err = q.eachValuesChunk(ctx, `INSERT INTO issue_hours (issue_id, hour, n) VALUES `, 3, conflict, len(rows),
			func(i int, dst []any) []any { return append(dst, rows[i].IssueID, rows[i].Hour, rows[i].N) },
			func(st stmt, args []any) error { _, err := st.ExecContext(ctx, args...); return err })
	}
	if err != nil {
		return fmt.Errorf("count hours: %w", err)
	}
	return nil
}

// AddUserCounts adds users to issues' user counts.
func (q *Queries) AddUserCounts(ctx context.Context, added map[int64]int64) error {
	if len(added) == 0 {
		return nil
	}
	var err error
	if q.engine == Postgres {
		ids, ns := make([]int64, 0, len(added)), make([]int64, 0, len(added))
		for id, n := range added {
			ids, ns = append(ids, id), append(ns, n)
		}
		_, err = q.q.ExecContext(ctx, `UPDATE issues SET user_count = user_count + v.n
			FROM unnest($1::bigint[], $2::bigint[]) AS v(id, n) WHERE issues.id = v.id`, ids, ns)
	} else {
		list := make([][2]int64, 0, len(added))
		for id, n := range added {
			list = append(list, [2]int64{id, n})
		}
		b, _ := json.Marshal(list)
		_, err = q.q.ExecContext(ctx, `UPDATE issues SET user_count = user_count + (j.value->>1)
			FROM json_each($1) AS j WHERE issues.id = j.value->>0`, string(b))
	}
	if err != nil {
		return fmt.Errorf("count users: %w", err)
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
