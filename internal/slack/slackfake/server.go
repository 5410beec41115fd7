package slackfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Option configures a Server.
type Option func(*Server)

// WithClock makes the fake read time from now instead of time.Now, so tests
// can expire triggers, tokens and response URLs without sleeping.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// WithPingInterval sets how often Socket Mode connections get a WebSocket
// ping (Slack pings; slack-go drops a connection that stays silent for 30 s).
// The default is 10 s of wall time.
func WithPingInterval(d time.Duration) Option {
	return func(s *Server) { s.pingInterval = d }
}

// ManualClock is a clock that moves only when told to, for WithClock.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a clock standing at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Server is the fake. Create it with New and stop it with Close.
type Server struct {
	httpSrv      *httptest.Server
	now          func() time.Time
	pingInterval time.Duration

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever something is recorded

	workspaces   map[string]*Workspace
	users        map[string]*User
	channels     map[string]*channelState
	tokens       map[string]*tokenState
	app          oauthApp
	codes        map[string]*codeState
	refresh      map[string]*refreshState
	triggers     map[string]*triggerState
	views        map[string]*viewState
	homes        map[string]*HomeView
	responseURLs map[string]*responseURLState
	unfurlIDs    map[string]*unfurlIDState
	seq          int
	lastTS       int64 // microseconds of the last message ts handed out

	calls []Call
	posts []Post

	limits limitState
	socket socketState
}

// New starts a fake Slack on a local port.
func New(opts ...Option) *Server {
	s := &Server{
		now:          time.Now,
		pingInterval: 10 * time.Second,
		changed:      make(chan struct{}),
		workspaces:   map[string]*Workspace{},
		users:        map[string]*User{},
		channels:     map[string]*channelState{},
		tokens:       map[string]*tokenState{},
		codes:        map[string]*codeState{},
		refresh:      map[string]*refreshState{},
		triggers:     map[string]*triggerState{},
		views:        map[string]*viewState{},
		homes:        map[string]*HomeView{},
		responseURLs: map[string]*responseURLState{},
		unfurlIDs:    map[string]*unfurlIDState{},
	}
	s.limits.init()
	s.socket.init()
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("/hooks/{kind}/{team}/{id}/{secret}", s.serveResponseURL)
	mux.HandleFunc("GET /socket/{ticket}", s.serveSocket)
	s.httpSrv = httptest.NewServer(mux)
	return s
}

// Close closes every Socket Mode connection and stops the server.
func (s *Server) Close() {
	s.closeSockets()
	s.httpSrv.Close()
}

// URL is the server's base URL, without a trailing slash.
func (s *Server) URL() string { return s.httpSrv.URL }

// APIURL is the Web API base for slack.OptionAPIURL and
// slack.OAuthOptionAPIURL; it ends in a slash, as slack-go requires.
func (s *Server) APIURL() string { return s.httpSrv.URL + "/api/" }

// Call is one recorded Web API request and the answer it got.
type Call struct {
	Method string
	// Token is the token the request carried, if any.
	Token string
	// Params holds every argument as a string: form values as sent, JSON
	// strings unquoted, other JSON values as their JSON text. The token is
	// not repeated here.
	Params map[string]string
	// Raw holds the arguments that carry JSON (blocks, attachments, unfurls,
	// view, dialog, metadata, and every field of a JSON body) when they are
	// valid JSON.
	Raw    map[string]json.RawMessage
	Time   time.Time
	Status int
	// Response is the body sent back: JSON, or text for injected HTTP errors.
	Response []byte
	// Error is the error code answered, empty on success.
	Error string
}

// Decode unmarshals the JSON argument field into v.
func (c Call) Decode(field string, v any) error {
	raw, ok := c.Raw[field]
	if !ok {
		return fmt.Errorf("call %s has no JSON argument %q", c.Method, field)
	}
	return json.Unmarshal(raw, v)
}

// Calls returns the recorded calls to method, oldest first; "" means all.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callsLocked(method)
}

func (s *Server) callsLocked(method string) []Call {
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// WaitForCalls waits until at least n calls to method have been recorded and
// returns them, or returns the calls so far with ctx's error. Much of
// Triage's Slack work happens in background jobs; this is how tests wait.
func (s *Server) WaitForCalls(ctx context.Context, method string, n int) ([]Call, error) {
	var calls []Call
	err := s.waitFor(ctx, func() bool {
		calls = s.callsLocked(method)
		return len(calls) >= n
	})
	return calls, err
}

// waitFor waits until cond, checked with s.mu held, is true.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Reset forgets what was recorded and posted: calls, response URL posts,
// messages, views, Socket Mode acks, rate-limit counters and pending
// failures. Workspaces, users, channels, tokens and OAuth setup stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
	s.posts = nil
	for _, ch := range s.channels {
		ch.messages = nil
		ch.ephemerals = nil
	}
	s.views = map[string]*viewState{}
	s.homes = map[string]*HomeView{}
	s.limits.init()
	s.socket.resetRecords()
	s.notifyLocked()
}

