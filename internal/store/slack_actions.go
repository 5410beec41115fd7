package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"triage"
)

// MarkSlackEventSeen records an Events API delivery by its event_id and
// reports whether it is the first time: false means an earlier delivery was
// handled already (in a committed transaction) and this one is a retry.
func (q *Queries) MarkSlackEventSeen(ctx context.Context, eventID string) (bool, error) {
	if eventID == "" {
		return false, triage.Errorf(triage.EINVALID, "event_id is empty")
	}
	res, err := q.q.ExecContext(ctx, `INSERT INTO slack_events_seen (event_id, received_at) VALUES ($1, $2)
		ON CONFLICT (event_id) DO NOTHING`, eventID, micros(q.now()))
	if err != nil {
		return false, fmt.Errorf("mark slack event seen: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteSlackEventsSeenBefore forgets deliveries received before t (Slack
// stops retrying after about an hour).
func (q *Queries) DeleteSlackEventsSeenBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM slack_events_seen WHERE received_at < $1`, micros(t))
	if err != nil {
		return 0, fmt.Errorf("delete old slack events: %w", err)
	}
	return res.RowsAffected()
}

// RememberSlackMessage stores m; remembering the same message for the same
// issue again updates its thread and URL instead of adding a row.
func (q *Queries) RememberSlackMessage(ctx context.Context, m *triage.SlackMessage) error {
	if m.ChannelID == "" || m.TS == "" {
		return triage.Errorf(triage.EINVALID, "a remembered Slack message needs a channel and a ts")
	}
	if m.Kind != triage.SlackMessageCard && m.Kind != triage.SlackMessageUnfurl {
		return triage.Errorf(triage.EINVALID, "unknown Slack message kind %q", m.Kind)
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = q.now().UTC().Truncate(time.Microsecond)
	}
	q.forgetMessages()
	err := q.q.QueryRowContext(ctx, `INSERT INTO slack_messages (issue_id, integration_id, channel_id, ts, thread_ts, kind, url, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (integration_id, channel_id, ts, issue_id) DO UPDATE SET
			thread_ts = excluded.thread_ts, kind = excluded.kind, url = excluded.url
		RETURNING id`,
		m.IssueID, m.IntegrationID, m.ChannelID, m.TS, m.ThreadTS, m.Kind, m.URL, micros(m.CreatedAt)).Scan(&m.ID)
	if err != nil {
		return translate(err, "Slack message")
	}
	return nil
}

// SlackMessagesForIssue lists the remembered messages about an issue,
// oldest first.
func (q *Queries) SlackMessagesForIssue(ctx context.Context, issueID int64) ([]*triage.SlackMessage, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, issue_id, integration_id, channel_id, ts, thread_ts, kind, url, created_at
		FROM slack_messages WHERE issue_id = $1 ORDER BY id`, issueID)
	if err != nil {
		return nil, fmt.Errorf("list slack messages of issue %d: %w", issueID, err)
	}
	defer rows.Close()
	var out []*triage.SlackMessage
	for rows.Next() {
		var m triage.SlackMessage
		var created int64
		if err := rows.Scan(&m.ID, &m.IssueID, &m.IntegrationID, &m.ChannelID, &m.TS, &m.ThreadTS, &m.Kind, &m.URL, &created); err != nil {
			return nil, err
		}
		m.CreatedAt = fromMicros(created)
		out = append(out, &m)
	}
	return out, rows.Err()
}

// SlackActionTarget is what an action from Slack needs before it may
// change an issue, read in one statement: the issue's organization and
// project, whether the workspace is attached to that organization, and who
// the Slack user is linked to.
type SlackActionTarget struct {
	IssueID     int64 // 0 when there is no such issue
	OrgID       int64
	OrgSlug     string
	ProjectID   int64
	ProjectSlug string
	Attached    bool
	UserID      int64 // 0 when the Slack user is not linked in the workspace
}

// SlackActionTarget returns the workspace with team id teamID and the
// target of an action by slackUser on issueID. It returns ENOTFOUND when
// no workspace has that team id; a missing issue or link is reported in
// the target, not as an error.
func (q *Queries) SlackActionTarget(ctx context.Context, teamID, slackUser string, issueID int64) (*triage.Integration, *SlackActionTarget, error) {
	st, err := q.prepared(ctx, `SELECT `+integrationCols+`,
		COALESCE(iss.id, 0), COALESCE(p.org_id, 0), COALESCE(o.slug, ''), COALESCE(p.id, 0), COALESCE(p.slug, ''),
		EXISTS (SELECT 1 FROM organization_integrations oi WHERE oi.org_id = p.org_id AND oi.integration_id = i.id),
		COALESCE((SELECT d.user_id FROM identities d WHERE d.integration_id = i.id AND d.external_id = $2), 0)
		FROM integrations i
		LEFT JOIN issues iss ON iss.id = $3
		LEFT JOIN projects p ON p.id = iss.project_id
		LEFT JOIN organizations o ON o.id = p.org_id
		WHERE i.provider = 'slack' AND i.external_id = $1`)
	if err != nil {
		return nil, nil, err
	}
	var t SlackActionTarget
	var extra scanExtra
	in, err := scanIntegration(extra.wrap(st.QueryRowContext(ctx, teamID, slackUser, issueID),
		&t.IssueID, &t.OrgID, &t.OrgSlug, &t.ProjectID, &t.ProjectSlug, &t.Attached, &t.UserID))
	if err != nil {
		return nil, nil, translate(err, "Slack workspace")
	}
	return in, &t, nil
}

// slackChangeTarget is issueForChange for the user the Slack user is
// linked to (none: no access), with the workspace, the link and whether
// the workspace is attached to the issue's organization joined in: a
// click's first read in its change's transaction. $1 is the issue, $2
// the workspace's team id, $3 the Slack user.
var slackChangeTarget = spliceSQL(spliceSQL(strings.ReplaceAll(issueForChange, "$2", "d.user_id"),
	"\n\tFROM issues i ", `,
	`+strings.ReplaceAll(integrationCols, "i.", "w.")+`, COALESCE(d.user_id, 0),
	EXISTS (SELECT 1 FROM organization_integrations oi WHERE oi.org_id = p.org_id AND oi.integration_id = w.id)
	FROM issues i `),
	" WHERE i.id = $1", `
	JOIN integrations w ON w.provider = 'slack' AND w.external_id = $2
	LEFT JOIN identities d ON d.integration_id = w.id AND d.external_id = $3
	WHERE i.id = $1`)

// SlackChangeTarget is SlackActionTarget and IssueForUser (with lock) in
// one statement, for a click that changes the issue: inside the change's
// transaction it reads the workspace, who the Slack user is linked to,
// whether the workspace is attached to the issue's organization, and the
// issue, locked, with that user's access to it (none when not linked).
// It returns ENOTFOUND when there is no such workspace or no such issue;
// SlackActionTarget then tells which.
func (q *Queries) SlackChangeTarget(ctx context.Context, teamID, slackUser string, issueID int64) (*triage.Integration, *SlackActionTarget, *triage.Issue, IssueAccess, error) {
	var acc IssueAccess
	if q.tx == nil {
		return nil, nil, nil, acc, fmt.Errorf("SlackChangeTarget outside a transaction")
	}
	query := slackChangeTarget
	if q.engine == Postgres {
		query += ` FOR UPDATE OF i`
	}
	st, err := q.prepared(ctx, query)
	if err != nil {
		return nil, nil, nil, acc, err
	}
	row := st.QueryRowContext(ctx, issueID, teamID, slackUser)
	var t SlackActionTarget
	var slackN int64
	var first slackMessageKey
	var issue *triage.Issue
	var extra scanExtra
	// The row is the issue's columns, its access and messages, then the
	// workspace's: scanIntegration's destinations go after the issue's.
	in, err := scanIntegration(scanFunc(func(wdest ...any) error {
		dest := append([]any{&acc.Member, &acc.Project, &slackN, &first.integrationID, &first.channelID, &first.ts}, wdest...)
		var err error
		issue, err = scanIssue(extra.wrap(row, append(dest, &t.UserID, &t.Attached)...))
		return err
	}))
	if err != nil {
		return nil, nil, nil, acc, translate(err, "Slack workspace or issue")
	}
	t.IssueID, t.OrgID, t.OrgSlug, t.ProjectID, t.ProjectSlug = issue.ID, issue.OrgID, issue.OrgSlug, issue.ProjectID, issue.ProjectSlug
	q.rememberMessages(issueID, slackN, first)
	return in, &t, issue, acc, nil
}

// scanFunc is a rowScanner made of a function.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// scanExtra appends destinations after the ones a scan function passes,
// so that a row holding more columns reuses that function.
type scanExtra struct {
	row  rowScanner
	more []any
}

func (e *scanExtra) wrap(row rowScanner, more ...any) *scanExtra {
	e.row, e.more = row, more
	return e
}

func (e *scanExtra) Scan(dest ...any) error { return e.row.Scan(append(dest, e.more...)...) }

// HasOtherSlackMessages tells whether the issue has a remembered message
// other than the one at (integrationID, channelID, ts); pass zero values to
// skip none. It lets a change skip queueing an update when there is nothing
// else to update.
func (q *Queries) HasOtherSlackMessages(ctx context.Context, issueID, integrationID int64, channelID, ts string) (bool, error) {
	if q.tx != nil {
		m, err := q.messagesOf(ctx, issueID)
		if err != nil {
			return false, err
		}
		for _, k := range m.slack {
			if k != (slackMessageKey{integrationID, channelID, ts}) {
				return true, nil
			}
		}
		return false, nil
	}
	st, err := q.prepared(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM slack_messages WHERE issue_id = $1
		AND NOT (integration_id = $2 AND channel_id = $3 AND ts = $4) LIMIT 1) x`)
	if err != nil {
		return false, err
	}
	var n int64
	if err := st.QueryRowContext(ctx, issueID, integrationID, channelID, ts).Scan(&n); err != nil {
		return false, fmt.Errorf("check slack messages of issue %d: %w", issueID, err)
	}
	return n > 0, nil
}

// ForgetSlackMessage stops updating a message (deleted, or in a channel
// Triage can no longer reach). Forgetting one that is gone is not an error.
func (q *Queries) ForgetSlackMessage(ctx context.Context, id int64) error {
	q.forgetMessages()
	if _, err := q.q.ExecContext(ctx, `DELETE FROM slack_messages WHERE id = $1`, id); err != nil {
		return fmt.Errorf("forget slack message %d: %w", id, err)
	}
	return nil
}

// SlackUserIDs maps each of the Triage users that is linked in the
// workspace to their Slack user id; users not linked there are absent.
func (q *Queries) SlackUserIDs(ctx context.Context, integrationID int64, userIDs []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(userIDs) == 0 {
		return out, nil
	}
	args, in := inList([]any{integrationID}, userIDs)
	rows, err := q.q.QueryContext(ctx, `SELECT user_id, external_id FROM identities
		WHERE integration_id = $1 AND user_id IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("list slack user ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var ext string
		if err := rows.Scan(&id, &ext); err != nil {
			return nil, err
		}
		out[id] = ext
	}
	return out, rows.Err()
}

// SlackCard is everything the Slack card of an issue shows.
type SlackCard struct {
	Issue      *triage.Issue
	HasRelease bool
	// Teams and Users may be assigned the issue.
	Teams []*triage.Team
	Users []*triage.User
	// Last is the issue's newest activity other than a note, nil when there
	// is none.
	Last *triage.Activity
	// SlackIDs maps the people the card names (the last actor and the
	// assignees) to their Slack user ids in the workspace, when linked.
	SlackIDs map[int64]string
}

// slackCardIssue is issueSelect with whether the project has a release and
// the newest activity (and its user) joined in; notes are not counted, as
// they change nothing the card shows.
var slackCardIssue = spliceSQL(issueSelect, "FROM issues i ",
	`, EXISTS (SELECT 1 FROM releases r WHERE r.project_id = i.project_id),
	COALESCE(la.id, 0), COALESCE(la.type, ''), la.user_id, COALESCE(la.source, ''), COALESCE(la.data, '{}'),
	COALESCE(la.created_at, 0), COALESCE(lu.email, ''), COALESCE(lu.name, '')
	FROM issues i `) + `
	LEFT JOIN activities la ON la.id = (SELECT MAX(a2.id) FROM activities a2 WHERE a2.issue_id = i.id AND a2.type <> 'note')
	LEFT JOIN users lu ON lu.id = la.user_id
	WHERE i.id = $1`

// SlackCard reads an issue's card for one workspace in two prepared
// statements (cards are rebuilt after every click). It returns ENOTFOUND
// when the issue does not exist. The teams and people are those of
// TeamsForProject and UsersWithProjectAccess.
func (q *Queries) SlackCard(ctx context.Context, integrationID, issueID int64) (*SlackCard, error) {
	st, err := q.prepared(ctx, slackCardIssue)
	if err != nil {
		return nil, err
	}
	c := &SlackCard{}
	var a triage.Activity
	var actType, source, data, email, name string
	var actUser *int64
	var created int64
	var extra scanExtra
	c.Issue, err = scanIssue(extra.wrap(st.QueryRowContext(ctx, issueID),
		&c.HasRelease, &a.ID, &actType, &actUser, &source, &data, &created, &email, &name))
	if err != nil {
		return nil, translate(err, "issue")
	}
	people := []int64{0, 0, 0}
	if a.ID != 0 {
		a.IssueID, a.Type, a.Source, a.CreatedAt = issueID, actType, triage.Source(source), fromMicros(created)
		if err := json.Unmarshal([]byte(data), &a.Data); err != nil {
			return nil, fmt.Errorf("decode activity %d: %w", a.ID, err)
		}
		if actUser != nil {
			a.User = &triage.User{ID: *actUser, Email: email, Name: name}
			people[0] = *actUser
		}
		if id, ok := a.Data["assignee"].(string); ok && a.Data["assigneeType"] == "user" {
			_, _ = fmt.Sscan(id, &people[1])
		}
		c.Last = &a
	}
	if as := c.Issue.Assignee; as != nil && as.Type == "user" {
		people[2] = as.ID
	}
	// The project's teams and the people with access (the assign menu) and
	// the Slack ids of the people the card names, in one more query.
	st, err = q.prepared(ctx, `
		SELECT 0, t.id, t.org_id, t.slug, t.name, FALSE, 0 FROM teams t JOIN project_teams pt ON pt.team_id = t.id
		WHERE pt.project_id = $1
		UNION ALL
		SELECT 1, u.id, 0, u.email, u.name, u.is_superuser, u.created_at FROM users u JOIN members m ON m.user_id = u.id
		JOIN projects p ON p.org_id = m.org_id AND p.id = $1
		WHERE `+projectAccess("m", "p", "u.id")+`
		UNION ALL
		SELECT 2, user_id, 0, external_id, '', FALSE, 0 FROM identities
		WHERE integration_id = $2 AND user_id IN ($3, $4, $5)
		ORDER BY 1, 4`)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, c.Issue.ProjectID, integrationID, people[0], people[1], people[2])
	if err != nil {
		return nil, fmt.Errorf("list the card's teams and people: %w", err)
	}
	defer rows.Close()
	c.SlackIDs = map[int64]string{}
	for rows.Next() {
		var kind, id, orgID, created int64
		var text, name string
		var superuser bool
		if err := rows.Scan(&kind, &id, &orgID, &text, &name, &superuser, &created); err != nil {
			return nil, err
		}
		switch kind {
		case 0:
			c.Teams = append(c.Teams, &triage.Team{ID: id, OrgID: orgID, Slug: text, Name: name})
		case 1:
			c.Users = append(c.Users, &triage.User{ID: id, Email: text, Name: name, IsSuperuser: superuser, CreatedAt: fromMicros(created)})
		case 2:
			c.SlackIDs[id] = text
		}
	}
	return c, rows.Err()
}
