package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"triage"
)

const issueSelect = `SELECT i.id, i.project_id, p.org_id, p.slug, o.slug, i.short_num, i.title, i.culprit, i.level,
	i.status, i.status_details, i.assignee_user_id, i.assignee_team_id,
	COALESCE(au.name, ''), COALESCE(au.email, ''), COALESCE(at.slug, ''),
	i.times_seen, i.first_seen, i.last_seen, i.first_release, i.ignore_base, i.user_count
	FROM issues i JOIN projects p ON p.id = i.project_id JOIN organizations o ON o.id = p.org_id
	LEFT JOIN users au ON au.id = i.assignee_user_id LEFT JOIN teams at ON at.id = i.assignee_team_id`

func scanIssue(row rowScanner) (*triage.Issue, error) {
	var i triage.Issue
	var status, details, auName, auEmail, atSlug string
	var auID, atID *int64
	var first, last int64
	err := row.Scan(&i.ID, &i.ProjectID, &i.OrgID, &i.ProjectSlug, &i.OrgSlug, &i.ShortNum, &i.Title, &i.Culprit, &i.Level,
		&status, &details, &auID, &atID, &auName, &auEmail, &atSlug,
		&i.TimesSeen, &first, &last, &i.FirstRelease, &i.IgnoreBase, &i.UserCount)
	if err != nil {
		return nil, err
	}
	i.Status = triage.Status(status)
	if err := json.Unmarshal([]byte(details), &i.StatusDetails); err != nil {
		return nil, fmt.Errorf("decode status details of issue %d: %w", i.ID, err)
	}
	switch {
	case auID != nil:
		name := auName
		if name == "" {
			name = auEmail
		}
		i.Assignee = &triage.Assignee{Type: "user", ID: *auID, Name: name}
	case atID != nil:
		i.Assignee = &triage.Assignee{Type: "team", ID: *atID, Name: atSlug}
	}
	i.FirstSeen, i.LastSeen = fromMicros(first), fromMicros(last)
	return &i, nil
}

// IssueByID returns ENOTFOUND if there is none.
func (q *Queries) IssueByID(ctx context.Context, id int64) (*triage.Issue, error) {
	i, err := scanIssue(q.q.QueryRowContext(ctx, issueSelect+` WHERE i.id = $1`, id))
	return i, translate(err, "issue")
}

// Issues lists issues, most recently seen first.
func (q *Queries) Issues(ctx context.Context, f triage.IssueFilter) ([]*triage.Issue, error) {
	var where []string
	args := []any{f.OrgID}
	where = append(where, "p.org_id = $1")
	if f.Status != "" {
		args = append(args, string(f.Status))
		where = append(where, fmt.Sprintf("i.status = $%d", len(args)))
	}
	if len(f.ProjectIDs) > 0 {
		var ph []string
		for _, id := range f.ProjectIDs {
			args = append(args, id)
			ph = append(ph, fmt.Sprintf("$%d", len(args)))
		}
		where = append(where, "i.project_id IN ("+strings.Join(ph, ", ")+")")
	}
	if f.UserID != 0 {
		args = append(args, f.UserID)
		n := len(args)
		user := fmt.Sprintf("$%d", n)
		where = append(where, `EXISTS (SELECT 1 FROM members m WHERE m.org_id = p.org_id AND m.user_id = `+user+`
			AND `+projectAccess("m", "p", user)+`)`)
	}
	switch {
	case f.Limit <= 0:
		f.Limit = 25
	case f.Limit > 1000:
		f.Limit = 1000
	}
	args = append(args, f.Limit, f.Offset)
	query := issueSelect + " WHERE " + strings.Join(where, " AND ") +
		fmt.Sprintf(" ORDER BY i.last_seen DESC, i.id DESC LIMIT $%d OFFSET $%d", len(args)-1, len(args))
	rows, err := q.q.QueryContext(ctx, query, args...)
	return collect(rows, err, "list issues", scanIssue)
}

