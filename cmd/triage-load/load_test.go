package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// fakeTriage checks every envelope the way the ingest endpoint reads it and
// counts events per group (thrown type + in-app functions), like an issue.
type fakeTriage struct {
	t        *testing.T
	requests atomic.Int64
	inflight atomic.Int64
	maxIn    atomic.Int64
	delay    time.Duration
	failEach int // answer 429 to every failEach-th request

	mu      sync.Mutex
	ids     map[string]bool
	groups  map[string]int64
	sizes   []int
	baseCnt int64 // an issue from before the run
}

func newFake(t *testing.T) *fakeTriage {
	return &fakeTriage{t: t, ids: map[string]bool{}, groups: map[string]int64{}}
}

func (f *fakeTriage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/api/0/organizations/acme/issues/") {
		f.issues(w, r)
		return
	}
	n := f.requests.Add(1)
	in := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for m := f.maxIn.Load(); in > m && !f.maxIn.CompareAndSwap(m, in); m = f.maxIn.Load() {
	}
	time.Sleep(f.delay)
	id, err := f.check(r)
	if err != nil {
		f.t.Errorf("request %d: %v", n, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if f.failEach > 0 && n%int64(f.failEach) == 0 {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "rate limited", http.StatusTooManyRequests)
		return
	}
	fmt.Fprintf(w, `{"id":%q}`, id)
}

