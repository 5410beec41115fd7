package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"triage"
	"triage/internal/signing"
	"triage/internal/slack"
	"triage/internal/slack/slackfake"
	"triage/internal/store"
)

// These tests reach Triage only over Socket Mode: no test here serves
// Triage's HTTP endpoints, so the fake Slack could not call them if it
// tried. (The install and the link pages are the person's browser, which
// the world drives in-process.)

const socketAppToken = "xapp-1-A0TRIAGE-1-socket"

// runSocket starts Socket Mode for integ against w's fake and waits until
// the fake has seen conns connections in all. stop ends it and returns
// what RunSocketMode returned.
func (w *world) runSocket(integ *slack.Integration, conns int) (stop func() error) {
	w.t.Helper()
	w.fake.AddAppToken(socketAppToken)
	// These tests reconnect within seconds, more often than
	// apps.connections.open's Tier 1 allows; they are about the socket,
	// not about pacing, so they lift that one limit.
	w.fake.SetMethodRateLimit("apps.connections.open", 0, 0)
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- integ.RunSocketMode(ctx, socketAppToken) }()
	stop = sync.OnceValue(func() error { cancel(); return <-done })
	w.t.Cleanup(func() { _ = stop() })
	wctx, wcancel := w.wait()
	defer wcancel()
	if err := w.fake.WaitForSocketConnections(wctx, conns); err != nil {
		w.t.Fatalf("no socket connection: %v (state %+v)", err, integ.SocketState())
	}
	return stop
}

// ack waits for the envelope's ack and checks it came within 3 s.
func (w *world) ack(id string) slackfake.Ack {
	w.t.Helper()
	ctx, cancel := w.wait()
	defer cancel()
	a, err := w.fake.WaitForAck(ctx, id)
	if err != nil {
		w.t.Fatalf("no ack for %s: %v", id, err)
	}
	if a.Latency > 3*time.Second {
		w.t.Errorf("%s acked after %s", a.Type, a.Latency)
	}
	return a
}

func TestSocketModeCommandAndUnfurl(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		stop := w.runSocket(w.integ, 1)
		command := func(user, text string) string {
			t.Helper()
			a := w.ack(w.fake.SendSlashCommand(url.Values{"team_id": {"T1"}, "user_id": {user}, "channel_id": {"C1"},
				"command": {"/triage"}, "text": {text}, "response_url": {w.fake.NewResponseURL("T1", "C1", user)}}))
			var r struct{ ResponseType, Text string }
			if err := json.Unmarshal(a.Payload, &r); err != nil || a.Type != "slash_commands" || !strings.Contains(string(a.Payload), `"response_type":"ephemeral"`) {
				t.Fatalf("/triage %s: ack %+v %s", text, a, a.Payload)
			}
			return r.Text
		}
		text := command("U3", "link")
		if !strings.Contains(text, prefix+"/extensions/slack/link-identity/") {
			t.Fatalf("link: %q", text)
		}
		if page := w.do("POST", linkIn(t, text), w.admin, nil); page.Code != http.StatusOK || w.linkedUser(w.in, "U3") != w.admin.ID {
			t.Fatalf("following the command's link: %d", page.Code)
		}
		if text := command("U3", "link"); !strings.Contains(text, "already linked") || !strings.Contains(text, "admin@example.com") {
			t.Errorf("link when linked: %q", text)
		}
		if text := command("U1", "frobnicate"); !strings.Contains(text, "Unknown command `frobnicate`") {
			t.Errorf("unknown: %q", text)
		}

		link := w.issueURL(w.issue)
		ts := w.fake.PostUserMessage("C1", "U2", "look at <"+link+">")
		if a := w.ack(w.fake.SendEventsAPI(linkShared("T1", "EvS1", "C1", ts, link))); a.Payload != nil || a.Type != "events_api" {
			t.Errorf("link_shared ack %+v", a)
		}
		if u, blocks := w.unfurlBlocks(1); u != link || !strings.Contains(plainJSON(blocks), "TypeError") {
			t.Fatalf("unfurl %q: %s", u, blocks)
		}

		if st := w.integ.SocketState(); !st.Enabled || !st.Connected || st.Since.IsZero() {
			t.Errorf("state while connected: %+v", st)
		}
		if err := stop(); err != nil {
			t.Errorf("RunSocketMode after cancel: %v", err)
		}
		if st := w.integ.SocketState(); st.Connected || st.Enabled {
			t.Errorf("state after stop: %+v", st)
		}
	})
}