// SetIssueStatus writes an issue's status, its details and the count an
// "ignore until N more" counts from.
func (q *Queries) SetIssueStatus(ctx context.Context, id int64, status triage.Status, details triage.StatusDetails, ignoreBase int64) error {
	b, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("encode status details: %w", err)
	}
	_, err = q.q.ExecContext(ctx,
		`UPDATE issues SET status = $1, status_details = $2, ignore_base = $3 WHERE id = $4`,
		string(status), string(b), ignoreBase, id)
	if err != nil {
		return fmt.Errorf("set issue %d status: %w", id, err)
	}
	return nil
}

// SetIssueStatusLogged is SetIssueStatus and AddActivity(a) together: on
// PostgreSQL one statement, which keeps the issue's row locked one round
// trip less.
func (q *Queries) SetIssueStatusLogged(ctx context.Context, id int64, status triage.Status, details triage.StatusDetails, ignoreBase int64, a *triage.Activity) error {
	if q.engine != Postgres {
		if err := q.SetIssueStatus(ctx, id, status, details, ignoreBase); err != nil {
			return err
		}
		return q.AddActivity(ctx, a)
	}
	b, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("encode status details: %w", err)
	}
	data, userID, err := activityRow(q, a)
	if err != nil {
		return err
	}
	var cards *string
	err = q.q.QueryRowContext(ctx, `WITH u AS (UPDATE issues SET status = $1, status_details = $2, ignore_base = $3 WHERE id = $4),
		a AS (INSERT INTO activities (issue_id, type, user_id, source, data, created_at) VALUES ($5, $6, $7, $8, $9, $10) RETURNING id)
		SELECT a.id, `+changeCardsColumn+` FROM a`,
		string(status), string(b), ignoreBase, id,
		a.IssueID, a.Type, userID, string(a.Source), data, micros(a.CreatedAt)).Scan(&a.ID, &cards)
	if err != nil {
		return fmt.Errorf("set issue %d status: %w", id, err)
	}
	return q.keepChangeCards(id, a.ID, cards)
}

// SetIssueAssignee assigns the issue to a user or a team, or nobody (nil).
func (q *Queries) SetIssueAssignee(ctx context.Context, id int64, a *triage.Assignee) error {
	var userID, teamID *int64
	if a != nil && a.Type == "user" {
		userID = &a.ID
	} else if a != nil && a.Type == "team" {
		teamID = &a.ID
	}
	_, err := q.q.ExecContext(ctx,
		`UPDATE issues SET assignee_user_id = $1, assignee_team_id = $2 WHERE id = $3`, userID, teamID, id)
	if err != nil {
		return fmt.Errorf("set issue %d assignee: %w", id, err)
	}
	return nil
}

// NewIssue is what ingestion knows of an issue when its first event arrives.
type NewIssue struct {
	ProjectID int64
	GroupHash string
	Title     string
	Culprit   string
	Level     string
	Release   string
	SeenAt    time.Time
	// GroupingVersion is the grouping GroupHash was computed with
	// (ingest.GroupingVersion); 0 means 1.
	GroupingVersion int
}

// CreateIssue inserts an issue with the project's next short number. Call it
// in a transaction: the counter and the issue go together.
func (q *Queries) CreateIssue(ctx context.Context, n NewIssue) (*triage.Issue, error) {
	var num int64
	err := q.q.QueryRowContext(ctx,
		`UPDATE projects SET next_short_num = next_short_num + 1 WHERE id = $1 RETURNING next_short_num - 1`,
		n.ProjectID).Scan(&num)
	if err != nil {
		return nil, translate(err, "project")
	}
	at := micros(n.SeenAt)
	var id int64
	err = q.q.QueryRowContext(ctx,
		`INSERT INTO issues (project_id, short_num, group_hash, title, culprit, level, first_seen, last_seen, first_release)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING id`,
		n.ProjectID, num, n.GroupHash, n.Title, n.Culprit, n.Level, at, n.Release).Scan(&id)
	if err != nil {
		return nil, translate(err, "issue")
	}
	return q.IssueByID(ctx, id)
}

