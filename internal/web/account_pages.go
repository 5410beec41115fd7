package web

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"triage"
)

// The account page, for the logged-in user's own account:
//
//	GET  /account/                        name, password, API tokens
//	POST /account/                        name
//	POST /account/password/               old_password, password: the user's other sessions end
//	POST /account/tokens/                 name, expires ("", 30d, 90d, 365d): the token is shown once
//	POST /account/tokens/{id}/revoke/     refused by every process from the next request on
//
// The same directory.Service methods serve `triage token list`, `token
// revoke` and `user set-password`.

type tokenRow struct {
	ID                         int64
	Name                       string
	Created, LastUsed, Expires string
	CreatedAgo, LastUsedAgo    string
	Expired                    bool
}

type accountPage struct {
	Name   string
	Tokens []tokenRow
	// NewToken is a token just created: shown this once, never again.
	NewToken     string
	NewTokenName string
	TokenName    string // the create form as typed
}

func (s *Server) handleAccount() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.showAccount(w, r, http.StatusOK, "", accountPage{})
	})
}

func (s *Server) showAccount(w http.ResponseWriter, r *http.Request, status int, errMsg string, p accountPage) {
	dir, ok := s.directory(w, r)
	if !ok {
		return
	}
	u, now := CurrentUser(r), s.now()
	tokens, err := dir.Tokens(r.Context(), u.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if p.Name == "" {
		p.Name = u.Name
	}
	for _, t := range tokens {
		row := tokenRow{ID: t.ID, Name: t.Name, Created: formatTime(t.CreatedAt), CreatedAgo: ago(now, t.CreatedAt), LastUsed: "never"}
		if !t.LastUsedAt.IsZero() {
			row.LastUsed, row.LastUsedAgo = formatTime(t.LastUsedAt), ago(now, t.LastUsedAt)
		}
		if !t.ExpiresAt.IsZero() {
			row.Expires, row.Expired = formatTime(t.ExpiresAt), !t.ExpiresAt.After(now)
		}
		p.Tokens = append(p.Tokens, row)
	}
	orgs, err := s.access.Orgs(r.Context(), u.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := &view{Title: "Your account", Error: errMsg, Data: p}
	if len(orgs) > 0 {
		v.Org = orgs[0] // keeps the tabs of the user's first organization
	}
	s.render(w, r, status, "account.html", v)
}

func (s *Server) handleAccountName() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		name := r.PostForm.Get("name")
		if _, err := dir.SetName(r.Context(), CurrentUser(r).ID, name); err != nil {
			s.refused(w, r, err, func(status int, msg string) { s.showAccount(w, r, status, msg, accountPage{Name: name}) })
			return
		}
		s.flash(r, "Name saved.")
		http.Redirect(w, r, "/account/", http.StatusSeeOther)
	})
}

// handleAccountPassword changes the password of a user who types the
// current one. Wrong current passwords count like failed logins, so a
// borrowed session cannot guess it; checking takes a login slot, as
// logging in does. Every session of the user ends, then this browser gets
// a fresh one.
func (s *Server) handleAccountPassword() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		ctx, u := r.Context(), CurrentUser(r)
		account, addr := strings.ToLower(u.Email), clientAddr(r)
		wait, suspect := s.logins.wait(account, addr)
		if wait > 0 {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			s.showAccount(w, r, http.StatusTooManyRequests, fmt.Sprintf("Too many wrong passwords. Try again in %d seconds.", secs), accountPage{})
			return
		}
		release, err := s.logins.slot(ctx, suspect)
		if err != nil {
			s.pageError(w, r, errNoLoginSlot)
			return
		}
		err = dir.ChangePassword(ctx, u.ID, r.PostForm.Get("old_password"), r.PostForm.Get("password"))
		release()
		if err != nil {
			if strings.HasPrefix(triage.ErrorMessage(err), "old_password:") {
				s.logins.failed(account, addr)
			}
			s.refused(w, r, err, func(status int, msg string) { s.showAccount(w, r, status, msg, accountPage{}) })
			return
		}
		if err := s.logIn(r, u); err != nil {
			s.pageError(w, r, err)
			return
		}
		s.flash(r, "Password changed. You were logged out everywhere else.")
		http.Redirect(w, r, "/account/", http.StatusSeeOther)
	})
}

// tokenLifetimes are the choices of the token form.
var tokenLifetimes = map[string]time.Duration{"": 0, "30d": 30 * 24 * time.Hour, "90d": 90 * 24 * time.Hour, "365d": 365 * 24 * time.Hour}

func (s *Server) handleTokenCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		name := r.PostForm.Get("name")
		life, known := tokenLifetimes[r.PostForm.Get("expires")]
		var expires time.Time
		var err error
		if !known {
			err = triage.Errorf(triage.EINVALID, "expires: pick never, 30d, 90d or 365d")
		} else if life > 0 {
			expires = s.now().Add(life)
		}
		var plain string
		var t *triage.APIToken
		if err == nil {
			plain, t, err = dir.CreateToken(r.Context(), CurrentUser(r).ID, name, expires)
		}
		if err != nil {
			s.refused(w, r, err, func(status int, msg string) { s.showAccount(w, r, status, msg, accountPage{TokenName: name}) })
			return
		}
		// Shown in this answer only: never stored, never in a flash (which
		// the session table would keep).
		s.showAccount(w, r, http.StatusCreated, "", accountPage{NewToken: plain, NewTokenName: t.Name})
	})
}

func (s *Server) handleTokenRevoke() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir, ok := s.directory(w, r)
		if !ok || !s.readForm(w, r) {
			return
		}
		id, err := parseID(r.PathValue("id"), "token")
		if err == nil {
			err = dir.RevokeToken(r.Context(), CurrentUser(r).ID, id)
		}
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.flash(r, "Token revoked: it is refused from now on.")
		http.Redirect(w, r, "/account/#tokens", http.StatusSeeOther)
	})
}
