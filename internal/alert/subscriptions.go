package alert

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"triage"
	"triage/internal/search"
	"triage/internal/store"
)

// Channels that follow projects and teams (issue 17). A subscription
// (/triage subscribe) is stored as an alert rule of kind subscription, so
// that its messages go through the rules' delivery: the notification
// ledger, the pacing per channel and workspace, Retry-After, one live card
// per issue and channel, and "broken" with the reason when Slack refuses.
// A team linked to a channel (/triage link team) gets the issues assigned
// to it there (notifyTeam), and the alerts of rules with the team target.

// ChannelRef is the Slack channel a command was typed in.
type ChannelRef struct {
	IntegrationID int64
	ChannelID     string
	ChannelName   string
}

// Subscription is a channel subscription as Slack and the settings page
// show it.
type Subscription struct {
	ID            int64
	OrgSlug       string
	ProjectSlug   string
	Query         string
	IntegrationID int64
	ChannelID     string
	ChannelName   string
	Status        string
	Reason        string
	Hint          string
}

// MaxQueryLength bounds a subscription's query.
const MaxQueryLength = 500

func subscriptionView(sub *store.Subscription) *Subscription {
	r := sub.Rule
	v := &Subscription{ID: r.ID, OrgSlug: sub.OrgSlug, ProjectSlug: sub.ProjectSlug, Query: r.Query,
		IntegrationID: r.IntegrationID, ChannelID: r.ChannelID, ChannelName: r.ChannelName, Status: r.ActionStatus, Reason: r.ActionReason}
	if v.Status == triage.AlertActionBroken {
		v.Hint = reasonHint(v.Reason, "")
	}
	return v
}

// subscriptionMatches tells whether a subscription wants the issue: a new
// or regressed issue that its query matches, as its subscriber would see
// it in the issue list (who may still see the project).
func (s *Service) subscriptionMatches(ctx context.Context, trig Trigger, issue *triage.Issue, r *triage.AlertRule) (bool, error) {
	if trig != TriggerCreated && trig != TriggerRegressed {
		return false, nil
	}
	q, err := search.Parse(r.Query, s.now())
	if err != nil {
		s.log.Error("subscription has an unreadable query", "rule_id", r.ID, "err", err)
		return false, nil
	}
	return s.store.IssueMatches(ctx, issue, q, r.CreatedBy)
}

// parseQuery checks a subscription's query with the search syntax; a bad
// one is EINVALID with the parser's message.
func (s *Service) parseQuery(query string) (string, error) {
	query = strings.TrimSpace(query)
	if n := utf8.RuneCountInString(query); n > MaxQueryLength {
		return "", triage.Errorf(triage.EINVALID, "the query is %d characters long: at most %d", n, MaxQueryLength)
	}
	if _, err := search.Parse(query, s.now()); err != nil {
		var se *search.Error
		if errors.As(err, &se) {
			return "", triage.Errorf(triage.EINVALID, "%s", se.Error())
		}
		return "", triage.Errorf(triage.EINVALID, "%s", err.Error())
	}
	return query, nil
}

// workspaceOrgs lists the organizations the workspace serves that the user
// is a member of.
func (s *Service) workspaceOrgs(ctx context.Context, userID, integrationID int64) ([]*triage.Organization, error) {
	orgs, err := s.store.OrganizationsForIntegration(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	return s.acc.VisibleOrgs(ctx, userID, orgs)
}

// findProject resolves "project" or "org/project" among the organizations
// the workspace serves that the user is in. It returns ENOTFOUND when
// there is none, EINVALID when the slug is in several of them, and
// EFORBIDDEN (saying why) when the user may not see the project.
func (s *Service) findProject(ctx context.Context, userID, integrationID int64, name string) (*triage.Organization, *triage.Project, error) {
	orgSlug, projectSlug, qualified := strings.Cut(strings.TrimSpace(name), "/")
	if !qualified {
		projectSlug, orgSlug = orgSlug, ""
	}
	orgs, err := s.workspaceOrgs(ctx, userID, integrationID)
	if err != nil {
		return nil, nil, err
	}
	var found []*triage.Organization
	for _, o := range orgs {
		if orgSlug != "" && o.Slug != orgSlug {
			continue
		}
		if _, err := s.store.ProjectBySlug(ctx, o.ID, projectSlug); err == nil {
			found = append(found, o)
		} else if triage.ErrorCode(err) != triage.ENOTFOUND {
			return nil, nil, err
		}
	}
	switch len(found) {
	case 0:
		return nil, nil, triage.Errorf(triage.ENOTFOUND, "There is no project %q in the Triage organizations this Slack workspace serves that you belong to.", name)
	case 1:
	default:
		return nil, nil, triage.Errorf(triage.EINVALID, "Several organizations have a project %q: name it as organization/project, e.g. %s/%s.", projectSlug, found[0].Slug, projectSlug)
	}
	org, _, p, err := s.acc.Project(ctx, userID, found[0].Slug, projectSlug)
	if triage.ErrorCode(err) == triage.EFORBIDDEN {
		return nil, nil, triage.Errorf(triage.EFORBIDDEN, "You do not have access to project %s: ask an owner or admin of %s to add you to a team that owns it.", projectSlug, found[0].Name)
	} else if err != nil {
		return nil, nil, err
	}
	return org, p, nil
}

// channelError turns a refused channel check into a sentence for Slack.
func channelError(err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return triage.Errorf(triage.EINVALID, "%s", fe.Reason)
	}
	return err
}

