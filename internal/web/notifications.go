package web

import (
	"net/http"
	"slices"
	"strconv"

	"triage"
)

// maxNotificationsForm bounds the notification settings form: a few
// checkboxes and project ids.
const maxNotificationsForm = 64 << 10

// handleNotifications serves GET and POST /account/notifications/: a
// person's Slack direct-message settings (issue 17), the same the Home
// tab in Slack shows. Each kind is on or off; "only these projects" lists
// projects of the person's organizations they may see (none checked: all).
func (s *Server) handleNotifications() http.Handler {
	type project struct {
		ID       int64
		Org      string
		Slug     string
		Selected bool
	}
	type data struct {
		Assigned, Regressed, Comments bool
		Projects                      []project
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, u := r.Context(), CurrentUser(r)
		orgs, err := s.access.Orgs(ctx, u.ID)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		var visible []project
		for _, o := range orgs {
			ps, err := s.access.VisibleProjects(ctx, u.ID, o.ID)
			if err != nil {
				s.pageError(w, r, err)
				return
			}
			for _, p := range ps {
				visible = append(visible, project{ID: p.ID, Org: o.Slug, Slug: p.Slug})
			}
		}
		set, err := s.dm.DMSettings(ctx, u.ID)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		status, problem := http.StatusOK, ""
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxNotificationsForm)
			if err := r.ParseForm(); err != nil {
				s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
				return
			}
			next := triage.DMSettings{Assigned: r.PostForm.Get("assigned") == "on",
				Regressed: r.PostForm.Get("regressed") == "on", Comments: r.PostForm.Get("comments") == "on"}
			for _, v := range r.PostForm["project"] {
				id, err := strconv.ParseInt(v, 10, 64)
				if err != nil || !slices.ContainsFunc(visible, func(p project) bool { return p.ID == id }) {
					problem = "project: " + strconv.Quote(v) + " is not a project you can see."
					break
				}
				if !slices.Contains(next.ProjectIDs, id) {
					next.ProjectIDs = append(next.ProjectIDs, id)
				}
			}
			if problem == "" {
				if err := s.dm.SetDMSettings(ctx, u.ID, next); err != nil {
					s.pageError(w, r, err)
					return
				}
				s.log.Info("dm settings changed", "user_id", u.ID)
				s.flash(r, "Your notification settings are saved.")
				http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
				return
			}
			status, set = http.StatusBadRequest, next
		}
		d := data{Assigned: set.Assigned, Regressed: set.Regressed, Comments: set.Comments}
		for _, p := range visible {
			p.Selected = slices.Contains(set.ProjectIDs, p.ID)
			d.Projects = append(d.Projects, p)
		}
		s.render(w, r, status, "notifications.html", &view{Title: "Notifications", Error: problem, Data: d})
	})
}
