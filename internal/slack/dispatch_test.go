package slack_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"triage"
	"triage/internal/issues"
	"triage/internal/slack/slackfake"
)

// TestBurstOfClicksEndsOnTheLatestState: many people click Resolve and
// Unresolve on one card at once. Every click is answered, and when the
// rebuilds settle the card shows the state the issue was left in, never an
// older one that crossed a newer rebuild.
func TestBurstOfClicksEndsOnTheLatestState(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		ts, err := w.integ.PostCard(w.ctx, w.in.ID, "C1", "", w.plain.ID)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := w.fake.GetMessage("C1", ts)
		blockID, _ := element(t, m.Blocks, "status:resolve")
		const clicks = 40
		var wg sync.WaitGroup
		var urls []string
		for k := range clicks {
			ru := w.fake.NewMessageResponseURL("T1", "C1", "U2", ts)
			urls = append(urls, ru)
			action, value := "status:resolve", "resolved"
			if k%2 == 1 {
				action, value = "status:unresolve", "unresolved"
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec := w.postAction(w.blockAction("U2", map[string]any{"type": "message", "message_ts": ts, "channel_id": "C1"}, ru,
					map[string]any{"action_id": action, "block_id": blockID, "type": "button", "value": value}))
				if rec.Code != http.StatusOK {
					t.Errorf("click %d: %d %s", k, rec.Code, rec.Body)
				}
			}()
		}
		wg.Wait()
		want := "*Reopened by <@U2>*"
		if w.reload(w.plain).Status == triage.StatusResolved {
			want = "*Resolved by <@U2>*"
		}
		// Settled: no rebuild is queued or on its way, so the card shows
		// what the last one made of it.
		w.settle()
		posts := 0
		for _, ru := range urls {
			for _, p := range w.fake.ResponseURLPosts(ru) {
				posts++
				if p.Status != http.StatusOK {
					t.Fatalf("response url post: %d %s", p.Status, p.Body)
				}
			}
		}
		if m, _ := w.fake.GetMessage("C1", ts); !strings.Contains(plainJSON(m.Blocks), want) {
			t.Fatalf("the card settled on another state than %q: %s", want, m.Blocks)
		}
		if posts == 0 || posts > clicks {
			t.Errorf("%d rebuilds for %d clicks", posts, clicks)
		}
	})
}

// TestResendAfterAChangeEditsTheMessage: a click's card goes back through
// its response URL, and Slack takes a response URL five times only. When the
// issue changed while that card was on its way, the card sent again to show
// the change is an edit of the bot's message, not another response URL post.
func TestResendAfterAChangeEditsTheMessage(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		ts, err := w.integ.PostCard(w.ctx, w.in.ID, "C1", "", w.plain.ID)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := w.fake.GetMessage("C1", ts)
		blockID, _ := element(t, m.Blocks, "status:resolve")
		hold := w.fake.HoldNext(slackfake.ResponseURLMethod)
		ru := w.fake.NewMessageResponseURL("T1", "C1", "U2", ts)
		rec := w.postAction(w.blockAction("U2", map[string]any{"type": "message", "message_ts": ts, "channel_id": "C1"}, ru,
			map[string]any{"action_id": "status:resolve", "block_id": blockID, "type": "button", "value": "resolved"}))
		if rec.Code != http.StatusOK {
			t.Fatalf("click: %d %s", rec.Code, rec.Body)
		}
		ctx, cancel := w.wait()
		defer cancel()
		select {
		case <-hold.Arrived():
		case <-ctx.Done():
			t.Fatal("the click's card never reached its response URL")
		}
		// While the "Resolved" card is on its way, someone reopens the issue.
		if _, err := w.svc.Update(w.ctx, triage.Actor{UserID: w.owner.ID, Source: triage.SourceWeb}, w.plain.ID,
			issues.Update{Status: &issues.StatusChange{Status: triage.StatusUnresolved}}); err != nil {
			t.Fatal(err)
		}
		hold.Release()
		w.settle()
		posts := w.fake.ResponseURLPosts(ru)
		if len(posts) != 1 || posts[0].Status != http.StatusOK {
			var got []int
			for _, p := range posts {
				got = append(got, p.Status)
			}
			t.Errorf("response url posts answered %v, want the click's one, answered 200", got)
		}
		if m, _ := w.fake.GetMessage("C1", ts); !strings.Contains(plainJSON(m.Blocks), "*Unresolved*") {
			t.Errorf("the card shows the state before the reopen: %s", m.Blocks)
		}
	})
}

