package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"triage"
	"triage/internal/config"
	"triage/internal/issues"
	"triage/internal/secretbox"
	"triage/internal/signing"
	"triage/internal/slack"
	"triage/internal/store"
)

// TestSetupAndRun: -setup prepares a database, and a short run against
// the action endpoint resolves and unresolves the issue with no errors,
// then runs the baseline.
func TestSetupAndRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, s := newLoadDB(t)
	sc := SetupConfig{DB: db, Org: "acme", Project: "web", Email: "owner@example.com", Team: "T1", User: "U1"}
	sc.Count = 2
	ids, err := Setup(ctx, sc)
	if err != nil || len(ids) != 2 {
		t.Fatal(ids, err)
	}
	if again, err := Setup(ctx, sc); err != nil || len(again) != 2 || again[0] != ids[0] {
		t.Fatalf("setup twice: %v %v, want %v", again, err, ids)
	}
	id := ids[0]

	key := []byte("0123456789abcdef0123456789abcdef")
	svc := issues.New(s, nil)
	integ := slack.New(slack.Deps{Store: s, Signer: signing.New(key), Box: secretbox.New(key), Issues: svc,
		Config:     &config.Config{URLPrefix: "http://triage.test", SlackSigningSecret: "sekrit", SlackAPIURL: "http://127.0.0.1:1/api/"},
		HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	mux := http.NewServeMux()
	mux.Handle("POST /extensions/slack/action/{$}", integ.Action())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// One sender: every action flips its issue, so each is a change.
	res, err := Run(ctx, Config{URL: srv.URL, N: 40, C: 1, Secret: "sekrit", Team: "T1", User: "U1", Issues: ids, Baseline: true, Timeout: time.Minute, DB: db})
	if err != nil {
		t.Fatal(err)
	}
	if res.Triage.Errors != 0 || res.Triage.Sent != 40 || res.Triage.OK != 40 || res.Baseline == nil || res.Baseline.OK != 40 {
		t.Fatalf("result = %+v", res)
	}
	if !res.Counted || res.Changes != 40 || res.NoOps() != 0 {
		t.Errorf("changes = %d (counted %t), no-ops %d; want 40 and 0", res.Changes, res.Counted, res.NoOps())
	}
	if got := slackActivities(t, s, ids); got != 40 {
		t.Errorf("activity log holds %d entries from Slack, want 40", got)
	}
	acts, _ := s.Activities(ctx, id, 100)
	if len(acts) == 0 || acts[0].Source != triage.SourceSlack {
		t.Errorf("no Slack activity recorded: %d", len(acts))
	}
	var out bytes.Buffer
	res.Print(&out)
	if res.Cards == nil || res.Cards.Shown+res.Cards.NotShown != 40 {
		t.Errorf("card latency = %+v, want one figure per click", res.Cards)
	}
	for _, want := range []string{"40 changes", "0 no-ops", "changes/s", "ratio", "card shown"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}

	// Both issues are unresolved now; a run of one resolves issue 1, the
	// same run again resolves it again: answered 200, a no-op.
	one := Config{URL: srv.URL, N: 1, C: 1, Secret: "sekrit", Team: "T1", User: "U1", Issues: ids[:1], Timeout: time.Minute, DB: db}
	if res, err = Run(ctx, one); err != nil || res.Changes != 1 || res.NoOps() != 0 {
		t.Fatalf("first resolve: %v, changes %d, no-ops %d", err, res.Changes, res.NoOps())
	}
	if res, err = Run(ctx, one); err != nil || res.Triage.OK != 1 || res.Changes != 0 || res.NoOps() != 1 || res.ChangeRate() != 0 {
		t.Fatalf("second resolve: %v, ok %d, changes %d, no-ops %d, %f changes/s", err, res.Triage.OK, res.Changes, res.NoOps(), res.ChangeRate())
	}

	// Concurrent senders: whatever the interleaving, changes and no-ops
	// add up to the requests answered, and the log agrees on the changes.
	before := slackActivities(t, s, ids)
	res, err = Run(ctx, Config{URL: srv.URL, N: 60, C: 6, Secret: "sekrit", Team: "T1", User: "U1", Issues: ids[:1], Timeout: time.Minute, DB: db})
	if err != nil || res.Triage.OK != 60 {
		t.Fatalf("concurrent: %v %+v", err, res.Triage)
	}
	if got := slackActivities(t, s, ids) - before; res.Changes != got || res.Changes+res.NoOps() != 60 {
		t.Errorf("concurrent: changes %d, no-ops %d; the log gained %d", res.Changes, res.NoOps(), got)
	}

	// A wrong secret: every action refused, reported as failures, and no
	// rate of anything.
	res, _ = Run(ctx, Config{URL: srv.URL, N: 4, C: 2, Secret: "wrong", Team: "T1", User: "U1", Issues: ids, Timeout: time.Minute, DB: db})
	if res.Triage.Errors != 4 || res.Triage.OK != 0 || res.Changes != 0 || res.Triage.OKRate() != 0 || res.ChangeRate() != 0 ||
		!strings.Contains(res.Triage.FirstErr, "401") {
		t.Errorf("wrong secret: %+v, changes %d", res.Triage, res.Changes)
	}
}

// newLoadDB makes a SQLite database with an organization acme, its owner
// owner@example.com and a project web: what -setup expects to find.
func newLoadDB(t *testing.T) (string, *store.Store) {
	t.Helper()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "triage.db")
	s, err := store.Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	owner, _ := s.CreateUser(ctx, "owner@example.com", "", "h", false)
	org, err := s.CreateOrganization(ctx, "acme", "Acme", owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateProject(ctx, org.ID, "web", "Web"); err != nil {
		t.Fatal(err)
	}
	return db, s
}

// slackActivities counts the activity entries from Slack on the issues.
func slackActivities(t *testing.T, s *store.Store, ids []int64) int {
	t.Helper()
	n := 0
	for _, id := range ids {
		acts, err := s.Activities(context.Background(), id, 100000)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range acts {
			if a.Source == triage.SourceSlack {
				n++
			}
		}
	}
	return n
}

// TestSinkTakesCardEdits: set up with Triage's secret key, the workspace's
// token is one Triage can open, and the sink answers a chat.update made
// with it as Slack does (so a card sent again during a run is not a failed
// call retried), counting it apart from the response URL's posts.
func TestSinkTakesCardEdits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, s := newLoadDB(t)
	const key = "0123456789abcdef0123456789abcdef-load"
	if _, err := Setup(ctx, SetupConfig{DB: db, Org: "acme", Project: "web", Email: "owner@example.com", Team: "T1", User: "U1", SecretKey: key}); err != nil {
		t.Fatal(err)
	}
	in, err := s.IntegrationByTeam(ctx, "T1")
	if err != nil {
		t.Fatal(err)
	}
	token, err := secretbox.New([]byte(key)).Open(in.AccessTokenEnc)
	if err != nil || token == "" {
		t.Fatalf("the workspace's token does not open with Triage's key: %q, %v", token, err)
	}

	sk, err := startSink("")
	if err != nil {
		t.Fatal(err)
	}
	defer sk.Close()
	api := slackapi.New(token, slackapi.OptionAPIURL(sk.URL+"/api/"))
	if _, _, _, err := api.UpdateMessageContext(ctx, "C0LOAD", "1.000001", slackapi.MsgOptionText("card", false)); err != nil {
		t.Fatalf("chat.update to the sink: %v", err)
	}
	resp, err := http.Post(sk.URL+"/hooks/actions/T1/1/load", "application/json", strings.NewReader(`{"replace_original":true,"text":"card"}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("response URL post: %v %v", resp, err)
	}
	resp.Body.Close()
	posts, calls := sk.counts()
	if posts != 1 || calls["chat.update"] != 1 || len(calls) != 1 {
		t.Errorf("sink counted %d response URL posts and calls %v, want 1 and chat.update 1", posts, calls)
	}
	var out bytes.Buffer
	(&Result{SinkPosts: posts, SinkCalls: calls}).Print(&out)
	if !strings.Contains(out.String(), "chat.update 1") {
		t.Errorf("report lacks the sink's chat.update count:\n%s", out.String())
	}
}

// TestCardLatency: a click is shown by the first card that arrives for it
// or for a later click on the same issue (a rebuild that folded it in);
// a click after which no card of its issue arrived is counted apart.
func TestCardLatency(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// Two issues, clicks in turn: 0, 2, 4 on the first, 1, 3, 5 on the second.
	sent := []time.Time{at(0), at(1), at(2), at(3), at(4), at(5)}
	arrived := make([]time.Time, 6)
	arrived[2] = at(40) // click 2's card shows clicks 0 and 2
	arrived[0] = at(50) // click 0's own card came later: 40 ms counts
	arrived[4] = at(60)
	arrived[1] = at(21) // issue two: click 1 shown at 21; 3 and 5 never
	c := cardLatency(sent, arrived, 2)
	if c.Shown != 4 || c.NotShown != 2 {
		t.Fatalf("shown %d, never %d; want 4 and 2", c.Shown, c.NotShown)
	}
	// Latencies: click 0: 40, 2: 38, 4: 56, 1: 20.
	if c.Max != 56*time.Millisecond || c.P50 != 40*time.Millisecond {
		t.Errorf("p50 %v max %v, want 40ms and 56ms", c.P50, c.Max)
	}
}
