package web

import (
	"net/http"

	"triage"
)

// apiIssueComments lists the issue's notes, newest first, in the shape
// of activity entries (type "note", data.text).
func (s *Server) apiIssueComments() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := parseID(r.PathValue("id"), "issue")
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		notes, err := s.issues.Comments(r.Context(), CurrentUser(r).ID, id)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, toAPIActivities(notes))
	})
}

// apiIssueCommentCreate adds a note: {"text": …}; 201 with the activity
// entry, 400 when the text is empty.
func (s *Server) apiIssueCommentCreate() http.Handler {
	type request struct {
		Text string `json:"text"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decodeJSON(w, r, &req); err != nil {
			s.apiError(w, r, err)
			return
		}
		id, err := parseID(r.PathValue("id"), "issue")
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		note, err := s.issues.Comment(r.Context(), issueOrigin(r, triage.SourceAPI), id, req.Text)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, toAPIActivity(note))
	})
}

// handleIssueComment is the issue page's comment form: the note is added
// and the browser goes back to the page (303), where it shows in the
// activity; a refused note (empty: the form's maxlength keeps it short
// enough) is explained on the page.
func (s *Server) handleIssueComment() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, issue, ok := s.orgIssue(w, r)
		if !ok {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.showIssue(w, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		text := r.PostForm.Get("text")
		_, err := s.issues.Comment(r.Context(), issueOrigin(r, triage.SourceWeb), issue.ID, text)
		switch code := triage.ErrorCode(err); code {
		case "":
		case triage.EINVALID, triage.EFORBIDDEN:
			s.showIssue(w, r, httpStatus(code), triage.ErrorMessage(err))
			return
		default:
			s.pageError(w, r, err)
			return
		}
		s.flash(r, "Comment added.")
		http.Redirect(w, r, issue.Path()+"#activity", http.StatusSeeOther)
	})
}
