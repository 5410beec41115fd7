package web

import (
	"errors"
	"net/http"
	"strings"

	"triage"
	"triage/internal/invite"
	"triage/internal/passreset"
)

// Invite and password-reset pages:
//
//	GET|POST  /organizations/{org}/settings/invites/          list, invite (owners, admins)
//	POST      /organizations/{org}/settings/invites/{id}/revoke/
//	GET|POST  /invites/{token}/                               accept
//	GET|POST  /auth/reset/                                    ask for a link
//	GET|POST  /auth/reset/{token}/                            choose a password
//
// The services (internal/invite, internal/passreset) check permissions and
// links; these handlers read forms and show what happened. Links carry
// signed tokens: logRoute names these routes by pattern, never by path.

// maxAccountForm bounds the body of these forms.
const maxAccountForm = 64 << 10

type inviteRow struct {
	ID                       int64
	Email, Role, EmailStatus string
	Expires                  string
	Teams                    []string
}

type inviteForm struct {
	Email, Role string
	Teams       []string
}

type invitesData struct {
	Form           inviteForm
	Field          string // the field FieldError is about
	FieldError     string
	Roles          []formOption
	Teams          []formOption
	Pending        []inviteRow
	Created        *invite.Created
	MailConfigured bool
}

func (s *Server) handleInvites() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.d.Invites == nil {
			s.errorPage(w, r, http.StatusServiceUnavailable, "Invites are not available on this server.")
			return
		}
		ctx, u := r.Context(), CurrentUser(r)
		var d invitesData
		status := http.StatusOK
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxAccountForm)
			if err := r.ParseForm(); err != nil {
				s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
				return
			}
			d.Form = inviteForm{Email: strings.TrimSpace(r.PostForm.Get("email")), Role: r.PostForm.Get("role"), Teams: r.PostForm["team"]}
			created, err := s.d.Invites.Create(ctx, u.ID, r.PathValue("org"), invite.Input{Email: d.Form.Email, Role: d.Form.Role, Teams: d.Form.Teams})
			var fe *invite.FieldError
			switch {
			case errors.As(err, &fe):
				d.Field, d.FieldError, status = fe.Field, fieldMessage(inviteFieldLabel(fe.Field), fe.Reason), http.StatusBadRequest
			case triage.ErrorCode(err) == triage.ECONFLICT:
				d.Field, d.FieldError, status = "email", triage.ErrorMessage(err), http.StatusConflict
			case err != nil:
				s.pageError(w, r, err)
				return
			default:
				d.Created, d.Form = created, inviteForm{}
			}
		}
		org, me, pending, err := s.d.Invites.Pending(ctx, u.ID, r.PathValue("org"))
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		teams, err := s.d.Invites.Teams(ctx, org)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		d.MailConfigured = s.d.Invites.MailConfigured()
		role := d.Form.Role
		if role == "" {
			role = string(triage.RoleMember)
		}
		for _, rl := range []triage.Role{triage.RoleMember, triage.RoleAdmin, triage.RoleOwner} {
			if rl == triage.RoleOwner && me.Role != triage.RoleOwner {
				continue // only owners make owners
			}
			d.Roles = append(d.Roles, formOption{Value: string(rl), Label: string(rl), Selected: string(rl) == role})
		}
		for _, t := range teams {
			sel := false
			for _, v := range d.Form.Teams {
				sel = sel || v == t.Slug
			}
			d.Teams = append(d.Teams, formOption{Value: t.Slug, Label: t.Name, Selected: sel})
		}
		for _, p := range pending {
			d.Pending = append(d.Pending, inviteRow{ID: p.ID, Email: p.Email, Role: string(p.Role), Teams: p.Teams,
				Expires: formatTime(p.ExpiresAt), EmailStatus: emailStatus(p.EmailStatus)})
		}
		s.render(w, r, status, "invites.html", &view{Title: "Invites", Org: org, Nav: "settings", Data: d})
	})
}

