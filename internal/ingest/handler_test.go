package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testProject = 42
	testKey     = "0123456789abcdef0123456789abcdef"
)

// fakeProjects knows one project with one key; a key "boom" fails.
type fakeProjects struct{}

func (fakeProjects) Authenticate(_ context.Context, projectID int64, key string) error {
	switch {
	case key == "boom":
		return errors.New("database is down")
	case projectID != testProject:
		return fmt.Errorf("project %d: %w", projectID, ErrUnknownProject)
	case key != testKey && key != "other-key":
		return fmt.Errorf("key: %w", ErrBadKey)
	}
	return nil
}

// fakeSink records what it is given.
type fakeSink struct {
	mu      sync.Mutex
	saved   []*Event
	err     error
	discard bool // for benchmarks: count nothing, keep nothing
}

func (s *fakeSink) Save(_ context.Context, projectID int64, events []*Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if projectID != testProject {
		return fmt.Errorf("saved to project %d", projectID)
	}
	if s.err != nil {
		return s.err
	}
	if s.discard {
		return nil
	}
	s.saved = append(s.saved, events...)
	return nil
}

func (s *fakeSink) events() []*Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Event(nil), s.saved...)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type bundle struct {
	mux   *http.ServeMux
	sink  *fakeSink
	clock *fakeClock
}

func setup(t testing.TB, opts HandlerOptions) *bundle {
	t.Helper()
	b := &bundle{sink: &fakeSink{}, clock: &fakeClock{t: time.Now()}}
	opts.Now = b.clock.Now
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := Handler(logger, fakeProjects{}, b.sink, opts)
	b.mux = http.NewServeMux()
	for _, p := range []string{"/api/{project_id}/envelope/", "/api/{project_id}/store/"} {
		b.mux.Handle("POST "+p, h)
		b.mux.Handle("OPTIONS "+p, h)
	}
	return b
}

type reply struct {
	status  int
	header  http.Header
	id      string
	detail  string
	rawBody string
}

func (b *bundle) do(t testing.TB, r *http.Request) reply {
	t.Helper()
	w := httptest.NewRecorder()
	b.mux.ServeHTTP(w, r)
	var body struct {
		ID     string `json:"id"`
		Detail string `json:"detail"`
	}
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("reply %q is not JSON: %v", w.Body.String(), err)
		}
	}
	return reply{status: w.Code, header: w.Header(), id: body.ID, detail: body.Detail, rawBody: w.Body.String()}
}

func post(path string, body []byte, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

const authHeader = "Sentry sentry_key=" + testKey + ", sentry_version=7, sentry_client=test/1.0"

func fixtureBytes(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/sdk/" + name + ".envelope")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandlerEncodings(t *testing.T) {
	t.Parallel()
	body := fixtureBytes(t, "v1_checkout_1")
	env, _ := ParseEnvelope(body)
	for _, coding := range []string{"identity", "gzip", "deflate", "rawdeflate", "br", "zstd"} {
		b := setup(t, HandlerOptions{})
		payload := body
		if coding != "identity" {
			payload = compress(t, coding, bytes.NewReader(body))
		}
		got := b.do(t, post("/api/42/envelope/", payload, "X-Sentry-Auth", authHeader,
			"Content-Encoding", headerFor(coding), "Content-Type", "application/x-sentry-envelope"))
		if got.status != http.StatusOK || got.id != env.Header.EventID {
			t.Fatalf("%s: %d %s", coding, got.status, got.rawBody)
		}
		events := b.sink.events()
		if len(events) != 1 || events[0].Title() != "*fmt.wrapError: charge order 1001 (ada@example.com): card declined" {
			t.Fatalf("%s: sink got %+v", coding, events)
		}
		if got.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: no CORS header on the reply", coding)
		}
	}
}

