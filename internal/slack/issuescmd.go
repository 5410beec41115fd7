package slack

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"triage"
	"triage/internal/search"
	"triage/internal/slack/message"
	"triage/internal/slack/webapi"
)

// issuesLimit is how many issues /triage issues lists.
const issuesLimit = 5

// commandReply is an ephemeral answer to /triage with blocks.
type commandReply struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
	Blocks       any    `json:"blocks,omitempty"`
}

// issuesCommand answers `/triage issues [query]` (SLACK §9): the top
// matching unresolved issues the linked person may see, most recently seen
// first, each with its card's controls; ok is false for any other command.
// The query is internal/search's syntax; one it cannot read gets the
// parser's message.
func (i *Integration) issuesCommand(r *http.Request, form url.Values) (commandReply, bool, error) {
	text := strings.TrimSpace(form.Get("text"))
	words := strings.Fields(text)
	if len(words) == 0 || strings.ToLower(words[0]) != "issues" {
		return commandReply{}, false, nil
	}
	raw := strings.TrimSpace(text[len(words[0]):])
	say := func(s string) (commandReply, bool, error) {
		return commandReply{ResponseType: "ephemeral", Text: s}, true, nil
	}
	ctx := r.Context()
	in, err := i.d.Store.IntegrationByTeam(ctx, form.Get("team_id"))
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return say("Triage is not installed in this Slack workspace. An organization admin can add it from Triage's organization settings.")
	} else if err != nil {
		return commandReply{}, true, err
	}
	if in.Status != triage.IntegrationActive {
		return say(disabledText(in))
	}
	slackUser := form.Get("user_id")
	id, err := i.d.Store.IdentityByExternalID(ctx, in.ID, slackUser)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		u, err := i.LinkURL(LinkParams{IntegrationID: in.ID, SlackUserID: slackUser, ChannelID: form.Get("channel_id"), ResponseURL: form.Get("response_url")})
		if err != nil {
			return commandReply{}, true, err
		}
		return say(fmt.Sprintf("Your Slack account is not linked to Triage yet, so Triage does not know which issues you may see. "+
			"<%s|Link your Slack identity to your Triage account>, then try again. The link is valid for 2 days.", u))
	} else if err != nil {
		return commandReply{}, true, err
	}
	now := i.now()
	q, err := search.Parse(raw, now)
	if err != nil {
		return say("Triage could not read that search: " + message.EscapeMrkdwn(triage.ErrorMessage(searchErr(err))))
	}
	orgs, err := i.d.Store.OrganizationsForIntegration(ctx, in.ID)
	if err != nil {
		return commandReply{}, true, err
	}
	orgs, err = i.d.Access.VisibleOrgs(ctx, id.UserID, orgs)
	if err != nil {
		return commandReply{}, true, err
	}
	if len(orgs) == 0 {
		return say("Your Triage account is not a member of an organization this Slack workspace is connected to.")
	}
	list, total, err := i.topIssues(ctx, orgs, id.UserID, q)
	if err != nil {
		return commandReply{}, true, err
	}
	shown := "`" + message.EscapeMrkdwn(raw) + "`"
	if raw == "" {
		shown = "your search (none: every unresolved issue)"
	}
	if len(list) == 0 {
		return say("No issues you can see match " + shown + ".")
	}
	items, err := i.listItems(ctx, in.ID, list, now)
	if err != nil {
		return commandReply{}, true, err
	}
	intro := fmt.Sprintf("The %d most recently seen of %d issues matching %s:", len(items), total, shown)
	if total <= int64(len(items)) {
		intro = fmt.Sprintf("%d issues match %s:", len(items), shown)
		if len(items) == 1 {
			intro = "One issue matches " + shown + ":"
		}
	}
	ref := message.ListRef{Query: raw}
	for _, it := range items {
		ref.IDs = append(ref.IDs, it.Card.Issue.ID)
	}
	return commandReply{ResponseType: "ephemeral", Text: intro, Blocks: message.IssueList(intro, items, ref)}, true, nil
}

// refreshList redraws an ephemeral list of issues after a click on one of
// its rows: the same issues in the same order, each as it is now (one
// resolved a moment ago stays, shown resolved), through the response URL,
// replacing the list. An issue deleted meanwhile drops out.
func (i *Integration) refreshList(ctx context.Context, a RefreshCardArgs) error {
	list := make([]*triage.Issue, 0, len(a.List))
	for _, id := range a.List {
		is, err := i.d.Store.IssueByID(ctx, id)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		list = append(list, is)
	}
	items, err := i.listItems(ctx, a.IntegrationID, list, i.now())
	if err != nil {
		return err
	}
	intro := "Your issues, as they are now:"
	if a.ListQuery != "" {
		intro = "Issues matching `" + message.EscapeMrkdwn(a.ListQuery) + "`, as they are now:"
	}
	ref := message.ListRef{IDs: a.List, Query: a.ListQuery}
	return webapi.PostResponse(ctx, i.d.HTTPClient, a.ResponseURL,
		map[string]any{"replace_original": true, "response_type": "ephemeral", "text": intro, "blocks": message.IssueList(intro, items, ref)})
}

// searchErr makes a parse error a user-safe triage error.
func searchErr(err error) error {
	return triage.Errorf(triage.EINVALID, "%s", err.Error())
}

// topIssues runs the query in each organization and keeps the most
// recently seen issues; total is how many matched in all.
func (i *Integration) topIssues(ctx context.Context, orgs []*triage.Organization, userID int64, q search.Query) ([]*triage.Issue, int64, error) {
	var all []*triage.Issue
	var total int64
	for _, o := range orgs {
		page, err := i.d.Store.SearchIssues(ctx, search.Request{OrgID: o.ID, UserID: userID, Query: q, Sort: search.SortDate, Limit: issuesLimit})
		if err != nil {
			return nil, 0, err
		}
		total += page.Total
		all = mergeIssues(all, page.Issues)
	}
	if len(all) > issuesLimit {
		all = all[:issuesLimit]
	}
	return all, total, nil
}
