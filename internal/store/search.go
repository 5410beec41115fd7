package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"triage"
	"triage/internal/search"
)

// sortColumns are the columns each sort orders by, before the id.
var sortColumns = map[search.Sort]string{
	search.SortDate: "i.last_seen", search.SortNew: "i.first_seen",
	search.SortFreq: "i.times_seen", search.SortUser: "i.user_count",
}

// whereBuilder collects conditions and their numbered parameters.
type whereBuilder struct {
	conds []string
	args  []any
	// oneIssue says the query reads one known issue (IssueMatches), whose
	// tags are cheapest probed by its id; a list reads tag filters from
	// the value's side instead.
	oneIssue bool
	// tags says a term reads issue_tags (see settleCounts).
	tags bool
}

func (b *whereBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return fmt.Sprintf("$%d", len(b.args))
}

func (b *whereBuilder) add(cond string, negate bool) {
	if negate {
		cond = "NOT (" + cond + ")"
	}
	b.conds = append(b.conds, cond)
}

// issueSearchWhere is the WHERE of a search, without its cursor; oneIssue
// as in whereBuilder.
func issueSearchWhere(r search.Request, oneIssue bool) (*whereBuilder, error) {
	b := &whereBuilder{oneIssue: oneIssue}
	b.conds = append(b.conds, "p.org_id = "+b.arg(r.OrgID))
	if len(r.ProjectIDs) > 0 {
		ph := make([]string, len(r.ProjectIDs))
		for k, id := range r.ProjectIDs {
			ph[k] = b.arg(id)
		}
		b.conds = append(b.conds, "i.project_id IN ("+strings.Join(ph, ", ")+")")
	}
	if r.UserID != 0 {
		n := b.arg(r.UserID)
		b.conds = append(b.conds, `EXISTS (SELECT 1 FROM members m WHERE m.org_id = p.org_id AND m.user_id = `+n+`
			AND `+projectAccess("m", "p", n)+`)`)
	}
	if !r.Query.HasIs() {
		b.conds = append(b.conds, "i.status = "+b.arg(string(triage.StatusUnresolved)))
	}
	for _, t := range r.Query.Terms {
		if err := b.term(r, t); err != nil {
			return nil, err
		}
	}
	return b, nil
}

var compare = map[search.Op]string{search.OpEq: "=", search.OpGt: ">", search.OpGe: ">=", search.OpLt: "<", search.OpLe: "<="}

func (b *whereBuilder) term(r search.Request, t search.Term) error {
	switch t.Kind {
	case search.KindText:
		n := b.arg("%" + likeEscape(strings.ToLower(t.Value)) + "%")
		b.add(`(LOWER(i.title) LIKE `+n+` ESCAPE '\' OR LOWER(i.culprit) LIKE `+n+` ESCAPE '\')`, t.Negate)
	case search.KindIs:
		switch t.Value {
		case "assigned":
			b.add("(i.assignee_user_id IS NOT NULL OR i.assignee_team_id IS NOT NULL)", t.Negate)
		case "unassigned":
			b.add("(i.assignee_user_id IS NULL AND i.assignee_team_id IS NULL)", t.Negate)
		case "all":
			if t.Negate {
				b.add("1 = 0", false)
			}
		default:
			b.add("i.status = "+b.arg(t.Value), t.Negate)
		}
	case search.KindAssigned:
		var alts []string
		for _, a := range t.Assignees() {
			alts = append(alts, b.assigned(r, a))
		}
		b.add("("+strings.Join(alts, " OR ")+")", t.Negate)
	case search.KindLevel:
		b.add("i.level = "+b.arg(t.Value), t.Negate)
	case search.KindProject:
		b.add("p.slug = "+b.arg(t.Value), t.Negate)
	case search.KindFirstSeen, search.KindLastSeen:
		col := "i.first_seen"
		if t.Kind == search.KindLastSeen {
			col = "i.last_seen"
		}
		if t.Op == search.OpEq {
			b.add(col+" >= "+b.arg(micros(t.Time))+" AND "+col+" < "+b.arg(micros(t.Until)), false)
		} else {
			b.add(col+" "+compare[t.Op]+" "+b.arg(micros(t.Time)), false)
		}
	case search.KindTimesSeen:
		b.add("i.times_seen "+compare[t.Op]+" "+b.arg(t.Number), false)
	case search.KindTag:
		b.tag(t)
	default:
		return fmt.Errorf("search term kind %d has no SQL", t.Kind)
	}
	return nil
}

