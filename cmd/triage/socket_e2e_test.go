package main

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"triage/internal/store"
)

func linkSharedEvent(eventID, ts, link string) map[string]any {
	return map[string]any{
		"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": eventID, "event_time": 1700000000,
		"event": map[string]any{"type": "link_shared", "channel": "C1", "user": "U1", "message_ts": ts,
			"source": "conversations_history", "event_ts": ts,
			"links": []map[string]string{{"domain": "triage.test", "url": link}}},
	}
}

// TestSocketModeTwoProcesses: two `triage serve` instances share one
// PostgreSQL database, each with its own Socket Mode connection. Slack
// sends each envelope to one connection and redelivers to the other after
// a reconnect; every event is handled once across the two.
func TestSocketModeTwoProcesses(t *testing.T) {
	t.Parallel()
	// Every process calls itself http://triage.test, as behind one proxy.
	b := setupSlackPrefix(t, store.Postgres, "http://triage.test") // process 0, no Socket Mode
	b.install(t)
	fake := b.fake
	fake.AddAppToken("xapp-1-two")
	// A project and an issue whose link the workspace can unfurl.
	if _, _, err := triageCmd(t, b.env, "project", "create", "--org", "acme", "--slug", "web"); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), b.env["TRIAGE_DATABASE_URL"], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var issueID int64
	err = s.InTx(context.Background(), func(tx *store.Tx) error {
		i, err := tx.CreateIssue(context.Background(), store.NewIssue{ProjectID: 1, GroupHash: "h", Title: "TypeError: x is undefined", Level: "error", SeenAt: time.Now()})
		if err == nil {
			issueID = i.ID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	withSocket := func() env {
		e := maps.Clone(b.env)
		e["TRIAGE_ADDR"], e["SLACK_APP_TOKEN"] = freeAddr(t), "xapp-1-two"
		return e
	}
	link := fmt.Sprintf("http://triage.test/organizations/acme/issues/%d/", issueID)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var ts []string
	for i := range 30 {
		ts = append(ts, fake.PostUserMessage("C1", "U1", fmt.Sprintf("see <%s> (%d)", link, i)))
	}
	send := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			id := fake.SendEventsAPI(linkSharedEvent(fmt.Sprintf("Ev%03d", i), ts[i], link))
			if _, err := fake.WaitForAck(ctx, id); err != nil {
				t.Fatalf("event %d not acknowledged: %v", i, err)
			}
		}
	}

	startServe(t, withSocket()) // process 1
	if err := fake.WaitForSocketConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	send(0, 15)
	startServe(t, withSocket()) // process 2: the newest connection gets what follows
	if err := fake.WaitForSocketConnections(ctx, 2); err != nil {
		t.Fatal(err)
	}
	send(5, 15) // redelivered: already handled by process 1
	send(15, 30)

	_, err = fake.WaitForCalls(ctx, "chat.unfurl", 30)
	if err != nil {
		got := map[string]string{}
		for _, c := range fake.Calls("chat.unfurl") {
			got[c.Params["ts"]] = c.Error
		}
		for i, x := range ts {
			if e, ok := got[x]; !ok || e != "" {
				t.Logf("message %d (ts %s): unfurled=%v error=%q", i, x, ok, e)
			}
		}
		t.Fatalf("%d unfurls, want 30: %v", len(fake.Calls("chat.unfurl")), err)
	}
	// A marker event after them: once it is unfurled, a duplicate
	// handling of an earlier one would have shown.
	ts = append(ts, fake.PostUserMessage("C1", "U1", fmt.Sprintf("see <%s> (marker)", link)))
	send(30, 31)
	if _, err := fake.WaitForCalls(ctx, "chat.unfurl", 31); err != nil {
		t.Fatalf("the marker was not unfurled: %v", err)
	}
	calls := fake.Calls("chat.unfurl")
	seen := map[string]int{}
	for _, c := range calls {
		seen[c.Params["ts"]]++
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	if len(calls) != 31 || len(seen) != 31 || dups != 0 {
		t.Errorf("%d chat.unfurl calls for %d messages (%d duplicates); want each of 30 messages and the marker unfurled once", len(calls), len(seen), dups)
	}
	if open, total := fake.SocketConnections(); open < 2 || total < 2 {
		t.Errorf("socket connections open %d, total %d; want both processes connected", open, total)
	}
}
