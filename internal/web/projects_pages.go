package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"triage"
)

// Project pages:
//
//	GET  /organizations/{org}/projects/                          projects the user sees, and deletions in progress
//	GET  /organizations/{org}/projects/new/ , POST               slug, name, team ("" for none)
//	GET  /organizations/{org}/projects/{project}/                setup panel, keys, teams, settings
//	POST /organizations/{org}/projects/{project}/                rename: slug, name
//	POST /organizations/{org}/projects/{project}/teams/          team=<slug>: give the project to a team
//	POST /organizations/{org}/projects/{project}/teams/{team}/remove/
//	POST /organizations/{org}/projects/{project}/keys/           label: a new DSN key
//	POST /organizations/{org}/projects/{project}/keys/{key}/     action=disable|enable
//	POST /organizations/{org}/projects/{project}/keys/{key}/rotate/  confirm=yes
//	GET  /organizations/{org}/projects/{project}/delete/ , POST  confirm=<the slug>
//
// A DSN lets anyone send events, so only those who see a project (owners,
// admins, members of its teams) see its keys; only owners and admins change
// them.

func projectsURL(orgSlug string) string { return "/organizations/" + orgSlug + "/projects/" }

type projectRow struct {
	Slug, Name, DSN string
	Teams           []string
}

type deletionRow struct {
	Slug, Name  string
	Done, Total int64
	Percent     int
}

type projectsPage struct {
	CanAdmin  bool
	Projects  []projectRow
	Deletions []deletionRow
}

func (s *Server) handleProjects() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, u := r.Context(), CurrentUser(r)
		org, me, err := s.orgMember(ctx, r, u)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		// A DSN lets anyone send events: show only the projects whose
		// issues the user can see.
		projects, err := s.access.VisibleProjects(ctx, u.ID, org.ID)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		p := projectsPage{CanAdmin: me.Role.CanAdmin()}
		for _, pr := range projects {
			teams, err := s.dir.TeamsForProject(ctx, pr.ID)
			if err != nil {
				s.pageError(w, r, err)
				return
			}
			row := projectRow{Slug: pr.Slug, Name: pr.Name}
			if pr.PublicKey != "" {
				row.DSN = pr.DSN(s.cfg.URLPrefix)
			}
			for _, t := range teams {
				row.Teams = append(row.Teams, "#"+t.Slug)
			}
			p.Projects = append(p.Projects, row)
		}
		v := &view{Title: "Projects", Org: org, Nav: "projects", Data: &p}
		if s.d.Directory != nil {
			dels, err := s.d.Directory.Deletions(ctx, u.ID, org.Slug)
			if err != nil {
				s.pageError(w, r, err)
				return
			}
			for _, d := range dels {
				row := deletionRow{Slug: d.Slug, Name: d.Name, Done: min(d.Done, d.Total), Total: d.Total, Percent: 100}
				if d.Total > 0 {
					row.Percent = int(row.Done * 100 / d.Total)
				}
				p.Deletions = append(p.Deletions, row)
			}
			// While a deletion runs, the page refreshes itself to show
			// the progress.
			if len(p.Deletions) > 0 {
				v.Refresh = 2
			}
		}
		s.render(w, r, http.StatusOK, "projects.html", v)
	})
}

type teamOption struct {
	Slug, Name string
	Selected   bool
}

type projectForm struct {
	Slug, Name, Team string
}

type newProjectPage struct {
	Form   projectForm
	Teams  []teamOption
	Action string
}

func (s *Server) handleProjectNew() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok {
			return
		}
		if r.Method != http.MethodPost {
			s.showProjectNew(w, r, http.StatusOK, "", projectForm{})
			return
		}
		if !s.readForm(w, r) {
			return
		}
		f := projectForm{Slug: r.PostForm.Get("slug"), Name: r.PostForm.Get("name"), Team: r.PostForm.Get("team")}
		p, err := dir.CreateProject(r.Context(), CurrentUser(r).ID, r.PathValue("org"), f.Slug, f.Name, f.Team)
		if err != nil {
			s.refused(w, r, err, func(status int, msg string) { s.showProjectNew(w, r, status, msg, f) })
			return
		}
		s.flash(r, "Project "+p.Slug+" created. Set up its SDK with the DSN below; the first event appears under Issues.")
		http.Redirect(w, r, projectsURL(r.PathValue("org"))+p.Slug+"/#setup", http.StatusSeeOther)
	})
}

