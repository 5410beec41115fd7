package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"triage"
	"triage/internal/secretbox"
	"triage/internal/slack"
	"triage/internal/store"
)

// Config is one load run.
type Config struct {
	URL         string
	N, C        int
	Secret      string
	Team, User  string
	Issues      []int64
	ResponseURL string
	// Sink is the address the sink listens on (default: any free port).
	// Serve Triage with SLACK_API_URL=http://<Sink>/api/ and set up with
	// the same TRIAGE_SECRET_KEY, and the cards it edits with chat.update
	// go there too, as they would to Slack.
	Sink     string
	Baseline bool
	Timeout  time.Duration
	// perClick says the response URL is the sink's and each click gets
	// its own (ResponseURL + "/" + k), so that the sink can tell when
	// the card a click asked for arrived.
	perClick bool
	// DB is Triage's database; when set, the run counts the changes it
	// made in the issues' activity logs (a request answered 200 may change
	// nothing: resolving an issue that is already resolved).
	DB string
}

func (c *Config) validate() error {
	var p []string
	if c.Secret == "" {
		p = append(p, "-secret is required (Triage's SLACK_SIGNING_SECRET)")
	}
	if len(c.Issues) == 0 {
		p = append(p, "-issue is required (run with -setup to get one)")
	}
	if c.N <= 0 || c.C <= 0 {
		p = append(p, "-n and -c must be positive")
	}
	if u, err := url.Parse(c.URL); err != nil || u.Host == "" {
		p = append(p, "-url must be an absolute URL")
	}
	if len(p) > 0 {
		return errors.New(strings.Join(p, "; "))
	}
	return nil
}

// Stats is one target's figures. Sent counts requests that got an answer
// or failed; OK those answered 200, Errors the rest.
type Stats struct {
	Name     string
	Sent     int
	OK       int
	Errors   int
	FirstErr string
	Wall     time.Duration
	P50, P99 time.Duration
	Max      time.Duration
}

// OKRate is requests answered 200 per second over the run's wall time;
// refused and failed requests do not count.
func (s Stats) OKRate() float64 { return perSecond(s.OK, s.Wall) }

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Result holds Triage's figures and, when run, the baseline's.
type Result struct {
	Config   Config
	Triage   Stats
	Baseline *Stats
	// Counted says Changes was read from the activity logs (Config.DB).
	Counted bool
	// Changes is how many activity entries the run wrote from Slack: the
	// state changes it really made. The requests answered 200 that made
	// none are no-ops.
	Changes int
	// SinkPosts counts rebuilt messages Triage posted to the sink's
	// response URL, SinkCalls the Web API calls it made to the sink
	// (chat.update when a card is sent again), each by method.
	SinkPosts int64
	SinkCalls map[string]int64
	// Cards is, for each click, how long after it was sent a card showing
	// its change (or a later one) arrived at a response URL: what the
	// person sees. Measured only with the sink's per-click URLs.
	Cards *CardLatency
}

// CardLatency is the time from a click to the card that shows it.
type CardLatency struct {
	Shown    int // clicks whose card (or a later click's on the issue) arrived
	NotShown int // clicks after which no card of their issue arrived
	P50, P99 time.Duration
	Max      time.Duration
}

// NoOps is how many requests were answered 200 but changed nothing.
func (r *Result) NoOps() int { return r.Triage.OK - r.Changes }

// ChangeRate is effective changes per second of Triage's run: the figure
// the README reports.
func (r *Result) ChangeRate() float64 { return perSecond(r.Changes, r.Triage.Wall) }

func ms(d time.Duration) string { return strconv.FormatFloat(d.Seconds()*1000, 'f', 2, 64) }