// inviteFieldLabel starts a field's error sentence.
func inviteFieldLabel(field string) string {
	switch field {
	case "email":
		return "The email"
	case "role":
		return "The role"
	case "team":
		return "The team"
	case "name":
		return "The name"
	case "password":
		return "The password"
	}
	return field
}

// emailStatus says on the invites page what became of an invite's email.
func emailStatus(s string) string {
	switch {
	case s == "":
		return "no (email is off)"
	case s == "queued":
		return "on its way"
	case s == "sent":
		return "yes"
	case strings.HasPrefix(s, "failed: "):
		return "failed (" + strings.TrimPrefix(s, "failed: ") + "): copy the link again by inviting anew"
	}
	return s
}

func (s *Server) handleInviteRevoke() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.d.Invites == nil {
			s.errorPage(w, r, http.StatusServiceUnavailable, "Invites are not available on this server.")
			return
		}
		ctx, u := r.Context(), CurrentUser(r)
		id, err := parseID(r.PathValue("id"), "invite")
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		inv, err := s.d.Invites.Revoke(ctx, u.ID, r.PathValue("org"), id)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.flash(r, "The invite to "+inv.Email+" was revoked: its link no longer works.")
		http.Redirect(w, r, "/organizations/"+r.PathValue("org")+"/settings/invites/", http.StatusSeeOther)
	})
}

type acceptData struct {
	Org, Role, Email, Name string
	Teams                  []string
	Action                 string
	NewAccount             bool
	LoggedInAs             string
	Field, FieldError      string
}

// linkError shows what is wrong with a link (expired, used, revoked) with
// the service's own message, which is written for the person holding it.
func (s *Server) linkError(w http.ResponseWriter, r *http.Request, err error) {
	var te *triage.Error
	switch code := triage.ErrorCode(err); code {
	case triage.ENOTFOUND, triage.EINVALID, triage.ECONFLICT, triage.EFORBIDDEN:
		if errors.As(err, &te) {
			s.errorPage(w, r, httpStatus(code), te.Message)
			return
		}
	}
	s.pageError(w, r, err)
}

func (s *Server) handleInviteAccept() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.d.Invites == nil {
			s.errorPage(w, r, http.StatusNotFound, "")
			return
		}
		ctx, u, token := r.Context(), CurrentUser(r), r.PathValue("token")
		o, err := s.d.Invites.Open(ctx, token)
		if err != nil {
			s.linkError(w, r, err)
			return
		}
		d := acceptData{Org: o.Org.Name, Role: string(o.Invite.Role), Email: o.Invite.Email,
			Action: "/invites/" + token + "/", NewAccount: o.Account == nil}
		for _, id := range o.Invite.TeamIDs {
			if t, err := s.d.Invites.Team(ctx, id); err == nil && t.OrgID == o.Org.ID {
				d.Teams = append(d.Teams, t.Name)
			}
		}
		if o.Account != nil {
			switch {
			case u == nil:
				// An existing account accepts after logging in; the login
				// form brings them back here.
				s.flash(r, "Log in as "+o.Invite.Email+" to accept the invite to "+o.Org.Name+".")
				http.Redirect(w, r, LoginURL(r.URL.Path), http.StatusSeeOther)
				return
			case u.ID != o.Account.ID:
				s.errorPage(w, r, http.StatusForbidden, "This invite is for "+o.Invite.Email+", and you are logged in as "+u.Email+". Log out and open the link again.")
				return
			}
		} else if u != nil {
			d.LoggedInAs = u.Email
		}
		status := http.StatusOK
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxAccountForm)
			if err := r.ParseForm(); err != nil {
				s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
				return
			}
			var joined *triage.Organization
			var who *triage.User
			if o.Account == nil {
				d.Name = strings.TrimSpace(r.PostForm.Get("name"))
				release, err := s.logins.slot(ctx, false)
				if err != nil {
					s.pageError(w, r, errNoLoginSlot)
					return
				}
				who, joined, err = s.d.Invites.AcceptNew(ctx, token, d.Name, r.PostForm.Get("password"))
				release()
				var fe *invite.FieldError
				if errors.As(err, &fe) {
					d.Field, d.FieldError, status = fe.Field, fieldMessage(inviteFieldLabel(fe.Field), fe.Reason), http.StatusBadRequest
					s.render(w, r, status, "invite_accept.html", &view{Title: "Join " + o.Org.Name, Data: d})
					return
				} else if err != nil {
					s.linkError(w, r, err)
					return
				}
				if err := s.logIn(r, who); err != nil {
					s.pageError(w, r, err)
					return
				}
			} else {
				if joined, err = s.d.Invites.AcceptExisting(ctx, token, u); err != nil {
					s.linkError(w, r, err)
					return
				}
			}
			s.flash(r, "Welcome to "+joined.Name+".")
			http.Redirect(w, r, "/organizations/"+joined.Slug+"/issues/", http.StatusSeeOther)
			return
		}
		s.render(w, r, status, "invite_accept.html", &view{Title: "Join " + o.Org.Name, Data: d})
	})
}

