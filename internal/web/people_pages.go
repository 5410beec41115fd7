package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"triage"
	"triage/internal/directory"
)

// Members and teams pages, under the organization's settings:
//
//	GET  /organizations/{org}/settings/members/                    every member sees who else is there
//	POST /organizations/{org}/settings/members/{user}/role/         role=member|admin|owner
//	POST /organizations/{org}/settings/members/{user}/remove/       confirm=yes removes; without it, a confirmation page
//	GET  /organizations/{org}/settings/teams/                      teams, and a form to create one
//	POST /organizations/{org}/settings/teams/                      slug, name
//	GET  /organizations/{org}/settings/teams/{team}/               members and projects of a team
//	POST /organizations/{org}/settings/teams/{team}/members/        user=<id>
//	POST /organizations/{org}/settings/teams/{team}/members/{user}/remove/
//	POST /organizations/{org}/settings/teams/{team}/delete/         confirm=yes
//
// Every change goes through directory.Service, which checks who may (403
// for a member, 404 for what belongs to another organization) and names
// the field of a bad value; the page then shows the message above it with
// a 400 (409 for a taken slug) and keeps what was typed.

// maxForm bounds the body of these pages' forms.
const maxForm = 64 << 10

// readForm parses a small form body, answering 400 when it cannot.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return false
	}
	return true
}

// directory returns the service, or answers 503 when the server has none.
func (s *Server) directory(w http.ResponseWriter, r *http.Request) (*directory.Service, bool) {
	if s.d.Directory == nil {
		s.pageError(w, r, triage.Errorf(triage.ENOTIMPLEMENTED, "Managing people and projects is not available on this server."))
		return nil, false
	}
	return s.d.Directory, true
}

// refused shows a refused form: bad input or a conflict again on its page
// (show, with the status and the message), anything else as an error page.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, err error, show func(status int, msg string)) {
	switch triage.ErrorCode(err) {
	case triage.EINVALID, triage.ECONFLICT:
		show(httpStatus(triage.ErrorCode(err)), humanMessage(err))
	default:
		s.pageError(w, r, err)
	}
}

// humanMessage turns "slug: reason" into "Slug: reason" for a page.
func humanMessage(err error) string {
	msg := triage.ErrorMessage(err)
	if f := directory.Field(err); f != "" {
		return fieldLabel(f) + msg[len(f):]
	}
	return msg
}

func fieldLabel(f string) string {
	switch f {
	case "old_password":
		return "Current password"
	case "password":
		return "New password"
	case "confirm":
		return "Confirmation"
	}
	return strings.ToUpper(f[:1]) + f[1:]
}

// pathUserID reads the {user} path segment (a user id); anything else is
// a member that does not exist.
func pathUserID(r *http.Request) (int64, error) { return parseID(r.PathValue("user"), "member") }

func settingsURL(orgSlug string) string { return "/organizations/" + orgSlug + "/settings/" }

type roleOption struct {
	Value    string
	Selected bool
}

type memberRow struct {
	ID          int64
	Email, Name string
	Role        string
	You         bool
	Roles       []roleOption
}

type membersPage struct {
	CanAdmin bool
	Base     string // the members URL
	Members  []memberRow
}

func (s *Server) handleMembers() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.showMembers(w, r, http.StatusOK, "")
	})
}

func (s *Server) showMembers(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	dir, ok := s.directory(w, r)
	if !ok {
		return
	}
	u := CurrentUser(r)
	o, members, err := dir.Members(r.Context(), u.ID, r.PathValue("org"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	p := membersPage{CanAdmin: o.CanAdmin(), Base: settingsURL(o.Org.Slug) + "members/"}
	for _, m := range members {
		row := memberRow{ID: m.User.ID, Email: m.User.Email, Name: m.User.Name, Role: string(m.Role), You: m.User.ID == u.ID}
		for _, role := range []triage.Role{triage.RoleMember, triage.RoleAdmin, triage.RoleOwner} {
			row.Roles = append(row.Roles, roleOption{Value: string(role), Selected: role == m.Role})
		}
		p.Members = append(p.Members, row)
	}
	s.render(w, r, status, "members.html", &view{Title: "Members", Org: o.Org, Nav: "settings", Error: errMsg, Data: p})
}

func (s *Server) handleMemberRole() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		id, err := pathUserID(r)
		var m *triage.Member
		if err == nil {
			m, err = dir.SetRole(r.Context(), CurrentUser(r).ID, r.PathValue("org"), id, r.PostForm.Get("role"))
		}
		if err != nil {
			s.refused(w, r, err, func(status int, msg string) { s.showMembers(w, r, status, msg) })
			return
		}
		s.flash(r, m.User.Email+" is now "+article(string(m.Role))+" "+string(m.Role)+".")
		http.Redirect(w, r, settingsURL(r.PathValue("org"))+"members/", http.StatusSeeOther)
	})
}