func TestHandlerStore(t *testing.T) {
	t.Parallel()
	event := []byte(`{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","message":"from store","level":"warning"}`)
	tests := []struct {
		name string
		req  *http.Request
	}{
		{"deflate with query key", post("/api/42/store/?sentry_key="+testKey+"&sentry_version=7",
			compress(t, "deflate", bytes.NewReader(event)), "Content-Encoding", "deflate", "Content-Type", "application/json")},
		{"raw deflate, header key", post("/api/42/store/", compress(t, "rawdeflate", bytes.NewReader(event)),
			"Content-Encoding", "deflate", "X-Sentry-Auth", authHeader)},
		{"plain, text/plain", post("/api/42/store/", event, "X-Sentry-Auth", authHeader, "Content-Type", "text/plain")},
		{"no trailing slash", post("/api/42/store", event, "X-Sentry-Auth", authHeader)},
	}
	for _, tt := range tests {
		b := setup(t, HandlerOptions{})
		b.mux.Handle("POST /api/{project_id}/store", Handler(slog.New(slog.DiscardHandler), fakeProjects{}, b.sink, HandlerOptions{}))
		got := b.do(t, tt.req)
		if got.status != http.StatusOK || got.id != "9ec79c33ec9942ab8353589fcb2e04dc" {
			t.Fatalf("%s: %d %s", tt.name, got.status, got.rawBody)
		}
		if ev := b.sink.events(); len(ev) != 1 || ev[0].Message != "from store" || ev[0].Level != LevelWarning {
			t.Fatalf("%s: sink got %+v", tt.name, ev)
		}
	}
}

func TestHandlerEnvelopeAuth(t *testing.T) {
	t.Parallel()
	withDSN := func(dsn string) []byte {
		return []byte(`{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","dsn":"` + dsn + `"}` + "\n" +
			`{"type":"event"}` + "\n" + `{"message":"hi"}` + "\n")
	}
	tests := []struct {
		name   string
		req    *http.Request
		status int
		detail string
	}{
		{"dsn in the envelope", post("/api/42/envelope/", withDSN("https://"+testKey+"@triage.example.com/42")), 200, ""},
		{"dsn with a path prefix", post("/api/42/envelope/", withDSN("https://"+testKey+"@example.com/errors/42")), 200, ""},
		{"query key", post("/api/42/envelope/?sentry_key="+testKey, withDSN("")), 200, ""},
		{"header wins over dsn", post("/api/42/envelope/", withDSN("https://wrong@h/42"), "X-Sentry-Auth", authHeader), 200, ""},
		{"no key at all", post("/api/42/envelope/", withDSN("")), 401, "missing sentry_key"},
		{"dsn for another project", post("/api/42/envelope/", withDSN("https://"+testKey+"@h/7")), 401, "for project 7, not 42"},
		{"dsn without key", post("/api/42/envelope/", withDSN("https://h/42")), 401, "no public key"},
		{"garbled auth header", post("/api/42/envelope/", withDSN(""), "X-Sentry-Auth", "Sentry nothing"), 401, "no sentry_key"},
		{"bad key", post("/api/42/envelope/", withDSN(""), "X-Sentry-Auth", "Sentry sentry_key=nope"), 403, "invalid or disabled key"},
		{"bad key in dsn", post("/api/42/envelope/", withDSN("https://nope@h/42")), 403, "invalid or disabled key"},
		{"unknown project", post("/api/9/envelope/", withDSN(""), "X-Sentry-Auth", authHeader), 401, "unknown project"},
		{"project id not a number", post("/api/abc/envelope/", withDSN(""), "X-Sentry-Auth", authHeader), 400, "invalid project id"},
		{"store without key", post("/api/42/store/", []byte(`{"message":"x"}`)), 401, "missing sentry_key"},
		{"authentication fails", post("/api/42/envelope/", withDSN(""), "X-Sentry-Auth", "Sentry sentry_key=boom"), 500, "internal error"},
	}
	for _, tt := range tests {
		b := setup(t, HandlerOptions{})
		got := b.do(t, tt.req)
		if got.status != tt.status || !strings.Contains(got.detail, tt.detail) {
			t.Errorf("%s: %d %s, want %d with %q", tt.name, got.status, got.rawBody, tt.status, tt.detail)
		}
		if n := len(b.sink.events()); (tt.status == 200) != (n == 1) {
			t.Errorf("%s: sink holds %d events", tt.name, n)
		}
		if tt.status != 200 && got.header.Get("X-Sentry-Error") != got.detail {
			t.Errorf("%s: X-Sentry-Error %q, detail %q", tt.name, got.header.Get("X-Sentry-Error"), got.detail)
		}
	}
}