func (f *fakeTriage) check(r *http.Request) (string, error) {
	if r.Method != http.MethodPost || r.URL.Path != "/prefix/api/7/envelope/" {
		return "", fmt.Errorf("%s %s", r.Method, r.URL.Path)
	}
	if a := r.Header.Get("X-Sentry-Auth"); a != "Sentry sentry_key=k3y, sentry_version=7, sentry_client=triage-load/1" {
		return "", fmt.Errorf("X-Sentry-Auth %q", a)
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return "", err
		}
		body = zr
	}
	br := bufio.NewReader(body)
	var hdr struct {
		EventID string `json:"event_id"`
		DSN     string `json:"dsn"`
	}
	var item struct {
		Type   string `json:"type"`
		Length int    `json:"length"`
	}
	for _, v := range []any{&hdr, &item} {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return "", fmt.Errorf("reading a header line: %v", err)
		}
		if err := json.Unmarshal(line, v); err != nil {
			return "", fmt.Errorf("header line %q: %v", line, err)
		}
	}
	if !hex32.MatchString(hdr.EventID) || item.Type != "event" || item.Length <= 0 {
		return "", fmt.Errorf("headers: %+v %+v", hdr, item)
	}
	payload := make([]byte, item.Length)
	if _, err := io.ReadFull(br, payload); err != nil {
		return "", fmt.Errorf("payload shorter than length %d: %v", item.Length, err)
	}
	if rest, _ := io.ReadAll(br); string(rest) != "\n" {
		return "", fmt.Errorf("after the payload: %q", rest)
	}
	var ev struct {
		EventID   string `json:"event_id"`
		Timestamp string `json:"timestamp"`
		Exception struct {
			Values []struct {
				Type       string `json:"type"`
				Value      string `json:"value"`
				Stacktrace struct {
					Frames []struct {
						Function string `json:"function"`
						Module   string `json:"module"`
						Lineno   int    `json:"lineno"`
						InApp    bool   `json:"in_app"`
					} `json:"frames"`
				} `json:"stacktrace"`
			} `json:"values"`
		} `json:"exception"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		return "", fmt.Errorf("event JSON: %v", err)
	}
	if ev.EventID != hdr.EventID {
		return "", fmt.Errorf("event_id %q, header %q", ev.EventID, hdr.EventID)
	}
	if _, err := time.Parse(time.RFC3339Nano, ev.Timestamp); err != nil {
		return "", fmt.Errorf("timestamp: %v", err)
	}
	vals := ev.Exception.Values
	if len(vals) == 0 || vals[len(vals)-1].Type == "" || vals[len(vals)-1].Value == "" {
		return "", fmt.Errorf("exception values: %+v", vals)
	}
	group := vals[len(vals)-1].Type
	inApp := 0
	for _, fr := range vals[len(vals)-1].Stacktrace.Frames {
		if fr.Function == "" || fr.Lineno == 0 {
			return "", fmt.Errorf("frame without function or line: %+v", fr)
		}
		if fr.InApp {
			inApp++
			group += "|" + fr.Module + "." + fr.Function
		}
	}
	if inApp == 0 {
		return "", fmt.Errorf("no in-app frames")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ids[hdr.EventID] {
		return "", fmt.Errorf("event id %s sent twice", hdr.EventID)
	}
	f.ids[hdr.EventID] = true
	f.groups[group]++
	f.sizes = append(f.sizes, len(payload))
	return hdr.EventID, nil
}

// issues is the JSON API's issue list: two issues a page, counts as numbers
// and (Sentry's way) strings, plus an issue from an earlier run.
func (f *fakeTriage) issues(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Query().Get("project") != "7" || !r.URL.Query().Has("query") {
		http.Error(w, "bad auth or query", http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	counts := []int64{f.baseCnt}
	for _, g := range slices.Sorted(maps.Keys(f.groups)) { // a stable order across pages
		counts = append(counts, f.groups[g])
	}
	f.mu.Unlock()
	off := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		off, _ = strconv.Atoi(strings.Split(c, ":")[1])
	}
	end := min(off+2, len(counts))
	var out []map[string]any
	for i, c := range counts[off:end] {
		if i%2 == 0 {
			out = append(out, map[string]any{"count": c})
		} else {
			out = append(out, map[string]any{"count": strconv.FormatInt(c, 10)})
		}
	}
	w.Header().Set("Link", fmt.Sprintf(`<http://elsewhere.example/x>; rel="previous"; results="false"; cursor="0:0:0", <http://elsewhere.example/y>; rel="next"; results="%t"; cursor="0:%d:0"`, end < len(counts), end))
	json.NewEncoder(w).Encode(out)
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n, c     int
		gzip     bool
		prebuild int64
	}{
		{"prebuilt", 400, 8, false, 0},
		{"prebuilt gzip", 120, 3, true, 0},
		{"templated gzip", 150, 5, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.delay = 2 * time.Millisecond
			f.baseCnt = 11
			srv := httptest.NewServer(f)
			defer srv.Close()
			dsn := strings.Replace(srv.URL, "http://", "http://k3y@", 1) + "/prefix/7"
			res, err := Run(context.Background(), Config{
				DSN: dsn, N: tc.n, C: tc.c, Size: 3072, Unique: 0.05, Gzip: tc.gzip, Timeout: 30 * time.Second,
				VerifyAPI: true, Token: "tok", Org: "acme", PrebuildLimit: tc.prebuild, PollInterval: 10 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			res.Print(&out)
			t.Log("\n" + out.String())
			if got := f.requests.Load(); got != int64(tc.n) {
				t.Errorf("server saw %d requests, want %d", got, tc.n)
			}
			if m := f.maxIn.Load(); m > int64(tc.c) || m < 2 {
				t.Errorf("max in flight %d, want 2..%d", m, tc.c)
			}
			if res.Sent != tc.n || res.Acked != tc.n || len(res.Errors) != 0 || len(res.Latencies) != tc.n || !res.OK() {
				t.Errorf("sent %d acked %d errors %v latencies %d", res.Sent, res.Acked, res.Errors, len(res.Latencies))
			}
			if res.Prebuilt != (tc.prebuild == 0) {
				t.Errorf("prebuilt %t", res.Prebuilt)
			}
			if !res.Verified || res.Counted != int64(tc.n) || res.E2E < res.SendDur {
				t.Errorf("verify: %t counted %d e2e %s (%s)", res.Verified, res.Counted, res.E2E, res.VerifyNote)
			}
			newErrors := tc.n / 20
			if res.NewErrors != newErrors || len(f.groups) <= newErrors || len(f.groups) > newErrors+numRepeated {
				t.Errorf("%d groups, %d new errors; want new errors plus up to %d repeated", len(f.groups), res.NewErrors, numRepeated)
			}
			total := 0
			for _, s := range f.sizes {
				total += s
			}
			if avg := total / len(f.sizes); avg < 2800 || avg > 3400 {
				t.Errorf("average event size %d, want about 3072", avg)
			}
		})
	}
}

func TestRunErrorsAndNewErrorsAcrossRuns(t *testing.T) {
	f := newFake(t)
	f.failEach = 10
	srv := httptest.NewServer(f)
	defer srv.Close()
	dsn := strings.Replace(srv.URL, "http://", "http://k3y@", 1) + "/prefix/7"
	cfg := Config{DSN: dsn, N: 100, C: 4, Size: 500, Unique: 1, Timeout: 10 * time.Second, Seed: 1}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Acked != 90 || res.Errors["429"] != 10 || res.OK() {
		t.Errorf("acked %d, errors %v, OK %t", res.Acked, res.Errors, res.OK())
	}
	cfg.Seed = 2
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if len(f.groups) != 200 {
		t.Errorf("%d groups after two runs of 100 new errors each, want 200", len(f.groups))
	}
}