func (s *Server) showProjectNew(w http.ResponseWriter, r *http.Request, status int, errMsg string, f projectForm) {
	dir, _ := s.directory(w, r)
	ctx, u := r.Context(), CurrentUser(r)
	o, teams, err := dir.Teams(ctx, u.ID, r.PathValue("org"))
	if err == nil && !o.CanAdmin() {
		err = triage.Errorf(triage.EFORBIDDEN, "Only an owner or admin of %s can create projects.", o.Org.Name)
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	p := newProjectPage{Form: f, Action: projectsURL(o.Org.Slug) + "new/"}
	if f.Team == "" && len(teams) == 1 && status == http.StatusOK {
		f.Team, p.Form.Team = teams[0].Slug, teams[0].Slug
	}
	for _, t := range teams {
		p.Teams = append(p.Teams, teamOption{Slug: t.Slug, Name: t.Name, Selected: t.Slug == f.Team})
	}
	s.render(w, r, status, "project_new.html", &view{Title: "New project", Org: o.Org, Nav: "projects", Error: errMsg, Data: p})
}

type keyRow struct {
	*triage.ProjectKey
	DSN     string
	Created string
}

type projectPage struct {
	CanAdmin   bool
	Base       string
	Project    *triage.Project
	Teams      []*triage.Team
	OtherTeams []teamOption
	Keys       []keyRow
	// DSN is the first enabled key's, for the setup panel; "" when every
	// key is disabled.
	DSN      string
	Snippets []snippet
	Form     projectForm // the rename form
	// NewKey is a key just created or rotated, to point out.
	NewKey int64
}

func (s *Server) handleProject() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.showProject(w, r, http.StatusOK, "", nil)
	})
}

func (s *Server) showProject(w http.ResponseWriter, r *http.Request, status int, errMsg string, form *projectForm) {
	dir, ok := s.directory(w, r)
	if !ok {
		return
	}
	ctx, u := r.Context(), CurrentUser(r)
	o, pi, err := dir.Project(ctx, u.ID, r.PathValue("org"), r.PathValue("project"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	p := projectPage{CanAdmin: o.CanAdmin(), Base: projectsURL(o.Org.Slug) + pi.Slug + "/", Project: pi.Project, Teams: pi.Teams,
		Form: projectForm{Slug: pi.Slug, Name: pi.Name}}
	if form != nil {
		p.Form = *form
	}
	for _, k := range pi.Keys {
		row := keyRow{ProjectKey: k, DSN: k.DSN(s.cfg.URLPrefix), Created: formatTime(k.CreatedAt)}
		p.Keys = append(p.Keys, row)
		if p.DSN == "" && k.Enabled() {
			p.DSN = row.DSN
		}
	}
	if p.DSN != "" {
		p.Snippets = snippetsFor(p.DSN)
	}
	if p.CanAdmin {
		_, teams, err := dir.Teams(ctx, u.ID, o.Org.Slug)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		owns := map[int64]bool{}
		for _, t := range pi.Teams {
			owns[t.ID] = true
		}
		for _, t := range teams {
			if !owns[t.ID] {
				p.OtherTeams = append(p.OtherTeams, teamOption{Slug: t.Slug, Name: t.Name})
			}
		}
	}
	s.render(w, r, status, "project.html", &view{Title: pi.Name, Org: o.Org, Nav: "projects", Error: errMsg, Data: p})
}

// projectDone flashes msg and goes back to the project's page.
func (s *Server) projectDone(w http.ResponseWriter, r *http.Request, slug, msg, anchor string) {
	s.flash(r, msg)
	http.Redirect(w, r, projectsURL(r.PathValue("org"))+url.PathEscape(slug)+"/"+anchor, http.StatusSeeOther)
}

func (s *Server) handleProjectRename() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		f := projectForm{Slug: r.PostForm.Get("slug"), Name: r.PostForm.Get("name")}
		p, err := dir.RenameProject(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("project"), f.Slug, f.Name)
		if err != nil {
			s.refused(w, r, err, func(status int, msg string) { s.showProject(w, r, status, msg, &f) })
			return
		}
		s.projectDone(w, r, p.Slug, "Project saved.", "")
	})
}

func (s *Server) handleProjectTeamAttach() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		team := r.PostForm.Get("team")
		err := dir.AttachTeam(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("project"), team)
		if err != nil {
			s.refused(w, r, err, func(status int, msg string) { s.showProject(w, r, status, msg, nil) })
			return
		}
		s.projectDone(w, r, r.PathValue("project"), "#"+team+" now owns this project: its members see it.", "#teams")
	})
}

func (s *Server) handleProjectTeamDetach() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		team := r.PathValue("team")
		if err := dir.DetachTeam(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("project"), team); err != nil {
			s.pageError(w, r, err)
			return
		}
		s.projectDone(w, r, r.PathValue("project"), "#"+team+" no longer owns this project.", "#teams")
	})
}