// tag is the condition of a tag term. A list starts from the value's
// issue ids (index issue_tags_value): each positive term is a set of ids
// that SQLite builds once and PostgreSQL semi-joins, so several terms
// intersect their sets, and the cost follows the matches rather than the
// number of issues the other terms leave. A negated term, and the one
// issue of IssueMatches, probe the issue's own tags: NOT EXISTS also lists
// the issues that never had the tag, and PostgreSQL plans it as an
// anti-join, which NOT IN would not be.
func (b *whereBuilder) tag(t search.Term) {
	b.tags = true
	key, value := b.arg(t.Key), b.arg(t.Value)
	if t.Negate || b.oneIssue {
		b.add("EXISTS (SELECT 1 FROM issue_tags t WHERE t.issue_id = i.id AND t.key = "+key+" AND t.value = "+value+")", t.Negate)
		return
	}
	b.add("i.id IN (SELECT t.issue_id FROM issue_tags t WHERE t.key = "+key+" AND t.value = "+value+")", false)
}

// assigned is the condition for one value of assigned:. COALESCE makes a
// negated term list the issues assigned to no one too.
func (b *whereBuilder) assigned(r search.Request, a string) string {
	switch {
	case a == "me":
		return "COALESCE(i.assignee_user_id, 0) = " + b.arg(r.UserID)
	case a == "my_teams":
		return "COALESCE(i.assignee_team_id, 0) IN (SELECT tm.team_id FROM team_members tm WHERE tm.user_id = " + b.arg(r.UserID) + ")"
	case a == "none":
		return "(i.assignee_user_id IS NULL AND i.assignee_team_id IS NULL)"
	case strings.HasPrefix(a, "#"):
		return "COALESCE(i.assignee_team_id, 0) IN (SELECT tt.id FROM teams tt WHERE tt.org_id = p.org_id AND tt.slug = " + b.arg(a[1:]) + ")"
	}
	return "COALESCE(i.assignee_user_id, 0) IN (SELECT uu.id FROM users uu WHERE LOWER(uu.email) = " + b.arg(strings.ToLower(a)) + ")"
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// planEach returns a search's arguments so that PostgreSQL plans the
// statement for these values each time it runs. pgx prepares and caches
// statements, and after five runs PostgreSQL may keep a generic plan made
// without the values: for a tag filter it guesses a couple of issues per
// value and walks every issue of a common value through a nested loop,
// many times slower than the hash join it picks when it sees the value.
// Planning costs about a millisecond; SQLite plans without values anyway.
func (q *Queries) planEach(args []any) []any {
	if q.engine != Postgres {
		return args
	}
	return append([]any{pgx.QueryExecModeExec}, args...)
}

// SearchIssues returns one page of the issues a search matches, in its
// sort, with the total number that match.
func (q *Queries) SearchIssues(ctx context.Context, r search.Request) (*search.Page, error) {
	if r.Sort == "" {
		r.Sort = search.SortDate
	}
	col, ok := sortColumns[r.Sort]
	if !ok {
		return nil, triage.Errorf(triage.EINVALID, "unknown sort %q", r.Sort)
	}
	r.Limit = min(max(r.Limit, 1), 100)
	b, err := issueSearchWhere(r, false)
	if err != nil {
		return nil, err
	}
	if b.tags {
		if err := q.settleCounts(ctx); err != nil {
			return nil, err
		}
	}
	from := " FROM issues i JOIN projects p ON p.id = i.project_id WHERE " + strings.Join(b.conds, " AND ")
	page := &search.Page{}
	if err := q.q.QueryRowContext(ctx, "SELECT COUNT(*)"+from, q.planEach(b.args)...).Scan(&page.Total); err != nil {
		return nil, fmt.Errorf("count issues: %w", err)
	}

	dir, cmp := "DESC", "<"
	if r.Cursor.Prev {
		dir, cmp = "ASC", ">"
	}
	conds := b.conds
	if !r.Cursor.IsZero() {
		v, id := b.arg(r.Cursor.Value), b.arg(r.Cursor.ID)
		conds = append(slices.Clip(conds), fmt.Sprintf("(%s %s %s OR (%s = %s AND i.id %s %s))", col, cmp, v, col, v, cmp, id))
	}
	// The page's ids first, sorted by the sort key alone (an index of
	// issues holds it), then the rows and their joins for those ids only:
	// sorting every match's full row to keep a page of them cost more
	// than the search itself.
	order := fmt.Sprintf(" ORDER BY %s %s, i.id %s", col, dir, dir)
	query := issueSelect + " WHERE i.id IN (SELECT i.id FROM issues i JOIN projects p ON p.id = i.project_id WHERE " +
		strings.Join(conds, " AND ") + order + " LIMIT " + b.arg(r.Limit+1) + ")" + order
	rows, err := q.q.QueryContext(ctx, query, q.planEach(b.args)...)
	list, err := collect(rows, err, "search issues", scanIssue)
	if err != nil {
		return nil, err
	}
	more := len(list) > r.Limit
	if more {
		list = list[:r.Limit]
	}
	cursor := func(i *triage.Issue, prev bool) *search.Cursor {
		return &search.Cursor{Value: r.Sort.Key(i), ID: i.ID, Prev: prev}
	}
	if r.Cursor.Prev {
		slices.Reverse(list)
		if len(list) > 0 {
			if more {
				page.Prev = cursor(list[0], true)
			}
			page.Next = cursor(list[len(list)-1], false)
		}
	} else if len(list) > 0 {
		if more {
			page.Next = cursor(list[len(list)-1], false)
		}
		if !r.Cursor.IsZero() {
			page.Prev = cursor(list[0], true)
		}
	}
	page.Issues = list
	return page, nil
}

// IssueTags returns the tag keys of an issue, each with its top values
// (at most top), keys in name order.
func (q *Queries) IssueTags(ctx context.Context, issueID int64, top int) ([]search.TagKey, error) {
	if err := q.settleCounts(ctx); err != nil {
		return nil, err
	}
	rows, err := q.q.QueryContext(ctx, `SELECT key, SUM(times_seen), COUNT(*) FROM issue_tags WHERE issue_id = $1 GROUP BY key ORDER BY key`, issueID)
	keys, err := collect(rows, err, "list tag keys", func(row rowScanner) (search.TagKey, error) {
		var k search.TagKey
		err := row.Scan(&k.Key, &k.TotalValues, &k.Distinct)
		return k, err
	})
	if err != nil {
		return nil, err
	}
	type value struct {
		key string
		v   search.TagValue
	}
	rows, err = q.q.QueryContext(ctx, `SELECT key, value, times_seen, first_seen, last_seen FROM (
		SELECT key, value, times_seen, first_seen, last_seen,
			ROW_NUMBER() OVER (PARTITION BY key ORDER BY times_seen DESC, value) AS rn
		FROM issue_tags WHERE issue_id = $1) AS ranked WHERE rn <= $2 ORDER BY key, rn`, issueID, top)
	values, err := collect(rows, err, "list tag values", func(row rowScanner) (value, error) {
		var v value
		var first, last int64
		err := row.Scan(&v.key, &v.v.Value, &v.v.Count, &first, &last)
		v.v.FirstSeen, v.v.LastSeen = fromMicros(first), fromMicros(last)
		return v, err
	})
	if err != nil {
		return nil, err
	}
	at := make(map[string]int, len(keys))
	for k := range keys {
		at[keys[k].Key] = k
	}
	for _, v := range values {
		if k, ok := at[v.key]; ok {
			keys[k].TopValues = append(keys[k].TopValues, v.v)
		}
	}
	return keys, nil
}

// IssueHours returns the issues' hourly event counts since a time:
// issue → hour start (unix seconds) → events.
func (q *Queries) IssueHours(ctx context.Context, issueIDs []int64, since time.Time) (map[int64]map[int64]int64, error) {
	out := make(map[int64]map[int64]int64, len(issueIDs))
	if len(issueIDs) == 0 {
		return out, nil
	}
	for _, id := range issueIDs {
		out[id] = map[int64]int64{}
	}
	if err := q.settleCounts(ctx); err != nil {
		return nil, err
	}
	args, in := inList([]any{since.Unix()}, issueIDs)
	rows, err := q.q.QueryContext(ctx, `SELECT issue_id, hour, n FROM issue_hours WHERE issue_id IN (`+in+`) AND hour >= $1`, args...)
	type hour struct{ issue, hour, n int64 }
	hs, err := collect(rows, err, "read trends", func(row rowScanner) (hour, error) {
		var h hour
		err := row.Scan(&h.issue, &h.hour, &h.n)
		return h, err
	})
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		out[h.issue][h.hour] += h.n
	}
	return out, nil
}

// DeleteIssueHoursBefore drops hourly counts older than a time, which no
// trend shows any more.
func (q *Queries) DeleteIssueHoursBefore(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM issue_hours WHERE hour < $1`, before.Unix())
	if err != nil {
		return 0, fmt.Errorf("prune trends: %w", err)
	}
	return res.RowsAffected()
}

// Environments lists the environments of the projects, by name.
func (q *Queries) Environments(ctx context.Context, projectIDs []int64) ([]string, error) {
	if len(projectIDs) == 0 {
		return nil, nil
	}
	args, in := inList(nil, projectIDs)
	rows, err := q.q.QueryContext(ctx, `SELECT DISTINCT name FROM environments WHERE project_id IN (`+in+`) ORDER BY name`, args...)
	return collect(rows, err, "list environments", func(row rowScanner) (string, error) {
		var s string
		err := row.Scan(&s)
		return s, err
	})
}