// notifyLocked wakes every waiter; call with s.mu held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// apiRequest is a Web API request, decoded the way Slack decodes it.
type apiRequest struct {
	method      string
	token       string
	params      map[string]string
	raw         map[string]json.RawMessage
	basicID     string
	basicSecret string
}

// jsonArgs are the form arguments whose values are JSON documents.
var jsonArgs = []string{"blocks", "attachments", "unfurls", "view", "dialog", "metadata", "user_auth_blocks"}

func (rq *apiRequest) has(name string) bool { _, ok := rq.params[name]; return ok }

// parseAPIRequest decodes r; a non-empty second result is Slack's error code
// for a body it cannot read.
func parseAPIRequest(r *http.Request) (*apiRequest, string) {
	rq := &apiRequest{
		method: r.PathValue("method"),
		params: map[string]string{},
		raw:    map[string]json.RawMessage{},
	}
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		rq.token = strings.TrimSpace(strings.TrimPrefix(auth, "Bearer "))
	} else if id, secret, ok := r.BasicAuth(); ok {
		rq.basicID, rq.basicSecret = id, secret
	}
	for k, v := range r.URL.Query() {
		if k != "token" && len(v) > 0 {
			rq.params[k] = v[0]
		}
	}
	if code := decodeBody(r, rq); code != "" {
		return rq, code
	}
	for _, f := range jsonArgs {
		if v, ok := rq.params[f]; ok && json.Valid([]byte(v)) {
			rq.raw[f] = json.RawMessage(v)
		} else {
			delete(rq.raw, f)
		}
	}
	return rq, ""
}

// decodeBody reads a form or JSON body into rq, or returns Slack's error
// code for a body it cannot read.
func decodeBody(r *http.Request, rq *apiRequest) string {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		return "request_timeout"
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case len(bytes.TrimSpace(body)) == 0 && mt != "application/json":
	case ct == "":
		return "missing_post_type"
	case mt == "application/json":
		if len(bytes.TrimSpace(body)) > 0 {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(body, &m); err != nil {
				return "invalid_json"
			}
			for k, v := range m {
				var str string
				if json.Unmarshal(v, &str) == nil {
					rq.params[k] = str
				} else {
					rq.params[k] = string(v)
				}
				rq.raw[k] = v
			}
			// Slack reads the token of a JSON request only from the header.
			delete(rq.params, "token")
			delete(rq.raw, "token")
		}
	case mt == "application/x-www-form-urlencoded", mt == "text/plain":
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return "invalid_form_data"
		}
		takeForm(rq, values)
	case mt == "multipart/form-data":
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseMultipartForm(16 << 20); err != nil {
			return "invalid_form_data"
		}
		takeForm(rq, url.Values(r.MultipartForm.Value))
	default:
		return "invalid_post_type"
	}
	return ""
}

func takeForm(rq *apiRequest, values url.Values) {
	for k, v := range values {
		if len(v) == 0 {
			continue
		}
		if k == "token" {
			if rq.token == "" {
				rq.token = v[0]
			}
			continue
		}
		rq.params[k] = v[0]
	}
}

// result is the answer to one Web API call.
type result struct {
	status     int
	retryAfter int // seconds; 0 means no Retry-After header
	body       map[string]any
	text       string // a non-JSON body (injected HTTP failures)
	scopes     string // X-OAuth-Scopes
}

func okResult(fields map[string]any) *result {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["ok"] = true
	return &result{status: http.StatusOK, body: fields}
}

func errResult(code string) *result {
	return &result{status: http.StatusOK, body: map[string]any{"ok": false, "error": code}}
}

// errMessages is an error that carries response_metadata.messages.
func errMessages(code string, msgs []string) *result {
	r := errResult(code)
	if len(msgs) > 0 {
		r.body["response_metadata"] = map[string]any{"messages": msgs}
	}
	return r
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rq, bad := parseAPIRequest(r)
	if d := s.latency(rq.method); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}

	if h := s.takeHold(rq.method); h != nil {
		select {
		case <-h.release:
		case <-r.Context().Done():
			return
		}
	}

	s.mu.Lock()
	now := s.now()
	var res *result
	if bad != "" {
		res = errResult(bad)
	} else {
		res = s.dispatch(rq)
	}
	encoded := res.encode()
	call := Call{
		Method:   rq.method,
		Token:    rq.token,
		Params:   rq.params,
		Raw:      rq.raw,
		Time:     now,
		Status:   res.status,
		Response: encoded,
	}
	if res.body != nil {
		if ok, _ := res.body["ok"].(bool); !ok {
			call.Error, _ = res.body["error"].(string)
		}
	}
	s.calls = append(s.calls, call)
	s.notifyLocked()
	s.mu.Unlock()

	if res.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(res.retryAfter))
	}
	if res.scopes != "" {
		w.Header().Set("X-OAuth-Scopes", res.scopes)
	}
	if res.body != nil {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	w.WriteHeader(res.status)
	_, _ = w.Write(encoded)
}

func (r *result) encode() []byte {
	if r.body == nil {
		return []byte(r.text)
	}
	b, err := json.Marshal(r.body)
	if err != nil {
		return []byte(`{"ok":false,"error":"fatal_error"}`)
	}
	return b
}
