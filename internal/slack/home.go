package slack

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/slack-go/slack"

	"triage"
	"triage/internal/search"
	"triage/internal/slack/message"
	"triage/internal/store"
)

// The Home tab (SLACK §9): published with views.publish when a person
// opens it (app_home_opened, over HTTP or Socket Mode: one event path),
// and again when an issue it shows, or one newly assigned to them or
// their team, changes. Republishing is a River job per person, unique in
// a window of homePace and scheduled at the window's end (plus
// homeSettle, so that the change that queued it has committed): however
// many changes come, a person's Home tab is published at most once per
// window, after the window's last change. A 429 snoozes the job for
// Slack's Retry-After, as for every Slack job.

const (
	homePace   = 3 * time.Second
	homeSettle = time.Second
	// homeListLimit is how many issues each section asks for; the view
	// cuts to Slack's 100 blocks and counts the rest.
	homeListLimit = 20
)

// PublishHomeArgs publishes one person's Home tab.
type PublishHomeArgs struct {
	IntegrationID int64  `json:"integration_id"`
	SlackUserID   string `json:"slack_user_id"`
	// Opened: the person just opened the tab (published at once, not
	// paced with the republishes).
	Opened bool `json:"opened,omitempty"`
}

func (PublishHomeArgs) Kind() string { return "slack.publish_home" }

// queueHome queues a republish of the people's Home tabs, paced, inside
// the transaction of the change that causes it.
func (i *Integration) queueHome(ctx context.Context, tx *store.Tx, people []store.SlackPerson) error {
	return i.queueHomeAt(ctx, tx, people, homeOpts(i.now()))
}

// queueHomeAt queues a republish of the people's Home tabs with opts
// (homeOpts: at a window's end, unique among the window's jobs not done
// yet, so that a change after the window's job ran queues the next
// window's).
func (i *Integration) queueHomeAt(ctx context.Context, tx *store.Tx, people []store.SlackPerson, opts *river.InsertOpts) error {
	if len(people) == 0 {
		return nil
	}
	done := map[store.SlackPerson]bool{}
	for _, p := range people {
		p.UserID = 0
		if done[p] {
			continue
		}
		done[p] = true
		if err := i.jobs.Insert(ctx, tx, PublishHomeArgs{IntegrationID: p.IntegrationID, SlackUserID: p.SlackUserID}, opts); err != nil {
			return fmt.Errorf("queue home tab: %w", err)
		}
	}
	return nil
}

// queueHomeOpened publishes the Home tab of a person who opened it.
func (i *Integration) queueHomeOpened(ctx context.Context, tx *store.Tx, in *triage.Integration, slackUser string) error {
	if in.Status != triage.IntegrationActive || slackUser == "" {
		return nil
	}
	args := PublishHomeArgs{IntegrationID: in.ID, SlackUserID: slackUser, Opened: true}
	if i.jobs == nil {
		go i.runDetached(args)
		return nil
	}
	return i.jobs.Insert(ctx, tx, args, nil)
}

// runDetached does one job's work in the background without River
// (tests and tools without a jobs client).
func (i *Integration) runDetached(args river.JobArgs) {
	wctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := i.work(wctx, args); err != nil {
		i.log.Warn("slack work failed", "kind", args.Kind(), "err", err)
	}
}

