package web

import (
	"net/http"
	"strconv"
	"strings"

	"triage"
	"triage/internal/access"
	"triage/internal/issues"
)

// issueOrigin is a person's change from a page (web) or the API.
func issueOrigin(r *http.Request, src triage.Source) issues.Origin {
	return issues.Origin{Actor: triage.Actor{UserID: CurrentUser(r).ID, Source: src}}
}

// parseIDs reads the issue ids of a bulk request (?id=1&id=2, or the id
// fields of a form).
func parseIDs(raw []string) ([]int64, error) {
	if len(raw) == 0 {
		return nil, triage.Errorf(triage.EINVALID, "name the issues: ?id=1&id=2")
	}
	ids := make([]int64, 0, len(raw))
	for _, v := range raw {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return nil, triage.Errorf(triage.EINVALID, "invalid issue id %q", v)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// apiIssueBulkUpdate is Sentry's PUT on an organization's issues: the
// body of a PUT on one issue, applied to every ?id= at once (all or
// nothing). Ids of issues the caller cannot see are ignored, as Sentry
// ignores them; when none is left the answer is 204, as Sentry's. Else 200
// with what was applied, Sentry-shaped: status and statusDetails,
// assignedTo.
func (s *Server) apiIssueBulkUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, u := r.Context(), CurrentUser(r)
		org, _, err := s.orgMember(ctx, r, u)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		ids, err := parseIDs(r.URL.Query()["id"])
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		var req apiUpdateRequest
		if err := decodeJSON(w, r, &req); err != nil {
			s.apiError(w, r, err)
			return
		}
		upd, err := s.updateFromRequest(r, req, nil)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		res, err := s.issues.UpdateMany(ctx, issueOrigin(r, triage.SourceAPI), org.ID, ids, upd)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		if len(res.Issues) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		// Every issue got the same change: the first says what it was.
		first, out := s.toAPIIssue(res.Issues[0]), map[string]any{}
		if upd.Status != nil {
			out["status"], out["statusDetails"] = first.Status, first.StatusDetails
		}
		if upd.Assign != nil {
			out["assignedTo"] = first.AssignedTo
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// apiIssueDelete deletes an issue (org owners and admins): 202 with no
// body, and the issue is 404 from then on.
func (s *Server) apiIssueDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := parseID(r.PathValue("id"), "issue")
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		if err := s.issues.Delete(r.Context(), issueOrigin(r, triage.SourceAPI), id); err != nil {
			s.apiError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}

// bulkForm is the toolbar above the issue list that acts on the checked
// issues.
type bulkForm struct {
	Back      string // the list as it was, to come back to
	Assignees []assignOption
	CanDelete bool
}

// bulkForm builds the toolbar: everyone may resolve, ignore and assign
// (the issue service checks each issue); owners and admins also delete.
func (s *Server) bulkForm(r *http.Request, org *triage.Organization, u *triage.User) (*bulkForm, error) {
	_, me, err := s.orgMember(r.Context(), r, u)
	if err != nil {
		return nil, err
	}
	members, err := s.dir.Members(r.Context(), org.ID)
	if err != nil {
		return nil, err
	}
	f := &bulkForm{Back: r.URL.RequestURI(), CanDelete: me.Role.CanAdmin()}
	f.Assignees = []assignOption{{Value: "", Label: "Nobody"}}
	for _, m := range members {
		label := m.User.DisplayName()
		if m.User.ID == u.ID {
			label += " (me)"
		}
		f.Assignees = append(f.Assignees, assignOption{Value: "user:" + itoa(m.User.ID), Label: label})
	}
	return f, nil
}

// bulkActions are the toolbar's status buttons.
var bulkActions = map[string]struct {
	change issues.StatusChange
	done   string // "%d issues resolved."
}{
	"resolve":   {issues.StatusChange{Status: triage.StatusResolved}, "resolved"},
	"ignore":    {issues.StatusChange{Status: triage.StatusIgnored}, "ignored"},
	"unresolve": {issues.StatusChange{Status: triage.StatusUnresolved}, "unresolved"},
}

// handleIssueBulk applies the toolbar of the issue list to the checked
// issues, then goes back to the list (303) saying how many changed.
// Delete asks first, on a page naming the issues.
func (s *Server) handleIssueBulk() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, u := r.Context(), CurrentUser(r)
		org, me, err := s.orgMember(ctx, r, u)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		listURL := "/organizations/" + org.Slug + "/issues/"
		back := r.PostForm.Get("back")
		if !strings.HasPrefix(safeNext(back), listURL) {
			back = listURL
		}
		if len(r.PostForm["id"]) == 0 {
			s.flash(r, "Select the issues to act on first.")
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
		ids, err := parseIDs(r.PostForm["id"])
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		origin := issueOrigin(r, triage.SourceWeb)
		action := r.PostForm.Get("action")
		if action == "delete" {
			s.bulkDelete(w, r, org, me, ids, back)
			return
		}
		var upd issues.Update
		done := ""
		if a, ok := bulkActions[action]; ok {
			c := a.change
			upd.Status, done = &c, a.done
		} else if action == "assign" {
			to, err := triage.ParseAssignee(r.PostForm.Get("assignee"))
			if err != nil {
				s.pageError(w, r, err)
				return
			}
			upd.Assign, done = &issues.AssignChange{Assignee: to}, "assigned"
			if to == nil {
				done = "unassigned"
			}
		} else {
			s.errorPage(w, r, http.StatusBadRequest, "Unknown action.")
			return
		}
		res, err := s.issues.UpdateMany(ctx, origin, org.ID, ids, upd)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		changed := map[int64]bool{}
		for _, a := range res.Activities {
			changed[a.IssueID] = true
		}
		s.flash(r, countIssues(len(changed), done, len(res.Issues)))
		http.Redirect(w, r, back, http.StatusSeeOther)
	})
}

// countIssues says what a bulk action did: "2 issues resolved.", and how
// many of the chosen were already so.
func countIssues(changed int, done string, of int) string {
	msg := plural(int64(changed), "issue") + " " + done + "."
	if changed == 1 {
		msg = "1 issue " + done + "."
	}
	if same := of - changed; same > 0 {
		msg += " " + plural(int64(same), "issue") + " already were."
		if same == 1 {
			msg = strings.TrimSuffix(msg, "were.") + "was."
		}
	}
	return msg
}

// bulkDelete asks "Delete these N issues?" on a page listing them, and
// deletes them once confirmed (owners and admins only).
func (s *Server) bulkDelete(w http.ResponseWriter, r *http.Request, org *triage.Organization, me *triage.Member, ids []int64, back string) {
	if err := access.RequireAdmin(org, me, "delete issues"); err != nil {
		s.errorPage(w, r, http.StatusForbidden, triage.ErrorMessage(err))
		return
	}
	if r.PostForm.Get("confirm") == "yes" {
		deleted, err := s.issues.DeleteMany(r.Context(), issueOrigin(r, triage.SourceWeb), org.ID, ids)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.flash(r, countIssues(len(deleted), "deleted", len(deleted)))
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	type row struct {
		ID, ShortID, Title string
	}
	var rows []row
	for _, id := range ids {
		i, err := s.issues.Get(r.Context(), CurrentUser(r).ID, id)
		if code := triage.ErrorCode(err); code == triage.ENOTFOUND || code == triage.EFORBIDDEN || (err == nil && i.OrgID != org.ID) {
			continue
		} else if err != nil {
			s.pageError(w, r, err)
			return
		}
		rows = append(rows, row{ID: itoa(i.ID), ShortID: i.ShortID(), Title: i.Title})
	}
	s.render(w, r, http.StatusOK, "issues_delete.html", &view{Title: "Delete issues", Org: org, Nav: "issues", Data: struct {
		Issues              []row
		Action, Back, Count string
	}{rows, "/organizations/" + org.Slug + "/issues/", back, plural(int64(len(rows)), "issue")}})
}