// TestSocketModeActions: the card's Resolve and Assign, the resolve modal
// (views.open, then view_submission acked with its response_action when
// the choice is invalid), the unlinked prompt and the assignee options,
// all over the socket.
func TestSocketModeActions(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		w.runSocket(w.integ, 1)
		submit := func(issueID int64, value string) slackfake.Ack {
			t.Helper()
			meta, _ := json.Marshal(map[string]any{"issue": issueID, "channel": "C1"})
			return w.ack(w.fake.SendInteractive(map[string]any{
				"type": "view_submission", "team": map[string]any{"id": "T1"}, "user": map[string]any{"id": "U1", "team_id": "T1"},
				"view": map[string]any{"id": "V1", "callback_id": "resolve", "private_metadata": string(meta),
					"state": map[string]any{"values": map[string]any{"resolve_type": map[string]any{"resolve_type": map[string]any{
						"type": "static_select", "selected_option": map[string]any{"value": value}}}}}},
			}))
		}
		// An invalid modal choice: the ack carries the field error.
		a := submit(w.plain.ID, "resolved:inNextRelease")
		if p := string(a.Payload); !strings.Contains(p, `"response_action":"errors"`) || !strings.Contains(p, `"resolve_type"`) {
			t.Errorf("invalid view_submission ack: %s", a.Payload)
		}
		if w.reload(w.plain).Status != triage.StatusUnresolved {
			t.Fatal("the invalid choice changed the issue")
		}

		// Not linked: a link prompt through the response URL, no change.
		bru := w.fake.NewResponseURL("T1", "C1", "U4")
		a = w.ack(w.fake.SendInteractive(w.blockAction("U4", map[string]any{"type": "message", "message_ts": "1.1", "channel_id": "C1"}, bru,
			map[string]any{"action_id": "status:resolve", "block_id": "issue:" + strconv.FormatInt(w.issue.ID, 10), "type": "button", "value": "resolved"})))
		if a.Payload != nil {
			t.Errorf("block_actions ack carries %s", a.Payload)
		}
		if post := w.responsePost(bru, 1); !strings.Contains(ephemeralText(t, post.Body), "/extensions/slack/link-identity/") {
			t.Errorf("unlinked prompt: %s", post.Body)
		}
		if w.reload(w.issue).Status != triage.StatusUnresolved {
			t.Fatal("an unlinked click changed the issue")
		}

		// Resolve from the card (api has no release: at once), then assign.
		ts1, err := w.integ.PostCard(w.ctx, w.in.ID, "C1", "", w.plain.ID)
		if err != nil {
			t.Fatal(err)
		}
		m1, _ := w.fake.GetMessage("C1", ts1)
		ru := w.fake.NewMessageResponseURL("T1", "C1", "U2", ts1)
		container := map[string]any{"type": "message", "message_ts": ts1, "channel_id": "C1"}
		blockID, _ := element(t, m1.Blocks, "status:resolve")
		w.ack(w.fake.SendInteractive(w.blockAction("U2", container, ru,
			map[string]any{"action_id": "status:resolve", "block_id": blockID, "type": "button", "value": "resolved"})))
		if is := w.reload(w.plain); is.Status != triage.StatusResolved {
			t.Fatalf("after Resolve: %s", is.Status)
		}
		if post := w.responsePost(ru, 1); !strings.Contains(plainJSON(post.Body), "Resolved by <@U2>") {
			t.Errorf("rebuilt card: %s", post.Body)
		}
		blockID, _ = element(t, m1.Blocks, "assign")
		w.ack(w.fake.SendInteractive(w.blockAction("U2", container, ru, map[string]any{"action_id": "assign", "block_id": blockID,
			"type": "static_select", "selected_option": map[string]any{"value": "user:" + strconv.FormatInt(w.member.ID, 10)}})))
		if is := w.reload(w.plain); is.Assignee == nil || is.Assignee.ID != w.member.ID {
			t.Fatalf("after Assign: %+v", is.Assignee)
		}

		// The assignee menu's options come back in the ack.
		a = w.ack(w.fake.SendInteractive(map[string]any{"type": "block_suggestion", "action_id": "assign",
			"block_id": "issue:" + strconv.FormatInt(w.issue.ID, 10), "value": "MEMB",
			"team": map[string]any{"id": "T1"}, "user": map[string]any{"id": "U1", "team_id": "T1"}}))
		if !strings.Contains(string(a.Payload), `"value":"user:`+strconv.FormatInt(w.member.ID, 10)+`"`) {
			t.Errorf("options ack: %s", a.Payload)
		}

		// The resolve modal: the click opens it (web has a release), the
		// submission resolves in the next release.
		ts2, err := w.integ.PostCard(w.ctx, w.in.ID, "C1", "", w.issue.ID)
		if err != nil {
			t.Fatal(err)
		}
		m2, _ := w.fake.GetMessage("C1", ts2)
		blockID, el := element(t, m2.Blocks, "resolve_dialog")
		act := map[string]any{"action_id": "resolve_dialog", "block_id": blockID, "type": "button"}
		if v, ok := el["value"]; ok {
			act["value"] = v
		}
		w.ack(w.fake.SendInteractive(w.blockAction("U1", map[string]any{"type": "message", "message_ts": ts2, "channel_id": "C1"},
			w.fake.NewMessageResponseURL("T1", "C1", "U1", ts2), act)))
		ctx, cancel := w.wait()
		defer cancel()
		calls, err := w.fake.WaitForCalls(ctx, "views.open", 1)
		if err != nil || calls[0].Error != "" {
			t.Fatalf("views.open: %+v %v", calls, err)
		}
		if w.reload(w.issue).Status != triage.StatusUnresolved {
			t.Fatal("opening the modal changed the issue")
		}
		if a := submit(w.issue.ID, "resolved:inNextRelease"); a.Payload != nil {
			t.Errorf("valid view_submission ack: %s", a.Payload)
		}
		if is := w.reload(w.issue); is.Status != triage.StatusResolved || !is.StatusDetails.InNextRelease {
			t.Fatalf("after the modal: %s %+v", is.Status, is.StatusDetails)
		}
		if acts := w.activities(w.issue); len(acts) != 1 || acts[0].Source != triage.SourceSlack || acts[0].User.ID != w.owner.ID {
			t.Errorf("activities: %+v", acts)
		}
	})
}