// Print writes the report.
func (r *Result) Print(w io.Writer) {
	row := func(s Stats) {
		fmt.Fprintf(w, "%-12s %8d sent  %8d answered 200  %6d failed  %9.0f answered 200/s  p50 %7s ms  p99 %7s ms  max %7s ms\n",
			s.Name, s.Sent, s.OK, s.Errors, s.OKRate(), ms(s.P50), ms(s.P99), ms(s.Max))
		if s.FirstErr != "" {
			fmt.Fprintf(w, "%-12s first error: %s\n", "", s.FirstErr)
		}
	}
	fmt.Fprintf(w, "block_actions (resolve/unresolve of %d issue(s)) at concurrency %d\n", len(r.Config.Issues), r.Config.C)
	row(r.Triage)
	if r.Counted {
		fmt.Fprintf(w, "%-12s %8d changes (activity entries written from Slack)  %6d no-ops (answered 200, changed nothing)  %9.0f changes/s\n",
			"", r.Changes, r.NoOps(), r.ChangeRate())
	} else {
		fmt.Fprintf(w, "%-12s changes not counted: give -db to count them in the activity log\n", "")
	}
	if r.Baseline != nil {
		row(*r.Baseline)
		if r.Triage.OKRate() > 0 && r.Baseline.OKRate() > 0 {
			fmt.Fprintf(w, "ratio        Triage answers %.2f of the verify-only requests per second; p99 is %.1fx the verify-only p99\n",
				r.Triage.OKRate()/r.Baseline.OKRate(), float64(r.Triage.P99)/float64(max(r.Baseline.P99, time.Microsecond)))
		}
	}
	if r.SinkPosts > 0 {
		fmt.Fprintf(w, "rebuilt messages received at the response URL so far: %d\n", r.SinkPosts)
	}
	if c := r.Cards; c != nil {
		fmt.Fprintf(w, "card shown     click to the card showing it at the response URL: p50 %s ms  p99 %s ms  max %s ms  (%d clicks shown, %d never)\n",
			ms(c.P50), ms(c.P99), ms(c.Max), c.Shown, c.NotShown)
	}
	methods := make([]string, 0, len(r.SinkCalls))
	for m := range r.SinkCalls {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	for _, m := range methods {
		fmt.Fprintf(w, "Web API calls received by the sink so far: %s %d\n", m, r.SinkCalls[m])
	}
}

// Run sends the load to Triage, then (with Baseline) to a verify-only
// handler, the same way.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	res := &Result{Config: cfg}
	var sk *sink
	if cfg.ResponseURL == "" {
		var err error
		if sk, err = startSink(cfg.Sink); err != nil {
			return res, err
		}
		defer sk.Close()
		cfg.ResponseURL = sk.URL + "/hooks/actions/" + cfg.Team + "/1/load"
		cfg.perClick = true
		sk.expect(cfg.ResponseURL, cfg.N)
	}
	client := newClient(cfg.C)
	target := strings.TrimSuffix(cfg.URL, "/") + "/extensions/slack/action/"
	var log *activityLog
	if cfg.DB != "" {
		var err error
		if log, err = openActivityLog(ctx, cfg.DB, cfg.Issues); err != nil {
			return res, err
		}
		defer log.close()
	}
	var err error
	var sent []time.Time
	res.Triage, sent, err = send(ctx, client, "triage", target, cfg)
	if err != nil {
		return res, err
	}
	if log != nil {
		if res.Changes, err = log.changes(ctx, res.Triage.OK); err != nil {
			return res, err
		}
		res.Counted = true
	}
	if cfg.Baseline {
		verify := slack.Verifier{SigningSecret: cfg.Secret}
		base := httptest.NewServer(verify.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusOK)
		})))
		defer base.Close()
		b, _, err := send(ctx, client, "verify-only", base.URL+"/extensions/slack/action/", cfg)
		if err != nil {
			return res, err
		}
		res.Baseline = &b
	}
	if sk != nil {
		res.SinkPosts, res.SinkCalls = sk.counts()
		res.Cards = cardLatency(sent, sk.arrivals(), len(cfg.Issues))
	}
	return res, nil
}

// cardLatency works out, for each click k, when the person saw its
// change: the first card that arrived at the response URL of click k or
// of a later click on the same issue (whose card, rendered after that
// later change, shows k's too; a click whose own card was superseded by
// a later one's is shown by that one). sent and arrived are indexed by
// click; clicks go to the issues in turn, n issues.
func cardLatency(sent, arrived []time.Time, n int) *CardLatency {
	c := &CardLatency{}
	var lat []time.Duration
	for issue := range n {
		var best time.Time
		last := issue + ((len(sent)-1-issue)/n)*n
		for k := last; k >= issue; k -= n {
			if a := arrived[k]; !a.IsZero() && (best.IsZero() || a.Before(best)) {
				best = a
			}
			if best.IsZero() || sent[k].IsZero() {
				c.NotShown++
				continue
			}
			lat = append(lat, max(best.Sub(sent[k]), 0))
		}
	}
	c.Shown = len(lat)
	if len(lat) > 0 {
		slices.Sort(lat)
		c.P50, c.P99, c.Max = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)], lat[len(lat)-1]
	}
	return c
}

// sink stands in for Slack where Triage sends a card during a run: the
// response URL in each payload, and the Web API (chat.update, when a card
// is sent again), answered as Slack answers a call it took.
type sink struct {
	*httptest.Server
	posts atomic.Int64
	mu    sync.Mutex
	calls map[string]int64
	// prefix is the per-click response URLs' path before "/k"; arrived
	// holds when the first card for each click arrived.
	prefix  string
	arrived []time.Time
}

