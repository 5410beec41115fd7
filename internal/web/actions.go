package web

import (
	"net/http"

	"triage"
	"triage/internal/issues"
)

// issueActions are the buttons of the issue page: each submits
// action=<key> to the page's own URL.
var issueActions = map[string]struct {
	change issues.StatusChange
	done   string
}{
	"resolve":      {issues.StatusChange{Status: triage.StatusResolved}, "Issue resolved."},
	"resolve_next": {issues.StatusChange{Status: triage.StatusResolved, InNextRelease: true}, "Issue resolved in the next release."},
	"ignore":       {issues.StatusChange{Status: triage.StatusIgnored}, "Issue ignored."},
	"ignore_30m":   {issues.StatusChange{Status: triage.StatusIgnored, IgnoreMinutes: 30}, "Issue ignored for 30 minutes."},
	"ignore_2h":    {issues.StatusChange{Status: triage.StatusIgnored, IgnoreMinutes: 120}, "Issue ignored for 2 hours."},
	"ignore_24h":   {issues.StatusChange{Status: triage.StatusIgnored, IgnoreMinutes: 24 * 60}, "Issue ignored for 24 hours."},
	"ignore_100":   {issues.StatusChange{Status: triage.StatusIgnored, IgnoreCount: 100}, "Issue ignored until it occurs 100 more times."},
	"unresolve":    {issues.StatusChange{Status: triage.StatusUnresolved}, "Issue unresolved."},
}

// handleIssueAction applies one button of the issue page through the issue
// service, then goes back to the page (303) with a message. A refused
// change (EINVALID, EFORBIDDEN) is shown on the page itself.
func (s *Server) handleIssueAction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, u := r.Context(), CurrentUser(r)
		_, issue, ok := s.orgIssue(w, r)
		if !ok {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.showIssue(w, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		var upd issues.Update
		var done string
		action := r.PostForm.Get("action")
		if a, ok := issueActions[action]; ok {
			c := a.change
			upd.Status, done = &c, a.done
		} else if action == "assign" {
			to, err := triage.ParseAssignee(r.PostForm.Get("assignee"))
			if err != nil {
				s.showIssue(w, r, http.StatusBadRequest, triage.ErrorMessage(err))
				return
			}
			upd.Assign, done = &issues.AssignChange{Assignee: to}, "Issue unassigned."
		} else {
			s.showIssue(w, r, http.StatusBadRequest, "Unknown action.")
			return
		}
		res, err := s.issues.Update(ctx, triage.Actor{UserID: u.ID, Source: triage.SourceWeb}, issue.ID, upd)
		switch code := triage.ErrorCode(err); code {
		case "":
		case triage.EINVALID, triage.EFORBIDDEN, triage.ECONFLICT:
			s.showIssue(w, r, httpStatus(code), triage.ErrorMessage(err))
			return
		default:
			s.pageError(w, r, err)
			return
		}
		switch {
		case len(res.Activities) == 0:
			done = "Nothing changed: the issue was already in that state."
		case upd.Assign != nil && res.Issue.Assignee != nil:
			name := res.Issue.Assignee.Name
			if res.Issue.Assignee.Type == "team" {
				name = "#" + name
			}
			done = "Issue assigned to " + name + "."
		}
		s.flash(r, done)
		http.Redirect(w, r, res.Issue.Path(), http.StatusSeeOther)
	})
}