// publishHome builds and publishes one person's Home tab: the link prompt
// for a person not linked, else their issues and settings.
func (i *Integration) publishHome(ctx context.Context, a PublishHomeArgs) error {
	in, err := i.d.Store.IntegrationByID(ctx, a.IntegrationID)
	if err != nil {
		return err
	}
	if in.Status != triage.IntegrationActive {
		return nil
	}
	var view homeTab
	var shown []int64
	id, err := i.d.Store.IdentityByExternalID(ctx, in.ID, a.SlackUserID)
	switch {
	case triage.ErrorCode(err) == triage.ENOTFOUND:
		link, err := i.LinkURL(LinkParams{IntegrationID: in.ID, SlackUserID: a.SlackUserID})
		if err != nil {
			return err
		}
		view = message.LinkPromptView(link)
	case err != nil:
		return err
	default:
		view, shown, err = i.homeView(ctx, in, id.UserID)
		if err != nil {
			return err
		}
	}
	api, err := i.web.Client(ctx, in.ID)
	if err != nil {
		return err
	}
	// What the tab shows is recorded before it is published: a change
	// made while the view is on its way finds this person among the
	// issue's viewers and republishes it (recorded after, such a change
	// went unseen until the next one).
	if err := i.d.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.SetHomeIssues(ctx, in.ID, a.SlackUserID, shown)
	}); err != nil {
		return err
	}
	err = i.paced(ctx, i.homePaceKeys(in.ID), func() error {
		_, err := api.PublishViewContext(ctx, publishRequest(a.SlackUserID, view))
		return err
	})
	if err != nil {
		return i.web.Failed(ctx, in.ID, "views.publish", err)
	}
	return nil
}

// homeView is a linked person's Home tab and the issues it shows: per
// organization the workspace serves and the person belongs to, the
// unresolved issues assigned to them or their teams, then the new and
// regressed issues of their projects of the last 24 hours.
func (i *Integration) homeView(ctx context.Context, in *triage.Integration, userID int64) (homeTab, []int64, error) {
	orgs, err := i.d.Store.OrganizationsForIntegration(ctx, in.ID)
	if err != nil {
		return homeTab{}, nil, err
	}
	orgs, err = i.d.Access.VisibleOrgs(ctx, userID, orgs)
	if err != nil {
		return homeTab{}, nil, err
	}
	now := i.now()
	assigned := message.HomeSection{Title: "Assigned to you or your teams", Empty: "Nothing unresolved is assigned to you or your teams. :tada:"}
	fresh := message.HomeSection{Title: "New and regressed in the last 24 hours", Empty: "No new or regressed issues in your projects in the last 24 hours."}
	var projects []*triage.Project
	listURL := ""
	for _, o := range orgs {
		if listURL == "" {
			listURL = i.absURL("/organizations/" + url.PathEscape(o.Slug) + "/issues/")
		}
		mine, more, err := i.assignedIssues(ctx, o.ID, userID, now)
		if err != nil {
			return homeTab{}, nil, err
		}
		assigned.More += more
		items, err := i.listItems(ctx, in.ID, mine, now)
		if err != nil {
			return homeTab{}, nil, err
		}
		assigned.Items = append(assigned.Items, items...)
		newer, more, err := i.freshIssues(ctx, o.ID, userID, now)
		if err != nil {
			return homeTab{}, nil, err
		}
		fresh.More += more
		items, err = i.listItems(ctx, in.ID, newer, now)
		if err != nil {
			return homeTab{}, nil, err
		}
		fresh.Items = append(fresh.Items, items...)
		ps, err := i.d.Access.VisibleProjects(ctx, userID, o.ID)
		if err != nil {
			return homeTab{}, nil, err
		}
		projects = append(projects, ps...)
	}
	dm, err := i.d.Store.DMSettings(ctx, userID)
	if err != nil {
		return homeTab{}, nil, err
	}
	intro := "*Your issues in Triage.* Resolve, ignore and assign them here as yourself; this page follows their changes."
	if len(orgs) == 0 {
		intro = "Your Triage account is not a member of an organization this workspace is connected to."
	}
	if listURL == "" {
		listURL = i.absURL("/")
	}
	view := message.HomeView(intro, []message.HomeSection{assigned, fresh},
		message.HomeSettings{DM: dm, Projects: projects, PageURL: i.absURL(NotificationsPath)}, listURL)
	var shown []int64
	for _, b := range view.Blocks.BlockSet {
		if ab, ok := b.(*slack.ActionBlock); ok {
			if id, ok := message.ParseIssueID(ab.BlockID); ok {
				shown = append(shown, id)
			}
		}
	}
	return view, shown, nil
}