func article(role string) string {
	if role == string(triage.RoleMember) {
		return "a"
	}
	return "an"
}

// confirmPage is a question with one button that posts again with confirm=yes.
type confirmPage struct {
	Heading, Message, Button string
	Action, Cancel           string
}

func (s *Server) handleMemberRemove() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		ctx, u, orgSlug := r.Context(), CurrentUser(r), r.PathValue("org")
		id, err := pathUserID(r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		back := settingsURL(orgSlug) + "members/"
		if r.PostForm.Get("confirm") != "yes" {
			o, members, err := dir.Members(ctx, u.ID, orgSlug)
			if err == nil && !o.CanAdmin() {
				err = triage.Errorf(triage.EFORBIDDEN, "Only an owner or admin of %s can remove members.", o.Org.Name)
			}
			var m *triage.Member
			for _, x := range members {
				if x.User.ID == id {
					m = x
				}
			}
			if err == nil && m == nil {
				err = triage.Errorf(triage.ENOTFOUND, "member not found")
			}
			if err != nil {
				s.pageError(w, r, err)
				return
			}
			s.render(w, r, http.StatusOK, "confirm.html", &view{Title: "Remove " + m.User.Email, Org: o.Org, Nav: "settings", Data: confirmPage{
				Heading: "Remove " + m.User.Email + " from " + o.Org.Name + "?",
				Message: "They lose access to its projects and issues at once and are logged out. Issues assigned to them stay assigned until someone changes that.",
				Button:  "Remove member", Action: back + strconv.FormatInt(id, 10) + "/remove/", Cancel: back,
			}})
			return
		}
		m, err := dir.RemoveMember(ctx, u.ID, orgSlug, id)
		if err != nil {
			s.refused(w, r, err, func(status int, msg string) { s.showMembers(w, r, status, msg) })
			return
		}
		s.flash(r, "Removed "+m.User.Email+" from the organization.")
		if m.User.ID == u.ID {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
	})
}

type teamsPage struct {
	CanAdmin   bool
	Base       string
	Teams      []*directory.TeamInfo
	Slug, Name string // the create form as typed
}

func (s *Server) handleTeams() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.showTeams(w, r, http.StatusOK, "", "", "")
	})
}

func (s *Server) showTeams(w http.ResponseWriter, r *http.Request, status int, errMsg, slug, name string) {
	dir, ok := s.directory(w, r)
	if !ok {
		return
	}
	o, teams, err := dir.Teams(r.Context(), CurrentUser(r).ID, r.PathValue("org"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	p := teamsPage{CanAdmin: o.CanAdmin(), Base: settingsURL(o.Org.Slug) + "teams/", Teams: teams, Slug: slug, Name: name}
	s.render(w, r, status, "teams.html", &view{Title: "Teams", Org: o.Org, Nav: "settings", Error: errMsg, Data: p})
}

func (s *Server) handleTeamCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		slug, name := r.PostForm.Get("slug"), r.PostForm.Get("name")
		t, err := dir.CreateTeam(r.Context(), CurrentUser(r).ID, r.PathValue("org"), slug, name)
		if err != nil {
			s.refused(w, r, err, func(status int, msg string) { s.showTeams(w, r, status, msg, slug, name) })
			return
		}
		s.flash(r, "Team #"+t.Slug+" created. Add its members below.")
		http.Redirect(w, r, settingsURL(r.PathValue("org"))+"teams/"+t.Slug+"/", http.StatusSeeOther)
	})
}

type teamPage struct {
	CanAdmin bool
	Base     string // this team's URL
	Team     *directory.TeamInfo
	// Candidates are the organization's members not on the team.
	Candidates []*triage.Member
}

func (s *Server) handleTeam() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.showTeam(w, r, http.StatusOK, "")
	})
}

