package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"triage"
)

// Slack for each person (issue 17): direct-message settings, the issues a
// Home tab shows, and the few reads that find who a change concerns.

var _ triage.DMSettingsStore = (*Store)(nil)

// DMSettings returns the user's direct-message settings, the defaults
// (every kind on, every project) when they never changed them.
func (q *Queries) DMSettings(ctx context.Context, userID int64) (triage.DMSettings, error) {
	s := triage.DefaultDMSettings()
	var projects string
	err := q.q.QueryRowContext(ctx, `SELECT assigned, regressed, comments, projects FROM slack_dm_settings WHERE user_id = $1`, userID).
		Scan(&s.Assigned, &s.Regressed, &s.Comments, &projects)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	} else if err != nil {
		return s, fmt.Errorf("read dm settings of user %d: %w", userID, err)
	}
	for _, p := range strings.Split(projects, ",") {
		if id, err := strconv.ParseInt(p, 10, 64); err == nil && id > 0 {
			s.ProjectIDs = append(s.ProjectIDs, id)
		}
	}
	return s, nil
}

// SetDMSettings replaces the user's direct-message settings.
func (q *Queries) SetDMSettings(ctx context.Context, userID int64, s triage.DMSettings) error {
	ids := make([]string, len(s.ProjectIDs))
	for k, id := range s.ProjectIDs {
		ids[k] = strconv.FormatInt(id, 10)
	}
	_, err := q.q.ExecContext(ctx, `INSERT INTO slack_dm_settings (user_id, assigned, regressed, comments, projects, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (user_id) DO UPDATE SET assigned = excluded.assigned, regressed = excluded.regressed,
			comments = excluded.comments, projects = excluded.projects, updated_at = excluded.updated_at`,
		userID, s.Assigned, s.Regressed, s.Comments, strings.Join(ids, ","), micros(q.now()))
	if err != nil {
		return fmt.Errorf("save dm settings of user %d: %w", userID, err)
	}
	return nil
}

// SetHomeIssues records the issues a person's Home tab shows now,
// replacing what it showed before; call it in a transaction.
func (q *Queries) SetHomeIssues(ctx context.Context, integrationID int64, slackUser string, issueIDs []int64) error {
	if _, err := q.q.ExecContext(ctx, `DELETE FROM slack_home_issues WHERE integration_id = $1 AND slack_user_id = $2`, integrationID, slackUser); err != nil {
		return fmt.Errorf("forget home issues: %w", err)
	}
	for _, id := range issueIDs {
		if _, err := q.q.ExecContext(ctx, `INSERT INTO slack_home_issues (integration_id, slack_user_id, issue_id) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, integrationID, slackUser, id); err != nil {
			return fmt.Errorf("remember home issue: %w", err)
		}
	}
	return nil
}

// SlackPerson is one Slack user of one workspace: whose Home tab to
// publish, or whom to message.
type SlackPerson struct {
	IntegrationID int64
	SlackUserID   string
	UserID        int64
}

// HomeViewers lists the people whose published Home tab shows the issue.
func (q *Queries) HomeViewers(ctx context.Context, issueID int64) ([]SlackPerson, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT h.integration_id, h.slack_user_id, COALESCE(id.user_id, 0) FROM slack_home_issues h
		LEFT JOIN identities id ON id.integration_id = h.integration_id AND id.external_id = h.slack_user_id
		WHERE h.issue_id = $1 ORDER BY h.integration_id, h.slack_user_id`, issueID)
	return collect(rows, err, "list home viewers", scanSlackPerson)
}

func scanSlackPerson(row rowScanner) (SlackPerson, error) {
	var p SlackPerson
	err := row.Scan(&p.IntegrationID, &p.SlackUserID, &p.UserID)
	return p, err
}

// OrgSlackPeople lists the Slack identities of the users in the
// workspaces attached to the organization that are active.
func (q *Queries) OrgSlackPeople(ctx context.Context, orgID int64, userIDs []int64) ([]SlackPerson, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	args, in := inList([]any{orgID, triage.IntegrationActive}, userIDs)
	rows, err := q.q.QueryContext(ctx, `SELECT id.integration_id, id.external_id, id.user_id FROM identities id
		JOIN organization_integrations oi ON oi.integration_id = id.integration_id AND oi.org_id = $1
		JOIN integrations i ON i.id = id.integration_id AND i.status = $2
		WHERE id.user_id IN (`+in+`) ORDER BY id.integration_id, id.external_id`, args...)
	return collect(rows, err, "list slack people", scanSlackPerson)
}

// ProjectHasSlackPeople reports whether anyone is linked in an active
// Slack workspace attached to the project's organization (whose Home tab
// might show the project's issues).
func (q *Queries) ProjectHasSlackPeople(ctx context.Context, projectID int64) (bool, error) {
	var n int64
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM projects p
		JOIN organization_integrations oi ON oi.org_id = p.org_id
		JOIN integrations i ON i.id = oi.integration_id AND i.status = $2
		JOIN identities id ON id.integration_id = oi.integration_id
		WHERE p.id = $1 LIMIT 1) x`, projectID, triage.IntegrationActive).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("slack people of project %d: %w", projectID, err)
	}
	return n > 0, nil
}

// TeamMemberIDs lists the members of a team.
func (q *Queries) TeamMemberIDs(ctx context.Context, teamID int64) ([]int64, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id`, teamID)
	return collect(rows, err, "list team members", func(row rowScanner) (int64, error) {
		var id int64
		err := row.Scan(&id)
		return id, err
	})
}

