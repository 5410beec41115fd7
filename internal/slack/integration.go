package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"triage"
	"triage/internal/access"
	"triage/internal/alert"
	"triage/internal/config"
	"triage/internal/gate"
	"triage/internal/issues"
	"triage/internal/jobs"
	"triage/internal/secretbox"
	"triage/internal/signing"
	"triage/internal/slack/webapi"
	"triage/internal/store"
)

// Deps is what the integration needs, built by cmd/triage.
type Deps struct {
	Logger *slog.Logger
	Store  *store.Store
	// Signer signs link and unlink parameters; Box seals tokens at rest.
	// Both are keyed from TRIAGE_SECRET_KEY.
	Signer *signing.Signer
	Box    *secretbox.Box
	Config *config.Config
	// HTTPClient calls Slack (Web API, OAuth, response URLs); never
	// http.DefaultClient, so that timeouts are set and tests can inject.
	HTTPClient *http.Client
	Now        func() time.Time
	// RenderPage writes body inside Triage's layout with the status (the
	// web package's PageStatus). Nil writes a bare HTML page.
	RenderPage func(w http.ResponseWriter, r *http.Request, status int, title string, body template.HTML)
	// LoginURL is the login page returning to next (web.LoginURL).
	LoginURL func(next string) string
	// Issues changes issues for actions taken in Slack; New registers a
	// change hook on it that queues the rebuild of Slack messages.
	Issues *issues.Service
	// Access decides who may install, link and unlink; nil builds one
	// over Store.
	Access *access.Service
	// SocketMetrics counts Socket Mode's connections and envelopes (see
	// NewSocketMetrics); nil counts nothing.
	SocketMetrics *SocketMetrics
	// Pacer, shared with alerts, paces direct messages and Home tab
	// publishes within the workspace's rate limits (pace.go), at
	// PaceLimits' channel and workspace rates; nil sends at once.
	Pacer      alert.Pacer
	PaceLimits alert.PaceLimits
	// PaceNow is the pacer's clock, the wall clock unless a test says
	// otherwise (Now may be a test's manual clock for signatures).
	PaceNow func() time.Time
}

// Integration serves the Slack endpoints and calls Slack's Web API.
type Integration struct {
	d        Deps
	log      *slog.Logger
	verifier Verifier

	// jobs runs Slack's background work (SetJobs); nil runs it inline.
	jobs *jobs.Client

	// sock is Socket Mode's connection state (socket.go).
	sock socketMode

	// web calls Slack's Web API with the workspaces' tokens.
	web *webapi.Tokens

	// channels serves the channel commands (SetChannels); nil refuses them.
	channels Channels

	// homePeople caches which projects have people linked in Slack
	// (NewIssueJob).
	homePeople homePeopleCache

	// paceLocks hold one send at a time per pace key (pace.go).
	paceMu    sync.Mutex
	paceLocks map[string]*sync.Mutex

	// writes queues this package's write transactions on SQLite, and
	// changes of one issue on PostgreSQL; see serializeWrites.
	writes  sync.Mutex
	stripes [64]sync.Mutex
	// gate admits clicks' change transactions oldest first (PostgreSQL;
	// nil on SQLite, where writes queues them); tickets numbers the clicks
	// in the order they arrive. With 50 clicks in flight on a pool of 12,
	// drawing lots for connections, a click waited 25-31 ms for one at the
	// median and 180-300 ms at p99; queued here by ticket, 16-47 ms at p99.
	//
	// The database reads of the clicked cards' rebuilds (and of the other
	// card rebuilds) go through the gate too, behind the clicks
	// (EnterLow): they get a turn when no click waits, and at least one in
	// a few when clicks do, so that a burst of clicks slows the cards
	// without stopping them. Waiting rebuilds of one message then fold
	// into one (dispatch), as they did when they drew lots for
	// connections: let in at once, beside the clicks, a rebuild ran for
	// every click, which doubled the CPU a click costs and halved the
	// clicks a second.
	//
	// A click takes its issue's turn (serializeWrites) before the gate,
	// never the other way round: a click inside the gate waits for nothing
	// but the database, so the gate cannot fill up with clicks waiting for
	// one another.
	gate    *gate.Gate
	tickets atomic.Uint64
	// lanes run what dispatch delivers outside River.
	lanes     [dispatchLanes]dispatchLane
	lanesBusy sync.WaitGroup // one per running lane
}

// serializeWrites makes this process's Slack write transactions take turns
// where the database would make them wait anyway, and returns the function
// that ends the turn. SQLite has one writer at a time, and a transaction
// that finds the lock taken sleeps in growing steps (busy_timeout) instead
// of being woken: under a burst of clicks most time went to sleeping.
// PostgreSQL serializes changes of one issue on its row lock, each waiter
// holding a pooled connection the jobs then lack. Queued on a mutex here,
// they hand over at once and hold no connection while waiting. issueID 0
// means a write not tied to one issue (only SQLite queues those).
func (i *Integration) serializeWrites(issueID int64) func() {
	var m *sync.Mutex
	switch {
	case i.d.Store.Engine == store.SQLite:
		m = &i.writes
	case issueID != 0:
		m = &i.stripes[uint64(issueID)%uint64(len(i.stripes))]
	default:
		return func() {}
	}
	m.Lock()
	return m.Unlock
}

