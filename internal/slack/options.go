package slack

import (
	"context"
	"io"
	"net/http"

	"triage"
	"triage/internal/slack/message"
	"triage/internal/store"
)

// OptionsLoad serves the assignee menu's options once a project has more
// people and teams than a static menu holds: those whose name, email or
// slug contains what was typed. Only a linked person with access to the
// issue sees any: the list names people.
func (i *Integration) OptionsLoad() http.Handler {
	return i.verifier.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		payload, err := message.FormPayload(body)
		if err != nil {
			badRequest(err).write(w)
			return
		}
		i.handleOptions(r.Context(), payload).write(w)
	}))
}

func (i *Integration) handleOptions(ctx context.Context, payload []byte) reply {
	p, err := message.ParseInteraction(payload, message.TypeBlockSuggestion, message.TypeInteractiveMessage, "dialog_suggestion")
	if err != nil {
		return badRequest(err)
	}
	ref := p.CallbackID
	if p.Type == message.TypeBlockSuggestion {
		ref = p.BlockID
	}
	issueID, ok := message.ParseIssueID(ref)
	if !ok {
		return badRequest(message.BadPayload("payload names no issue"))
	}
	in, t, rep, ok := i.target(ctx, p.TeamID(), p.UserID(), issueID)
	if !ok {
		return rep
	}
	blockKit := p.Type == message.TypeBlockSuggestion
	none := reply{http.StatusOK, map[string]any{"options": []any{}}}
	if in.Status != store.IntegrationActive || t.UserID == 0 {
		return none
	}
	if _, err := i.d.Issues.Get(ctx, t.UserID, t.IssueID); err != nil {
		if code := triage.ErrorCode(err); code == triage.ENOTFOUND || code == triage.EFORBIDDEN {
			return none
		}
		i.log.Error("slack options: check access", "err", err)
		return internalReply
	}
	c, err := i.loadCard(ctx, i.d.Store.Queries, in.ID, t.IssueID)
	if err != nil {
		i.log.Error("slack options: load card", "err", err)
		return internalReply
	}
	teams, people := message.MatchAssignees(c, p.Value)
	return reply{http.StatusOK, message.OptionGroups(teams, people, blockKit)}
}
