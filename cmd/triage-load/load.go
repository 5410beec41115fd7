package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config is one load run.
type Config struct {
	DSN     string
	N, C    int
	Size    int     // approximate event JSON size in bytes
	Unique  float64 // fraction of events that are new errors
	Gzip    bool
	Timeout time.Duration // the whole run, verification included
	PID     int           // server pid for RSS and CPU; 0 for none

	VerifyAPI  bool
	Token, Org string
	Ceiling    bool // then send the same load to a bare handler (ceiling.go)

	Seed          uint64        // 0: from the clock
	PrebuildLimit int64         // pre-render bodies when they fit in this many bytes
	PollInterval  time.Duration // verification polling
	Stall         time.Duration // give up verifying when counts stop moving this long
	Client        *http.Client  // nil: one tuned for C connections
}

// Result is what a run measured.
type Result struct {
	Target    string
	Cfg       Config
	Prebuilt  bool
	NewErrors int // events that were new errors

	Sent, Acked int
	Errors      map[string]int // by status code, or "transport"
	FirstError  string
	BadReply    int // 2xx whose body did not name the event id
	SendDur     time.Duration
	Latencies   []time.Duration // sorted

	Verified   bool
	VerifyNote string
	Counted    int64 // counted in issues since the baseline
	E2E        time.Duration
	ServerCPU  float64 // cores during the send
	GenCPU     float64
	RSS, HWM   int64 // KiB
	RSSNote    string
	Stopped    string // why sending stopped early

	Ceiling *Ceiling // with Cfg.Ceiling
}

