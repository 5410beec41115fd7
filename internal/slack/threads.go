package slack

import (
	"context"
	"strings"

	"triage"
	"triage/internal/issues"
	"triage/internal/slack/webapi"
	"triage/internal/store"
)

// Threads that talk back: a person's reply in the thread of a card Triage
// posted becomes a comment on the issue (message.channels and
// message.groups events, which need the channels:history and
// groups:history scopes). The other direction, a comment posted into each
// card's thread, is internal/alert's change hook, paced like every alert.

// ThreadReplyArgs turns one reply in a card's thread into a comment.
type ThreadReplyArgs struct {
	IntegrationID int64  `json:"integration_id"`
	Channel       string `json:"channel"`
	ThreadTS      string `json:"thread_ts"`
	TS            string `json:"ts"`
	User          string `json:"user"`
	Text          string `json:"text"`
}

func (ThreadReplyArgs) Kind() string { return "slack.thread_reply" }

// messageEvent is a message event's inner JSON (message.channels,
// message.groups), read apart from callbackEvent: in other events "user"
// may be an object.
type messageEvent struct {
	Channel  string `json:"channel"`
	User     string `json:"user"`
	Text     string `json:"text"`
	TS       string `json:"ts"`
	ThreadTS string `json:"thread_ts"`
	BotID    string `json:"bot_id"`
	Subtype  string `json:"subtype"`
}

// isHumanReply tells whether a message event is a person's reply in a
// thread: not a top-level message, not a bot's (Triage's own posts carry
// its bot_id), and no subtype (edits, deletions, joins, broadcasts of
// apps). Triage never turns its own posts back into comments.
func isHumanReply(in *triage.Integration, ev *messageEvent) bool {
	return ev.ThreadTS != "" && ev.ThreadTS != ev.TS && ev.BotID == "" && ev.Subtype == "" &&
		ev.User != "" && ev.User != in.BotUserID && strings.TrimSpace(ev.Text) != "" && ev.Channel != ""
}

// queueThreadReply queues the comment a thread reply becomes, in the
// transaction that records the event as handled.
func (i *Integration) queueThreadReply(ctx context.Context, tx *store.Tx, in *triage.Integration, ev *messageEvent) error {
	if in.Status != triage.IntegrationActive || !isHumanReply(in, ev) || i.d.Issues == nil {
		return nil
	}
	cards, err := tx.CardIssues(ctx, in.ID, ev.Channel, ev.ThreadTS)
	if err != nil || len(cards) == 0 {
		return err // a thread that is not under a Triage card
	}
	args := ThreadReplyArgs{IntegrationID: in.ID, Channel: ev.Channel, ThreadTS: ev.ThreadTS, TS: ev.TS, User: ev.User, Text: ev.Text}
	if i.jobs == nil {
		i.enqueue(ctx, args, nil)
		return nil
	}
	return i.jobs.Insert(ctx, tx, args, nil)
}

// slackText undoes the three escapes Slack puts in message text.
func slackText(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// threadReply adds the comment: as the linked person, or, for someone not
// linked, as "Slack user <name>", offering them the link once.
func (i *Integration) threadReply(ctx context.Context, a ThreadReplyArgs) error {
	ids, err := i.d.Store.CardIssues(ctx, a.IntegrationID, a.Channel, a.ThreadTS)
	if err != nil {
		return err
	}
	orgs, err := i.d.Store.OrganizationsForIntegration(ctx, a.IntegrationID)
	if err != nil {
		return err
	}
	attached := map[int64]bool{}
	for _, o := range orgs {
		attached[o.ID] = true
	}
	text := slackText(a.Text)
	from := &issues.SlackMessage{IntegrationID: a.IntegrationID, Channel: a.Channel, TS: a.ThreadTS}
	id, err := i.d.Store.IdentityByExternalID(ctx, a.IntegrationID, a.User)
	linked := err == nil
	if err != nil && triage.ErrorCode(err) != triage.ENOTFOUND {
		return err
	}
	name := ""
	for _, issueID := range ids {
		issue, err := i.d.Store.IssueByID(ctx, issueID)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		if !attached[issue.OrgID] {
			continue // the workspace no longer serves the issue's organization
		}
		if linked {
			origin := issues.Origin{Actor: triage.Actor{UserID: id.UserID, Source: triage.SourceSlack, SlackUserID: a.User}, SlackMessage: from}
			_, err := i.d.Issues.Comment(ctx, origin, issueID, text)
			switch triage.ErrorCode(err) {
			case "":
			case triage.ENOTFOUND, triage.EFORBIDDEN, triage.EINVALID:
				i.dispatch(ctx, RespondArgs{IntegrationID: a.IntegrationID, Channel: a.Channel, User: a.User,
					Text: "Your reply was not added to " + issue.ShortID() + " in Triage: " + triage.ErrorMessage(err)})
			default:
				return err
			}
			continue
		}
		if name == "" {
			if name, err = i.slackUserName(ctx, a.IntegrationID, a.User); err != nil {
				return err
			}
		}
		_, err = i.d.Issues.CommentFromSlack(ctx, issues.SlackNote{IssueID: issueID, SlackUserID: a.User, Name: name, Text: text, Message: from})
		if triage.ErrorCode(err) == triage.EINVALID || triage.ErrorCode(err) == triage.ENOTFOUND {
			i.log.Info("slack thread reply not kept", "issue_id", issueID, "err", err)
			continue
		} else if err != nil {
			return err
		}
	}
	if linked || name == "" {
		return nil
	}
	first, err := i.d.Store.FirstLinkPrompt(ctx, a.IntegrationID, a.User)
	if err != nil || !first {
		return err
	}
	u, err := i.LinkURL(LinkParams{IntegrationID: a.IntegrationID, SlackUserID: a.User, ChannelID: a.Channel})
	if err != nil {
		return err
	}
	i.dispatch(ctx, RespondArgs{IntegrationID: a.IntegrationID, Channel: a.Channel, User: a.User,
		Text: "Your reply was added to the issue in Triage as \"Slack user " + name + "\". <" + u + "|Link your Slack identity to Triage> so that your replies and clicks count as you (the link is valid for 2 days)."})
	return nil
}

// slackUserName is how an unlinked person's comment is signed: their
// real name in Slack, else their display name, else their user id.
func (i *Integration) slackUserName(ctx context.Context, integrationID int64, userID string) (string, error) {
	api, err := i.web.Client(ctx, integrationID)
	if err != nil {
		return "", err
	}
	u, err := api.GetUserInfoContext(ctx, userID)
	if err != nil {
		err = i.web.Failed(ctx, integrationID, "users.info", err)
		if _, permanent := webapi.PermanentReason(err); permanent && !webapi.DeadWorkspace(err) {
			return userID, nil // user_not_found, missing_scope…: sign with the id
		}
		return "", err
	}
	for _, n := range []string{u.RealName, u.Profile.DisplayName, u.Name} {
		if strings.TrimSpace(n) != "" {
			return strings.TrimSpace(n), nil
		}
	}
	return userID, nil
}