func TestHandlerRejects(t *testing.T) {
	t.Parallel()
	event := `{"type":"event"}` + "\n"
	bigEvent := "{}\n" + event + `{"message":"` + strings.Repeat("x", MaxEventSize) + `"}` + "\n"
	bomb := compress(t, "gzip", io.LimitReader(zeros{}, 100<<20))
	oversized := httptest.NewRequest(http.MethodPost, "/api/42/envelope/", io.LimitReader(zeros{}, MaxCompressedBodySize+1))
	oversized.Header.Set("X-Sentry-Auth", authHeader)
	oversized.ContentLength = MaxCompressedBodySize + 1 // refused before reading
	chunked := httptest.NewRequest(http.MethodPost, "/api/42/envelope/", io.LimitReader(zeros{}, MaxCompressedBodySize+1))
	chunked.ContentLength = -1
	chunked.Header.Set("X-Sentry-Auth", authHeader)
	tests := []struct {
		name   string
		req    *http.Request
		status int
		detail string
	}{
		{"not an envelope", post("/api/42/envelope/", []byte("hello"), "X-Sentry-Auth", authHeader), 400, "malformed payload: envelope header"},
		{"bad item length", post("/api/42/envelope/", []byte("{}\n{\"type\":\"event\",\"length\":99}\n{}\n"), "X-Sentry-Auth", authHeader), 400, "exceeds the 3 bytes left"},
		{"event not an object", post("/api/42/envelope/", []byte("{}\n"+event+"[]\n"), "X-Sentry-Auth", authHeader), 400, "item 1: event: not a JSON object"},
		{"one good, one bad event", post("/api/42/envelope/", []byte("{}\n"+event+"{}\n"+event+"{\"a\":\n"), "X-Sentry-Auth", authHeader), 400, "item 2"},
		{"store body not JSON", post("/api/42/store/", []byte(`{"message":`), "X-Sentry-Auth", authHeader), 400, "malformed payload: event"},
		{"corrupt gzip", post("/api/42/envelope/", []byte("{}\n"), "X-Sentry-Auth", authHeader, "Content-Encoding", "gzip"), 400, "invalid gzip data"},
		{"unknown encoding", post("/api/42/envelope/", []byte("{}\n"), "X-Sentry-Auth", authHeader, "Content-Encoding", "lzma"), 400, "unsupported Content-Encoding"},
		{"event over 1 MiB", post("/api/42/envelope/", []byte(bigEvent), "X-Sentry-Auth", authHeader), 413, "event exceeds the limit of 1 MiB"},
		{"body over 20 MiB", oversized, 413, "request body exceeds the limit of 20 MiB"},
		{"chunked body over 20 MiB", chunked, 413, "request body exceeds the limit of 20 MiB"},
		{"decompression bomb", post("/api/42/envelope/", bomb, "X-Sentry-Auth", authHeader, "Content-Encoding", "gzip"), 413, "decompressed body exceeds the limit of 20 MiB"},
		{"GET", httptest.NewRequest(http.MethodGet, "/api/42/envelope/", nil), 405, "method not allowed"},
		{"sink fails", post("/api/42/envelope/", []byte("{}\n"+event+"{}\n"), "X-Sentry-Auth", authHeader), 500, "internal error"},
	}
	for _, tt := range tests {
		b := setup(t, HandlerOptions{})
		if tt.name == "sink fails" {
			b.sink.err = errors.New("disk full")
		}
		if tt.name == "GET" { // the mux would answer 405 itself; call the handler directly
			b.mux = http.NewServeMux()
			b.mux.Handle("/api/{project_id}/envelope/", Handler(slog.New(slog.DiscardHandler), fakeProjects{}, b.sink, HandlerOptions{}))
		}
		got := b.do(t, tt.req)
		if got.status != tt.status || !strings.Contains(got.detail, tt.detail) {
			t.Errorf("%s: %d %s, want %d with %q", tt.name, got.status, got.rawBody, tt.status, tt.detail)
		}
		if n := len(b.sink.events()); n != 0 {
			t.Errorf("%s: sink holds %d events", tt.name, n)
		}
		if got.header.Get("Content-Type") != "application/json" || got.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: headers %v", tt.name, got.header)
		}
	}
}