// TestWaitingRebuildIsNotSentTwice: Slack takes chat.update about 50
// times a minute per workspace. While a click's card is on its way,
// another click on the same card changes the issue; its rebuild waits
// behind the first and will show the change, so the first is not sent
// again: the card ends on the latest state without an edit.
func TestWaitingRebuildIsNotSentTwice(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		ts, err := w.integ.PostCard(w.ctx, w.in.ID, "C1", "", w.plain.ID)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := w.fake.GetMessage("C1", ts)
		blockID, _ := element(t, m.Blocks, "status:resolve")
		click := func(ru, action, value string) {
			t.Helper()
			rec := w.postAction(w.blockAction("U2", map[string]any{"type": "message", "message_ts": ts, "channel_id": "C1"}, ru,
				map[string]any{"action_id": action, "block_id": blockID, "type": "button", "value": value}))
			if rec.Code != http.StatusOK {
				t.Fatalf("click %s: %d %s", action, rec.Code, rec.Body)
			}
		}
		hold := w.fake.HoldNext(slackfake.ResponseURLMethod)
		first := w.fake.NewMessageResponseURL("T1", "C1", "U2", ts)
		click(first, "status:resolve", "resolved")
		ctx, cancel := w.wait()
		defer cancel()
		select {
		case <-hold.Arrived():
		case <-ctx.Done():
			t.Fatal("the first click's card never reached its response URL")
		}
		second := w.fake.NewMessageResponseURL("T1", "C1", "U2", ts)
		click(second, "status:unresolve", "unresolved")
		hold.Release()
		w.settle()
		if calls := w.fake.Calls("chat.update"); len(calls) != 0 {
			t.Errorf("chat.update called %d times, want none: the second click's rebuild shows its own change", len(calls))
		}
		for _, ru := range []string{first, second} {
			if posts := w.fake.ResponseURLPosts(ru); len(posts) != 1 || posts[0].Status != http.StatusOK {
				t.Errorf("response url posts %+v, want one answered 200", posts)
			}
		}
		if m, _ := w.fake.GetMessage("C1", ts); !strings.Contains(plainJSON(m.Blocks), "*Reopened by <@U2>*") {
			t.Errorf("the card does not show the second click: %s", m.Blocks)
		}
	})
}

// TestDrainWaitsForDeliveries: on shutdown, a card rebuild already on its
// way (here a slow chat.update) is finished before the database closes.
func TestDrainWaitsForDeliveries(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		ts, err := w.integ.PostCard(w.ctx, w.in.ID, "C1", "", w.plain.ID)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := w.fake.GetMessage("C1", ts)
		blockID, _ := element(t, m.Blocks, "status:resolve")
		w.fake.SetLatency("chat.update", 700*time.Millisecond)
		rec := w.postAction(w.blockAction("U2", map[string]any{"type": "message", "message_ts": ts, "channel_id": "C1"}, "",
			map[string]any{"action_id": "status:resolve", "block_id": blockID, "type": "button", "value": "resolved"}))
		if rec.Code != http.StatusOK {
			t.Fatalf("click: %d %s", rec.Code, rec.Body)
		}
		ctx, cancel := w.wait()
		defer cancel()
		if err := w.integ.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		calls := w.fake.Calls("chat.update")
		if len(calls) != 1 || calls[0].Error != "" {
			t.Fatalf("after Drain: chat.update calls %+v, want the rebuild done", calls)
		}
		if m, _ := w.fake.GetMessage("C1", ts); !strings.Contains(plainJSON(m.Blocks), "*Resolved by <@U2>*") {
			t.Errorf("card after Drain: %s", m.Blocks)
		}
	})
}