// expect makes the sink note, for each of n clicks, when the first post
// to responseURL + "/k" arrived.
func (sk *sink) expect(responseURL string, n int) {
	u, _ := url.Parse(responseURL)
	sk.mu.Lock()
	defer sk.mu.Unlock()
	sk.prefix, sk.arrived = u.Path+"/", make([]time.Time, n)
}

// arrivals returns a copy of the first arrival of each click's card.
func (sk *sink) arrivals() []time.Time {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	return slices.Clone(sk.arrived)
}

// startSink listens on addr ("" for any free port on 127.0.0.1).
func startSink(addr string) (*sink, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	sk := &sink{calls: map[string]int64{}}
	sk.Server = httptest.NewUnstartedServer(http.HandlerFunc(sk.serve))
	sk.Listener.Close()
	sk.Listener = ln
	sk.Start()
	return sk, nil
}

func (sk *sink) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	if method, ok := strings.CutPrefix(r.URL.Path, "/api/"); ok {
		sk.mu.Lock()
		sk.calls[method]++
		sk.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,"channel":"C0LOAD","ts":"1.000001","text":""}`)
		return
	}
	sk.posts.Add(1)
	now := time.Now()
	sk.mu.Lock()
	if rest, ok := strings.CutPrefix(r.URL.Path, sk.prefix); ok && sk.prefix != "" {
		if k, err := strconv.Atoi(rest); err == nil && k >= 0 && k < len(sk.arrived) && sk.arrived[k].IsZero() {
			sk.arrived[k] = now
		}
	}
	sk.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

// counts returns the response URL posts and the Web API calls by method.
func (sk *sink) counts() (int64, map[string]int64) {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	return sk.posts.Load(), maps.Clone(sk.calls)
}

func newClient(c int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        2 * c,
			MaxIdleConnsPerHost: 2 * c,
			IdleConnTimeout:     90 * time.Second,
		},
	}
}

// payload is the form body of the k-th action, on the issues in turn:
// Resolve, then Unresolve, from a message Triage posted.
func payload(cfg Config, k int) []byte {
	issue := cfg.Issues[k%len(cfg.Issues)]
	actionID, value := "status:resolve", "resolved"
	if (k/len(cfg.Issues))%2 == 1 {
		actionID, value = "status:unresolve", "unresolved"
	}
	p := map[string]any{
		"type": "block_actions", "api_app_id": "A0LOAD", "token": "load",
		"team":       map[string]any{"id": cfg.Team, "domain": "load"},
		"user":       map[string]any{"id": cfg.User, "username": "load", "team_id": cfg.Team},
		"channel":    map[string]any{"id": "C0LOAD", "name": "load"},
		"container":  map[string]any{"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0LOAD", "is_ephemeral": false},
		"trigger_id": fmt.Sprintf("%d.1.load", 100000+k), "response_url": responseURL(cfg, k),
		"actions": []any{map[string]any{"action_id": actionID, "block_id": "issue:" + strconv.FormatInt(issue, 10),
			"type": "button", "value": value, "action_ts": "1700000000.1"}},
	}
	js, _ := json.Marshal(p)
	return []byte(url.Values{"payload": {string(js)}}.Encode())
}

// responseURL is the k-th click's response URL.
func responseURL(cfg Config, k int) string {
	if cfg.perClick {
		return cfg.ResponseURL + "/" + strconv.Itoa(k)
	}
	return cfg.ResponseURL
}

// send posts cfg.N signed payloads at concurrency cfg.C. Bodies are built
// before the clock starts; each is signed when sent, as Slack does.
// It returns when each click was sent, by index.
func send(ctx context.Context, client *http.Client, name, target string, cfg Config) (Stats, []time.Time, error) {
	bodies := make([][]byte, cfg.N)
	for k := range bodies {
		bodies[k] = payload(cfg, k)
	}
	st := Stats{Name: name}
	var next atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, cfg.N)
	sent := make([]time.Time, cfg.N)
	start := time.Now()
	var wg sync.WaitGroup
	for range cfg.C {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			oks, errs, first := 0, 0, ""
			for ctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= cfg.N {
					break
				}
				t0 := time.Now()
				sent[k] = t0
				err := post(ctx, client, target, cfg.Secret, bodies[k])
				mine = append(mine, time.Since(t0))
				if err != nil {
					errs++
					if first == "" {
						first = err.Error()
					}
				} else {
					oks++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			st.OK += oks
			st.Errors += errs
			if st.FirstErr == "" {
				st.FirstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	st.Wall = time.Since(start)
	st.Sent = len(lat)
	if len(lat) > 0 {
		slices.Sort(lat)
		st.P50, st.P99, st.Max = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)], lat[len(lat)-1]
	}
	if st.Sent < cfg.N {
		return st, sent, fmt.Errorf("%s: sent %d of %d before stopping: %v", name, st.Sent, cfg.N, ctx.Err())
	}
	return st, sent, nil
}

func post(ctx context.Context, client *http.Client, target, secret string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(slack.HeaderTimestamp, ts)
	req.Header.Set(slack.HeaderSignature, slack.ComputeSignature(secret, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(answer))
	}
	return nil
}

// activityLog counts the activity entries a run adds to its issues.
type activityLog struct {
	s      *store.Store
	issues []int64
	before map[int64]int64 // the newest activity id of each issue before the run
}

func openActivityLog(ctx context.Context, db string, ids []int64) (*activityLog, error) {
	s, err := store.Open(ctx, db, time.Now)
	if err != nil {
		return nil, fmt.Errorf("open %s to count changes: %w", db, err)
	}
	l := &activityLog{s: s, issues: slices.Compact(slices.Sorted(slices.Values(ids))), before: map[int64]int64{}}
	for _, id := range l.issues {
		acts, err := s.Activities(ctx, id, 1)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("activity of issue %d: %w", id, err)
		}
		if len(acts) > 0 {
			l.before[id] = acts[0].ID
		}
	}
	return l, nil
}

// changes counts the entries from Slack added since openActivityLog; at
// most ok requests can have added one each.
func (l *activityLog) changes(ctx context.Context, ok int) (int, error) {
	n := 0
	for _, id := range l.issues {
		acts, err := l.s.Activities(ctx, id, ok+1)
		if err != nil {
			return 0, fmt.Errorf("activity of issue %d: %w", id, err)
		}
		for _, a := range acts {
			if a.ID > l.before[id] && a.Source == triage.SourceSlack {
				n++
			}
		}
	}
	return n, nil
}

func (l *activityLog) close() { l.s.Close() }

// SetupConfig names what -setup prepares.
type SetupConfig struct {
	DB, Org, Project, Email string
	Team, User              string
	Count                   int
	// SecretKey is Triage's TRIAGE_SECRET_KEY: with it the workspace's
	// token is sealed as Triage seals one, so that Triage can use it (with
	// SLACK_API_URL at the run's sink); without it the token is a
	// placeholder and a card Triage edits with chat.update fails.
	SecretKey string
}

// Setup makes the database ready for a load run: the workspace (installed,
// attached to the organization; its token sealed with c.SecretKey, else a
// placeholder), the Slack user
// linked to the Triage user, and c.Count issues in the project. It returns
// the issues' ids.
func Setup(ctx context.Context, c SetupConfig) ([]int64, error) {
	if c.DB == "" || c.Org == "" || c.Project == "" || c.Email == "" {
		return nil, errors.New("-setup needs -db, -org, -project and -email")
	}
	c.Count = max(c.Count, 1)
	s, err := store.Open(ctx, c.DB, time.Now)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return nil, err
	}
	org, err := s.OrganizationBySlug(ctx, c.Org)
	if err != nil {
		return nil, fmt.Errorf("organization %s: %w", c.Org, err)
	}
	p, err := s.ProjectBySlug(ctx, org.ID, c.Project)
	if err != nil {
		return nil, fmt.Errorf("project %s: %w", c.Project, err)
	}
	u, err := s.UserByEmail(ctx, c.Email)
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", c.Email, err)
	}
	token := "unusable-without-the-secret-key"
	if c.SecretKey != "" {
		if token, err = secretbox.New([]byte(c.SecretKey)).Seal("xoxb-load-test"); err != nil {
			return nil, err
		}
	}
	var ids []int64
	err = s.InTx(ctx, func(tx *store.Tx) error {
		in, err := tx.IntegrationByTeam(ctx, c.Team)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			in, err = tx.UpsertIntegration(ctx, &triage.Integration{ExternalID: c.Team, Name: "Load test workspace",
				InstallType: "v2", AccessTokenEnc: token})
		}
		if err != nil {
			return err
		}
		if err := tx.AttachIntegration(ctx, org.ID, in.ID); err != nil {
			return err
		}
		if _, err := tx.LinkIdentity(ctx, in.ID, c.User, u.ID); err != nil {
			return err
		}
		for k := range c.Count {
			hash := "triage-load-actions-" + strconv.Itoa(k)
			is, err := tx.IssueByHash(ctx, p.ID, hash)
			if triage.ErrorCode(err) == triage.ENOTFOUND {
				is, err = tx.CreateIssue(ctx, store.NewIssue{ProjectID: p.ID, GroupHash: hash,
					Title: "LoadTest: resolved and unresolved from Slack", Culprit: "triage-load-actions", Level: "error", SeenAt: time.Now()})
			}
			if err != nil {
				return err
			}
			ids = append(ids, is.ID)
		}
		return nil
	})
	return ids, err
}