// NotificationsPath is the web page of a person's notification settings.
const NotificationsPath = "/account/notifications/"

// assignedIssues are the unresolved issues of the organization assigned
// to the user or to one of their teams, the most recently seen first.
func (i *Integration) assignedIssues(ctx context.Context, orgID, userID int64, now time.Time) ([]*triage.Issue, int, error) {
	queries := []string{"is:unresolved assigned:me"}
	teams, err := i.d.Store.TeamsOfUser(ctx, orgID, userID)
	if err != nil {
		return nil, 0, err
	}
	for _, t := range teams {
		queries = append(queries, "is:unresolved assigned:#"+t.Slug)
	}
	return i.searchAll(ctx, orgID, userID, queries, now)
}

// freshIssues are the organization's unresolved issues first seen or
// regressed in the last 24 hours, in the user's projects.
func (i *Integration) freshIssues(ctx context.Context, orgID, userID int64, now time.Time) ([]*triage.Issue, int, error) {
	list, more, err := i.searchAll(ctx, orgID, userID, []string{"is:unresolved firstSeen:-24h"}, now)
	if err != nil {
		return nil, 0, err
	}
	back, err := i.d.Store.RegressedIssues(ctx, orgID, userID, now.Add(-24*time.Hour), homeListLimit)
	if err != nil {
		return nil, 0, err
	}
	return mergeIssues(list, back), more, nil
}

// searchAll runs each query (internal/search's syntax) and merges their
// issues, the most recently seen first; the int is how many more matched.
func (i *Integration) searchAll(ctx context.Context, orgID, userID int64, queries []string, now time.Time) ([]*triage.Issue, int, error) {
	var out []*triage.Issue
	more := 0
	for _, raw := range queries {
		q, err := search.Parse(raw, now)
		if err != nil {
			return nil, 0, fmt.Errorf("home query %q: %w", raw, err)
		}
		page, err := i.d.Store.SearchIssues(ctx, search.Request{OrgID: orgID, UserID: userID, Query: q, Sort: search.SortDate, Limit: homeListLimit})
		if err != nil {
			return nil, 0, err
		}
		more += int(page.Total) - len(page.Issues)
		out = mergeIssues(out, page.Issues)
	}
	return out, more, nil
}

// mergeIssues joins lists without repeating an issue, the most recently
// seen first.
func mergeIssues(a, b []*triage.Issue) []*triage.Issue {
	seen := map[int64]bool{}
	var out []*triage.Issue
	for _, is := range append(slices.Clone(a), b...) {
		if !seen[is.ID] {
			seen[is.ID] = true
			out = append(out, is)
		}
	}
	slices.SortStableFunc(out, func(x, y *triage.Issue) int {
		if c := y.LastSeen.Compare(x.LastSeen); c != 0 {
			return c
		}
		return int(y.ID - x.ID)
	})
	return out
}

// listItems loads each issue's card and 24-hour trend.
func (i *Integration) listItems(ctx context.Context, integrationID int64, list []*triage.Issue, now time.Time) ([]message.ListItem, error) {
	if len(list) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(list))
	for k, is := range list {
		ids[k] = is.ID
	}
	hours, err := i.d.Store.IssueHours(ctx, ids, search.Period24h.Start(now))
	if err != nil {
		return nil, err
	}
	out := make([]message.ListItem, 0, len(list))
	for _, is := range list {
		c, err := i.loadCard(ctx, i.d.Store.Queries, integrationID, is.ID)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			continue // deleted meanwhile
		} else if err != nil {
			return nil, err
		}
		trend := search.Period24h.Trend(hours[is.ID], now)
		counts := make([]int64, len(trend))
		for k, b := range trend {
			counts[k] = b.Count
		}
		out = append(out, message.ListItem{Card: c, Trend: counts})
	}
	return out, nil
}

