package slack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"triage"
	"triage/internal/slack/message"
	"triage/internal/store"
)

// Event serves the Events API (SLACK §5). It answers at once: a delivery
// is recorded by event_id (so Slack's retries do nothing twice, even after
// a restart) in the same transaction that queues its work or applies it.
func (i *Integration) Event() http.Handler {
	return i.verifier.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		i.handleEvent(r.Context(), body, r.Header.Get("X-Slack-Retry-Num")).write(w)
	}))
}

// eventEnvelope is the outer JSON of an Events API request.
type eventEnvelope struct {
	Type      string          `json:"type"`
	Challenge string          `json:"challenge"`
	TeamID    string          `json:"team_id"`
	EventID   string          `json:"event_id"`
	Event     json.RawMessage `json:"event"`
}

// callbackEvent is the inner event, read from the raw JSON: for
// link_shared slack-go's type drops unfurl_id and source, which composer
// unfurls need; tokens is tokens_revoked's.
type callbackEvent struct {
	Type      string `json:"type"`
	User      string `json:"user"` // app_home_opened
	Tab       string `json:"tab"`  // app_home_opened: "home" or "messages"
	Channel   string `json:"channel"`
	MessageTS string `json:"message_ts"`
	UnfurlID  string `json:"unfurl_id"`
	Source    string `json:"source"`
	Links     []struct {
		URL string `json:"url"`
	} `json:"links"`
	Tokens *struct {
		OAuth []string `json:"oauth"`
		Bot   []string `json:"bot"`
	} `json:"tokens"` // tokens_revoked
}

func (i *Integration) handleEvent(ctx context.Context, body []byte, retryNum string) reply {
	var env eventEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return badRequest(message.BadPayload("malformed JSON body"))
	}
	switch env.Type {
	case "url_verification":
		return reply{http.StatusOK, map[string]string{"challenge": env.Challenge}}
	case "event_callback":
	case "":
		return badRequest(message.BadPayload("missing type"))
	default:
		return replyOK // app_rate_limited and future envelope types: nothing to do
	}
	var ev callbackEvent
	if env.TeamID == "" || env.EventID == "" || json.Unmarshal(env.Event, &ev) != nil || ev.Type == "" {
		return badRequest(message.BadPayload("malformed event"))
	}
	in, err := i.d.Store.IntegrationByTeam(ctx, env.TeamID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return forbidden("Triage is not installed in this Slack workspace")
	} else if err != nil {
		i.log.Error("slack event: load integration", "err", err)
		return internalReply
	}
	unlock := i.serializeWrites(0)
	defer unlock()
	err = i.d.Store.InTx(ctx, func(tx *store.Tx) error {
		first, err := tx.MarkSlackEventSeen(ctx, env.EventID)
		if err != nil || !first {
			if err == nil {
				i.log.Info("slack event already handled", "event_type", ev.Type, "integration_id", in.ID, "retry", retryNum)
			}
			return err
		}
		switch ev.Type {
		case "link_shared":
			return i.queueUnfurl(ctx, tx, in, &ev)
		case "app_home_opened":
			if ev.Tab == "home" {
				return i.queueHomeOpened(ctx, tx, in, ev.User)
			}
		case "message":
			var m messageEvent
			if json.Unmarshal(env.Event, &m) != nil {
				return nil // a message Triage cannot read is none of its business
			}
			return i.queueThreadReply(ctx, tx, in, &m)
		case "app_uninstalled":
			return i.disable(ctx, tx, in, "the app was uninstalled from Slack")
		case "tokens_revoked":
			// Only the bot (or workspace) token matters: revoked user
			// tokens are not Triage's.
			userOnly := ev.Tokens != nil && len(ev.Tokens.Bot) == 0 && len(ev.Tokens.OAuth) > 0 && in.InstallType != "workspace"
			if !userOnly {
				return i.disable(ctx, tx, in, "Slack revoked the app's tokens")
			}
		}
		return nil
	})
	if err != nil {
		i.log.Error("slack event", "event_type", ev.Type, "integration_id", in.ID, "err", err)
		return internalReply
	}
	return replyOK
}

func (i *Integration) disable(ctx context.Context, tx *store.Tx, in *triage.Integration, reason string) error {
	i.log.Warn("slack integration disabled", "integration_id", in.ID, "reason", reason)
	return tx.SetIntegrationStatus(ctx, in.ID, triage.IntegrationDisabled, reason)
}

