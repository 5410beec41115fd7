package web

import (
	"context"
	"html/template"
	"net/http"
	"strconv"

	"triage"
	"triage/internal/eventview"
)

// EventViewer shows an issue's stored events; *eventview.View is one.
// which is an event id, "latest" or "oldest"; each returns ENOTFOUND when
// the issue has no such event.
type EventViewer interface {
	// Section renders the latest event for the issue page.
	Section(ctx context.Context, issue *triage.Issue) (template.HTML, error)
	// EventSection renders one event with links to its neighbours.
	EventSection(ctx context.Context, issue *triage.Issue, which string) (template.HTML, error)
	// RawJSON is the event as the SDK sent it, secrets masked.
	RawJSON(ctx context.Context, issue *triage.Issue, which string) ([]byte, error)
	Event(ctx context.Context, issue *triage.Issue, which string) (*eventview.APIEvent, error)
	Events(ctx context.Context, issue *triage.Issue, offset, limit int, full bool) ([]*eventview.APIEvent, bool, error)
}

// handleEventPage is the issue page showing one of its events.
func (s *Server) handleEventPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org, issue, ok := s.orgIssue(w, r)
		if !ok {
			return
		}
		if s.d.Events == nil {
			s.pageError(w, r, triage.Errorf(triage.ENOTFOUND, "event not found"))
			return
		}
		html, err := s.d.Events.EventSection(r.Context(), issue, r.PathValue("event_id"))
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		d, err := s.issuePage(r, issue, false)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		d.Events = html
		s.render(w, r, http.StatusOK, "issue.html", &view{Title: issue.ShortID() + " " + issue.Title, Org: org, Nav: "issues", Data: d})
	})
}

// handleEventJSON downloads an event's JSON.
func (s *Server) handleEventJSON() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, issue, ok := s.orgIssue(w, r)
		if !ok {
			return
		}
		if s.d.Events == nil {
			s.pageError(w, r, triage.Errorf(triage.ENOTFOUND, "event not found"))
			return
		}
		b, err := s.d.Events.RawJSON(r.Context(), issue, r.PathValue("event_id"))
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", `attachment; filename="event-`+r.PathValue("event_id")+`.json"`)
		_, _ = w.Write(b)
	})
}

// apiIssueEvents lists an issue's events, newest first; full=true adds
// each event's entries.
func (s *Server) apiIssueEvents() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		issue, err := s.issueFromPath(r)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		q := r.URL.Query()
		offset, err := parseCursor(q.Get("cursor"))
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		limit := apiPageSize
		if l := q.Get("limit"); l != "" {
			if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > 100 {
				s.apiError(w, r, triage.Errorf(triage.EINVALID, "limit must be a number from 1 to 100"))
				return
			}
		}
		list, more := []*eventview.APIEvent{}, false
		if s.d.Events != nil {
			if list, more, err = s.d.Events.Events(r.Context(), issue, offset, limit, q.Get("full") == "true"); err != nil {
				s.apiError(w, r, err)
				return
			}
		}
		w.Header().Set("Link", s.linkHeader(r, offset, limit, more))
		writeJSON(w, http.StatusOK, list)
	})
}

// apiIssueEvent is one event of the issue: {event_id} is its id, "latest"
// or "oldest".
func (s *Server) apiIssueEvent() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		issue, err := s.issueFromPath(r)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		which := r.PathValue("event_id")
		if s.d.Events == nil {
			s.apiError(w, r, triage.Errorf(triage.ENOTFOUND, "event not found"))
			return
		}
		e, err := s.d.Events.Event(r.Context(), issue, which)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, e)
	})
}
