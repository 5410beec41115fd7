package slack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"triage"
	"triage/internal/issues"
	"triage/internal/slack/message"
	"triage/internal/slack/webapi"
	"triage/internal/store"
)

// Action serves interactivity (SLACK §4): legacy buttons, menus and the
// resolve dialog, Block Kit buttons, menus and modals. It changes issues
// only through the issue service, as the linked person, and answers Slack
// at once; rebuilding messages is left to jobs.
func (i *Integration) Action() http.Handler {
	return i.verifier.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // read and size-limited by the verifier
		payload, err := message.FormPayload(body)
		if err != nil {
			badRequest(err).write(w)
			return
		}
		i.handleAction(r.Context(), payload).write(w)
	}))
}

// reply is the answer to one interactivity request; a nil body is an empty
// 200, which is what Slack wants when there is nothing to say.
type reply struct {
	status int
	body   any
}

var replyOK = reply{status: http.StatusOK}

func (r reply) write(w http.ResponseWriter) {
	if r.body == nil {
		w.WriteHeader(r.status)
		return
	}
	writeJSON(w, r.status, r.body)
}

func badRequest(err error) reply {
	msg := "bad request"
	if bp, ok := err.(message.BadPayload); ok {
		msg = string(bp)
	}
	return reply{http.StatusBadRequest, map[string]string{"detail": msg}}
}

func forbidden(msg string) reply {
	return reply{http.StatusForbidden, map[string]string{"detail": msg}}
}

var internalReply = reply{http.StatusInternalServerError, map[string]string{"detail": "internal error"}}

// action is one verified, parsed interaction on an issue.
type action struct {
	p      *message.Interaction
	req    *message.Request
	in     *triage.Integration
	t      *store.SlackActionTarget
	userID int64
}

// responseURL is where a message for the clicking person goes.
func (a *action) responseURL() string {
	switch {
	case a.p.ResponseURL != "":
		return a.p.ResponseURL
	case a.req.Meta.ResponseURL != "":
		return a.req.Meta.ResponseURL
	}
	return a.req.Dialog.OrigResponseURL
}

func (a *action) channel() string {
	if ch := a.p.ChannelID(); ch != "" {
		return ch
	}
	return a.req.Meta.Channel
}

func (i *Integration) handleAction(ctx context.Context, payload []byte) reply {
	p, err := message.ParseInteraction(payload, message.TypeInteractiveMessage, message.TypeDialogSubmission, message.TypeBlockActions, message.TypeViewSubmission)
	if err != nil {
		return badRequest(err)
	}
	if p.IsHomeAction() {
		return i.homeAction(ctx, p)
	}
	req, err := p.Request()
	if err != nil {
		return badRequest(err)
	}
	if req.Action == message.ActionStatus || req.Action == message.ActionAssign {
		if rep, ok := i.applyLocated(ctx, p, req); ok {
			return rep
		}
		// Not a change this click may make: the reads below say why.
	}
	in, t, rep, ok := i.target(ctx, p.TeamID(), p.UserID(), req.IssueID)
	if !ok {
		return rep
	}
	a := &action{p: p, req: req, in: in, t: t, userID: t.UserID}
	if in.Status != triage.IntegrationActive {
		return i.refuse(ctx, a, disabledText(in), "")
	}
	if a.userID == 0 {
		return i.linkPrompt(ctx, a)
	}
	if req.Action == message.ActionResolveDialog || req.Action == message.ActionIgnoreDialog {
		return i.openChoice(ctx, a)
	}
	return i.apply(ctx, a)
}

// target finds the workspace, the issue (which must belong to an
// organization the workspace is attached to: 403 otherwise) and who the
// Slack user is linked to, in one query: this runs on every click.
func (i *Integration) target(ctx context.Context, teamID, slackUser string, issueID int64) (*triage.Integration, *store.SlackActionTarget, reply, bool) {
	in, t, err := i.d.Store.SlackActionTarget(ctx, teamID, slackUser, issueID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, nil, forbidden("Triage is not installed in this Slack workspace"), false
	} else if err != nil {
		i.log.Error("slack: load action target", "err", err)
		return nil, nil, internalReply, false
	}
	if t.IssueID == 0 || !t.Attached {
		return nil, nil, forbidden("issue not found"), false
	}
	return in, t, reply{}, true
}

// errNotApplied ends a click's change transaction without a change: the
// workspace, the link or the issue is not what a change needs, and the
// refusal is worked out outside the transaction.
var errNotApplied = errors.New("slack: not a change this click may make")