// clickTurn waits for the turn of a click that changes the issue: its
// issue's turn (serializeWrites), then, on PostgreSQL, its place in the
// gate, in the order the clicks arrived. It returns the function that
// ends both.
func (i *Integration) clickTurn(ctx context.Context, issueID int64) (func(), error) {
	ticket := i.tickets.Add(1)
	unlock := i.serializeWrites(issueID)
	if i.gate == nil {
		return unlock, nil
	}
	leave, err := i.gate.Enter(ctx, ticket)
	if err != nil {
		unlock()
		return nil, err
	}
	return func() {
		leave()
		unlock()
	}, nil
}

// rebuildTurn waits for a card rebuild's turn to read the database: on
// PostgreSQL behind the clicks (the gate). It returns the function that
// ends it.
func (i *Integration) rebuildTurn(ctx context.Context) (func(), error) {
	if i.gate == nil {
		return func() {}, nil
	}
	return i.gate.EnterLow(ctx)
}

// New builds the integration. Missing optional dependencies get safe
// defaults: a discarding logger, the wall clock, a client with a timeout.
func New(d Deps) *Integration {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.HTTPClient == nil {
		d.HTTPClient = webapi.NewHTTPClient()
	}
	if d.PaceNow == nil {
		d.PaceNow = time.Now
	}
	if d.PaceLimits == (alert.PaceLimits{}) {
		d.PaceLimits = alert.DefaultPaceLimits()
	}
	if d.LoginURL == nil {
		d.LoginURL = func(next string) string { return "/auth/login/?next=" + url.QueryEscape(next) }
	}
	if d.RenderPage == nil {
		d.RenderPage = barePage
	}
	if d.Access == nil {
		d.Access = access.New(d.Store)
	}
	i := &Integration{
		d:   d,
		log: d.Logger,
		verifier: Verifier{
			SigningSecret:     d.Config.SlackSigningSecret,
			VerificationToken: d.Config.SlackVerificationToken,
			Now:               d.Now,
			Logger:            d.Logger,
		},
		web: webapi.NewTokens(d.Store, d.Box, webapi.Config{APIURL: d.Config.SlackAPIURL,
			ClientID: d.Config.SlackClientID, ClientSecret: d.Config.SlackClientSecret}, d.HTTPClient, d.Now, d.Logger),
	}
	i.sock.metrics = d.SocketMetrics
	if d.Store != nil && d.Store.Engine == store.Postgres {
		// As many as the pool has connections: the clicks and the card
		// rebuilds' reads then never draw lots for one among themselves
		// (the gate). A gate of 8 on a pool of 12 measured fewer changes
		// a second on the busy 2-core machine.
		i.gate = gate.New(d.Store.Pool().Stats().MaxOpenConnections)
	}
	if d.Issues != nil {
		d.Issues.OnChange(i.onIssueChange)
		d.Issues.OnChange(i.onPersonalChange)
	}
	return i
}

var bareTmpl = template.Must(template.New("bare").Parse(
	`<!doctype html><html><head><meta charset="utf-8"><title>{{.Title}}</title></head><body><h1>{{.Title}}</h1>{{.Body}}</body></html>`))

func barePage(w http.ResponseWriter, _ *http.Request, status int, title string, body template.HTML) {
	var buf bytes.Buffer
	_ = bareTmpl.Execute(&buf, struct {
		Title string
		Body  template.HTML
	}{title, body})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// page renders one of this package's templates inside the layout.
func (i *Integration) page(w http.ResponseWriter, r *http.Request, status int, title, tmpl string, data any) {
	body, err := render(tmpl, data)
	if err != nil {
		i.log.Error("render slack page", "template", tmpl, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	i.d.RenderPage(w, r, status, title, body)
}

// errorPage shows a user-safe message (escaped) and optional hint.
func (i *Integration) errorPage(w http.ResponseWriter, r *http.Request, status int, title, message, hint string) {
	i.page(w, r, status, title, "error", map[string]string{"Message": message, "Hint": hint})
}

// internalError logs err and shows a generic page.
func (i *Integration) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	i.log.Error(what, "path", r.URL.Path, "err", err)
	i.errorPage(w, r, http.StatusInternalServerError, "Something went wrong",
		"Triage could not finish this request. Try again in a moment.", "")
}

// currentUser returns the logged-in user, or redirects to login and nil.
func (i *Integration) currentUser(w http.ResponseWriter, r *http.Request) *triage.User {
	u := triage.UserFromContext(r.Context())
	if u == nil {
		next := r.URL.Path
		http.Redirect(w, r, i.d.LoginURL(next), http.StatusSeeOther)
	}
	return u
}

// writeJSON answers Slack with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// absURL is a path on this instance as an absolute URL.
func (i *Integration) absURL(path string) string {
	return i.d.Config.URLPrefix + path
}

func (i *Integration) redirectURI() string { return i.absURL("/extensions/slack/setup/") }

func (i *Integration) now() time.Time { return i.d.Now() }

// orgSettingsPath is where people go after an install.
func orgSettingsPath(slug string) string {
	return fmt.Sprintf("/organizations/%s/settings/", url.PathEscape(slug))
}

// WebAPI is the integration's Web API side: per-workspace clients, token
// refresh, and the marking of dead workspaces.
func (i *Integration) WebAPI() *webapi.Tokens { return i.web }