// Subscribe makes the channel follow the project's new and regressed
// issues that match query (empty: all of them); subscribing again changes
// the query. Anyone who may see the project may subscribe a channel. It
// returns the errors of findProject, and EINVALID for a bad query (the
// parser's message) or a channel Triage cannot post to (with the hint).
func (s *Service) Subscribe(ctx context.Context, userID int64, ch ChannelRef, project, query string) (*Subscription, error) {
	query, err := s.parseQuery(query)
	if err != nil {
		return nil, err
	}
	org, p, err := s.findProject(ctx, userID, ch.IntegrationID, project)
	if err != nil {
		return nil, err
	}
	c, err := s.checkChannel(ctx, org, ch.IntegrationID, ch.ChannelID)
	if err != nil {
		return nil, channelError(err)
	}
	name := c.Name
	if name == "" {
		name = ch.ChannelName
	}
	existing, err := s.channelSubscription(ctx, ch, p.ID)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		r := existing.Rule
		r.Query, r.ChannelName = query, name
		if err := s.store.UpdateAlertRule(ctx, r); err != nil {
			return nil, err
		}
	} else {
		r := &triage.AlertRule{ProjectID: p.ID, Name: "Subscription of #" + name, Conditions: "{}", IntegrationID: ch.IntegrationID,
			ChannelID: c.ID, ChannelName: name, ThrottleMinutes: 0, Thread: true, CreatedBy: userID,
			Kind: triage.AlertRuleKindSubscription, Query: query, Target: triage.AlertTargetChannel}
		if err := s.store.CreateAlertRule(ctx, r); err != nil {
			return nil, err
		}
	}
	s.forgetEventRules(p.ID)
	s.log.Info("channel subscribed", "project", p.Slug, "integration_id", ch.IntegrationID, "channel", ch.ChannelID, "user_id", userID)
	return &Subscription{OrgSlug: org.Slug, ProjectSlug: p.Slug, Query: query, IntegrationID: ch.IntegrationID,
		ChannelID: c.ID, ChannelName: name, Status: triage.AlertActionOK}, nil
}

func (s *Service) channelSubscription(ctx context.Context, ch ChannelRef, projectID int64) (*store.Subscription, error) {
	subs, err := s.store.ChannelSubscriptions(ctx, ch.IntegrationID, ch.ChannelID)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		if sub.Rule.ProjectID == projectID {
			return sub, nil
		}
	}
	return nil, nil
}

// Unsubscribe stops the channel following the project. It returns the
// errors of findProject, and ENOTFOUND when the channel does not follow it.
func (s *Service) Unsubscribe(ctx context.Context, userID int64, ch ChannelRef, project string) (*Subscription, error) {
	_, p, err := s.findProject(ctx, userID, ch.IntegrationID, project)
	if err != nil {
		return nil, err
	}
	sub, err := s.channelSubscription(ctx, ch, p.ID)
	if err != nil {
		return nil, err
	}
	if sub == nil {
		return nil, triage.Errorf(triage.ENOTFOUND, "This channel is not subscribed to %s.", p.Slug)
	}
	if err := s.store.DeleteSubscription(ctx, sub.Rule.ID); err != nil {
		return nil, err
	}
	s.forgetEventRules(p.ID)
	return subscriptionView(sub), nil
}