// TestRunStopsAtTimeout: a server that never answers an envelope. The
// senders are all waiting on it when the timeout comes; Run returns with
// what it got, nothing acknowledged and the reason it stopped.
func TestRunStopsAtTimeout(t *testing.T) {
	hang := make(chan struct{})
	arrived := make(chan struct{}, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	dsn := strings.Replace(srv.URL, "http://", "http://k3y@", 1) + "/7"
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := Run(context.Background(), Config{DSN: dsn, N: 1000, C: 4, Size: 100, Timeout: time.Second})
		done <- outcome{res, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run did not return within a minute of its 1 s timeout")
	}
	if o.err != nil {
		t.Fatalf("Run: %v", o.err)
	}
	res := o.res
	if len(arrived) == 0 {
		t.Fatal("no envelope reached the server: the senders' timeout path was not exercised")
	}
	if res.Sent == 0 || res.Acked != 0 || res.Stopped == "" || res.OK() {
		t.Fatalf("a hung server looked fine: sent %d, acked %d, stopped %q, OK %t", res.Sent, res.Acked, res.Stopped, res.OK())
	}
	if len(res.Errors) != 0 {
		t.Errorf("requests cut by the timeout counted as server errors: %v", res.Errors)
	}
	var out bytes.Buffer
	res.Print(&out)
	if !strings.Contains(out.String(), "stopped early") {
		t.Errorf("report does not say it stopped early:\n%s", out.String())
	}
}

func TestParseDSN(t *testing.T) {
	tg, err := parseDSN("http://abc@127.0.0.1:9000/sub/path/42")
	if err != nil || tg.envelopeURL() != "http://127.0.0.1:9000/sub/path/api/42/envelope/" || tg.key != "abc" {
		t.Errorf("%+v %v", tg, err)
	}
	for _, bad := range []string{"", "http://127.0.0.1:9000/1", "http://k@127.0.0.1:9000/x", "ftp://k@h/1"} {
		if _, err := parseDSN(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRunCommandFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-n", "0", "-dsn", "http://k@127.0.0.1:1/1"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "-n must be") {
		t.Errorf("code %d: %s", code, errb.String())
	}
}

func TestRunCeiling(t *testing.T) {
	f := newFake(t)
	srv := httptest.NewServer(f)
	defer srv.Close()
	dsn := strings.Replace(srv.URL, "http://", "http://k3y@", 1) + "/prefix/7"
	for _, gz := range []bool{false, true} {
		res, err := Run(context.Background(), Config{
			DSN: dsn, N: 200, C: 4, Size: 3072, Unique: 0.05, Gzip: gz, Timeout: 30 * time.Second, Ceiling: true,
			VerifyAPI: true, Token: "tok", Org: "acme", PollInterval: 10 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		res.Print(&out)
		t.Log("\n" + out.String())
		c := res.Ceiling
		if c == nil || c.Sent != 200 || c.Acked != 200 || c.BadReply != 0 || len(c.Errors) != 0 || len(c.Latencies) != 200 || !res.OK() {
			t.Fatalf("gzip %t: ceiling %+v", gz, c)
		}
		if !strings.Contains(out.String(), "ceiling    bare handler") || !regexp.MustCompile(`ratio      Triage's counted events/s are \d+\.\d\d of the ceiling's`).MatchString(out.String()) {
			t.Errorf("gzip %t: the report has no ceiling and ratio lines", gz)
		}
	}
	// The ceiling answered the events itself: the fake saw each run's
	// events once.
	if got := f.requests.Load(); got != 400 {
		t.Errorf("Triage's stand-in saw %d envelopes, want 400", got)
	}
}

func TestBareHandler(t *testing.T) {
	h := bareHandler()
	for _, tc := range []struct {
		body string
		code int
		want string
	}{
		{"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"dsn\":\"x\"}\n{\"type\":\"event\"}\n{}\n", 200, `{"id":"9ec79c33ec9942ab8353589fcb2e04dc"}`},
		{"{\"dsn\":\"x\"}\n{\"type\":\"event\"}\n{}\n", 400, "no event_id"},
		{"not json\n", 400, "no event_id"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/1/envelope/", strings.NewReader(tc.body)))
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%.30q: %d %q, want %d %q", tc.body, rec.Code, rec.Body.String(), tc.code, tc.want)
		}
	}
}
