package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"triage"
)

//go:embed templates
var templateFS embed.FS

// pageTemplates holds one template set per page (the layout plus the page's
// "content"), parsed once when the program starts and never changed.
var pageTemplates = mustParsePages()

func mustParsePages() map[string]*template.Template {
	base := template.Must(template.New("layout.html").ParseFS(templateFS, "templates/layout.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, name := range names {
		if path.Base(name) == "layout.html" {
			continue
		}
		t := template.Must(template.Must(base.Clone()).ParseFS(templateFS, name))
		out[path.Base(name)] = t
	}
	return out
}

// view is what every page template gets: the layout's fields, and Data for
// the page itself.
type view struct {
	Title string
	User  *triage.User
	Org   *triage.Organization
	Nav   string // "issues", "projects" or "settings": the highlighted tab
	Flash string
	Error string
	Data  any
	Body  template.HTML
	// Refresh reloads the page after this many seconds (a progress
	// shown while background work runs); 0 never.
	Refresh int
}

// renderPage executes a page into a buffer first, so a template error
// becomes a clean 500 instead of half a page.
func renderPage(w http.ResponseWriter, status int, name string, v *view) error {
	t, ok := pageTemplates[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy",
		"default-src 'self'; img-src 'self' https: data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// Page renders body inside Triage's layout (header, stylesheet, the user's
// logout button), so that pages other packages serve look like the rest.
// body must be trusted HTML: escape anything that came from a request.
func Page(w http.ResponseWriter, r *http.Request, title string, body template.HTML) {
	PageStatus(w, r, http.StatusOK, title, body)
}

// PageStatus is Page with another status code (an error page, say).
func PageStatus(w http.ResponseWriter, r *http.Request, status int, title string, body template.HTML) {
	if err := renderPage(w, status, "page.html", &view{Title: title, User: CurrentUser(r), Body: body}); err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
}

// render fills in the user and the pending flash message and renders a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	v.User = CurrentUser(r)
	if v.Flash == "" && hasSession(r) {
		v.Flash = s.sessions.PopString(r.Context(), "flash")
	}
	if err := renderPage(w, status, name, v); err != nil {
		s.log.Error("render page", "template", name, "route", logRoute(r), "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
}

func (s *Server) flash(r *http.Request, msg string) {
	s.sessions.Put(r.Context(), "flash", msg)
}

// errorPage shows a friendly error; msg "" uses the status's default text.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	title := http.StatusText(status)
	if msg == "" {
		switch status {
		case http.StatusNotFound:
			msg = "There is nothing here, or you do not have access to it."
		case http.StatusForbidden:
			msg = "You do not have permission to do that."
		default:
			msg = "Something went wrong on our side. It has been logged; please try again."
		}
	}
	if status == http.StatusNotFound {
		title = "Page not found"
	}
	s.render(w, r, status, "error.html", &view{Title: title, Data: struct {
		Status  int
		Message string
	}{status, msg}})
}

// pageError shows err as a page: its safe message for known codes, a
// generic one (and a log line) for anything internal.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	code := triage.ErrorCode(err)
	status := httpStatus(code)
	switch code {
	case triage.EUNAUTHORIZED:
		http.Redirect(w, r, LoginURL(r.URL.RequestURI()), http.StatusSeeOther)
		return
	case triage.ENOTFOUND:
		s.errorPage(w, r, status, "")
		return
	case triage.EINTERNAL:
		s.log.Error("page failed", "method", r.Method, "route", logRoute(r), "err", err)
		s.errorPage(w, r, status, "")
		return
	case triage.EUNAVAILABLE:
		msg := unavailableMessage
		var te *triage.Error
		if errors.As(err, &te) {
			msg = te.Message // not the database: something else is busy
		} else {
			s.log.Warn("page: database unavailable", "method", r.Method, "route", logRoute(r), "err", err)
		}
		w.Header().Set("Retry-After", retryAfterUnavailable)
		s.errorPage(w, r, status, msg)
		return
	}
	s.errorPage(w, r, status, triage.ErrorMessage(err))
}

// formatTime is how pages show a time: UTC, to the minute.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// ago is a short relative time: "3 minutes ago", "2 days ago".
func ago(now, t time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit + " ago"
		}
		return fmt.Sprintf("%d %ss ago", n, unit)
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int64(d/time.Minute), "minute")
	case d < 24*time.Hour:
		return plural(int64(d/time.Hour), "hour")
	case d < 60*24*time.Hour:
		return plural(int64(d/(24*time.Hour)), "day")
	}
	return "on " + strings.TrimSuffix(formatTime(t), " UTC")[:10]
}