// applyLocated changes the issue as the linked person, reading the
// workspace, the link, the issue (locked) and the person's access in the
// change's first statement: a click that changes an issue costs no read
// before its transaction. ok is false when the click may not change the
// issue as it stands (unknown workspace or issue, workspace not attached
// or disabled, person not linked): the caller answers it.
func (i *Integration) applyLocated(ctx context.Context, p *message.Interaction, req *message.Request) (reply, bool) {
	a := &action{p: p, req: req}
	var o *origin
	unlock, err := i.clickTurn(ctx, req.IssueID)
	if err != nil {
		return internalReply, true
	}
	res, err := i.d.Issues.UpdateLocated(ctx, func(ctx context.Context, tx *store.Tx) (issues.Origin, *triage.Issue, store.IssueAccess, error) {
		in, t, issue, acc, err := tx.SlackChangeTarget(ctx, p.TeamID(), p.UserID(), req.IssueID)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			return issues.Origin{}, nil, acc, errNotApplied
		} else if err != nil {
			return issues.Origin{}, nil, acc, err
		}
		if in.Status != triage.IntegrationActive || t.UserID == 0 || !t.Attached {
			return issues.Origin{}, nil, acc, errNotApplied
		}
		a.in, a.t, a.userID = in, t, t.UserID
		var origin issues.Origin
		o, origin = i.changeOrigin(a)
		return origin, issue, acc, nil
	}, updateOf(req))
	unlock()
	if err != nil && a.t == nil {
		// Refused before the click's target was read (errNotApplied, an
		// invalid change, a failed read): the reads below say why, as
		// for any other click.
		return reply{}, false
	}
	return i.applied(ctx, a, o, res, err), true
}

// updateOf is the change a click asks for.
func updateOf(req *message.Request) issues.Update {
	var u issues.Update
	switch req.Action {
	case message.ActionStatus:
		u.Status = statusChange(req.Value)
	case message.ActionResolveDialog: // a project without releases resolves at once
		u.Status = statusChange("resolved")
	case message.ActionAssign:
		to, _ := triage.ParseAssignee(req.Value)
		u.Assign = &issues.AssignChange{Assignee: to}
	}
	return u
}

// changeOrigin is who changes the issue and from which message.
func (i *Integration) changeOrigin(a *action) (*origin, issues.Origin) {
	o := i.originOf(a)
	origin := issues.Origin{Actor: triage.Actor{UserID: a.userID, Source: triage.SourceSlack, SlackUserID: a.p.UserID()}}
	if o.ts != "" {
		origin.SlackMessage = &issues.SlackMessage{IntegrationID: o.integrationID, Channel: o.channel, TS: o.ts}
	}
	return o, origin
}

// apply changes the issue as the linked person, the target read already.
func (i *Integration) apply(ctx context.Context, a *action) reply {
	o, origin := i.changeOrigin(a)
	unlock, err := i.clickTurn(ctx, a.t.IssueID)
	if err != nil {
		return internalReply
	}
	res, err := i.d.Issues.UpdateFrom(ctx, origin, a.t.IssueID, updateOf(a.req))
	unlock()
	return i.applied(ctx, a, o, res, err)
}

// applied answers a click after its change: the refusal, or the rebuild
// of the clicked message.
func (i *Integration) applied(ctx context.Context, a *action, o *origin, res *issues.Result, err error) reply {
	if err != nil {
		return i.refuseErr(ctx, a, err)
	}
	// When nothing changed (a double click) the change that set this state
	// has rebuilt the message already.
	if len(res.Activities) > 0 && o.refresh != nil {
		i.dispatch(ctx, *o.refresh)
	}
	if a.p.Type != message.TypeInteractiveMessage {
		return replyOK
	}
	c, err := i.loadCard(ctx, i.d.Store.Queries, a.in.ID, a.t.IssueID)
	if err != nil {
		i.log.Error("slack action: rebuild card", "issue_id", a.t.IssueID, "err", err)
		return internalReply
	}
	return reply{http.StatusOK, c.LegacyReply(a.p.IsMessage())}
}

// listOf is the list of issues (/triage issues) whose row was clicked.
func listOf(p *message.Interaction) (message.ListRef, bool) {
	if p.Type != message.TypeBlockActions || len(p.Actions) == 0 {
		return message.ListRef{}, false
	}
	return message.ParseListRef(p.Actions[0].BlockID)
}

// statusChange is a status value (checked when the payload was parsed)
// as the issue service takes it.
func statusChange(value string) *issues.StatusChange {
	s, ok := message.ParseStatus(value)
	if !ok {
		return nil
	}
	return &issues.StatusChange{Status: s.Status, InNextRelease: s.InNextRelease, InCurrentRelease: s.InCurrentRelease,
		IgnoreMinutes: s.IgnoreMinutes, IgnoreCount: s.IgnoreCount, IgnoreUntil: s.IgnoreUntil}
}

