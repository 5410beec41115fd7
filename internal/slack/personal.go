package slack

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"triage"
	"triage/internal/issues"
	"triage/internal/slack/message"
	"triage/internal/store"
)

// Slack for each person (SLACK §9): every issue change (issues.Change, the
// issue service's one change path) may concern people in Slack. Inside the
// change's transaction, onPersonalChange marks the issue for a paced
// republish of the Home tabs that show it or should now (its new assignee,
// the assignee team's members, everyone linked who sees a regressed
// issue's project; worked out after the commit, homeissue.go), and queues
// a direct message to each person the change is for:
//
//   - assigned: someone else assigned the issue to them;
//   - regressed: an issue they resolved came back;
//   - comments: someone else commented on an issue assigned to them.
//
// Never for a change the person made themselves. Whether they want it
// (triage.DMSettings: each kind on or off, only some projects; on by
// default) and whether they may still see the project is decided when the
// message is sent. Each DM is the issue's card, with its controls,
// remembered like every card so that later changes rebuild it.

// DMArgs sends one direct message about an issue to one person in one
// workspace.
type DMArgs struct {
	IntegrationID int64  `json:"integration_id"`
	SlackUserID   string `json:"slack_user_id"`
	UserID        int64  `json:"user_id"`
	IssueID       int64  `json:"issue_id"`
	// What is the kind of message: triage.DMAssigned, DMRegressed or DMComments.
	What string `json:"kind"`
	// ActorID is who made the change (0 for the system).
	ActorID int64 `json:"actor_id,omitempty"`
}

func (DMArgs) Kind() string { return "slack.dm" }

// dmFor is a direct message a change calls for: to whom, of what kind.
type dmFor struct {
	user int64
	kind string
}

// onPersonalChange runs inside every issue change's transaction.
func (i *Integration) onPersonalChange(ctx context.Context, tx *store.Tx, c issues.Change) error {
	if i.jobs == nil || c.Issue == nil {
		return nil
	}
	if c.Deleted {
		// The issue's Home rows went with it: every tab that may show it
		// is published again without it.
		return i.queueProjectHomes(ctx, tx, c.Issue.OrgID, c.Issue.ProjectID)
	}
	is := c.Issue
	actor := c.Origin.Actor.UserID
	_, note := c.Note()

	// Direct messages.
	var dm []dmFor
	if a := c.Activity; a != nil && a.Type == triage.ActivityAssigned {
		if t, _ := a.Data["assigneeType"].(string); t == "user" {
			s, _ := a.Data["assignee"].(string)
			if id, err := strconv.ParseInt(s, 10, 64); err == nil && id != actor {
				dm = append(dm, dmFor{id, triage.DMAssigned})
			}
		}
	}
	if c.Transition != nil && c.Transition.Kind == issues.Regressed {
		resolver, err := tx.LastResolver(ctx, is.ID)
		if err != nil {
			return err
		}
		if resolver != 0 && resolver != actor {
			dm = append(dm, dmFor{resolver, triage.DMRegressed})
		}
	}
	if note && is.Assignee != nil && is.Assignee.Type == "user" && is.Assignee.ID != actor {
		dm = append(dm, dmFor{is.Assignee.ID, triage.DMComments})
	}
	for _, d := range dm {
		people, err := tx.OrgSlackPeople(ctx, is.OrgID, []int64{d.user})
		if err != nil {
			return err
		}
		for _, p := range people {
			args := DMArgs{IntegrationID: p.IntegrationID, SlackUserID: p.SlackUserID, UserID: d.user, IssueID: is.ID, What: d.kind, ActorID: actor}
			if err := i.jobs.Insert(ctx, tx, args, nil); err != nil {
				return fmt.Errorf("queue dm: %w", err)
			}
		}
	}

	// Home tabs: a note changes nothing they show.
	if note {
		return nil
	}
	// Who sees the issue in the "new and regressed" section when it
	// comes back there: a regression, the end of an ignore, or a reopened
	// issue first seen in the last 24 hours. Whose tabs those are is
	// worked out after the commit (homeissue.go).
	reopened := c.Activity != nil && c.Activity.Type == triage.ActivitySetUnresolved && i.now().Sub(is.FirstSeen) < 24*time.Hour
	return i.markHome(ctx, tx, is.ID, c.Transition != nil || reopened)
}

// dmText is the notification line of a direct message.
func dmText(kind, actor, shortID, title string) string {
	switch kind {
	case triage.DMAssigned:
		return fmt.Sprintf("%s assigned you %s: %s", actor, shortID, title)
	case triage.DMRegressed:
		return fmt.Sprintf("%s, which you resolved, happened again: %s", shortID, title)
	case triage.DMComments:
		return fmt.Sprintf("%s commented on %s, assigned to you: %s", actor, shortID, title)
	}
	return shortID + ": " + title
}

// sendDM sends one direct message if the person still wants it and may
// still see the issue: conversations.open, then the card to that channel,
// remembered so that the issue's changes rebuild it.
func (i *Integration) sendDM(ctx context.Context, a DMArgs) error {
	issue, err := i.d.Store.IssueByID(ctx, a.IssueID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil // deleted meanwhile
	} else if err != nil {
		return err
	}
	set, err := i.d.Store.DMSettings(ctx, a.UserID)
	if err != nil {
		return err
	}
	if !set.Wants(a.What, issue.ProjectID) {
		return nil
	}
	if ok, err := i.d.Access.CanSeeProject(ctx, a.UserID, issue.ProjectID); err != nil || !ok {
		return err
	}
	// Still linked as the same person in this workspace?
	id, err := i.d.Store.IdentityByExternalID(ctx, a.IntegrationID, a.SlackUserID)
	if triage.ErrorCode(err) == triage.ENOTFOUND || (err == nil && id.UserID != a.UserID) {
		return nil
	} else if err != nil {
		return err
	}
	actor := "Someone"
	if a.ActorID != 0 {
		if u, err := i.d.Store.UserByID(ctx, a.ActorID); err == nil {
			actor = u.DisplayName()
		}
	}
	c, err := i.loadCard(ctx, i.d.Store.Queries, a.IntegrationID, a.IssueID)
	if err != nil {
		return err
	}
	api, err := i.web.Client(ctx, a.IntegrationID)
	if err != nil {
		return err
	}
	ch, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{a.SlackUserID}})
	if err != nil {
		return i.web.Failed(ctx, a.IntegrationID, "conversations.open", err)
	}
	text := dmText(a.What, actor, issue.ShortID(), issue.Title)
	var ts string
	err = i.paced(ctx, i.dmPaceKeys(a.IntegrationID, a.SlackUserID), func() error {
		var err error
		_, ts, err = api.PostMessageContext(ctx, ch.ID, slack.MsgOptionText(message.EscapeMrkdwn(text), false), slack.MsgOptionBlocks(c.Blocks()...))
		return err
	})
	if err != nil {
		return i.web.Failed(ctx, a.IntegrationID, "chat.postMessage", err)
	}
	i.log.Info("slack dm sent", "integration_id", a.IntegrationID, "user_id", a.UserID, "issue_id", a.IssueID, "kind", a.What)
	return i.d.Store.RememberSlackMessage(ctx, &triage.SlackMessage{IssueID: a.IssueID, IntegrationID: a.IntegrationID,
		ChannelID: ch.ID, TS: ts, Kind: triage.SlackMessageCard})
}