func (s *Server) showTeam(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	dir, ok := s.directory(w, r)
	if !ok {
		return
	}
	ctx, u := r.Context(), CurrentUser(r)
	o, t, err := dir.Team(ctx, u.ID, r.PathValue("org"), r.PathValue("team"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	p := teamPage{CanAdmin: o.CanAdmin(), Base: settingsURL(o.Org.Slug) + "teams/" + t.Slug + "/", Team: t}
	if p.CanAdmin {
		_, members, err := dir.Members(ctx, u.ID, o.Org.Slug)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		on := map[int64]bool{}
		for _, m := range t.Members {
			on[m.ID] = true
		}
		for _, m := range members {
			if !on[m.User.ID] {
				p.Candidates = append(p.Candidates, m)
			}
		}
	}
	s.render(w, r, status, "team.html", &view{Title: "#" + t.Slug, Org: o.Org, Nav: "settings", Error: errMsg, Data: p})
}

func (s *Server) handleTeamMemberAdd() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		id, perr := strconv.ParseInt(r.PostForm.Get("user"), 10, 64)
		var err error
		if perr != nil || id <= 0 {
			err = triage.Errorf(triage.EINVALID, "user: pick a member to add")
		} else {
			err = dir.AddTeamMember(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("team"), id)
			if role := r.PostForm.Get("role"); err == nil && role != "" && role != string(triage.TeamRoleContributor) {
				err = dir.SetTeamRole(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("team"), id, role)
			}
		}
		if err != nil {
			s.refused(w, r, err, func(status int, msg string) { s.showTeam(w, r, status, msg) })
			return
		}
		s.flash(r, "Added to #"+r.PathValue("team")+".")
		http.Redirect(w, r, settingsURL(r.PathValue("org"))+"teams/"+url.PathEscape(r.PathValue("team"))+"/", http.StatusSeeOther)
	})
}

// handleTeamRole makes a team member the team's admin or a contributor
// (field "role": admin or contributor).
func (s *Server) handleTeamRole() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		id, err := pathUserID(r)
		if err == nil {
			err = dir.SetTeamRole(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("team"), id, r.PostForm.Get("role"))
		}
		if err != nil {
			s.refused(w, r, err, func(status int, msg string) { s.showTeam(w, r, status, msg) })
			return
		}
		s.flash(r, "Role on #"+r.PathValue("team")+" saved.")
		http.Redirect(w, r, settingsURL(r.PathValue("org"))+"teams/"+url.PathEscape(r.PathValue("team"))+"/", http.StatusSeeOther)
	})
}

func (s *Server) handleTeamMemberRemove() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		id, err := pathUserID(r)
		if err == nil {
			err = dir.RemoveTeamMember(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("team"), id)
		}
		if err != nil {
			s.refused(w, r, err, func(status int, msg string) { s.showTeam(w, r, status, msg) })
			return
		}
		s.flash(r, "Removed from #"+r.PathValue("team")+".")
		http.Redirect(w, r, settingsURL(r.PathValue("org"))+"teams/"+url.PathEscape(r.PathValue("team"))+"/", http.StatusSeeOther)
	})
}

func (s *Server) handleTeamDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		ctx, u, orgSlug := r.Context(), CurrentUser(r), r.PathValue("org")
		if r.PostForm.Get("confirm") != "yes" {
			o, t, err := dir.Team(ctx, u.ID, orgSlug, r.PathValue("team"))
			if err == nil && !o.CanAdmin() {
				err = triage.Errorf(triage.EFORBIDDEN, "Only an owner or admin of %s can delete teams.", o.Org.Name)
			}
			if err != nil {
				s.pageError(w, r, err)
				return
			}
			base := settingsURL(orgSlug) + "teams/" + t.Slug + "/"
			s.render(w, r, http.StatusOK, "confirm.html", &view{Title: "Delete #" + t.Slug, Org: o.Org, Nav: "settings", Data: confirmPage{
				Heading: "Delete the team #" + t.Slug + "?",
				Message: "Its members stay in the organization, but lose access to the projects only this team gave them. Issues assigned to the team become unassigned.",
				Button:  "Delete team", Action: base + "delete/", Cancel: base,
			}})
			return
		}
		if err := dir.DeleteTeam(ctx, u.ID, orgSlug, r.PathValue("team")); err != nil {
			s.pageError(w, r, err)
			return
		}
		s.flash(r, "Team #"+r.PathValue("team")+" deleted.")
		http.Redirect(w, r, settingsURL(orgSlug)+"teams/", http.StatusSeeOther)
	})
}