type resetRequestData struct {
	Email          string
	Sent           bool
	MailConfigured bool
}

func (s *Server) handleResetRequest() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.d.Resets == nil {
			s.errorPage(w, r, http.StatusNotFound, "")
			return
		}
		d := resetRequestData{MailConfigured: s.d.Resets.MailConfigured()}
		if r.Method == http.MethodPost && d.MailConfigured {
			r.Body = http.MaxBytesReader(w, r.Body, maxAccountForm)
			if err := r.ParseForm(); err != nil {
				s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
				return
			}
			d.Email = strings.TrimSpace(r.PostForm.Get("email"))
			if d.Email == "" {
				s.render(w, r, http.StatusBadRequest, "reset_request.html", &view{Title: "Reset your password",
					Error: "Enter the email address of your account.", Data: d})
				return
			}
			if err := s.d.Resets.Request(r.Context(), d.Email); err != nil {
				s.pageError(w, r, err)
				return
			}
			d.Sent = true
		}
		s.render(w, r, http.StatusOK, "reset_request.html", &view{Title: "Reset your password", Data: d})
	})
}

type resetFormData struct {
	Email, Action, FieldError string
}

func (s *Server) handleResetForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.d.Resets == nil {
			s.errorPage(w, r, http.StatusNotFound, "")
			return
		}
		ctx, token := r.Context(), r.PathValue("token")
		u, _, err := s.d.Resets.Open(ctx, token)
		if err != nil {
			s.linkError(w, r, err)
			return
		}
		d := resetFormData{Email: u.Email, Action: "/auth/reset/" + token + "/"}
		if r.Method == http.MethodGet {
			s.render(w, r, http.StatusOK, "reset_form.html", &view{Title: "Choose a new password", Data: d})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxAccountForm)
		if err := r.ParseForm(); err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		release, err := s.logins.slot(ctx, false)
		if err != nil {
			s.pageError(w, r, errNoLoginSlot)
			return
		}
		u, err = s.d.Resets.Reset(ctx, token, r.PostForm.Get("password"))
		release()
		var fe *passreset.FieldError
		if errors.As(err, &fe) {
			d.FieldError = fieldMessage(inviteFieldLabel(fe.Field), fe.Reason)
			s.render(w, r, http.StatusBadRequest, "reset_form.html", &view{Title: "Choose a new password", Data: d})
			return
		} else if err != nil {
			s.linkError(w, r, err)
			return
		}
		// Every session of the user ended with the change; this browser
		// starts a new one.
		if err := s.logIn(r, u); err != nil {
			s.pageError(w, r, err)
			return
		}
		s.logins.succeeded(strings.ToLower(u.Email))
		s.flash(r, "Your password is set. You were logged out everywhere else.")
		dest, err := s.homeFor(ctx, u)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		http.Redirect(w, r, dest, http.StatusSeeOther)
	})
}
