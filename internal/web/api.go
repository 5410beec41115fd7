package web

import (
	"net/http"
	"time"

	"triage"
	"triage/internal/search"
)

// apiIssue is Sentry's group shape, as far as Triage has its fields.
type apiIssue struct {
	ID            string         `json:"id"`
	ShortID       string         `json:"shortId"`
	Title         string         `json:"title"`
	Culprit       string         `json:"culprit"`
	Level         string         `json:"level"`
	Status        string         `json:"status"`
	StatusDetails map[string]any `json:"statusDetails"`
	AssignedTo    *apiAssignee   `json:"assignedTo"`
	Count         int64          `json:"count"`
	FirstSeen     time.Time      `json:"firstSeen"`
	LastSeen      time.Time      `json:"lastSeen"`
	Permalink     string         `json:"permalink"`
	Project       apiProjectRef  `json:"project"`
	UserCount     int64          `json:"userCount"`
	// Stats is {"24h": [[unix seconds, count], …]} with statsPeriod.
	Stats map[string][][2]int64 `json:"stats,omitempty"`
}

type apiAssignee struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

type apiProjectRef struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
}

func (s *Server) toAPIIssue(i *triage.Issue) apiIssue {
	out := apiIssue{
		ID: itoa(i.ID), ShortID: i.ShortID(), Title: i.Title, Culprit: i.Culprit, Level: i.Level,
		Status: string(i.Status), StatusDetails: apiStatusDetails(i.StatusDetails), Count: i.TimesSeen,
		FirstSeen: i.FirstSeen.UTC(), LastSeen: i.LastSeen.UTC(),
		Permalink: s.cfg.URLPrefix + i.Path(),
		Project:   apiProjectRef{ID: itoa(i.ProjectID), Slug: i.ProjectSlug},
		UserCount: i.UserCount,
	}
	if a := i.Assignee; a != nil {
		out.AssignedTo = &apiAssignee{Type: a.Type, ID: itoa(a.ID), Name: a.Name}
	}
	return out
}

// apiStatusDetails is Sentry's statusDetails: only the keys that apply.
func apiStatusDetails(d triage.StatusDetails) map[string]any {
	m := map[string]any{}
	if d.InNextRelease {
		m["inNextRelease"] = true
	}
	if d.InRelease != "" {
		m["inRelease"] = d.InRelease
	}
	if d.IgnoreCount > 0 {
		m["ignoreCount"] = d.IgnoreCount
	}
	if d.IgnoreWindow > 0 {
		m["ignoreWindow"] = d.IgnoreWindow
	}
	if d.IgnoreMinutes > 0 {
		m["ignoreDuration"] = d.IgnoreMinutes
	}
	if d.IgnoreUntil != nil {
		m["ignoreUntil"] = d.IgnoreUntil.UTC()
	}
	if d.ActorID != 0 {
		m["actor"] = map[string]string{"id": itoa(d.ActorID)}
	}
	return m
}

// issueFromPath loads {id} for the caller: ENOTFOUND when they cannot see
// it, EFORBIDDEN when they are in its organization without access.
func (s *Server) issueFromPath(r *http.Request) (*triage.Issue, error) {
	id, err := parseID(r.PathValue("id"), "issue")
	if err != nil {
		return nil, err
	}
	return s.issues.Get(r.Context(), CurrentUser(r).ID, id)
}

func (s *Server) apiIssueGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		period, err := search.ParsePeriod(r.URL.Query().Get("statsPeriod"))
		if err != nil {
			s.apiError(w, r, searchError(err))
			return
		}
		issue, err := s.issueFromPath(r)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		out := s.toAPIIssue(issue)
		if period != "" {
			trends, err := s.trends(r.Context(), []*triage.Issue{issue}, period)
			if err != nil {
				s.apiError(w, r, err)
				return
			}
			out.Stats = map[string][][2]int64{string(period): apiStats(trends[issue.ID])}
		}
		writeJSON(w, http.StatusOK, out)
	})
}

type apiActivity struct {
	ID          string           `json:"id"`
	Type        string           `json:"type"`
	User        *apiActivityUser `json:"user"`
	Source      string           `json:"source"`
	Data        map[string]any   `json:"data"`
	DateCreated time.Time        `json:"dateCreated"`
}

type apiActivityUser struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// apiIssueActivity is the issue's log, newest first, as a JSON array.
func (s *Server) apiIssueActivity() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := parseID(r.PathValue("id"), "issue")
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		acts, err := s.issues.Activity(r.Context(), CurrentUser(r).ID, id)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, toAPIActivities(acts))
	})
}

func toAPIActivity(a *triage.Activity) apiActivity {
	e := apiActivity{ID: itoa(a.ID), Type: a.Type, Source: string(a.Source), Data: a.Data, DateCreated: a.CreatedAt.UTC()}
	if e.Data == nil {
		e.Data = map[string]any{}
	}
	if a.User != nil {
		e.User = &apiActivityUser{ID: itoa(a.User.ID), Email: a.User.Email, Name: a.User.Name}
	}
	return e
}

func toAPIActivities(acts []*triage.Activity) []apiActivity {
	out := make([]apiActivity, 0, len(acts))
	for _, a := range acts {
		out = append(out, toAPIActivity(a))
	}
	return out
}

type apiMember struct {
	ID    string        `json:"id"`
	Role  string        `json:"role"`
	Email string        `json:"email"`
	Name  string        `json:"name"`
	User  apiMemberUser `json:"user"`
}

type apiMemberUser struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

func (s *Server) apiMembers() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, u := r.Context(), CurrentUser(r)
		org, _, err := s.orgMember(ctx, r, u)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		members, err := s.store.Members(ctx, org.ID)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		out := make([]apiMember, 0, len(members))
		for _, m := range members {
			out = append(out, apiMember{
				ID: itoa(m.ID), Role: string(m.Role), Email: m.User.Email, Name: m.User.Name,
				User: apiMemberUser{ID: itoa(m.User.ID), Email: m.User.Email, Name: m.User.Name},
			})
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// apiIntegrations lists the organization's Slack workspaces; without Slack
// it is an empty list. Whatever the Slack package returns, keys that look
// like secrets are removed before it leaves.
func (s *Server) apiIntegrations() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, u := r.Context(), CurrentUser(r)
		org, _, err := s.orgMember(ctx, r, u)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		if s.d.Slack == nil {
			writeJSON(w, http.StatusOK, []any{})
			return
		}
		v, err := s.d.Slack.IntegrationsJSON(ctx, org.ID)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		clean, err := withoutSecrets(v)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		if clean == nil {
			clean = []any{}
		}
		writeJSON(w, http.StatusOK, clean)
	})
}
