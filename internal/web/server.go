package web

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/prometheus/client_golang/prometheus"

	"triage"
	"triage/internal/access"
	"triage/internal/alert"
	"triage/internal/config"
	"triage/internal/directory"
	"triage/internal/invite"
	"triage/internal/issues"
	"triage/internal/passreset"
	"triage/internal/password"
)

// Recommended http.Server limits for cmd/triage. Slow clients cannot hold a
// connection open forever, while a Sentry SDK uploading a large envelope on a
// slow link still has time to finish.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 60 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 64 << 10
)

// IngestHandlers is what the ingestion package plugs in for the Sentry SDK
// endpoints. Each handler also answers OPTIONS (CORS preflight).
type IngestHandlers interface {
	EnvelopeHandler() http.Handler
	StoreHandler() http.Handler
}

// SlackHandlers is what the Slack integration plugs in. The web package owns
// the URLs, the login requirement and the cross-origin policy; the Slack
// package owns what happens behind them.
type SlackHandlers interface {
	// InstallStart serves GET /organizations/{org}/integrations/slack/setup/
	// for a logged-in user.
	InstallStart() http.Handler
	// InstallCallback serves GET /extensions/slack/setup/ (OAuth redirect)
	// for a logged-in user.
	InstallCallback() http.Handler
	// Remove detaches a workspace from the organization (POST, admins).
	Remove() http.Handler
	// Action, Event, Command and OptionsLoad serve Slack's signed POSTs;
	// they get neither a session nor cross-origin protection.
	Action() http.Handler
	Event() http.Handler
	Command() http.Handler
	OptionsLoad() http.Handler
	// LinkIdentity and UnlinkIdentity serve GET|POST of the signed
	// link/unlink pages for a logged-in user.
	LinkIdentity() http.Handler
	UnlinkIdentity() http.Handler
	// SettingsSection is an HTML block for the organization settings page.
	SettingsSection(ctx context.Context, org *triage.Organization, user *triage.User, member *triage.Member) (template.HTML, error)
	// IntegrationsJSON is the body of GET /api/0/organizations/{org}/integrations/;
	// it must never contain a token.
	IntegrationsJSON(ctx context.Context, orgID int64) (any, error)
}

// Store is the database as the web layer reaches it: narrow views declared
// in the root package, which internal/store implements, and the sessions'
// rows (SessionRows, declared where sessions are kept). The server keeps
// each view apart (accounts, the directory, sessions, health) and asks
// access questions only through Deps.Access.
type Store interface {
	triage.AccessStore
	triage.AccountStore
	triage.DirectoryStore
	triage.HealthStore
	triage.DMSettingsStore
	SessionRows
	Finder
}

// Deps is everything the server needs, built by cmd/triage.
type Deps struct {
	Logger *slog.Logger
	Config *config.Config
	Store  Store
	// Access decides who may see what; nil builds one over Store.
	Access *access.Service
	Issues *issues.Service
	Now    func() time.Time
	// Ingest serves the Sentry SDK endpoints; nil answers 503.
	Ingest IngestHandlers
	// Slack serves the Slack endpoints; nil answers 503 "not configured".
	Slack SlackHandlers
	// SetupToken enables /setup/{token}/ while no user exists; "" disables it.
	SetupToken string
	// Ready reports readiness for /readyz; nil checks the database and
	// pending migrations.
	Ready func(ctx context.Context) error
	// Registry receives the HTTP metrics (and DBStats) and is served at
	// /metrics; nil uses a fresh registry.
	Registry *prometheus.Registry
	// DBStats reports the database pool (open, in use, idle connections,
	// waits); nil reports none.
	DBStats prometheus.Collector
	// Events shows an issue's events on its pages and in the API; nil
	// shows none.
	Events EventViewer
	// Alerts serves the alert rules API and settings page; nil answers 503.
	Alerts *alert.Service
	// Finder reads the issue search, tags and trends; nil uses Store.
	Finder Finder
	// Directory manages members, teams, projects, keys and accounts; nil
	// answers those pages with 503.
	Directory *directory.Service
	// Invites serves the invite pages; nil answers 503 (404 for links).
	Invites *invite.Service
	// Resets serves the password reset pages; nil answers 404.
	Resets *passreset.Service
}