// TeamsOfUser lists the organization's teams the user is a member of, by
// slug.
func (q *Queries) TeamsOfUser(ctx context.Context, orgID, userID int64) ([]*triage.Team, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT t.id, t.org_id, t.slug, t.name FROM teams t
		JOIN team_members tm ON tm.team_id = t.id AND tm.user_id = $2 WHERE t.org_id = $1 ORDER BY t.slug`, orgID, userID)
	return collect(rows, err, "list teams of user", func(row rowScanner) (*triage.Team, error) {
		var t triage.Team
		err := row.Scan(&t.ID, &t.OrgID, &t.Slug, &t.Name)
		return &t, err
	})
}

// LastResolver is who last resolved the issue (the newest resolution in
// its activity that a person made); 0 when nobody did.
func (q *Queries) LastResolver(ctx context.Context, issueID int64) (int64, error) {
	var id sql.NullInt64
	err := q.q.QueryRowContext(ctx, `SELECT user_id FROM activities WHERE issue_id = $1 AND type IN ($2, $3)
		AND user_id IS NOT NULL ORDER BY id DESC LIMIT 1`, issueID, triage.ActivitySetResolved, triage.ActivitySetResolvedInRel).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("read last resolver of issue %d: %w", issueID, err)
	}
	return id.Int64, nil
}

// RegressedIssues lists the organization's unresolved issues that
// regressed since a time, in projects the user may see, the most recently
// seen first.
func (q *Queries) RegressedIssues(ctx context.Context, orgID, userID int64, since time.Time, limit int) ([]*triage.Issue, error) {
	rows, err := q.q.QueryContext(ctx, issueSelect+` WHERE p.org_id = $1 AND i.status = $2
		AND EXISTS (SELECT 1 FROM activities a WHERE a.issue_id = i.id AND a.type = $3 AND a.created_at >= $4)
		AND EXISTS (SELECT 1 FROM members m WHERE m.org_id = p.org_id AND m.user_id = $5 AND `+projectAccess("m", "p", "$5")+`)
		ORDER BY i.last_seen DESC, i.id DESC LIMIT $6`,
		orgID, string(triage.StatusUnresolved), triage.ActivitySetRegression, micros(since), userID, limit)
	return collect(rows, err, "list regressed issues", scanIssue)
}

// MarkHomeIssue records, inside an issue change's transaction, that the
// issue's Home tabs need a look (seers: also everyone who sees its
// project), and reports when the caller must queue the sweep that takes
// the marks: a new mark finds the sweep queued (the one row of
// slack_home_sweep) or inserts that row with at, the time the caller will
// schedule the sweep for, and returns it. A change whose mark is there
// already costs one statement (it adds seers if asked). On PostgreSQL
// both upserts lock an existing row until the commit, even when they
// change nothing, so a sweep that takes the marks waits for this change
// and then sees it.
func (q *Queries) MarkHomeIssue(ctx context.Context, issueID int64, seers bool, at time.Time) (queue bool, err error) {
	var inserted bool
	err = q.q.QueryRowContext(ctx, `INSERT INTO slack_home_pending (issue_id, seers) VALUES ($1, $2)
		ON CONFLICT (issue_id) DO UPDATE SET seers = TRUE, inserted = FALSE WHERE excluded.seers AND NOT slack_home_pending.seers
		RETURNING inserted`, issueID, seers).Scan(&inserted)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !inserted) {
		return false, nil // marked already: a sweep is on its way
	} else if err != nil {
		return false, fmt.Errorf("mark home issue %d: %w", issueID, err)
	}
	var id int64
	err = q.q.QueryRowContext(ctx, `INSERT INTO slack_home_sweep (id, at) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET at = slack_home_sweep.at WHERE FALSE
		RETURNING id`, micros(at)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // a sweep is queued
	} else if err != nil {
		return false, fmt.Errorf("queue home sweep: %w", err)
	}
	return true, nil
}

// HomeMark is an issue whose Home tabs need a look.
type HomeMark struct {
	IssueID int64
	// Seers: also the tabs of everyone who sees the issue's project.
	Seers bool
}

// EndHomeSweep records that the queued sweep has started: a change that
// marks an issue after this commits queues the next one. Commit it before
// TakeHomeMarks, in a transaction of its own: on PostgreSQL it waits for
// the changes that found the sweep queued, and taking a mark waits for
// the changes that hold it, so doing both in one transaction could wait
// in a circle with a change that marks several issues.
func (q *Queries) EndHomeSweep(ctx context.Context) error {
	if _, err := q.q.ExecContext(ctx, `DELETE FROM slack_home_sweep`); err != nil {
		return fmt.Errorf("end home sweep: %w", err)
	}
	return nil
}

// TakeHomeMarks removes and returns every mark, in issue order; call it in
// a transaction, after EndHomeSweep. On PostgreSQL it locks the marks in
// ascending issue order, the order in which a bulk change marks its
// issues, so that the two cannot wait for each other in a circle.
func (q *Queries) TakeHomeMarks(ctx context.Context) ([]HomeMark, error) {
	query := `DELETE FROM slack_home_pending RETURNING issue_id, seers`
	if q.engine == Postgres {
		query = `DELETE FROM slack_home_pending WHERE issue_id IN
			(SELECT issue_id FROM slack_home_pending ORDER BY issue_id FOR UPDATE) RETURNING issue_id, seers`
	}
	rows, err := q.q.QueryContext(ctx, query)
	marks, err := collect(rows, err, "take home marks", func(row rowScanner) (HomeMark, error) {
		var m HomeMark
		err := row.Scan(&m.IssueID, &m.Seers)
		return m, err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(marks, func(a, b HomeMark) int { return cmp.Compare(a.IssueID, b.IssueID) })
	return marks, nil
}