func (c *Config) defaults() {
	if c.PrebuildLimit == 0 {
		c.PrebuildLimit = 256 << 20
	}
	if c.PollInterval == 0 {
		c.PollInterval = 100 * time.Millisecond
	}
	if c.Stall == 0 {
		c.Stall = 60 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
}

func (c *Config) validate() error {
	switch {
	case c.DSN == "":
		return errors.New("-dsn is required")
	case c.N < 1:
		return errors.New("-n must be at least 1")
	case c.C < 1:
		return errors.New("-c must be at least 1")
	case c.Size < 0 || c.Size > 900<<10:
		return errors.New("-size must be from 0 to 921600")
	case c.Unique < 0 || c.Unique > 1:
		return errors.New("-unique must be from 0 to 1")
	case c.Timeout <= 0:
		return errors.New("-timeout must be positive")
	case c.VerifyAPI && (c.Token == "" || c.Org == ""):
		return errors.New("-verify-api needs -token and -org")
	}
	return nil
}

// target is where the DSN points.
type target struct {
	base      string // scheme://host[/prefix]
	projectID string
	key       string
}

func (t target) envelopeURL() string { return t.base + "/api/" + t.projectID + "/envelope/" }

func parseDSN(dsn string) (target, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return target{}, fmt.Errorf("-dsn: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User == nil || u.User.Username() == "" {
		return target{}, fmt.Errorf("-dsn %q: want http(s)://<key>@host:port/<project id>", dsn)
	}
	p := strings.TrimSuffix(u.Path, "/")
	i := strings.LastIndexByte(p, '/')
	pid := p[i+1:]
	if _, err := strconv.ParseUint(pid, 10, 64); i < 0 || err != nil {
		return target{}, fmt.Errorf("-dsn %q: the path must end in a numeric project id", dsn)
	}
	return target{base: u.Scheme + "://" + u.Host + p[:i], projectID: pid, key: u.User.Username()}, nil
}

func newClient(c int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil, // only ever the DSN's host
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        2 * c,
			MaxIdleConnsPerHost: 2 * c,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type workerStats struct {
	sent, acked, badReply int
	errors                map[string]int
	firstErr              string
	lat                   []time.Duration
}

// Run sends cfg.N envelopes at concurrency cfg.C and, when asked, waits for
// the JSON API to count them all. It always returns by cfg.Timeout; the
// Result is filled as far as the run got.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t, err := parseDSN(cfg.DSN)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	client := cfg.Client
	if client == nil {
		client = newClient(cfg.C)
	}
	res := &Result{Target: t.envelopeURL(), Cfg: cfg, Errors: map[string]int{}}
	res.NewErrors = int(float64(cfg.N) * cfg.Unique)

	g, err := newGenerator(cfg.DSN, cfg.Size, cfg.Unique, cfg.Seed)
	if err != nil {
		return res, err
	}
	var bodies [][]byte
	if int64(cfg.N)*int64(cfg.Size+1024) <= cfg.PrebuildLimit {
		if bodies, err = prebuild(ctx, g, cfg.N, cfg.Gzip); err != nil {
			return res, err
		}
		res.Prebuilt = true
	}

	var baseline int64
	if cfg.VerifyAPI {
		if baseline, err = countIssues(ctx, client, t, cfg); err != nil {
			return res, fmt.Errorf("verify-api: counting before the run: %w", err)
		}
	}

	auth := "Sentry sentry_key=" + t.key + ", sentry_version=7, sentry_client=triage-load/1"
	srvCPU0, _ := procCPU(cfg.PID)
	genCPU0 := selfCPU()
	start := time.Now()
	sr := send(ctx, client, t.envelopeURL(), auth, g, bodies, cfg)
	res.SendDur = time.Since(start)
	if err := ctx.Err(); err != nil {
		res.Stopped = stopReason(ctx)
	}
	genCPU := selfCPU() - genCPU0
	if srvCPU1, err := procCPU(cfg.PID); err == nil && cfg.PID > 0 {
		res.ServerCPU = (srvCPU1 - srvCPU0).Seconds() / res.SendDur.Seconds()
	}
	res.GenCPU = genCPU.Seconds() / res.SendDur.Seconds()
	res.Sent, res.Acked, res.BadReply, res.Errors, res.FirstError, res.Latencies = sr.sent, sr.acked, sr.badReply, sr.errors, sr.firstErr, sr.lat

	if cfg.VerifyAPI {
		verify(ctx, client, t, cfg, res, baseline, start)
	}
	if cfg.PID > 0 {
		res.RSS, res.HWM, err = procRSS(cfg.PID)
		if err != nil {
			res.RSSNote = err.Error()
		}
	}
	if cfg.Ceiling && ctx.Err() == nil {
		c := runCeiling(ctx, client, t, auth, g, bodies, cfg)
		res.Ceiling = &c
	}
	return res, nil
}

// sendResult is what one pass of sending measured.
type sendResult struct {
	sent, acked, badReply int
	errors                map[string]int
	firstErr              string
	lat                   []time.Duration // sorted
}

// send posts cfg.N envelopes to endpoint at concurrency cfg.C: the
// pre-built bodies when there are, else each rendered when it is sent.
func send(ctx context.Context, client *http.Client, endpoint, auth string, g *generator, bodies [][]byte, cfg Config) sendResult {
	var next atomic.Int64
	stats := make([]workerStats, cfg.C)
	var wg sync.WaitGroup
	for w := range cfg.C {
		wg.Go(func() {
			st := &stats[w]
			st.errors = map[string]int{}
			st.lat = make([]time.Duration, 0, cfg.N/cfg.C+1)
			b := g.newBuilder(cfg.Gzip)
			reply := make([]byte, 0, 512)
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= cfg.N {
					return
				}
				var body []byte
				var id [16]byte
				if bodies != nil {
					body, id = bodies[i], g.eventID(i)
				} else {
					var err error
					if body, id, err = b.body(i, time.Now()); err != nil {
						st.fail("build", err)
						continue
					}
				}
				reply = st.post(ctx, client, endpoint, auth, cfg.Gzip, body, id, reply)
			}
		})
	}
	wg.Wait()
	out := sendResult{errors: map[string]int{}}
	for _, st := range stats {
		out.sent += st.sent
		out.acked += st.acked
		out.badReply += st.badReply
		for k, v := range st.errors {
			out.errors[k] += v
		}
		if out.firstErr == "" {
			out.firstErr = st.firstErr
		}
		out.lat = append(out.lat, st.lat...)
	}
	slices.Sort(out.lat)
	return out
}

// post sends one envelope and records the answer; reply is a buffer for
// its beginning, returned for reuse.
func (st *workerStats) post(ctx context.Context, client *http.Client, endpoint, auth string, gzipped bool, body []byte, id [16]byte, reply []byte) []byte {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		st.fail("build", err)
		return reply
	}
	req.Header.Set("X-Sentry-Auth", auth)
	req.Header.Set("Content-Type", "application/x-sentry-envelope")
	req.Header.Set("User-Agent", "triage-load/1")
	if gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	t0 := time.Now()
	st.sent++
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			st.fail("transport", err)
		}
		return reply
	}
	reply, err = readSome(resp.Body, reply[:0])
	resp.Body.Close()
	st.lat = append(st.lat, time.Since(t0))
	if err != nil && ctx.Err() == nil {
		st.fail("transport", err)
		return reply
	}
	if resp.StatusCode/100 != 2 {
		st.fail(strconv.Itoa(resp.StatusCode), fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(reply)))
		return reply
	}
	st.acked++
	var hexID [32]byte
	hex.Encode(hexID[:], id[:])
	if !bytes.Contains(reply, hexID[:]) {
		st.badReply++
	}
	return reply
}