func TestHandlerSkippedItems(t *testing.T) {
	t.Parallel()
	b := setup(t, HandlerOptions{})
	body := `{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","sent_at":"2026-03-14T15:00:00Z"}` + "\n" +
		`{"type":"transaction"}` + "\n" + `{"type":"transaction","spans":[]}` + "\n" +
		`{"type":"session"}` + "\n" + `{"sid":"x","status":"ok"}` + "\n" +
		`{"type":"client_report"}` + "\n" + `{"discarded_events":[]}` + "\n" +
		`{"type":"replay_recording","length":4}` + "\n" + "\x00\x01\x02\x03" + "\n" +
		`{"type":"statsd"}` + "\n" + `not json at all` + "\n"
	got := b.do(t, post("/api/42/envelope/", []byte(body), "X-Sentry-Auth", authHeader))
	if got.status != http.StatusOK || strings.TrimSpace(got.rawBody) != "{}" {
		t.Fatalf("%d %s, want 200 {}", got.status, got.rawBody)
	}
	if n := len(b.sink.events()); n != 0 {
		t.Fatalf("sink holds %d events", n)
	}
}

func TestHandlerContentTypes(t *testing.T) {
	t.Parallel()
	body := fixtureBytes(t, "v1_latency")
	for _, ct := range []string{"application/x-sentry-envelope", "text/plain;charset=UTF-8", "", "application/json", "application/octet-stream"} {
		b := setup(t, HandlerOptions{})
		got := b.do(t, post("/api/42/envelope/", body, "X-Sentry-Auth", authHeader, "Content-Type", ct))
		if got.status != http.StatusOK || len(b.sink.events()) != 1 {
			t.Errorf("Content-Type %q: %d %s", ct, got.status, got.rawBody)
		}
	}
}

func TestHandlerPreflight(t *testing.T) {
	t.Parallel()
	b := setup(t, HandlerOptions{})
	for _, path := range []string{"/api/42/envelope/", "/api/42/store/"} {
		r := httptest.NewRequest(http.MethodOptions, path, nil)
		r.Header.Set("Origin", "https://shop.example.com")
		r.Header.Set("Access-Control-Request-Method", "POST")
		r.Header.Set("Access-Control-Request-Headers", "content-type,x-sentry-auth")
		w := httptest.NewRecorder()
		b.mux.ServeHTTP(w, r)
		h := w.Result().Header
		if w.Code != http.StatusOK || h.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
			h.Get("Access-Control-Allow-Headers") != corsAllowHeaders ||
			h.Get("Access-Control-Expose-Headers") != corsExposeHeaders {
			t.Errorf("%s: %d %v", path, w.Code, h)
		}
	}
	if len(b.sink.events()) != 0 {
		t.Error("preflight reached the sink")
	}
}

func TestHandlerRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, HandlerOptions{RateLimitPerSecond: 0.5, RateLimitBurst: 2})
	body := []byte("{}\n" + `{"type":"event"}` + "\n{}\n")
	send := func(key string) reply {
		return b.do(t, post("/api/42/envelope/", body, "X-Sentry-Auth", "Sentry sentry_key="+key))
	}
	for i := range 2 {
		if got := send(testKey); got.status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, got.status, got.rawBody)
		}
	}
	got := send(testKey)
	if got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") != "2" ||
		got.header.Get("X-Sentry-Rate-Limits") != "2::key" || got.detail == "" {
		t.Fatalf("third request: %d %v %s", got.status, got.header, got.rawBody)
	}
	if got := send("other-key"); got.status != http.StatusOK {
		t.Fatalf("other key: %d", got.status)
	}
	b.clock.Advance(time.Second)
	if got := send(testKey); got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") != "1" {
		t.Fatalf("after 1s: %d Retry-After %q", got.status, got.header.Get("Retry-After"))
	}
	b.clock.Advance(time.Second)
	if got := send(testKey); got.status != http.StatusOK {
		t.Fatalf("after 2s: %d", got.status)
	}
	if n := len(b.sink.events()); n != 4 {
		t.Fatalf("sink holds %d events, want 4", n)
	}
	// Unauthenticated requests neither spend tokens nor get buckets.
	if got := send("nope"); got.status != http.StatusForbidden {
		t.Fatalf("bad key: %d", got.status)
	}
}

func TestRateLimiterPrune(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Now()}
	l := newRateLimiter(10, 1, clock.Now)
	for i := range maxBuckets {
		l.allow(fmt.Sprint(i))
	}
	clock.Advance(time.Second)
	if ok, _ := l.allow("new"); !ok || len(l.buckets) != 1 {
		t.Fatalf("after prune: %d buckets", len(l.buckets))
	}
}
