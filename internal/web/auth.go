package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"triage"
	"triage/internal/password"
	"triage/internal/store"
)

type ctxKey int

const sessionLoadedKey ctxKey = 1

// sessionUserKey is the session key that holds the logged-in user's id.
const sessionUserKey = "user_id"

// hasSession tells whether the request went through the session middleware;
// scs panics when asked about a request that did not.
func hasSession(r *http.Request) bool {
	ok, _ := r.Context().Value(sessionLoadedKey).(bool)
	return ok
}

// loadUser puts the session's user, if any, in the request context.
func (s *Server) loadUser(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), sessionLoadedKey, true)
		if id := s.sessions.GetInt64(ctx, sessionUserKey); id != 0 {
			u, err := s.store.UserByID(ctx, id)
			switch {
			case err == nil:
				ctx = triage.NewContextWithUser(ctx, u)
			case triage.ErrorCode(err) == triage.ENOTFOUND:
				s.sessions.Remove(ctx, sessionUserKey) // the user was deleted
			default:
				s.pageError(w, r.WithContext(ctx), fmt.Errorf("load session user: %w", err))
				return
			}
		}
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requireLogin sends visitors who are not logged in to the login form,
// which brings them back here afterwards.
func (s *Server) requireLogin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if CurrentUser(r) == nil {
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				next = r.URL.Path // a POST cannot be replayed; come back to the page
			}
			http.Redirect(w, r, LoginURL(next), http.StatusSeeOther)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) sessionError(w http.ResponseWriter, r *http.Request, err error) {
	s.pageError(w, r, fmt.Errorf("session: %w", err))
}

// logIn starts a fresh session for u: a new token, so that a token planted
// before login (session fixation) is worth nothing after it.
func (s *Server) logIn(r *http.Request, u *triage.User) error {
	if err := s.sessions.RenewToken(r.Context()); err != nil {
		return err
	}
	s.sessions.Put(r.Context(), sessionUserKey, u.ID)
	return nil
}

// homeFor is where a user lands: their first organization's issues.
func (s *Server) homeFor(ctx context.Context, u *triage.User) (string, error) {
	orgs, err := s.store.OrganizationsForUser(ctx, u.ID)
	if err != nil {
		return "", err
	}
	if len(orgs) == 0 {
		return "/", nil
	}
	return "/organizations/" + orgs[0].Slug + "/issues/", nil
}

func (s *Server) handleHome() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := CurrentUser(r)
		if u == nil {
			http.Redirect(w, r, "/auth/login/", http.StatusSeeOther)
			return
		}
		dest, err := s.homeFor(r.Context(), u)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		if dest != "/" {
			http.Redirect(w, r, dest, http.StatusSeeOther)
			return
		}
		s.render(w, r, http.StatusOK, "error.html", &view{Title: "No organization", Data: struct {
			Status  int
			Message string
		}{0, "You are not a member of any organization yet. Ask an owner to add you."}})
	})
}

type loginData struct {
	Email string
	Next  string
}

func (s *Server) handleLoginForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next := safeNext(r.URL.Query().Get("next"))
		if u := CurrentUser(r); u != nil {
			if next == "" {
				next = "/"
			}
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		s.render(w, r, http.StatusOK, "login.html", &view{Title: "Log in", Data: loginData{Next: next}})
	})
}

const badLogin = "Invalid email or password."

// errNoLoginSlot is a login whose password could not be checked before the
// request's deadline: too many were waiting.
var errNoLoginSlot = triage.Errorf(triage.EUNAVAILABLE, "Too many logins are being checked right now. Try again in a few seconds.")

func (s *Server) handleLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		email := strings.TrimSpace(r.PostForm.Get("email"))
		pw := r.PostForm.Get("password")
		next := safeNext(r.PostForm.Get("next"))
		data := loginData{Email: email, Next: next}
		fail := func() {
			s.render(w, r, http.StatusOK, "login.html", &view{Title: "Log in", Error: badLogin, Data: data})
		}
		if email == "" || pw == "" || len(pw) > 1024 || !utf8.ValidString(email) {
			fail()
			return
		}
		account, addr := strings.ToLower(email), clientAddr(r)
		wait, suspect := s.logins.wait(account, addr)
		if wait > 0 {
			secs := int(math.Ceil(wait.Seconds()))
			s.log.Info("login throttled", "remote_addr", addr, "retry_after_s", secs)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			s.render(w, r, http.StatusTooManyRequests, "login.html", &view{Title: "Log in", Data: data,
				Error: fmt.Sprintf("Too many failed attempts. Try again in %d seconds.", secs)})
			return
		}
		u, err := s.checkPassword(r.Context(), email, pw, suspect)
		if err != nil {
			switch {
			case triage.ErrorCode(err) == triage.EUNAUTHORIZED:
				s.logins.failed(account, addr)
				s.log.Info("login failed", "remote_addr", addr)
				fail()
				return
			case errors.Is(err, errNoLoginSlot):
				s.logins.failed("", addr)
			}
			s.pageError(w, r, err)
			return
		}
		s.logins.succeeded(account)
		if err := s.logIn(r, u); err != nil {
			s.pageError(w, r, err)
			return
		}
		s.log.Info("login", "user_id", u.ID)
		if next == "" {
			if next, err = s.homeFor(r.Context(), u); err != nil {
				s.pageError(w, r, err)
				return
			}
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
}

