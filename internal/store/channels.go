package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"triage"
	"triage/internal/search"
)

// Slack channels that follow teams and projects (issue 17): team links,
// channel subscriptions (alert rules of kind subscription), the issue a
// card's thread belongs to, and the once-only link prompt.

func scanTeamChannel(row rowScanner) (*triage.TeamChannel, error) {
	var tc triage.TeamChannel
	var created int64
	if err := row.Scan(&tc.TeamID, &tc.TeamSlug, &tc.IntegrationID, &tc.ChannelID, &tc.ChannelName, &tc.LinkedBy, &created); err != nil {
		return nil, err
	}
	tc.CreatedAt = fromMicros(created)
	return &tc, nil
}

const teamChannelSelect = `SELECT tc.team_id, t.slug, tc.integration_id, tc.channel_id, tc.channel_name,
	COALESCE(tc.linked_by, 0), tc.created_at FROM team_channels tc JOIN teams t ON t.id = tc.team_id`

// LinkTeamChannel sends the team's notifications to the channel, in place
// of any channel it had.
func (q *Queries) LinkTeamChannel(ctx context.Context, tc *triage.TeamChannel) error {
	var by *int64
	if tc.LinkedBy != 0 {
		by = &tc.LinkedBy
	}
	tc.CreatedAt = q.now().UTC().Truncate(time.Microsecond)
	_, err := q.q.ExecContext(ctx, `INSERT INTO team_channels (team_id, integration_id, channel_id, channel_name, linked_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (team_id) DO UPDATE SET integration_id = excluded.integration_id,
		channel_id = excluded.channel_id, channel_name = excluded.channel_name, linked_by = excluded.linked_by,
		created_at = excluded.created_at`,
		tc.TeamID, tc.IntegrationID, tc.ChannelID, tc.ChannelName, by, micros(tc.CreatedAt))
	if err != nil {
		return fmt.Errorf("link team %d to a channel: %w", tc.TeamID, err)
	}
	return nil
}

// UnlinkTeamChannel stops sending the team's notifications to the
// channel; it reports whether the team was linked there.
func (q *Queries) UnlinkTeamChannel(ctx context.Context, teamID, integrationID int64, channelID string) (bool, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM team_channels WHERE team_id = $1 AND integration_id = $2 AND channel_id = $3`,
		teamID, integrationID, channelID)
	if err != nil {
		return false, fmt.Errorf("unlink team %d: %w", teamID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// TeamChannelsIn lists the teams linked to a channel, by slug.
func (q *Queries) TeamChannelsIn(ctx context.Context, integrationID int64, channelID string) ([]*triage.TeamChannel, error) {
	rows, err := q.q.QueryContext(ctx, teamChannelSelect+` WHERE tc.integration_id = $1 AND tc.channel_id = $2 ORDER BY t.slug`,
		integrationID, channelID)
	return collect(rows, err, "list teams of a channel", scanTeamChannel)
}

// TeamChannelsForOrg lists the organization's linked teams, by slug.
func (q *Queries) TeamChannelsForOrg(ctx context.Context, orgID int64) ([]*triage.TeamChannel, error) {
	rows, err := q.q.QueryContext(ctx, teamChannelSelect+` WHERE t.org_id = $1 ORDER BY t.slug`, orgID)
	return collect(rows, err, "list team channels", scanTeamChannel)
}

// TeamChannel returns the team's channel; ENOTFOUND when it has none.
func (q *Queries) TeamChannel(ctx context.Context, teamID int64) (*triage.TeamChannel, error) {
	tc, err := scanTeamChannel(q.q.QueryRowContext(ctx, teamChannelSelect+` WHERE tc.team_id = $1`, teamID))
	return tc, translate(err, "team channel")
}

// ProjectTeamChannels lists the channels, in one workspace, of the teams
// that own the project, by team slug.
func (q *Queries) ProjectTeamChannels(ctx context.Context, projectID, integrationID int64) ([]*triage.TeamChannel, error) {
	rows, err := q.q.QueryContext(ctx, teamChannelSelect+` JOIN project_teams pt ON pt.team_id = tc.team_id
		WHERE pt.project_id = $1 AND tc.integration_id = $2 ORDER BY t.slug`, projectID, integrationID)
	return collect(rows, err, "list team channels of a project", scanTeamChannel)
}

// Subscription is a channel subscription with the project it follows.
type Subscription struct {
	Rule        *triage.AlertRule
	ProjectSlug string
	OrgID       int64
	OrgSlug     string
}

func (q *Queries) subscriptions(ctx context.Context, where string, args ...any) ([]*Subscription, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+alertRuleCols("r.")+`, p.slug, p.org_id, o.slug FROM alert_rules r
		JOIN projects p ON p.id = r.project_id JOIN organizations o ON o.id = p.org_id
		WHERE r.kind = 'subscription' AND `+where+` ORDER BY p.slug, r.id`, args...)
	return collect(rows, err, "list subscriptions", func(row rowScanner) (*Subscription, error) {
		var s Subscription
		r, err := scanAlertRule(row, &s.ProjectSlug, &s.OrgID, &s.OrgSlug)
		if err != nil {
			return nil, err
		}
		s.Rule = r
		return &s, nil
	})
}

// ChannelSubscriptions lists a channel's subscriptions, by project slug.
func (q *Queries) ChannelSubscriptions(ctx context.Context, integrationID int64, channelID string) ([]*Subscription, error) {
	return q.subscriptions(ctx, `r.integration_id = $1 AND r.channel_id = $2`, integrationID, channelID)
}

// OrgSubscriptions lists the subscriptions to the organization's projects.
func (q *Queries) OrgSubscriptions(ctx context.Context, orgID int64) ([]*Subscription, error) {
	return q.subscriptions(ctx, `p.org_id = $1`, orgID)
}

// SubscriptionByID returns ENOTFOUND when there is no such subscription.
func (q *Queries) SubscriptionByID(ctx context.Context, id int64) (*Subscription, error) {
	list, err := q.subscriptions(ctx, `r.id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, triage.Errorf(triage.ENOTFOUND, "subscription not found")
	}
	return list[0], nil
}