// ChannelFollows lists what the channel gets: its subscriptions and the
// teams linked to it, in the organizations the user is a member of.
func (s *Service) ChannelFollows(ctx context.Context, userID int64, ch ChannelRef) ([]*Subscription, []*triage.TeamChannel, error) {
	orgs, err := s.workspaceOrgs(ctx, userID, ch.IntegrationID)
	if err != nil {
		return nil, nil, err
	}
	mine := map[int64]bool{}
	for _, o := range orgs {
		mine[o.ID] = true
	}
	subs, err := s.store.ChannelSubscriptions(ctx, ch.IntegrationID, ch.ChannelID)
	if err != nil {
		return nil, nil, err
	}
	var out []*Subscription
	for _, sub := range subs {
		if mine[sub.OrgID] {
			out = append(out, subscriptionView(sub))
		}
	}
	teams, err := s.store.TeamChannelsIn(ctx, ch.IntegrationID, ch.ChannelID)
	if err != nil {
		return nil, nil, err
	}
	var tcs []*triage.TeamChannel
	for _, tc := range teams {
		t, err := s.store.TeamByID(ctx, tc.TeamID)
		if err != nil {
			return nil, nil, err
		}
		if mine[t.OrgID] {
			tcs = append(tcs, tc)
		}
	}
	return out, tcs, nil
}

// findTeam resolves "team" or "org/team" among the organizations the
// workspace serves that the user is in, and checks that the user may
// link or unlink it (doing): an owner or admin of its organization or an
// admin of the team (access.RequireTeamAdmin; EFORBIDDEN, saying so).
func (s *Service) findTeam(ctx context.Context, userID, integrationID int64, name, doing string) (*triage.Organization, *triage.Team, error) {
	name = strings.TrimPrefix(strings.TrimSpace(name), "#")
	orgSlug, teamSlug, qualified := strings.Cut(name, "/")
	if !qualified {
		teamSlug, orgSlug = orgSlug, ""
	}
	orgs, err := s.workspaceOrgs(ctx, userID, integrationID)
	if err != nil {
		return nil, nil, err
	}
	var org *triage.Organization
	var team *triage.Team
	for _, o := range orgs {
		if orgSlug != "" && o.Slug != orgSlug {
			continue
		}
		t, err := s.store.TeamBySlug(ctx, o.ID, teamSlug)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, nil, err
		}
		if team != nil {
			return nil, nil, triage.Errorf(triage.EINVALID, "Several organizations have a team %q: name it as organization/team, e.g. %s/%s.", teamSlug, org.Slug, teamSlug)
		}
		org, team = o, t
	}
	if team == nil {
		return nil, nil, triage.Errorf(triage.ENOTFOUND, "There is no team %q in the Triage organizations this Slack workspace serves that you belong to.", name)
	}
	_, m, err := s.acc.OrgByID(ctx, userID, org.ID)
	if err != nil {
		return nil, nil, err
	}
	if err := s.acc.RequireTeamAdmin(ctx, org, m, team, doing); err != nil {
		return nil, nil, err
	}
	return org, team, nil
}

// LinkTeam sends the team's notifications (issues assigned to it, and
// the alerts of its projects' rules with the team target) to the channel,
// in place of any channel it had. It returns the errors of findTeam, and
// EINVALID for a channel Triage cannot post to (with the hint).
func (s *Service) LinkTeam(ctx context.Context, userID int64, ch ChannelRef, team string) (*triage.TeamChannel, error) {
	org, t, err := s.findTeam(ctx, userID, ch.IntegrationID, team, "send a team's notifications to a Slack channel")
	if err != nil {
		return nil, err
	}
	c, err := s.checkChannel(ctx, org, ch.IntegrationID, ch.ChannelID)
	if err != nil {
		return nil, channelError(err)
	}
	name := c.Name
	if name == "" {
		name = ch.ChannelName
	}
	tc := &triage.TeamChannel{TeamID: t.ID, TeamSlug: t.Slug, IntegrationID: ch.IntegrationID, ChannelID: c.ID, ChannelName: name, LinkedBy: userID}
	if err := s.store.LinkTeamChannel(ctx, tc); err != nil {
		return nil, err
	}
	s.log.Info("team linked to a channel", "team_id", t.ID, "integration_id", ch.IntegrationID, "channel", c.ID, "user_id", userID)
	return tc, nil
}