// TestSocketModeBurstWithDisconnects: 200 link_shared envelopes while
// Slack asks for a refresh (after 70) and the network drops (after 140):
// every envelope is acked and unfurled exactly once.
func TestSocketModeBurstWithDisconnects(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		const n = 200
		// Unfurls run inline here rather than as River jobs, so that the
		// count measures the socket and not the job queue's throughput on
		// a loaded machine (SQLite's River has one connection).
		// 200 unfurls in a few seconds: more than chat.unfurl's Tier 3
		// allows; this test measures the socket, so it raises the limits.
		w.fake.RaiseRateLimits(100)
		reg := newRegistry()
		integ := slack.New(slack.Deps{Store: w.s, Signer: signing.New([]byte(secretKey)), Box: w.box, Config: w.cfg,
			HTTPClient: &http.Client{Timeout: 5 * time.Second}, Now: w.clock.Now, Issues: w.svc,
			SocketMetrics: slack.NewSocketMetrics(reg)})
		w.runSocket(integ, 1)
		link := w.issueURL(w.issue)
		ts := make([]string, n)
		for k := range ts {
			ts[k] = w.fake.PostUserMessage("C1", "U2", "look at <"+link+">")
		}
		ids := make([]string, n)
		start := time.Now()
		for k := range n {
			switch k {
			case 70:
				w.fake.SendDisconnect("refresh_requested")
			case 140:
				w.fake.DropConnection()
			}
			ids[k] = w.fake.SendEventsAPI(linkShared("T1", fmt.Sprintf("EvB%03d", k), "C1", ts[k], link))
			time.Sleep(2 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(w.ctx, 40*time.Second)
		defer cancel()
		for _, id := range ids {
			if _, err := w.fake.WaitForAck(ctx, id); err != nil {
				t.Fatalf("envelope %s never acked: %v (unacked %d)", id, err, len(w.fake.Unacked()))
			}
		}
		calls, err := w.fake.WaitForCalls(ctx, "chat.unfurl", n)
		if err != nil {
			t.Fatalf("unfurls: %d of %d: %v", len(calls), n, err)
		}
		elapsed := time.Since(start)
		// A marker event after the burst: once it is unfurled, a
		// duplicate handling of an earlier envelope would have shown.
		markerTS := w.fake.PostUserMessage("C1", "U2", "look at <"+link+">")
		w.ack(w.fake.SendEventsAPI(linkShared("T1", "EvBmarker", "C1", markerTS, link)))
		if calls, err = w.fake.WaitForCalls(ctx, "chat.unfurl", n+1); err != nil {
			t.Fatalf("marker unfurl: %d calls: %v", len(calls), err)
		}
		calls = w.fake.Calls("chat.unfurl")
		seen := map[string]int{}
		for _, c := range calls {
			if c.Error != "" {
				t.Errorf("chat.unfurl failed: %s", c.Error)
			}
			seen[c.Params["ts"]]++
		}
		if len(calls) != n+1 || len(seen) != n+1 || seen[markerTS] != 1 {
			t.Errorf("chat.unfurl: %d calls for %d messages, want %d each once (the burst and the marker)", len(calls), len(seen), n+1)
		}
		if u := w.fake.Unacked(); len(u) != 0 {
			t.Errorf("unacked: %v", u)
		}
		var lat []time.Duration
		redelivered := 0
		for _, a := range w.fake.Acks() {
			if a.Unknown {
				continue
			}
			lat = append(lat, a.Latency)
			if a.RetryAttempt > 0 {
				redelivered++
			}
		}
		slices.Sort(lat)
		p99, worst := lat[(len(lat)*99+99)/100-1], lat[len(lat)-1]
		_, conns := w.fake.SocketConnections()
		m := gather(t, reg)
		t.Logf("%d envelopes (%.0f deliveries), %d connections, %d acked after redelivery; ack p50 %s p99 %s max %s; all unfurled in %s",
			len(lat), m[`triage_slack_socket_envelopes_total{type="events_api"}`], conns, redelivered,
			lat[len(lat)/2], p99, worst, elapsed.Round(time.Millisecond))
		if worst > 3*time.Second {
			t.Errorf("an ack took %s", worst)
		}
		if conns < 3 {
			t.Errorf("%d connections, want 3 (a refresh and a drop)", conns)
		}
		st := integ.SocketState()
		if !st.Connected || st.Reconnects < 2 || st.LastError == "" {
			t.Errorf("state: %+v", st)
		}
		if m["triage_slack_socket_connections_total"] < 3 || m["triage_slack_socket_reconnects_total"] < 2 ||
			m[`triage_slack_socket_envelopes_total{type="events_api"}`] < n || m["triage_slack_socket_ack_seconds_count"] < n ||
			m["triage_slack_socket_connected"] != 1 {
			t.Errorf("metrics: %v", m)
		}
	})
}