func (s *Server) handleKeyCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		k, err := dir.CreateKey(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("project"), r.PostForm.Get("label"))
		if err != nil {
			s.refused(w, r, err, func(status int, msg string) { s.showProject(w, r, status, msg, nil) })
			return
		}
		s.projectDone(w, r, r.PathValue("project"), "New key created.", fmt.Sprintf("#key-%d", k.ID))
	})
}

func (s *Server) handleKeyState() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		id, err := parseID(r.PathValue("key"), "key")
		var enable bool
		switch a := r.PostForm.Get("action"); {
		case err != nil:
		case a == "enable":
			enable = true
		case a == "disable":
		default:
			err = triage.Errorf(triage.EINVALID, "action: use enable or disable")
		}
		var k *triage.ProjectKey
		if err == nil {
			k, err = dir.SetKeyEnabled(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("project"), id, enable)
		}
		if err != nil {
			s.refused(w, r, err, func(status int, msg string) { s.showProject(w, r, status, msg, nil) })
			return
		}
		msg := "Key enabled: events sent with it are accepted again."
		if !enable {
			msg = "Key disabled: events sent with it are refused from now on."
		}
		s.projectDone(w, r, r.PathValue("project"), msg, fmt.Sprintf("#key-%d", k.ID))
	})
}

func (s *Server) handleKeyRotate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		ctx, u := r.Context(), CurrentUser(r)
		id, err := parseID(r.PathValue("key"), "key")
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		if r.PostForm.Get("confirm") != "yes" {
			o, pi, err := dir.Project(ctx, u.ID, r.PathValue("org"), r.PathValue("project"))
			if err == nil && !o.CanAdmin() {
				err = triage.Errorf(triage.EFORBIDDEN, "Only an owner or admin of %s can manage a project's keys.", o.Org.Name)
			}
			if err != nil {
				s.pageError(w, r, err)
				return
			}
			var key *triage.ProjectKey
			for _, k := range pi.Keys {
				if k.ID == id {
					key = k
				}
			}
			if key == nil {
				s.pageError(w, r, triage.Errorf(triage.ENOTFOUND, "key not found"))
				return
			}
			base := projectsURL(o.Org.Slug) + pi.Slug + "/"
			label := key.Label
			if label == "" {
				label = "this key"
			}
			s.render(w, r, http.StatusOK, "confirm.html", &view{Title: "Rotate key", Org: o.Org, Nav: "projects", Data: confirmPage{
				Heading: "Rotate " + label + "?",
				Message: "The key gets a new value. SDKs still configured with the old DSN are refused from the next event on, until they get the new one.",
				Button:  "Rotate key", Action: fmt.Sprintf("%skeys/%d/rotate/", base, id), Cancel: base + "#keys",
			}})
			return
		}
		k, err := dir.RotateKey(ctx, u.ID, r.PathValue("org"), r.PathValue("project"), id)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.projectDone(w, r, r.PathValue("project"), "Key rotated: update your SDKs with its new DSN.", fmt.Sprintf("#key-%d", k.ID))
	})
}

type projectDeletePage struct {
	Project *triage.Project
	Action  string
	Cancel  string
	Confirm string
}

func (s *Server) handleProjectDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok {
			return
		}
		if r.Method != http.MethodPost {
			s.showProjectDelete(w, r, http.StatusOK, "", "")
			return
		}
		if !s.readForm(w, r) {
			return
		}
		confirm := r.PostForm.Get("confirm")
		p, err := dir.DeleteProject(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("project"), confirm)
		if err != nil {
			s.refused(w, r, err, func(status int, msg string) { s.showProjectDelete(w, r, status, msg, confirm) })
			return
		}
		s.flash(r, "Project "+p.Slug+" is being deleted with its issues and events.")
		http.Redirect(w, r, projectsURL(r.PathValue("org")), http.StatusSeeOther)
	})
}

func (s *Server) showProjectDelete(w http.ResponseWriter, r *http.Request, status int, errMsg, typed string) {
	dir, _ := s.directory(w, r)
	o, pi, err := dir.Project(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("project"))
	if err == nil && !o.CanAdmin() {
		err = triage.Errorf(triage.EFORBIDDEN, "Only an owner or admin of %s can delete projects.", o.Org.Name)
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	base := projectsURL(o.Org.Slug) + pi.Slug + "/"
	d := projectDeletePage{Project: pi.Project, Action: base + "delete/", Cancel: base, Confirm: strings.TrimSpace(typed)}
	s.render(w, r, status, "project_delete.html", &view{Title: "Delete " + pi.Slug, Org: o.Org, Nav: "projects", Error: errMsg, Data: d})
}