// UnlinkTeam stops sending a team's notifications to the channel: the one
// named, or, with team empty, every team linked there. It returns the
// slugs of the teams unlinked; ENOTFOUND when no such team is linked here,
// and the errors of findTeam.
func (s *Service) UnlinkTeam(ctx context.Context, userID int64, ch ChannelRef, team string) ([]string, error) {
	var targets []*triage.Team
	if strings.TrimSpace(team) != "" {
		_, t, err := s.findTeam(ctx, userID, ch.IntegrationID, team, "stop a team's notifications in a Slack channel")
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	} else {
		_, linked, err := s.ChannelFollows(ctx, userID, ch)
		if err != nil {
			return nil, err
		}
		for _, tc := range linked {
			t, err := s.store.TeamByID(ctx, tc.TeamID)
			if err != nil {
				return nil, err
			}
			org, m, err := s.acc.OrgByID(ctx, userID, t.OrgID)
			if err != nil {
				return nil, err
			}
			if err := s.acc.RequireTeamAdmin(ctx, org, m, t, "stop a team's notifications in a Slack channel"); err != nil {
				return nil, err
			}
			targets = append(targets, t)
		}
	}
	var done []string
	for _, t := range targets {
		ok, err := s.store.UnlinkTeamChannel(ctx, t.ID, ch.IntegrationID, ch.ChannelID)
		if err != nil {
			return nil, err
		}
		if ok {
			done = append(done, t.Slug)
		}
	}
	if len(done) == 0 {
		return nil, triage.Errorf(triage.ENOTFOUND, "No team of yours sends its notifications to this channel.")
	}
	return done, nil
}

// OrgFollows lists, for the organization's Slack settings, the channel
// subscriptions to the projects the user may see and the teams linked to
// channels. The caller has checked the user's membership (access.Org).
func (s *Service) OrgFollows(ctx context.Context, userID int64, org *triage.Organization) ([]*Subscription, []*triage.TeamChannel, error) {
	projects, err := s.acc.VisibleProjects(ctx, userID, org.ID)
	if err != nil {
		return nil, nil, err
	}
	visible := map[int64]bool{}
	for _, p := range projects {
		visible[p.ID] = true
	}
	subs, err := s.store.OrgSubscriptions(ctx, org.ID)
	if err != nil {
		return nil, nil, err
	}
	var out []*Subscription
	for _, sub := range subs {
		if visible[sub.Rule.ProjectID] {
			out = append(out, subscriptionView(sub))
		}
	}
	teams, err := s.store.TeamChannelsForOrg(ctx, org.ID)
	if err != nil {
		return nil, nil, err
	}
	return out, teams, nil
}

// orgSubscription loads a subscription of org for a user who may see its
// project: ENOTFOUND for another organization's, EFORBIDDEN otherwise.
func (s *Service) orgSubscription(ctx context.Context, userID int64, org *triage.Organization, id int64) (*store.Subscription, error) {
	sub, err := s.store.SubscriptionByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if sub.OrgID != org.ID {
		return nil, triage.Errorf(triage.ENOTFOUND, "subscription not found")
	}
	ok, err := s.acc.CanSeeProject(ctx, userID, sub.Rule.ProjectID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, triage.Errorf(triage.EFORBIDDEN, "you do not have access to project %s", sub.ProjectSlug)
	}
	return sub, nil
}

// UpdateSubscription changes a subscription's query (anyone who may see
// its project, as in Slack). It returns ENOTFOUND, EFORBIDDEN, or EINVALID
// with the parser's message.
func (s *Service) UpdateSubscription(ctx context.Context, userID int64, org *triage.Organization, id int64, query string) error {
	query, err := s.parseQuery(query)
	if err != nil {
		return err
	}
	sub, err := s.orgSubscription(ctx, userID, org, id)
	if err != nil {
		return err
	}
	sub.Rule.Query = query
	if err := s.store.UpdateAlertRule(ctx, sub.Rule); err != nil {
		return err
	}
	s.forgetEventRules(sub.Rule.ProjectID)
	return nil
}

// DeleteSubscription removes a subscription, as /triage unsubscribe does.
func (s *Service) DeleteSubscription(ctx context.Context, userID int64, org *triage.Organization, id int64) error {
	sub, err := s.orgSubscription(ctx, userID, org, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteSubscription(ctx, id); err != nil {
		return err
	}
	s.forgetEventRules(sub.Rule.ProjectID)
	return nil
}