func (st *workerStats) fail(key string, err error) {
	st.errors[key]++
	if st.firstErr == "" {
		st.firstErr = err.Error()
	}
}

func stopReason(ctx context.Context) string {
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return "the -timeout passed"
	}
	return "interrupted"
}

// readSome keeps the first 512 bytes of a reply and drains the rest so that
// the connection is reused.
func readSome(r io.Reader, dst []byte) ([]byte, error) {
	for len(dst) < cap(dst) {
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		} else if err != nil {
			return dst, err
		}
	}
	_, err := io.Copy(io.Discard, io.LimitReader(r, 1<<20))
	return dst, err
}

// prebuild renders every body before the clock starts, on all cores.
func prebuild(ctx context.Context, g *generator, n int, gzipped bool) ([][]byte, error) {
	bodies := make([][]byte, n)
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	now := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			b := g.newBuilder(gzipped)
			for i := w; i < n && ctx.Err() == nil; i += workers {
				body, _, err := b.body(i, now)
				if err != nil {
					errs[w] = err
					return
				}
				bodies[i] = bytes.Clone(body)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("building bodies: %s", stopReason(ctx))
	}
	return bodies, nil
}

// verify polls the issue list until the counts added since the baseline
// reach the number of acknowledged events.
func verify(ctx context.Context, client *http.Client, t target, cfg Config, res *Result, baseline int64, start time.Time) {
	last, lastChange := int64(-1), time.Now()
	for {
		total, err := countIssues(ctx, client, t, cfg)
		if err == nil {
			prev := res.Counted
			res.Counted = total - baseline
			if res.Counted == int64(res.Acked) {
				res.E2E, res.Verified = time.Since(start), true
				return
			}
			// More than acknowledged: events whose reply was lost, or a
			// page boundary that moved while paging; believe it only
			// when two polls in a row agree.
			if res.Counted > int64(res.Acked) && res.Counted == prev {
				res.E2E = time.Since(start)
				res.VerifyNote = fmt.Sprintf("counted %d more events than were acknowledged", res.Counted-int64(res.Acked))
				return
			}
			if res.Counted != last {
				last, lastChange = res.Counted, time.Now()
			}
		}
		switch {
		case ctx.Err() != nil:
			res.VerifyNote = fmt.Sprintf("gave up: %s", stopReason(ctx))
		case time.Since(lastChange) > cfg.Stall:
			res.VerifyNote = fmt.Sprintf("gave up: counts unchanged for %s", cfg.Stall)
		}
		if res.VerifyNote != "" {
			if err != nil {
				res.VerifyNote += " (last error: " + err.Error() + ")"
			}
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(cfg.PollInterval):
		}
	}
}

// countIssues sums "count" over every issue of the DSN's project, all
// statuses, following the Link header's next cursor.
func countIssues(ctx context.Context, client *http.Client, t target, cfg Config) (int64, error) {
	var sum int64
	cursor := ""
	for page := 0; ; page++ {
		if page > 10000 {
			return 0, errors.New("more than 10000 pages of issues")
		}
		q := url.Values{"query": {""}, "project": {t.projectID}, "limit": {"50"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		u := t.base + "/api/0/organizations/" + url.PathEscape(cfg.Org) + "/issues/?" + q.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+cfg.Token)
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %s: %.200s", req.URL.Path, resp.Status, bytes.TrimSpace(body))
		}
		var issues []struct {
			Count jsonCount `json:"count"`
		}
		if err := json.Unmarshal(body, &issues); err != nil {
			return 0, fmt.Errorf("GET %s: %w", req.URL.Path, err)
		}
		for _, i := range issues {
			sum += int64(i.Count)
		}
		next, ok := nextCursor(resp.Header.Get("Link"))
		if !ok || next == cursor || len(issues) == 0 {
			return sum, nil
		}
		cursor = next
	}
}

// nextCursor reads Sentry's Link header: the cursor of rel="next" when it
// has results.
func nextCursor(link string) (string, bool) {
	for part := range strings.SplitSeq(link, ",") {
		if !strings.Contains(part, `rel="next"`) || !strings.Contains(part, `results="true"`) {
			continue
		}
		_, after, ok := strings.Cut(part, `cursor="`)
		if !ok {
			return "", false
		}
		c, _, ok := strings.Cut(after, `"`)
		return c, ok && c != ""
	}
	return "", false
}