// originOf names the clicked message and how to rebuild it.
func (i *Integration) originOf(a *action) *origin {
	p, o := a.p, &origin{integrationID: a.in.ID, channel: a.channel()}
	r := &RefreshCardArgs{IntegrationID: a.in.ID, IssueID: a.t.IssueID}
	switch p.Type {
	case message.TypeInteractiveMessage:
		o.ts = p.MessageTS
		return o // the reply carries the rebuilt message
	case message.TypeBlockActions:
		o.ts = p.Container.MessageTS
		r.Channel, r.TS, r.ResponseURL = o.channel, o.ts, p.ResponseURL
		if p.Container.IsAppUnfurl {
			r.UnfurlURL = p.Container.AppUnfurlURL
		}
		if ref, ok := listOf(p); ok && p.ResponseURL != "" {
			r.List, r.ListQuery = ref.IDs, ref.Query
		}
	case message.TypeViewSubmission:
		m := a.req.Meta
		o.channel, o.ts = m.Channel, m.TS
		r.Channel, r.TS, r.ResponseURL, r.UnfurlURL = m.Channel, m.TS, m.ResponseURL, m.UnfurlURL
		if ref, ok := message.DecodeListRef(m.List); ok && m.ResponseURL != "" {
			r.List, r.ListQuery = ref.IDs, ref.Query
		}
	case message.TypeDialogSubmission:
		r.Legacy, r.ResponseURL, r.IsMessage = true, a.req.Dialog.OrigResponseURL, a.req.Dialog.IsMessage
	}
	if r.ResponseURL != "" || (r.Channel != "" && r.TS != "") {
		o.refresh = r
	}
	return o
}

// openChoice opens the resolve dialog (legacy) or the resolve or ignore
// modal (Block Kit). Their trigger_id dies 3 s after the click, so this
// does nothing slow before opening them.
func (i *Integration) openChoice(ctx context.Context, a *action) reply {
	issue, err := i.d.Issues.Get(ctx, a.userID, a.t.IssueID)
	if err != nil {
		return i.refuseErr(ctx, a, err)
	}
	if a.req.Action == message.ActionResolveDialog {
		if _, err := i.d.Store.CurrentRelease(ctx, issue.ProjectID); triage.ErrorCode(err) == triage.ENOTFOUND {
			return i.apply(ctx, a)
		} else if err != nil {
			i.log.Error("slack action: current release", "issue_id", issue.ID, "err", err)
			return internalReply
		}
	}
	api, err := i.web.Client(ctx, a.in.ID)
	if err != nil {
		i.log.Warn("slack action: no client", "integration_id", a.in.ID, "err", err)
		return i.refuse(ctx, a, "Triage cannot reach Slack for this workspace right now: "+triage.ErrorMessage(err), "")
	}
	p := a.p
	if p.Type == message.TypeInteractiveMessage && a.req.Action == message.ActionResolveDialog {
		dlg, derr := message.ResolveDialog(p.TriggerID, message.DialogCallback{Issue: issue.ID, OrigResponseURL: p.ResponseURL, IsMessage: p.IsMessage()})
		if err = derr; err == nil {
			err = api.OpenDialogContext(ctx, p.TriggerID, dlg)
		}
	} else {
		kind := message.ModalResolve
		if a.req.Action == message.ActionIgnoreDialog {
			kind = message.ModalIgnore
		}
		meta := message.ModalMeta{Issue: issue.ID, Channel: a.channel(), TS: p.Container.MessageTS, ResponseURL: p.ResponseURL}
		if p.Type == message.TypeInteractiveMessage {
			meta.TS = p.MessageTS
		}
		if p.Container.IsAppUnfurl {
			meta.UnfurlURL = p.Container.AppUnfurlURL
		}
		if ref, ok := listOf(p); ok {
			meta.List = ref.Encode()
		}
		_, err = api.OpenViewContext(ctx, p.TriggerID, message.ChoiceModal(kind, meta, issue, i.absURL(issue.Path())+"?referrer=slack"))
	}
	if err != nil {
		err = i.web.Failed(ctx, a.in.ID, "open dialog", err)
		i.log.Warn("slack action: dialog not opened", "integration_id", a.in.ID, "err", err)
		return i.refuse(ctx, a, "Slack did not open the dialog ("+slackCodeOr(err, "no answer")+"). Try again.", "")
	}
	return replyOK
}