// homeAction applies one of the Home tab's own controls: a DM setting
// (then republishes the tab), or the link button (nothing to do).
func (i *Integration) homeAction(ctx context.Context, p *message.Interaction) reply {
	in, err := i.d.Store.IntegrationByTeam(ctx, p.TeamID())
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return forbidden("Triage is not installed in this Slack workspace")
	} else if err != nil {
		i.log.Error("slack home action: load integration", "err", err)
		return internalReply
	}
	actionID, value := p.HomeAction()
	if actionID == message.ActionHomeLink {
		return replyOK
	}
	id, err := i.d.Store.IdentityByExternalID(ctx, in.ID, p.UserID())
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return i.republishNow(ctx, in, p.UserID())
	} else if err != nil {
		i.log.Error("slack home action: load identity", "err", err)
		return internalReply
	}
	set, err := i.d.Store.DMSettings(ctx, id.UserID)
	if err != nil {
		i.log.Error("slack home action: load settings", "err", err)
		return internalReply
	}
	switch {
	case strings.HasPrefix(actionID, message.ActionHomeToggle+":"):
		kind, state, _ := strings.Cut(value, ":")
		if err := set.Set(kind, state == "on"); err != nil || (state != "on" && state != "off") {
			return badRequest(message.BadPayload("unknown setting"))
		}
	case actionID == message.ActionHomeProject:
		if err := i.pickProject(ctx, in, id.UserID, &set, value); err != nil {
			return badRequest(err)
		}
	default:
		return badRequest(message.BadPayload("unknown action"))
	}
	if err := i.d.Store.SetDMSettings(ctx, id.UserID, set); err != nil {
		i.log.Error("slack home action: save settings", "err", err)
		return internalReply
	}
	i.log.Info("slack dm settings changed", "integration_id", in.ID, "user_id", id.UserID)
	return i.republishNow(ctx, in, p.UserID())
}

// pickProject applies the project picker: "all" clears the list,
// "project:ID" adds or removes a project the person may see.
func (i *Integration) pickProject(ctx context.Context, in *triage.Integration, userID int64, set *triage.DMSettings, value string) error {
	if value == "all" {
		set.ProjectIDs = nil
		return nil
	}
	idText, ok := strings.CutPrefix(value, "project:")
	pid, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil {
		return message.BadPayload("unknown project value")
	}
	p, err := i.d.Store.ProjectByID(ctx, pid)
	if err != nil {
		return message.BadPayload("unknown project")
	}
	attached, err := i.d.Store.IntegrationAttached(ctx, p.OrgID, in.ID)
	if err != nil || !attached {
		return message.BadPayload("unknown project")
	}
	if ok, err := i.d.Access.CanSeeProject(ctx, userID, p.ID); err != nil || !ok {
		return message.BadPayload("unknown project")
	}
	if k := slices.Index(set.ProjectIDs, pid); k >= 0 {
		set.ProjectIDs = slices.Delete(set.ProjectIDs, k, k+1)
	} else {
		set.ProjectIDs = append(set.ProjectIDs, pid)
	}
	return nil
}

// republishNow publishes the person's Home tab in the background, right
// away: they just changed something on it.
func (i *Integration) republishNow(ctx context.Context, in *triage.Integration, slackUser string) reply {
	args := PublishHomeArgs{IntegrationID: in.ID, SlackUserID: slackUser, Opened: true}
	if i.jobs == nil {
		go i.runDetached(args)
		return replyOK
	}
	i.enqueue(ctx, args, nil)
	return replyOK
}

// homeTab is a Home tab view as views.publish takes it.
type homeTab = slack.HomeTabViewRequest

func publishRequest(user string, view homeTab) slack.PublishViewContextRequest {
	return slack.PublishViewContextRequest{UserID: user, View: view}
}