// checkPassword returns the user whose email and password these are, or
// EUNAUTHORIZED. An unknown email still costs one password verification
// (against a dummy hash), so response time does not tell which emails exist.
// A suspect check (recent failures) queues behind clean ones.
func (s *Server) checkPassword(ctx context.Context, email, pw string, suspect bool) (*triage.User, error) {
	release, err := s.logins.slot(ctx, suspect)
	if err != nil {
		return nil, errNoLoginSlot
	}
	defer release()
	u, hash, err := s.store.PasswordHash(ctx, email)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		password.Verify(pw, s.dummyHash())
		return nil, triage.Errorf(triage.EUNAUTHORIZED, badLogin)
	} else if err != nil {
		return nil, err
	}
	ok, err := password.Verify(pw, hash)
	if err != nil && !errors.Is(err, password.ErrEmptyPassword) {
		s.log.Error("stored password hash unusable", "user_id", u.ID, "err", err)
	}
	if !ok {
		return nil, triage.Errorf(triage.EUNAUTHORIZED, badLogin)
	}
	return u, nil
}

func (s *Server) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.sessions.Destroy(r.Context()); err != nil {
			s.pageError(w, r, err)
			return
		}
		http.Redirect(w, r, "/auth/login/", http.StatusSeeOther)
	})
}

type setupData struct {
	Token, Email, Name, Organization string
}

// handleSetup creates the first user (a superuser) and their organization,
// once: as soon as any user exists the URL is gone (404), token or not.
func (s *Server) handleSetup() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		token := r.PathValue("token")
		if s.d.SetupToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.d.SetupToken)) != 1 {
			s.errorPage(w, r, http.StatusNotFound, "")
			return
		}
		if n, err := s.store.CountUsers(ctx); err != nil {
			s.pageError(w, r, err)
			return
		} else if n > 0 {
			s.errorPage(w, r, http.StatusNotFound, "")
			return
		}
		data := setupData{Token: token}
		if r.Method == http.MethodGet {
			s.render(w, r, http.StatusOK, "setup.html", &view{Title: "Set up Triage", Data: data})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		data.Email = strings.TrimSpace(r.PostForm.Get("email"))
		data.Name = strings.TrimSpace(r.PostForm.Get("name"))
		data.Organization = strings.TrimSpace(r.PostForm.Get("organization"))
		pw := r.PostForm.Get("password")
		u, org, err := s.createFirstOwner(ctx, data, pw)
		if err != nil {
			if code := triage.ErrorCode(err); code == triage.EINVALID || code == triage.ECONFLICT {
				s.render(w, r, http.StatusOK, "setup.html", &view{Title: "Set up Triage", Error: triage.ErrorMessage(err), Data: data})
				return
			}
			if triage.ErrorCode(err) == triage.ENOTFOUND {
				s.errorPage(w, r, http.StatusNotFound, "")
				return
			}
			s.pageError(w, r, err)
			return
		}
		if err := s.logIn(r, u); err != nil {
			s.pageError(w, r, err)
			return
		}
		s.log.Info("first user set up", "user_id", u.ID, "org", org.Slug)
		s.flash(r, "Welcome to Triage. Create a project with `triage project create` to get a DSN.")
		http.Redirect(w, r, "/organizations/"+org.Slug+"/issues/", http.StatusSeeOther)
	})
}

func (s *Server) createFirstOwner(ctx context.Context, d setupData, pw string) (*triage.User, *triage.Organization, error) {
	if len(pw) < 8 {
		return nil, nil, triage.Errorf(triage.EINVALID, "Choose a password of at least 8 characters.")
	}
	if len(pw) > 1024 {
		return nil, nil, triage.Errorf(triage.EINVALID, "That password is too long.")
	}
	if err := triage.ValidateSlug("organization", d.Organization); err != nil {
		return nil, nil, err
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return nil, nil, err
	}
	var u *triage.User
	var org *triage.Organization
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		// Two setup submissions at once: only the first creates anything.
		if n, err := tx.CountUsers(ctx); err != nil {
			return err
		} else if n > 0 {
			return triage.Errorf(triage.ENOTFOUND, "setup is done")
		}
		if u, err = tx.CreateUser(ctx, d.Email, d.Name, hash, true); err != nil {
			return err
		}
		org, err = tx.CreateOrganization(ctx, d.Organization, d.Organization, u.ID)
		return err
	})
	return u, org, err
}

// bearer authenticates an API request by its token; the user goes in the
// context like a page's session user.
func (s *Server) bearer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		scheme, token, ok := strings.Cut(auth, " ")
		if auth == "" {
			s.apiError(w, r, triage.Errorf(triage.EUNAUTHORIZED, "Authentication credentials were not provided."))
			return
		}
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			s.apiError(w, r, triage.Errorf(triage.EUNAUTHORIZED, "Use Authorization: Bearer <token>."))
			return
		}
		u, err := s.store.UserByTokenHash(r.Context(), password.HashToken(token))
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(triage.NewContextWithUser(r.Context(), u)))
	})
}
