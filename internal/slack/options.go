package slack

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"triage"
)

// OptionsLoad serves the assignee menu's options once a project has more
// people and teams than a static menu holds: those whose name, email or
// slug contains what was typed. Only a linked person with access to the
// issue sees any: the list names people.
func (i *Integration) OptionsLoad() http.Handler {
	return i.verifier.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		payload, err := formPayload(body)
		if err != nil {
			badRequest(err).write(w)
			return
		}
		i.handleOptions(r.Context(), payload).write(w)
	}))
}

func (i *Integration) handleOptions(ctx context.Context, payload []byte) reply {
	p, err := parseInteraction(payload, typeBlockSuggestion, typeInteractiveMessage, "dialog_suggestion")
	if err != nil {
		return badRequest(err)
	}
	ref := p.CallbackID
	if p.Type == typeBlockSuggestion {
		ref = p.BlockID
	}
	issueID, ok := parseIssueID(ref)
	if !ok {
		return badRequest(badPayload("payload names no issue"))
	}
	in, t, rep, ok := i.target(ctx, p.teamID(), p.userID(), issueID)
	if !ok {
		return rep
	}
	blockKit := p.Type == typeBlockSuggestion
	none := reply{http.StatusOK, map[string]any{"options": []any{}}}
	if in.Status != triage.IntegrationActive || t.UserID == 0 {
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
	teams, people := matchAssignees(c, p.Value)
	return reply{http.StatusOK, optionGroups(teams, people, blockKit)}
}

// matchAssignees filters the assignable teams and people by what was
// typed (case-insensitive, anywhere in the slug, name or email), keeping
// at most maxStaticOptions in all.
func matchAssignees(c *card, typed string) (teams, people []choice) {
	q := strings.ToLower(strings.TrimSpace(typed))
	n := 0
	for _, t := range c.Teams {
		if n < maxStaticOptions && strings.Contains(strings.ToLower(t.Slug+" "+t.Name), q) {
			teams = append(teams, choice{"team:" + strconv.FormatInt(t.ID, 10), truncate("#"+t.Slug, 75)})
			n++
		}
	}
	for _, u := range c.Users {
		if n < maxStaticOptions && strings.Contains(strings.ToLower(u.Name+" "+u.Email), q) {
			people = append(people, choice{"user:" + strconv.FormatInt(u.ID, 10), truncate(u.DisplayName(), 75)})
			n++
		}
	}
	return teams, people
}

// optionGroups renders options in Block Kit's or the legacy shape.
func optionGroups(teams, people []choice, blockKit bool) map[string]any {
	var groups []any
	for _, g := range []struct {
		label string
		opts  []choice
	}{{"Teams", teams}, {"People", people}} {
		if len(g.opts) == 0 {
			continue
		}
		if blockKit {
			grp := &slack.OptionGroupBlockObject{Label: plain(g.label)}
			for _, o := range g.opts {
				grp.Options = append(grp.Options, blockOption(o))
			}
			groups = append(groups, grp)
		} else {
			groups = append(groups, legacyGroup{Text: g.label, Options: legacyOptions(g.opts)})
		}
	}
	if len(groups) == 0 {
		return map[string]any{"options": []any{}}
	}
	return map[string]any{"option_groups": groups}
}