// jsonCount is an issue's count: a number in Triage, a string in Sentry.
type jsonCount int64

func (c *jsonCount) UnmarshalJSON(b []byte) error {
	n, err := strconv.ParseInt(strings.Trim(string(b), `"`), 10, 64)
	*c = jsonCount(n)
	return err
}

// procRSS reads VmRSS and VmHWM (KiB) from /proc/<pid>/status.
func procRSS(pid int) (rss, hwm int64, err error) {
	b, err := readProc(pid, "status")
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm, nil
}

// procCPU is the user+system time of pid (clock ticks of 1/100 s).
func procCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, errors.New("no pid")
	}
	b, err := readProc(pid, "stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, errors.New("unexpected /proc stat")
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond, nil
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Print writes the report.
func (r *Result) Print(w io.Writer) {
	c := r.Cfg
	mode := "templated"
	if r.Prebuilt {
		mode = "pre-built"
	}
	fmt.Fprintf(w, "target     %s  n=%d c=%d size=%dB gzip=%t unique=%g (%d new errors), %s bodies\n",
		r.Target, c.N, c.C, c.Size, c.Gzip, c.Unique, r.NewErrors, mode)
	fmt.Fprintf(w, "sent       %d in %s", r.Sent, r.SendDur.Round(time.Millisecond))
	if r.Stopped != "" {
		errs := 0
		for _, n := range r.Errors {
			errs += n
		}
		fmt.Fprintf(w, " (stopped early: %s; %d in flight cancelled)", r.Stopped, r.Sent-r.Acked-errs)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "acked      %d (2xx)", r.Acked)
	if r.BadReply > 0 {
		fmt.Fprintf(w, ", %d replies without the event id", r.BadReply)
	}
	fmt.Fprintln(w)
	if len(r.Errors) > 0 {
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%d", k, r.Errors[k]))
		}
		fmt.Fprintf(w, "errors     %s; first: %.300s\n", strings.Join(parts, " "), r.FirstError)
	} else {
		fmt.Fprintln(w, "errors     none")
	}
	fmt.Fprintf(w, "accepted   %.0f events/s (answered 2xx with the event id, over the sending time; failures not counted)\n",
		float64(r.Acked-r.BadReply)/r.SendDur.Seconds())
	if n := len(r.Latencies); n > 0 {
		q := func(p float64) string { return ms(r.Latencies[min(n-1, int(p*float64(n)))]) }
		fmt.Fprintf(w, "latency    p50 %s  p90 %s  p99 %s  max %s ms\n", q(0.50), q(0.90), q(0.99), ms(r.Latencies[n-1]))
	}
	if c.VerifyAPI {
		if r.Verified {
			fmt.Fprintf(w, "end-to-end %d events counted in issues %s after the first send: %.0f counted events/s\n",
				r.Counted, r.E2E.Round(time.Millisecond), float64(r.Counted)/r.E2E.Seconds())
		} else {
			fmt.Fprintf(w, "end-to-end NOT VERIFIED: %d of %d acknowledged events counted; %s\n", r.Counted, r.Acked, r.VerifyNote)
		}
	}
	if c.PID > 0 {
		if r.RSSNote != "" {
			fmt.Fprintf(w, "server     pid %d: %s\n", c.PID, r.RSSNote)
		} else {
			fmt.Fprintf(w, "server     RSS %.1f MiB, peak (VmHWM) %.1f MiB; CPU %.2f cores while sending\n",
				float64(r.RSS)/1024, float64(r.HWM)/1024, r.ServerCPU)
		}
	}
	fmt.Fprintf(w, "generator  CPU %.2f cores while sending\n", r.GenCPU)
	r.printCeiling(w)
}

func ms(d time.Duration) string { return strconv.FormatFloat(d.Seconds()*1000, 'f', 1, 64) }

// OK reports whether every event was acknowledged (and counted, when
// verifying, and answered by the ceiling, when measuring it).
func (r *Result) OK() bool {
	return r.Stopped == "" && r.Acked == r.Cfg.N && len(r.Errors) == 0 && r.BadReply == 0 &&
		(!r.Cfg.VerifyAPI || r.Verified) &&
		(!r.Cfg.Ceiling || r.Ceiling != nil && r.Ceiling.Acked == r.Cfg.N && len(r.Ceiling.Errors) == 0 && r.Ceiling.BadReply == 0)
}

func readProc(pid int, name string) ([]byte, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + name)
	if err != nil {
		return nil, fmt.Errorf("reading /proc/%d/%s: %w", pid, name, err)
	}
	return b, nil
}