// TestSocketModeTwoProcesses: two integrations on one PostgreSQL database,
// each with its own connection (the fake sends to the newest). The same
// events delivered once through each connection are handled once.
func TestSocketModeTwoProcesses(t *testing.T) {
	t.Parallel()
	w := newWorld(t, store.Postgres)
	other := slack.New(slack.Deps{Store: w.s, Signer: signing.New([]byte(secretKey)), Box: w.box, Config: w.cfg,
		HTTPClient: &http.Client{Timeout: 5 * time.Second}, Now: w.clock.Now, Issues: w.svc})
	link := w.issueURL(w.issue)
	const n = 20
	ts := make([]string, 2*n)
	for k := range ts {
		ts[k] = w.fake.PostUserMessage("C1", "U2", "look at <"+link+">")
	}
	send := func(k int) string {
		return w.fake.SendEventsAPI(linkShared("T1", fmt.Sprintf("EvP%03d", k), "C1", ts[k], link))
	}
	w.runSocket(w.integ, 1)
	for k := range n { // to the first process, the only one connected
		w.ack(send(k))
	}
	stopOther := w.runSocket(other, 2)
	var ids []string
	for k := range 2 * n { // to the second: n already handled by the first, n new
		ids = append(ids, send(k))
	}
	for _, id := range ids {
		w.ack(id)
	}
	if err := stopOther(); err != nil {
		t.Fatal(err)
	}
	for k := n; k < 2*n; k++ { // the new ones again, to the first
		w.ack(send(k))
	}
	ctx, cancel := w.wait()
	defer cancel()
	if calls, err := w.fake.WaitForCalls(ctx, "chat.unfurl", 2*n); err != nil {
		t.Fatalf("unfurls: %d: %v", len(calls), err)
	}
	// A marker event after them, to the first process's connection: once
	// it is unfurled and the work has settled, a second handling of any
	// event would have shown.
	markerTS := w.fake.PostUserMessage("C1", "U2", "look at <"+link+">")
	w.ack(w.fake.SendEventsAPI(linkShared("T1", "EvPmarker", "C1", markerTS, link)))
	if calls, err := w.fake.WaitForCalls(ctx, "chat.unfurl", 2*n+1); err != nil {
		t.Fatalf("marker unfurl: %d: %v", len(calls), err)
	}
	w.settle()
	if got := len(w.fake.Calls("chat.unfurl")); got != 2*n+1 {
		t.Errorf("chat.unfurl calls = %d, want %d (and the marker's): an event was handled twice", got, 2*n)
	}
}

