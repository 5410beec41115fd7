package store_test

import (
	"context"
	"testing"
	"time"

	"triage"
	"triage/internal/search"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestSubscriptionsAreRulesOfTheirOwn: a subscription is kept with the
// rules (so that delivery treats both alike) but never appears among the
// project's rules, cannot be read or deleted as one, and is listed per
// channel and per organization.
func TestSubscriptionsAreRulesOfTheirOwn(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := alertSetup(t, s)
		rule := &triage.AlertRule{ProjectID: f.project.ID, Name: "rule", Conditions: `{}`, IntegrationID: f.integration.ID, ChannelID: "C1"}
		sub := &triage.AlertRule{ProjectID: f.project.ID, Name: "sub", Conditions: `{}`, IntegrationID: f.integration.ID, ChannelID: "C2",
			ChannelName: "checkout", Thread: true, Kind: triage.AlertRuleKindSubscription, Query: "level:error"}
		for _, r := range []*triage.AlertRule{rule, sub} {
			if err := s.CreateAlertRule(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		rules, err := s.AlertRules(ctx, f.project.ID)
		if err != nil || len(rules) != 1 || rules[0].ID != rule.ID || rules[0].Kind != triage.AlertRuleKindRule || rules[0].Target != triage.AlertTargetChannel {
			t.Errorf("rules %+v, %v: want only the rule", rules, err)
		}
		all, err := s.ProjectNotifiers(ctx, f.project.ID)
		if err != nil || len(all) != 2 || all[1].Query != "level:error" || all[1].Kind != triage.AlertRuleKindSubscription {
			t.Errorf("notifiers %+v, %v", all, err)
		}
		if _, err := s.AlertRule(ctx, f.project.ID, sub.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("a subscription read as a rule: %v", err)
		}
		if err := s.DeleteAlertRule(ctx, f.project.ID, sub.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("a subscription deleted as a rule: %v", err)
		}
		in, err := s.ChannelSubscriptions(ctx, f.integration.ID, "C2")
		if err != nil || len(in) != 1 || in[0].ProjectSlug != "web" || in[0].OrgSlug != "acme" || in[0].Rule.ChannelName != "checkout" {
			t.Errorf("channel subscriptions %+v, %v", in, err)
		}
		if in, _ := s.ChannelSubscriptions(ctx, f.integration.ID, "C1"); len(in) != 0 {
			t.Errorf("the rule's channel lists %d subscriptions", len(in))
		}
		byOrg, err := s.OrgSubscriptions(ctx, f.project.OrgID)
		if err != nil || len(byOrg) != 1 {
			t.Errorf("org subscriptions %+v, %v", byOrg, err)
		}
		if err := s.DeleteSubscription(ctx, rule.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("a rule deleted as a subscription: %v", err)
		}
		if err := s.DeleteSubscription(ctx, sub.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SubscriptionByID(ctx, sub.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("deleted subscription: %v", err)
		}
	})
}

// TestTeamChannelsCardsAndPrompts: a team has one channel (linking again
// moves it), the project's teams' channels are found per workspace, a
// card's thread leads to its issue, the link prompt is offered once, and
// a search query is judged against one issue.
func TestTeamChannelsCardsAndPrompts(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := alertSetup(t, s)
		team, err := s.CreateTeam(ctx, f.project.OrgID, "core", "Core")
		if err != nil {
			t.Fatal(err)
		}
		api, err := s.CreateProject(ctx, f.project.OrgID, "api", "API", team.ID)
		if err != nil {
			t.Fatal(err)
		}
		link := func(channel string) {
			t.Helper()
			if err := s.LinkTeamChannel(ctx, &triage.TeamChannel{TeamID: team.ID, IntegrationID: f.integration.ID, ChannelID: channel, ChannelName: channel}); err != nil {
				t.Fatal(err)
			}
		}
		link("C1")
		link("C4")
		tc, err := s.TeamChannel(ctx, team.ID)
		if err != nil || tc.ChannelID != "C4" || tc.TeamSlug != "core" {
			t.Errorf("team channel %+v, %v", tc, err)
		}
		if in, _ := s.TeamChannelsIn(ctx, f.integration.ID, "C1"); len(in) != 0 {
			t.Errorf("the old channel still has %d teams", len(in))
		}
		if chans, err := s.ProjectTeamChannels(ctx, api.ID, f.integration.ID); err != nil || len(chans) != 1 || chans[0].ChannelID != "C4" {
			t.Errorf("project team channels %+v, %v", chans, err)
		}
		if chans, _ := s.ProjectTeamChannels(ctx, f.project.ID, f.integration.ID); len(chans) != 0 {
			t.Errorf("a project the team does not own finds %d team channels", len(chans))
		}
		if chans, _ := s.ProjectTeamChannels(ctx, api.ID, f.integration.ID+1); len(chans) != 0 {
			t.Errorf("another workspace finds %d team channels", len(chans))
		}
		if ok, err := s.UnlinkTeamChannel(ctx, team.ID, f.integration.ID, "C1"); err != nil || ok {
			t.Errorf("unlink from a channel it is not in: %v %v", ok, err)
		}
		if ok, err := s.UnlinkTeamChannel(ctx, team.ID, f.integration.ID, "C4"); err != nil || !ok {
			t.Errorf("unlink: %v %v", ok, err)
		}
		if _, err := s.TeamChannel(ctx, team.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("unlinked team channel: %v", err)
		}

		for _, m := range []*triage.SlackMessage{
			{IssueID: f.issue.ID, IntegrationID: f.integration.ID, ChannelID: "C4", TS: "1.000001", Kind: triage.SlackMessageCard},
			{IssueID: f.other.ID, IntegrationID: f.integration.ID, ChannelID: "C4", TS: "1.000002", ThreadTS: "1.000001", Kind: triage.SlackMessageCard},
			{IssueID: f.other.ID, IntegrationID: f.integration.ID, ChannelID: "C4", TS: "1.000003", Kind: triage.SlackMessageUnfurl, URL: "https://x/"},
		} {
			if err := s.RememberSlackMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		for ts, want := range map[string]int64{"1.000001": f.issue.ID, "1.000002": 0, "1.000003": 0} {
			ids, err := s.CardIssues(ctx, f.integration.ID, "C4", ts)
			if err != nil || (want == 0) != (len(ids) == 0) || (want != 0 && ids[0] != want) {
				t.Errorf("thread %s: issues %v, %v; want %d (only a card at the top of the channel has a thread of its own)", ts, ids, err, want)
			}
		}

		for k, want := range []bool{true, false} {
			if first, err := s.FirstLinkPrompt(ctx, f.integration.ID, "U9"); err != nil || first != want {
				t.Errorf("prompt %d: %v %v, want %v", k, first, err, want)
			}
		}

		issue, err := s.IssueByID(ctx, f.issue.ID)
		if err != nil {
			t.Fatal(err)
		}
		for q, want := range map[string]bool{"": true, "A": true, "B": false, "is:resolved": false, "!A": false} {
			query, err := search.Parse(q, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got, err := s.IssueMatches(ctx, issue, query, 0); err != nil || got != want {
				t.Errorf("query %q matches issue A: %v %v, want %v", q, got, err, want)
			}
		}
	})
}
