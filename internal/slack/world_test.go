package slack_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"triage"
	"triage/internal/alert"
	"triage/internal/issues"
	"triage/internal/jobs"
	"triage/internal/signing"
	"triage/internal/slack"
	"triage/internal/slack/slackfake"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// world is a bundle with what actions need on top: the issue service,
// River working Slack's jobs, an installed workspace T1 (U1 linked to the
// owner, U2 to the member, U3 not linked), a team owning two projects
// (web has a release, api none), and an organization the workspace is not
// attached to.
type world struct {
	*bundle
	svc      *issues.Service
	in       *triage.Integration
	team     *triage.Team
	web, api *triage.Project
	issue    *triage.Issue // acme/web, resolvable in a release
	plain    *triage.Issue // acme/api, no releases
	foreign  *triage.Issue // beta/web: not attached to T1
	ctx      context.Context
	jobs     *jobs.Client
}

// eachWorld runs fn on SQLite and PostgreSQL.
func eachWorld(t *testing.T, fn func(t *testing.T, w *world)) {
	for _, e := range dbtest.Engines {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			fn(t, newWorld(t, e))
		})
	}
}

func newWorld(t *testing.T, engine store.Engine) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	dbURL := dbtest.URL(t, engine)
	s, err := store.Open(ctx, dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b := setup(t, s, "v2")
	w := &world{bundle: b, svc: issues.New(s, time.Now), ctx: ctx}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	b.integ = slack.New(slack.Deps{
		Store: s, Signer: signing.New([]byte(secretKey)), Box: b.box, Config: b.cfg, Logger: logger,
		HTTPClient: &http.Client{Timeout: 5 * time.Second}, Now: b.clock.Now, Issues: w.svc,
		// DMs and Home tabs paced as in serve (Slack's default limits).
		Pacer: alert.NewMemoryPacer(),
	})
	workers := river.NewWorkers()
	b.integ.RegisterWorkers(workers)
	jc, err := jobs.New(ctx, s, dbURL, logger, workers, jobs.Options{Work: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := jc.Start(context.WithoutCancel(ctx)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = jc.Stop(stop)
	})
	b.integ.SetJobs(jc)
	w.jobs = jc
	mux := http.NewServeMux()
	for _, m := range []string{"GET", "POST"} {
		mux.Handle(m+" /extensions/slack/link-identity/{signed}/{$}", b.integ.LinkIdentity())
		mux.Handle(m+" /extensions/slack/unlink-identity/{signed}/{$}", b.integ.UnlinkIdentity())
	}
	mux.Handle("GET /organizations/{org}/integrations/slack/setup/{$}", b.integ.InstallStart())
	mux.Handle("GET /extensions/slack/setup/{$}", b.integ.InstallCallback())
	mux.Handle("POST /extensions/slack/action/{$}", b.integ.Action())
	mux.Handle("POST /extensions/slack/event/{$}", b.integ.Event())
	mux.Handle("POST /extensions/slack/options-load/{$}", b.integ.OptionsLoad())
	mux.Handle("POST /extensions/slack/commands/{$}", b.integ.Command())
	b.mux = mux

	w.in = b.install(b.owner, "T1", "U1")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.LinkIdentity(ctx, w.in.ID, "U2", b.member.ID)
	must(err)
	w.team, err = s.CreateTeam(ctx, b.org.ID, "backend", "Backend")
	must(err)
	must(s.AddTeamMember(ctx, w.team.ID, b.member.ID))
	w.web, err = s.CreateProject(ctx, b.org.ID, "web", "Web", w.team.ID)
	must(err)
	w.api, err = s.CreateProject(ctx, b.org.ID, "api", "API", w.team.ID)
	must(err)
	must(s.RecordRelease(ctx, w.web.ID, "1.0"))
	beta, err := s.CreateOrganization(ctx, "beta", "Beta", b.outsider.ID)
	must(err)
	betaWeb, err := s.CreateProject(ctx, beta.ID, "web", "Web")
	must(err)
	mk := func(p *triage.Project, title string) *triage.Issue {
		var is *triage.Issue
		must(s.InTx(ctx, func(tx *store.Tx) error {
			is, err = tx.CreateIssue(ctx, store.NewIssue{ProjectID: p.ID, GroupHash: title, Title: title,
				Culprit: "app.checkout in submit", Level: "error", SeenAt: time.Now()})
			return err
		}))
		return is
	}
	w.issue, w.plain, w.foreign = mk(w.web, "TypeError: boom"), mk(w.api, "ValueError: bad quantity"), mk(betaWeb, "KeyError: secret")
	return w
}

// settle waits until the background work the test caused is done: no
// job but the periodic ones is queued, running, snoozed or waiting for a
// retry, and the in-process delivery lanes are idle (Drain), both at once.
// Lanes only start from a handler or a job, and a job inserts what it
// causes before it completes; so after settle nothing the test did can
// still call Slack, and a "no more calls" check would have seen one.
func (w *world) settle() {
	w.t.Helper()
	q := `SELECT COUNT(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')
		AND kind NOT IN ('slack.prune_events_seen', 'slack.refresh_tokens', 'events.prune')`
	ctx, cancel := w.wait()
	defer cancel()
	pending := func() int64 {
		var n int64
		if err := w.s.Pool().QueryRowContext(ctx, q).Scan(&n); err != nil {
			w.t.Fatalf("settle: %v", err)
		}
		return n
	}
	for {
		if pending() == 0 {
			if err := w.integ.Drain(ctx); err != nil {
				w.t.Fatalf("settle: %v", err)
			}
			if pending() == 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			w.t.Fatalf("settle: jobs still pending: %d", pending())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// wait bounds one wait for background work.
func (w *world) wait() (context.Context, context.CancelFunc) {
	return context.WithTimeout(w.ctx, 15*time.Second)
}

func (w *world) issueURL(is *triage.Issue) string { return prefix + is.Path() }

// postAction sends a signed interactivity payload.
func (w *world) postAction(payload any) *httptest.ResponseRecorder {
	w.t.Helper()
	js, err := json.Marshal(payload)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.signedPost("/extensions/slack/action/", "application/x-www-form-urlencoded", url.Values{"payload": {string(js)}}.Encode())
}

// postEvent sends a signed Events API request, with X-Slack-Retry-Num
// when retry > 0.
func (w *world) postEvent(body any, retry int) *httptest.ResponseRecorder {
	w.t.Helper()
	js, _ := json.Marshal(body)
	r := httptest.NewRequest("POST", "/extensions/slack/event/", strings.NewReader(string(js)))
	ts := strconv.FormatInt(w.clock.Now().Unix(), 10)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(slack.HeaderTimestamp, ts)
	r.Header.Set(slack.HeaderSignature, slack.ComputeSignature(signingSecret, ts, js))
	if retry > 0 {
		r.Header.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
		r.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	}
	rec := httptest.NewRecorder()
	w.mux.ServeHTTP(rec, r)
	return rec
}

func linkShared(team, eventID, channel, ts string, urls ...string) map[string]any {
	links := []map[string]string{}
	for _, u := range urls {
		pu, _ := url.Parse(u)
		links = append(links, map[string]string{"domain": pu.Hostname(), "url": u})
	}
	return map[string]any{
		"token": "x", "team_id": team, "api_app_id": "A1", "type": "event_callback", "event_id": eventID, "event_time": 1700000000,
		"event": map[string]any{"type": "link_shared", "channel": channel, "user": "U2", "message_ts": ts,
			"source": "conversations_history", "links": links, "event_ts": ts},
	}
}

// blockAction is a block_actions payload from user, for one action.
func (w *world) blockAction(user string, container map[string]any, responseURL string, act map[string]any) map[string]any {
	return map[string]any{
		"type": "block_actions", "team": map[string]any{"id": "T1", "domain": "acme"},
		"user":       map[string]any{"id": user, "username": strings.ToLower(user), "team_id": "T1"},
		"api_app_id": "A1", "token": "x", "container": container, "trigger_id": w.fake.NewTriggerID(),
		"channel": map[string]any{"id": "C1", "name": "alerts"}, "response_url": responseURL,
		"actions": []any{act},
	}
}

// legacyAction is an interactive_message payload for one action on the
// issue, from the bot's own message (isMessage) or from an unfurl.
func (w *world) legacyAction(user string, issueID int64, isMessage bool, responseURL string, act map[string]any) map[string]any {
	p := map[string]any{
		"type": "interactive_message", "actions": []any{act}, "callback_id": `{"issue":` + strconv.FormatInt(issueID, 10) + `}`,
		"team": map[string]any{"id": "T1", "domain": "acme"}, "channel": map[string]any{"id": "C1", "name": "alerts"},
		"user": map[string]any{"id": user, "name": strings.ToLower(user)}, "action_ts": "1700000000.1", "message_ts": "1700000000.000100",
		"attachment_id": "1", "token": "x", "response_url": responseURL, "trigger_id": w.fake.NewTriggerID(),
	}
	if isMessage {
		p["original_message"] = map[string]any{"type": "message", "ts": "1700000000.000100", "attachments": []any{}}
	} else {
		p["is_app_unfurl"] = true
	}
	return p
}

// element finds a Block Kit element by action_id in blocks and returns it
// with its block's id.
func element(t *testing.T, blocks json.RawMessage, actionID string) (string, map[string]any) {
	t.Helper()
	var bs []struct {
		Type     string           `json:"type"`
		BlockID  string           `json:"block_id"`
		Elements []map[string]any `json:"elements"`
	}
	if err := json.Unmarshal(blocks, &bs); err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		for _, el := range b.Elements {
			if el["action_id"] == actionID {
				return b.BlockID, el
			}
		}
	}
	t.Fatalf("no element %q in %s", actionID, blocks)
	return "", nil
}

// unfurlBlocks waits for the n-th chat.unfurl and returns its one unfurl.
func (w *world) unfurlBlocks(n int) (string, json.RawMessage) {
	w.t.Helper()
	ctx, cancel := w.wait()
	defer cancel()
	calls, err := w.fake.WaitForCalls(ctx, "chat.unfurl", n)
	if err != nil {
		w.t.Fatalf("waiting for chat.unfurl #%d: %v (have %d)", n, err, len(calls))
	}
	// The rebuild that sent it ends (it sends again when the issue changed
	// meanwhile) before the test acts again, as a person acts on what
	// they see.
	w.settle()
	c := calls[n-1]
	if c.Error != "" {
		w.t.Fatalf("chat.unfurl #%d failed: %s", n, c.Error)
	}
	var unfurls map[string]struct {
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := c.Decode("unfurls", &unfurls); err != nil {
		w.t.Fatal(err)
	}
	if len(unfurls) != 1 {
		w.t.Fatalf("chat.unfurl #%d has %d unfurls", n, len(unfurls))
	}
	for u, x := range unfurls {
		return u, x.Blocks
	}
	return "", nil
}

func (w *world) reload(is *triage.Issue) *triage.Issue {
	w.t.Helper()
	got, err := w.s.IssueByID(w.ctx, is.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return got
}

func (w *world) activities(is *triage.Issue) []*triage.Activity {
	w.t.Helper()
	acts, err := w.s.Activities(w.ctx, is.ID, 100)
	if err != nil {
		w.t.Fatal(err)
	}
	return acts
}

// ephemeralText decodes an ephemeral reply and checks its shape.
func ephemeralText(t *testing.T, body []byte) string {
	t.Helper()
	var r struct {
		ResponseType    string `json:"response_type"`
		ReplaceOriginal *bool  `json:"replace_original"`
		Text            string `json:"text"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.ResponseType != "ephemeral" || r.ReplaceOriginal == nil || *r.ReplaceOriginal {
		t.Fatalf("not an ephemeral reply: %s", body)
	}
	return r.Text
}

// responsePost waits for the n-th post to a response URL.
func (w *world) responsePost(ru string, n int) slackfake.Post {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if posts := w.fake.ResponseURLPosts(ru); len(posts) >= n {
			return posts[n-1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatalf("no post #%d to the response url", n)
	return slackfake.Post{}
}

// linkIn extracts the first <url|…> link of a Slack text.
func linkIn(t *testing.T, text string) string {
	t.Helper()
	start := strings.Index(text, "<http")
	end := strings.Index(text[max(start, 0):], "|")
	if start < 0 || end < 0 {
		t.Fatalf("no link in %q", text)
	}
	return text[start+1 : start+end]
}

// plainJSON is JSON text with Go's and slack-go's escapes of <, > and &
// undone, so that tests can look for Slack markup such as <@U1>.
func plainJSON(b []byte) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b))
}