// queueUnfurl queues the unfurl of the event's links to this instance's
// issue pages; links elsewhere never reach a job.
func (i *Integration) queueUnfurl(ctx context.Context, tx *store.Tx, in *triage.Integration, ev *callbackEvent) error {
	if in.Status != triage.IntegrationActive {
		return nil
	}
	args := UnfurlArgs{IntegrationID: in.ID}
	if ev.Source == "composer" || (ev.UnfurlID != "" && (ev.Channel == "" || ev.MessageTS == "")) {
		args.UnfurlID, args.Source = ev.UnfurlID, ev.Source
		if args.Source == "" {
			args.Source = "composer"
		}
	} else {
		args.Channel, args.TS = ev.Channel, ev.MessageTS
	}
	for _, l := range ev.Links {
		if _, ok := i.parseIssueURL(l.URL); ok {
			args.URLs = append(args.URLs, l.URL)
		}
	}
	if len(args.URLs) == 0 || (args.UnfurlID == "" && (args.Channel == "" || args.TS == "")) {
		return nil
	}
	if i.jobs == nil {
		go func() {
			wctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := i.unfurl(wctx, args); err != nil {
				i.log.Warn("slack unfurl failed", "err", err)
			}
		}()
		return nil
	}
	return i.jobs.Insert(ctx, tx, args, nil)
}

// issueRef is an issue page link: the organization (and, in the 2018 form,
// project) slug it names and the issue id.
type issueRef struct {
	org, project string
	id           int64
}

// parseIssueURL recognizes links to this instance's issue pages:
// <prefix>/organizations/{org}/issues/{id}/ and the 2018 form
// <prefix>/{org}/{project}/issues/{id}/, with or without the final slash,
// query or fragment.
func (i *Integration) parseIssueURL(raw string) (issueRef, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return issueRef{}, false
	}
	base, err := url.Parse(i.d.Config.URLPrefix)
	if err != nil || !strings.EqualFold(u.Host, base.Host) {
		return issueRef{}, false
	}
	rest, ok := strings.CutPrefix(u.Path, strings.TrimSuffix(base.Path, "/")+"/")
	if !ok {
		return issueRef{}, false
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if len(parts) != 4 || parts[2] != "issues" || parts[0] == "" || parts[1] == "" {
		return issueRef{}, false
	}
	id, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || id <= 0 {
		return issueRef{}, false
	}
	if parts[0] == "organizations" {
		return issueRef{org: parts[1], id: id}, true
	}
	return issueRef{org: parts[0], project: parts[1], id: id}, true
}

// unfurl answers one link_shared event: one chat.unfurl holding the card
// of each linked issue of an organization the workspace is attached to,
// keyed by the last URL naming it, or no call at all.
func (i *Integration) unfurl(ctx context.Context, a UnfurlArgs) error {
	orgs, err := i.d.Store.OrganizationsForIntegration(ctx, a.IntegrationID)
	if err != nil {
		return err
	}
	attached := map[int64]bool{}
	for _, o := range orgs {
		attached[o.ID] = true
	}
	last := map[int64]string{} // issue → the last URL naming it
	var order []int64
	for _, raw := range a.URLs {
		ref, ok := i.parseIssueURL(raw)
		if !ok {
			continue
		}
		issue, err := i.d.Store.IssueByID(ctx, ref.id)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		if issue.OrgSlug != ref.org || (ref.project != "" && issue.ProjectSlug != ref.project) || !attached[issue.OrgID] {
			continue
		}
		if _, seen := last[issue.ID]; !seen {
			order = append(order, issue.ID)
		}
		last[issue.ID] = raw
	}
	if len(order) == 0 {
		return nil
	}
	unfurls := map[string]slack.Attachment{}
	for _, id := range order {
		c, err := i.loadCard(ctx, i.d.Store.Queries, a.IntegrationID, id)
		if err != nil {
			return err
		}
		unfurls[last[id]] = c.UnfurlAttachment()
	}
	api, err := i.web.Client(ctx, a.IntegrationID)
	if err != nil {
		return err
	}
	if a.UnfurlID != "" {
		_, _, _, err = api.UnfurlMessageByIDContext(ctx, a.UnfurlID, a.Source, unfurls)
	} else {
		_, _, _, err = api.UnfurlMessageContext(ctx, a.Channel, a.TS, unfurls)
	}
	if err != nil {
		return i.web.Failed(ctx, a.IntegrationID, "chat.unfurl", err)
	}
	if a.UnfurlID != "" {
		return nil // a message still in the composer cannot be updated later
	}
	for _, id := range order {
		m := &triage.SlackMessage{IssueID: id, IntegrationID: a.IntegrationID, ChannelID: a.Channel, TS: a.TS, Kind: triage.SlackMessageUnfurl, URL: last[id]}
		if err := i.d.Store.RememberSlackMessage(ctx, m); err != nil {
			return err
		}
	}
	return nil
}