// TestSocketModeStops: Slack turning Socket Mode off for the app, or a
// wrong app token, stop the loop with a reason in the state.
func TestSocketModeStops(t *testing.T) {
	t.Parallel()
	w := newWorld(t, store.SQLite)
	stop := w.runSocket(w.integ, 1)
	if err := w.integ.RunSocketMode(w.ctx, socketAppToken); !errors.Is(err, slack.ErrSocketModeRunning) {
		t.Errorf("second loop: %v", err)
	}
	// A warning: a new connection, then the old one is let go.
	w.fake.SendDisconnect("warning")
	ctx, cancel := w.wait()
	defer cancel()
	if err := w.fake.WaitForSocketConnections(ctx, 2); err != nil {
		t.Fatalf("no reconnect after a warning: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if open, _ := w.fake.SocketConnections(); open == 1 {
			break
		}
	}
	if open, _ := w.fake.SocketConnections(); open != 1 {
		t.Errorf("%d connections open after a warning, want 1", open)
	}
	w.ack(w.fake.SendEventsAPI(linkShared("T1", "EvW1", "C1", "1.1", "https://elsewhere.example.com/")))

	w.fake.SendDisconnect("link_disabled")
	for deadline := time.Now().Add(5 * time.Second); !w.integ.SocketState().Stopped && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if err := stop(); err == nil || !strings.Contains(err.Error(), "link_disabled") {
		t.Errorf("after link_disabled: %v", err)
	}
	if st := w.integ.SocketState(); !st.Stopped || st.Connected || !strings.Contains(st.LastError, "link_disabled") {
		t.Errorf("state: %+v", st)
	}
	err := w.integ.RunSocketMode(ctx, "xapp-1-unknown")
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("unknown app token: %v", err)
	}
	if err := w.integ.RunSocketMode(ctx, "xoxb-not-an-app-token"); err == nil {
		t.Error("a bot token was taken")
	}
}

func newRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

// gather flattens reg into name{labels} → value; histograms as _count.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[name] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[name] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}
