package slack

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"triage/internal/slack/message"

	"triage"
)

const helpText = "Here is what `/triage` can do:\n" +
	"• `/triage link`: link your Slack identity to your Triage account, so that what you do here is done as you\n" +
	"• `/triage unlink`: unlink your Slack identity\n" +
	"• `/triage issues [query]`: the five most recently seen unresolved issues you can see that match the query (Triage's search syntax, e.g. `assigned:me level:error`), with their buttons\n" +
	"• `/triage subscribe <project> [query]`: post the project's new and regressed issues that match the query (the issue list's search) to this channel\n" +
	"• `/triage unsubscribe <project>`: stop that\n" +
	"• `/triage subscriptions`: what this channel gets\n" +
	"• `/triage link team <team>`: send the team's assignments and alerts to this channel (organization owners and admins)\n" +
	"• `/triage unlink team [team]`: stop sending them here\n" +
	"• `/triage help`: show this list"

// ephemeral is a reply only the person who typed the command sees.
type ephemeral struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// Command serves the /triage slash command after verifying Slack's
// signature. Every reply is ephemeral.
func (i *Integration) Command() http.Handler {
	return i.verifier.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // already read and size-limited by the verifier
		form, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, "malformed form body", http.StatusBadRequest)
			return
		}
		writeJSON(w, http.StatusOK, i.slashReply(r, form))
	}))
}

// slashReply is the ephemeral answer to one /triage invocation, over HTTP
// or Socket Mode: `issues` answers with blocks, the rest with text.
func (i *Integration) slashReply(r *http.Request, form url.Values) any {
	if rep, ok, err := i.issuesCommand(r, form); ok {
		if err != nil {
			i.log.Error("slack command issues", "err", err)
			rep = commandReply{ResponseType: "ephemeral", Text: "Sorry, Triage could not handle that command. Try again in a moment."}
		}
		return rep
	}
	text, err := i.command(r, form)
	if err != nil {
		i.log.Error("slack command", "err", err)
		text = "Sorry, Triage could not handle that command. Try again in a moment."
	}
	return ephemeral{ResponseType: "ephemeral", Text: text}
}

// command computes the reply text for one invocation.
func (i *Integration) command(r *http.Request, form url.Values) (string, error) {
	ctx := r.Context()
	words := strings.Fields(form.Get("text"))
	in, err := i.d.Store.IntegrationByTeam(ctx, form.Get("team_id"))
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return "Triage is not installed in this Slack workspace. An organization admin can add it from Triage's organization settings.", nil
	} else if err != nil {
		return "", err
	}
	sub := ""
	if len(words) > 0 {
		sub = strings.ToLower(words[0])
	}
	if sub == "link" {
		// A workspace removed from every organization serves nobody:
		// linking would lead nowhere. Unlinking stays possible.
		orgs, err := i.d.Store.OrganizationsForIntegration(ctx, in.ID)
		if err != nil {
			return "", err
		}
		if len(orgs) == 0 {
			return "This Slack workspace is not connected to any Triage organization. An organization admin can add it from Triage's organization settings.", nil
		}
	}
	params := LinkParams{
		IntegrationID: in.ID, SlackUserID: form.Get("user_id"),
		ChannelID: form.Get("channel_id"), ResponseURL: form.Get("response_url"),
	}
	if text, ok, err := i.channelCommand(ctx, in, form, words); ok || err != nil {
		return text, err
	}
	switch sub {
	case "", "help":
		return helpText, nil
	case "link":
		id, err := i.d.Store.IdentityByExternalID(ctx, in.ID, params.SlackUserID)
		if err == nil {
			u, err := i.d.Store.UserByID(ctx, id.UserID)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("You are already linked to Triage as %s. To link another account, run `/triage unlink` first, or open a new link from `/triage link` after unlinking.", u.Email), nil
		} else if triage.ErrorCode(err) != triage.ENOTFOUND {
			return "", err
		}
		u, err := i.LinkURL(params)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("<%s|Link your Slack identity to Triage>. The link is valid for 2 days.", u), nil
	case "unlink":
		if _, err := i.d.Store.IdentityByExternalID(ctx, in.ID, params.SlackUserID); triage.ErrorCode(err) == triage.ENOTFOUND {
			return "You are not linked to a Triage account.", nil
		} else if err != nil {
			return "", err
		}
		u, err := i.UnlinkURL(params)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("<%s|Unlink your Slack identity from Triage>. The link is valid for 2 days.", u), nil
	}
	return fmt.Sprintf("Unknown command `%s`.\n%s", message.EscapeMrkdwn(words[0]), helpText), nil
}