// DeleteSubscription removes a subscription; ENOTFOUND if there is none.
func (q *Queries) DeleteSubscription(ctx context.Context, id int64) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM alert_rules WHERE id = $1 AND kind = 'subscription'`, id)
	if err != nil {
		return fmt.Errorf("delete subscription %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "subscription not found")
	}
	return nil
}

// CardIssues lists the issues whose card (a message Triage posted) is the
// message at ts in the channel: the issue a thread under it is about.
func (q *Queries) CardIssues(ctx context.Context, integrationID int64, channelID, ts string) ([]int64, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT DISTINCT issue_id FROM slack_messages WHERE integration_id = $1
		AND channel_id = $2 AND ts = $3 AND kind = 'card' AND thread_ts = '' ORDER BY issue_id`, integrationID, channelID, ts)
	return collect(rows, err, "find the issue of a card", func(r rowScanner) (int64, error) {
		var id int64
		err := r.Scan(&id)
		return id, err
	})
}

// FirstLinkPrompt records that the Slack user was offered the link, and
// reports whether this is the first time.
func (q *Queries) FirstLinkPrompt(ctx context.Context, integrationID int64, slackUserID string) (bool, error) {
	res, err := q.q.ExecContext(ctx, `INSERT INTO slack_link_prompts (integration_id, slack_user_id, created_at)
		VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, integrationID, slackUserID, micros(q.now()))
	if err != nil {
		return false, fmt.Errorf("record link prompt: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// IssueMatches tells whether the issue matches the search query, as the
// issue list would show it to userID (who assigned:me means).
func (q *Queries) IssueMatches(ctx context.Context, issue *triage.Issue, query search.Query, userID int64) (bool, error) {
	b, err := issueSearchWhere(search.Request{OrgID: issue.OrgID, Query: query, UserID: userID}, true)
	if err != nil {
		return false, err
	}
	if b.tags {
		if err := q.settleCounts(ctx); err != nil {
			return false, err
		}
	}
	conds := append(b.conds, "i.id = "+b.arg(issue.ID))
	var n int64
	err = q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM issues i JOIN projects p ON p.id = i.project_id WHERE `+
		strings.Join(conds, " AND "), b.args...).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("match issue %d: %w", issue.ID, err)
	}
	return n > 0, nil
}

// CreateTeamNotification records one pending notification that belongs to
// no rule (an issue assigned to a team, for the team's channel; cause says
// which change) and claims the issue's card in the channel for it. It
// returns 0 when the channel already has the issue's card, claimed or
// posted: that card's thread hears of the change instead.
func (q *Queries) CreateTeamNotification(ctx context.Context, n *triage.AlertNotification) (int64, error) {
	q.forgetMessages()
	var held int64
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM alert_cards WHERE issue_id = $1 AND integration_id = $2 AND channel_id = $3`,
		n.IssueID, n.IntegrationID, n.ChannelID).Scan(&held)
	if err != nil {
		return 0, fmt.Errorf("check card of issue %d: %w", n.IssueID, err)
	}
	if held > 0 {
		return 0, nil
	}
	err = q.q.QueryRowContext(ctx, `INSERT INTO alert_notifications (rule_id, issue_id, cause, integration_id, channel_id, created_at)
		VALUES (NULL, $1, $2, $3, $4, $5) RETURNING id`, n.IssueID, n.Cause, n.IntegrationID, n.ChannelID, micros(q.now())).Scan(&n.ID)
	if err != nil {
		return 0, fmt.Errorf("record team notification: %w", err)
	}
	return n.ID, q.claimCards(ctx, []cardClaim{{IssueID: n.IssueID, IntegrationID: n.IntegrationID, ChannelID: n.ChannelID, NotificationID: n.ID}})
}