func slackCodeOr(err error, dflt string) string {
	if c := webapi.Code(err); c != "" {
		return c
	}
	return dflt
}

// refuseErr explains why the issue service said no.
func (i *Integration) refuseErr(ctx context.Context, a *action, err error) reply {
	switch triage.ErrorCode(err) {
	case triage.EINVALID:
		msg := triage.ErrorMessage(err)
		return i.refuse(ctx, a, "Triage did not do that: "+message.EscapeMrkdwn(msg), msg)
	case triage.ENOTFOUND:
		return i.unlinkOffer(ctx, a, fmt.Sprintf("it is not a member of the organization %s", a.t.OrgSlug))
	case triage.EFORBIDDEN:
		return i.unlinkOffer(ctx, a, triage.ErrorMessage(err))
	}
	i.log.Error("slack action", "issue_id", a.t.IssueID, "err", err)
	return i.refuse(ctx, a, "Triage could not do that just now. Try again in a moment.", "")
}

func (i *Integration) linkPrompt(ctx context.Context, a *action) reply {
	u, err := i.LinkURL(LinkParams{IntegrationID: a.in.ID, SlackUserID: a.p.UserID(), ChannelID: a.channel(),
		ResponseURL: a.responseURL(), OrgID: a.t.OrgID})
	if err != nil {
		i.log.Error("slack action: link url", "err", err)
		return internalReply
	}
	return i.refuse(ctx, a, fmt.Sprintf("Your Slack account is not linked to Triage yet, so Triage cannot act as you. "+
		"<%s|Link your Slack identity to your Triage account>, then try again. The link is valid for 2 days.", u), "")
}

func (i *Integration) unlinkOffer(ctx context.Context, a *action, why string) reply {
	u, err := i.UnlinkURL(LinkParams{IntegrationID: a.in.ID, SlackUserID: a.p.UserID(), ChannelID: a.channel(), ResponseURL: a.responseURL()})
	if err != nil {
		i.log.Error("slack action: unlink url", "err", err)
		return internalReply
	}
	return i.refuse(ctx, a, fmt.Sprintf("Your Slack account is linked to a Triage account that may no longer do this: %s. Nothing was changed. "+
		"<%s|Unlink your Slack identity>, then link the right account with `/triage link`.", message.EscapeMrkdwn(why), u), "")
}

func disabledText(in *triage.Integration) string {
	state := strings.ToLower(statusText[in.Status])
	if state == "" {
		state = in.Status
	}
	why := ""
	if in.StatusReason != "" {
		why = " (" + message.EscapeMrkdwn(in.StatusReason) + ")"
	}
	return fmt.Sprintf("Triage's Slack app is %s in this workspace%s, so nothing was changed. "+
		"An organization admin can reinstall it from the organization's settings in Triage.", state, why)
}

// refuse tells the clicking person why nothing happened, the way each
// payload type allows: in the response body for legacy clicks, as field
// errors for an invalid dialog or modal choice, else as an ephemeral
// message sent by a job (Block Kit ignores response bodies).
func (i *Integration) refuse(ctx context.Context, a *action, text, invalid string) reply {
	switch a.p.Type {
	case message.TypeInteractiveMessage:
		return reply{http.StatusOK, webapi.EphemeralBody(text)}
	case message.TypeDialogSubmission:
		if invalid != "" {
			return reply{http.StatusOK, map[string]any{"errors": []map[string]string{{"name": message.InputResolve, "error": message.Truncate(invalid, 150)}}}}
		}
	case message.TypeViewSubmission:
		if invalid != "" {
			input := message.InputResolve
			if a.p.View.CallbackID == message.ModalIgnore {
				input = message.InputIgnore
			}
			return reply{http.StatusOK, map[string]any{"response_action": "errors", "errors": map[string]string{input: message.Truncate(invalid, 150)}}}
		}
	}
	args := RespondArgs{IntegrationID: a.in.ID, ResponseURL: a.responseURL(), Channel: a.channel(), User: a.p.UserID(), Text: text}
	if a.in.Status != triage.IntegrationActive {
		args.Channel = "" // its token is no longer used: the response URL needs none
	}
	if args.ResponseURL == "" && args.Channel == "" && a.p.Container.Type == "view" && a.in.Status == triage.IntegrationActive {
		args.DM = true // the Home tab: say it in the Messages tab
	} else if args.ResponseURL == "" && args.Channel == "" {
		i.log.Info("slack action refused with nowhere to say why", "integration_id", a.in.ID)
		return replyOK
	}
	i.dispatch(ctx, args)
	return replyOK
}