// IssueByHash finds a project's issue by its grouping hash; ENOTFOUND if new.
func (q *Queries) IssueByHash(ctx context.Context, projectID int64, hash string) (*triage.Issue, error) {
	i, err := scanIssue(q.q.QueryRowContext(ctx, issueSelect+` WHERE i.project_id = $1 AND i.group_hash = $2`, projectID, hash))
	return i, translate(err, "issue")
}

// AddActivity appends an entry to an issue's log.
func (q *Queries) AddActivity(ctx context.Context, a *triage.Activity) error {
	data, userID, err := activityRow(q, a)
	if err != nil {
		return err
	}
	err = q.q.QueryRowContext(ctx,
		`INSERT INTO activities (issue_id, type, user_id, source, data, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		a.IssueID, a.Type, userID, string(a.Source), data, micros(a.CreatedAt)).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("add activity: %w", err)
	}
	return nil
}

// activityRow encodes an activity's data and user for its row, setting
// its time when it has none.
func activityRow(q *Queries, a *triage.Activity) (data string, userID *int64, err error) {
	m := a.Data
	if m == nil {
		m = map[string]any{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", nil, fmt.Errorf("encode activity data: %w", err)
	}
	if a.User != nil && a.User.ID != 0 {
		userID = &a.User.ID
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = q.now()
	}
	return string(b), userID, nil
}

// Activities returns an issue's log, newest first.
func (q *Queries) Activities(ctx context.Context, issueID int64, limit int) ([]*triage.Activity, error) {
	return q.ActivitiesOfType(ctx, issueID, "", limit)
}

// ActivitiesOfType is Activities of one type only (an issue's notes);
// typ "" is every type.
func (q *Queries) ActivitiesOfType(ctx context.Context, issueID int64, typ string, limit int) ([]*triage.Activity, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := q.q.QueryContext(ctx,
		`SELECT a.id, a.issue_id, a.type, a.source, a.data, a.created_at, u.id, COALESCE(u.email, ''), COALESCE(u.name, '')
		 FROM activities a LEFT JOIN users u ON u.id = a.user_id WHERE a.issue_id = $1 AND ($2 = '' OR a.type = $2)
		 ORDER BY a.id DESC LIMIT $3`,
		issueID, typ, limit)
	return collect(rows, err, "list activity", scanActivity)
}

func scanActivity(row rowScanner) (*triage.Activity, error) {
	var a triage.Activity
	var source, data, email, name string
	var created int64
	var uid *int64
	if err := row.Scan(&a.ID, &a.IssueID, &a.Type, &source, &data, &created, &uid, &email, &name); err != nil {
		return nil, err
	}
	a.Source = triage.Source(source)
	a.CreatedAt = fromMicros(created)
	if uid != nil {
		a.User = &triage.User{ID: *uid, Email: email, Name: name}
	}
	if err := json.Unmarshal([]byte(data), &a.Data); err != nil {
		return nil, fmt.Errorf("decode activity %d: %w", a.ID, err)
	}
	return &a, nil
}

// IssueAccess is what a user may do with an issue: Member is whether they
// belong to its organization, Project whether they can see and change its
// project (an owner or admin, or on a team of the project).
type IssueAccess struct {
	Member  bool
	Project bool
}

// spliceSQL puts with in place of the first at in query, the way the
// queries below are built from one another; it panics (when the package
// loads) if query has no at, so that a change to the query built upon
// cannot leave a derived query silently without its part.
func spliceSQL(query, at, with string) string {
	if !strings.Contains(query, at) {
		panic(fmt.Sprintf("store: query has no %q to build on", at))
	}
	return strings.Replace(query, at, with, 1)
}

// issueForUser is issueSelect with the user's access ($2) joined in, so
// that reading an issue and checking who may act on it is one round trip.
var issueForUser = spliceSQL(issueSelect, "FROM issues i ",
	`, EXISTS (SELECT 1 FROM members m WHERE m.org_id = p.org_id AND m.user_id = $2),
	EXISTS (SELECT 1 FROM members m WHERE m.org_id = p.org_id AND m.user_id = $2 AND `+projectAccess("m", "p", "$2")+`)
	FROM issues i `) + ` WHERE i.id = $1`

// issueForChange is issueForUser with what the change hooks ask about
// the issue's messages (see messagesOf): how many Slack messages it has
// (up to two) and the first one. (The alert hook reads the issue's cards
// itself, after the lock: see alert.threadsOf.)
var issueForChange = spliceSQL(issueForUser, "\n\tFROM issues i ",
	`,
	(SELECT COUNT(*) FROM (SELECT 1 FROM slack_messages sm WHERE sm.issue_id = i.id LIMIT 2) sm2),
	COALESCE((SELECT sm.integration_id FROM slack_messages sm WHERE sm.issue_id = i.id ORDER BY sm.id LIMIT 1), 0),
	COALESCE((SELECT sm.channel_id FROM slack_messages sm WHERE sm.issue_id = i.id ORDER BY sm.id LIMIT 1), ''),
	COALESCE((SELECT sm.ts FROM slack_messages sm WHERE sm.issue_id = i.id ORDER BY sm.id LIMIT 1), '')
	FROM issues i `)

// IssueForUser reads an issue with userID's access to it, in one query; with
// lock, it locks the issue's row (on PostgreSQL; SQLite's write
// transactions hold the whole database) until the transaction ends. ENOTFOUND when there is
// no such issue. In a transaction with lock, the same query answers the
// change hooks' question about the issue's messages (messagesOf), which
// is one round trip less while the row is locked.
func (q *Queries) IssueForUser(ctx context.Context, issueID, userID int64, lock bool) (*triage.Issue, IssueAccess, error) {
	var acc IssueAccess
	change := lock && q.tx != nil
	query := issueForUser
	if change {
		query = issueForChange
	}
	if lock && q.engine == Postgres {
		query += ` FOR UPDATE OF i`
	}
	st, err := q.prepared(ctx, query)
	if err != nil {
		return nil, acc, err
	}
	var extra scanExtra
	var slackN int64
	var first slackMessageKey
	dest := []any{&acc.Member, &acc.Project}
	if change {
		dest = append(dest, &slackN, &first.integrationID, &first.channelID, &first.ts)
	}
	i, err := scanIssue(extra.wrap(st.QueryRowContext(ctx, issueID, userID), dest...))
	if err != nil {
		return nil, acc, translate(err, "issue")
	}
	if change {
		q.rememberMessages(issueID, slackN, first)
	}
	return i, acc, nil
}

// rememberMessages keeps what issueForChange read about the issue's
// messages (how many, up to two, and the first) for messagesOf.
func (q *Queries) rememberMessages(issueID, slackN int64, first slackMessageKey) {
	m := issueMessages{issueID: issueID}
	if slackN > 0 {
		m.slack = append(m.slack, first)
	}
	if slackN > 1 { // another one, whatever it is: no key matches this
		m.slack = append(m.slack, slackMessageKey{integrationID: -1})
	}
	q.msgs = &m
}

// NewestCardActivity returns the id of the issue's newest activity that a
// card shows (any but a note), 0 when there is none. A card rendered with
// that activity as its newest is up to date with every status and
// assignment change: each writes an activity, under the issue's lock.
func (q *Queries) NewestCardActivity(ctx context.Context, issueID int64) (int64, error) {
	st, err := q.prepared(ctx, `SELECT COALESCE(MAX(id), 0) FROM activities WHERE issue_id = $1 AND type <> 'note'`)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := st.QueryRowContext(ctx, issueID).Scan(&id); err != nil {
		return 0, fmt.Errorf("newest activity of issue %d: %w", issueID, err)
	}
	return id, nil
}