// Server is Triage's HTTP surface.
type Server struct {
	d            Deps
	log          *slog.Logger
	cfg          *config.Config
	accounts     triage.AccountStore
	dir          triage.DirectoryStore
	health       triage.HealthStore
	dm           triage.DMSettingsStore
	access       *access.Service
	issues       *issues.Service
	finder       Finder
	now          func() time.Time
	sessions     *scs.SessionManager
	sessionStore *SessionStore
	cop          *http.CrossOriginProtection
	metrics      *httpMetrics
	registry     *prometheus.Registry
	handler      http.Handler

	// logins throttles failed logins and bounds concurrent password
	// verifications: each one holds 64 MiB for ~170 ms, so a burst of
	// logins must queue, not exhaust memory (loginthrottle.go).
	logins    *loginThrottle
	dummyHash func() string
	closeOnce sync.Once
}

// New builds the server and starts the periodic removal of expired
// sessions; Close stops it.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Config == nil {
		d.Config = &config.Config{URLPrefix: "http://127.0.0.1:9000"}
	}
	if d.Access == nil {
		d.Access = access.New(d.Store)
	}
	s := &Server{
		d:        d,
		log:      d.Logger,
		cfg:      d.Config,
		accounts: d.Store,
		dir:      d.Store,
		health:   d.Store,
		dm:       d.Store,
		access:   d.Access,
		issues:   d.Issues,
		finder:   d.Finder,
		now:      d.Now,
		logins:   newLoginThrottle(d.Now),
		dummyHash: sync.OnceValue(func() string {
			h, _ := password.Hash("triage-dummy-password-for-timing")
			return h
		}),
	}
	if s.finder == nil {
		s.finder = d.Store
	}
	idle := d.Config.SessionIdle
	if idle <= 0 {
		idle = config.DefaultSessionIdle
	}
	s.sessionStore = NewSessionStore(d.Store, idle)
	s.sessionStore.StartCleanup(5*time.Minute, d.Logger)
	s.sessions = newSessionManager(s.sessionStore, d.Config.URLPrefix, s.sessionError)

	s.cop = http.NewCrossOriginProtection()
	if u, err := url.Parse(d.Config.URLPrefix); err == nil && u.Scheme != "" && u.Host != "" {
		if err := s.cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			s.log.Warn("url prefix is not a valid origin", "url_prefix", d.Config.URLPrefix, "err", err)
		}
	}
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Info("cross-origin request refused", "method", r.Method, "route", logRoute(r),
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		s.errorPage(w, r, http.StatusForbidden, "This request came from another site and was refused.")
	}))

	s.registry = d.Registry
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	s.metrics = newHTTPMetrics(s.registry, d.DBStats, s.log)

	mux := http.NewServeMux()
	s.routes(mux)
	s.handler = s.metrics.wrap(s.recoverPanics(securityHeaders(withDeadline(d.Config.RequestTimeout, stripDSNPrefix(mux)))))
	return s
}

// Handler is the whole HTTP surface.
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer returns an http.Server for addr with the recommended limits.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Close stops background work (the session cleanup). It does not close the
// store.
func (s *Server) Close() error {
	s.closeOnce.Do(s.sessionStore.StopCleanup)
	return nil
}

// CurrentUser is the logged-in user of a page request (or the token's user
// on the API), nil when nobody is logged in.
func CurrentUser(r *http.Request) *triage.User { return triage.UserFromContext(r.Context()) }

// LoginURL is the login page that returns to next afterwards; next must be
// a same-site path ("/organizations/…"), anything else is dropped.
func LoginURL(next string) string {
	if safeNext(next) == "" {
		return "/auth/login/"
	}
	return "/auth/login/?next=" + url.QueryEscape(next)
}

// safeNext returns next when it is a path on this site, "" otherwise: no
// scheme, no host, no "//" or "/\" (which browsers read as another host), no
// control characters.
func safeNext(next string) string {
	if next == "" || len(next) > 4096 || next[0] != '/' {
		return ""
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return ""
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	return next
}

// logRoute names a request in logs by its route pattern, never by its raw
// path: a path can carry a signed link (/extensions/slack/link-identity/…,
// /invites/…, /auth/reset/…), which must not end up in a log.
func logRoute(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	for _, p := range []string{"/extensions/", "/invites/", "/auth/reset/"} {
		if strings.HasPrefix(r.URL.Path, p) {
			return "unmatched " + p + "…"
		}
	}
	return r.URL.Path
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

// recoverPanics turns a handler panic into a logged 500 instead of a
// dropped connection and a stack trace on stderr.
func (s *Server) recoverPanics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panic", "method", r.Method, "route", logRoute(r), "panic", v)
			if strings.HasPrefix(r.URL.Path, "/api/") {
				writeJSON(w, http.StatusInternalServerError, apiDetail{Detail: "Internal error."})
				return
			}
			s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong on our side. It has been logged.")
		}()
		h.ServeHTTP(w, r)
	})
}
