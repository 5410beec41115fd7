package slack

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"triage"
	"triage/internal/alert"
	"triage/internal/slack/message"
)

// Channels is what the channel commands (/triage subscribe, unsubscribe,
// subscriptions, link team, unlink team) need from alerts, which own
// subscriptions and team channels because their messages go through the
// alert delivery. cmd/triage passes *alert.Service.
type Channels interface {
	Subscribe(ctx context.Context, userID int64, ch alert.ChannelRef, project, query string) (*alert.Subscription, error)
	Unsubscribe(ctx context.Context, userID int64, ch alert.ChannelRef, project string) (*alert.Subscription, error)
	ChannelFollows(ctx context.Context, userID int64, ch alert.ChannelRef) ([]*alert.Subscription, []*triage.TeamChannel, error)
	LinkTeam(ctx context.Context, userID int64, ch alert.ChannelRef, team string) (*triage.TeamChannel, error)
	UnlinkTeam(ctx context.Context, userID int64, ch alert.ChannelRef, team string) ([]string, error)
}

// SetChannels gives the integration the alerts' channel side. A setter, not
// a dependency of New, because of a real cycle: alerts are built with the
// integration's Alerts(), and the commands need alerts.
func (i *Integration) SetChannels(c Channels) { i.channels = c }

// channelCommand answers the channel commands; ok is false for any other
// command. Only the linked person's permissions count: an unlinked person
// gets the link prompt, someone refused gets the reason.
func (i *Integration) channelCommand(ctx context.Context, in *triage.Integration, form url.Values, words []string) (string, bool, error) {
	if len(words) == 0 {
		return "", false, nil
	}
	sub := strings.ToLower(words[0])
	team := len(words) > 1 && strings.EqualFold(words[1], "team")
	switch {
	case sub == "subscribe" || sub == "unsubscribe" || sub == "subscriptions":
	case (sub == "link" || sub == "unlink") && team:
	default:
		return "", false, nil
	}
	if i.channels == nil {
		return "Channel subscriptions and team channels are not available on this Triage server.", true, nil
	}
	params := LinkParams{IntegrationID: in.ID, SlackUserID: form.Get("user_id"), ChannelID: form.Get("channel_id"), ResponseURL: form.Get("response_url")}
	id, err := i.d.Store.IdentityByExternalID(ctx, in.ID, params.SlackUserID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		u, err := i.LinkURL(params)
		if err != nil {
			return "", true, err
		}
		return fmt.Sprintf("Triage acts as you, so it needs to know who you are first: <%s|link your Slack identity to Triage> (valid for 2 days), then run the command again.", u), true, nil
	} else if err != nil {
		return "", true, err
	}
	ch := alert.ChannelRef{IntegrationID: in.ID, ChannelID: form.Get("channel_id"), ChannelName: form.Get("channel_name")}
	if ch.ChannelID == "" {
		return "Run this command in the channel that should get the messages.", true, nil
	}
	text, err := i.runChannelCommand(ctx, id.UserID, ch, sub, words[1:])
	if err != nil {
		switch triage.ErrorCode(err) {
		case triage.EINVALID, triage.ENOTFOUND, triage.EFORBIDDEN:
			return message.EscapeMrkdwn(triage.ErrorMessage(err)), true, nil
		}
		return "", true, err
	}
	return text, true, nil
}

func (i *Integration) runChannelCommand(ctx context.Context, userID int64, ch alert.ChannelRef, sub string, args []string) (string, error) {
	switch sub {
	case "subscribe":
		if len(args) == 0 {
			return "Name the project: `/triage subscribe <project> [query]`, e.g. `/triage subscribe web level:error environment:production`.", nil
		}
		// Slack escapes &, < and > in a command's text (times_seen:&lt;10).
		s, err := i.channels.Subscribe(ctx, userID, ch, args[0], slackText(strings.Join(args[1:], " ")))
		if err != nil {
			return "", err
		}
		what := "every new and regressed issue"
		if s.Query != "" {
			what = "new and regressed issues matching `" + message.EscapeMrkdwn(s.Query) + "`"
		}
		return fmt.Sprintf("This channel now gets %s of *%s/%s*. `/triage unsubscribe %s` stops it.",
			what, message.EscapeMrkdwn(s.OrgSlug), message.EscapeMrkdwn(s.ProjectSlug), message.EscapeMrkdwn(s.ProjectSlug)), nil
	case "unsubscribe":
		if len(args) == 0 {
			return "Name the project: `/triage unsubscribe <project>`. `/triage subscriptions` lists this channel's.", nil
		}
		s, err := i.channels.Unsubscribe(ctx, userID, ch, args[0])
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("This channel no longer gets the issues of *%s/%s*.", message.EscapeMrkdwn(s.OrgSlug), message.EscapeMrkdwn(s.ProjectSlug)), nil
	case "subscriptions":
		subs, teams, err := i.channels.ChannelFollows(ctx, userID, ch)
		if err != nil {
			return "", err
		}
		return followsText(subs, teams), nil
	case "link":
		if len(args) < 2 {
			return "Name the team: `/triage link team <team>`.", nil
		}
		tc, err := i.channels.LinkTeam(ctx, userID, ch, args[1])
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Issues assigned to *#%s*, and alerts of rules that post to the team's channel, now come to this channel. `/triage unlink team` stops it.",
			message.EscapeMrkdwn(tc.TeamSlug)), nil
	case "unlink":
		team := ""
		if len(args) > 1 {
			team = args[1]
		}
		done, err := i.channels.UnlinkTeam(ctx, userID, ch, team)
		if err != nil {
			return "", err
		}
		for k := range done {
			done[k] = "*#" + message.EscapeMrkdwn(done[k]) + "*"
		}
		return "This channel no longer gets the notifications of " + strings.Join(done, ", ") + ".", nil
	}
	return "", triage.Errorf(triage.EINVALID, "unknown command")
}

// followsText lists what a channel gets.
func followsText(subs []*alert.Subscription, teams []*triage.TeamChannel) string {
	if len(subs) == 0 && len(teams) == 0 {
		return "This channel gets nothing from Triage yet. `/triage subscribe <project> [query]` or `/triage link team <team>` change that."
	}
	var b strings.Builder
	b.WriteString("This channel gets:")
	for _, s := range subs {
		q := "every new and regressed issue"
		if s.Query != "" {
			q = "new and regressed issues matching `" + message.EscapeMrkdwn(s.Query) + "`"
		}
		fmt.Fprintf(&b, "\n• *%s/%s*: %s", message.EscapeMrkdwn(s.OrgSlug), message.EscapeMrkdwn(s.ProjectSlug), q)
		if s.Status == triage.AlertActionBroken {
			fmt.Fprintf(&b, " (broken: %s)", message.EscapeMrkdwn(s.Hint))
		}
	}
	for _, t := range teams {
		fmt.Fprintf(&b, "\n• the notifications of team *#%s*", message.EscapeMrkdwn(t.TeamSlug))
	}
	return b.String()
}
