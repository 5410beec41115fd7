package alert_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"triage"
	"triage/internal/issues"
	"triage/internal/slack"
	"triage/internal/testutil/dbtest"
)

// TestRegressionUpdatesMessageOfASlackAction: someone shares an issue's
// link, Triage unfurls it, Ada clicks Resolve on the unfurl and it says
// Resolved. The issue has no alert card. When the error comes back, the
// unfurl must stop saying Resolved: a regression rebuilds every message
// Triage remembers about the issue, not only alert cards.
func TestRegressionUpdatesMessageOfASlackAction(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{})
			w.send("shared", "error", "", "")
			issue := w.issueOf("shared")
			link := "https://triage.example.com" + issue.Path()
			ts := w.fake.PostUserMessage("C1", "U1", "look at <"+link+">")
			w.slackPost(t, "/extensions/slack/event/", "application/json", linkSharedEvent(ts, link))
			w.waitFor("the unfurl", func() bool { return strings.Contains(w.unfurl(ts, link), "shared failed") })

			container := map[string]any{"type": "message_attachment", "message_ts": ts, "attachment_id": 1, "channel_id": "C1",
				"is_ephemeral": false, "is_app_unfurl": true, "app_unfurl_url": link}
			w.clickResolve(t, w.unfurl(ts, link), container, ts)
			w.waitFor("the unfurl saying Resolved", func() bool {
				u := w.unfurl(ts, link)
				return strings.Contains(u, "*Resolved*") && strings.Contains(u, "Resolved by")
			})
			if got := w.status(issue.ID); got != triage.StatusResolved {
				t.Fatalf("status %s after the click, want resolved", got)
			}

			w.send("shared", "error", "", "")
			if got := w.status(issue.ID); got != triage.StatusUnresolved {
				t.Fatalf("status %s after the event, want unresolved (a regression)", got)
			}
			w.waitFor("the unfurl showing the regression", func() bool {
				u := w.unfurl(ts, link)
				return strings.Contains(u, "*Unresolved*") && !strings.Contains(u, "Resolved by")
			})
			if n := len(w.messages("C1")); n != 1 {
				t.Errorf("%d top-level messages in C1, want only the shared link", n)
			}
		})
	}
}

// TestRegressionUpdatesAlertCard: an alert posts the issue's card, Ada
// resolves the issue by clicking Resolve on that card, and the card says
// Resolved. When the error comes back, the card shows it unresolved again
// and its thread says it regressed.
func TestRegressionUpdatesAlertCard(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{})
			issue := w.cardFor("alerted")
			card := w.messages("C1")[0]
			container := map[string]any{"type": "message", "message_ts": card.TS, "channel_id": "C1", "is_ephemeral": false}
			w.clickResolve(t, string(card.Blocks), container, card.TS)
			w.waitFor("the card saying Resolved and its thread saying who", func() bool {
				m := w.messages("C1")[0]
				return strings.Contains(string(m.Blocks), "*Resolved*") && len(m.Replies) == 1
			})
			if got := w.messages("C1")[0].Replies[0].Text; got != "*Resolved by <@U1>*" {
				t.Errorf("reply %q, want *Resolved by <@U1>*", got)
			}

			w.send("alerted", "error", "", "")
			if got := w.status(issue.ID); got != triage.StatusUnresolved {
				t.Fatalf("status %s after the event, want unresolved (a regression)", got)
			}
			w.waitFor("the card showing the regression and its thread saying so", func() bool {
				m := w.messages("C1")[0]
				return strings.Contains(string(m.Blocks), "*Unresolved*") && !strings.Contains(string(m.Blocks), "Resolved by") &&
					len(m.Replies) == 2
			})
			if got := w.messages("C1")[0].Replies[1].Text; got != "*Regressed*: a new event arrived after the issue was resolved" {
				t.Errorf("reply %q, want the regression", got)
			}
			if n := len(w.messages("C1")); n != 1 {
				t.Errorf("%d top-level messages in C1, want the one card", n)
			}
		})
	}
}

// TestRegressionWhileAlertCardInFlight: an alert's card is still on its
// way to Slack when the issue is resolved and then regresses. Once the
// card is out it shows the issue unresolved, and its thread says both who
// resolved it and that it regressed.
func TestRegressionWhileAlertCardInFlight(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{})
			w.rule(`{"name": "New issues", "conditions": {"firstSeen": true}, "action": {"integrationId": "` +
				itoa(w.integrationID) + `", "channel": "C1"}}`)
			w.fake.SetLatency("chat.postMessage", 1500*time.Millisecond)
			w.send("inflight", "error", "", "")
			issue := w.issueOf("inflight")
			w.waitFor("the pending notification", func() bool {
				has, _ := w.s.HasAlertNotifications(w.ctx, issue.ID)
				return has
			})
			if _, err := w.issues.Update(w.ctx, triage.Actor{UserID: w.admin.ID, Source: triage.SourceWeb}, issue.ID,
				issues.Update{Status: &issues.StatusChange{Status: triage.StatusResolved}}); err != nil {
				t.Fatal(err)
			}
			w.send("inflight", "error", "", "")
			if got := w.status(issue.ID); got != triage.StatusUnresolved {
				t.Fatalf("status %s after the event, want unresolved (a regression)", got)
			}
			want := []string{"*Regressed*: a new event arrived after the issue was resolved", "*Resolved by <@U1>*"}
			thread := func() []string {
				ms := w.messages("C1")
				if len(ms) == 0 {
					return nil
				}
				var out []string
				for _, r := range ms[0].Replies {
					out = append(out, r.Text)
				}
				slices.Sort(out)
				return out
			}
			w.waitFor("the card showing the regression and its thread saying what happened", func() bool {
				ms := w.messages("C1")
				return len(ms) == 1 && strings.Contains(string(ms[0].Blocks), "*Unresolved*") && len(ms[0].Replies) >= 2
			})
			if got := thread(); !slices.Equal(got, want) {
				t.Errorf("thread %q, want %q", got, want)
			}
		})
	}
}

// slackPost sends a request to one of the Slack integration's endpoints,
// signed as Slack signs it.
func (w *world) slackPost(t *testing.T, path, contentType, body string) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("POST /extensions/slack/action/", w.integ.Action())
	mux.Handle("POST /extensions/slack/event/", w.integ.Event())
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	r.Header.Set("Content-Type", contentType)
	r.Header.Set(slack.HeaderTimestamp, ts)
	r.Header.Set(slack.HeaderSignature, slack.ComputeSignature("ssecret", ts, []byte(body)))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
	}
}

func linkSharedEvent(ts, link string) string {
	b, _ := json.Marshal(map[string]any{
		"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": "Ev1", "event_time": 1700000000,
		"event": map[string]any{"type": "link_shared", "channel": "C1", "user": "U1", "message_ts": ts,
			"source": "conversations_history", "links": []map[string]string{{"domain": "triage.example.com", "url": link}}, "event_ts": ts},
	})
	return string(b)
}

// unfurl is what Slack shows under the message at ts for link: the
// unfurl's JSON, "" when there is none.
func (w *world) unfurl(ts, link string) string {
	m, ok := w.fake.GetMessage("C1", ts)
	if !ok {
		return ""
	}
	return string(m.Unfurls[link])
}

// clickResolve clicks the Resolve button of a Block Kit message (blocks,
// in the container) as Ada, who is linked as U1.
func (w *world) clickResolve(t *testing.T, blocks string, container map[string]any, messageTS string) {
	t.Helper()
	var msg struct {
		Blocks []struct {
			BlockID  string           `json:"block_id"`
			Elements []map[string]any `json:"elements"`
		} `json:"blocks"`
	}
	if !strings.HasPrefix(strings.TrimSpace(blocks), "{") {
		blocks = `{"blocks":` + blocks + `}`
	}
	if err := json.Unmarshal([]byte(blocks), &msg); err != nil {
		t.Fatalf("blocks %s: %v", blocks, err)
	}
	var act map[string]any
	for _, b := range msg.Blocks {
		for _, el := range b.Elements {
			// "status:resolve" on a project without releases, as here.
			if id := el["action_id"]; id == "status:resolve" || id == "resolve_dialog" {
				act = map[string]any{"action_id": id, "block_id": b.BlockID, "type": el["type"], "value": el["value"], "action_ts": "1"}
			}
		}
	}
	if act == nil {
		t.Fatalf("no Resolve button in %s", blocks)
	}
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "team": map[string]any{"id": "T1", "domain": "acme"},
		"user":       map[string]any{"id": "U1", "username": "ada", "team_id": "T1"},
		"api_app_id": "A1", "token": "x", "container": container, "trigger_id": w.fake.NewTriggerID(),
		"channel": map[string]any{"id": "C1", "name": "alerts"}, "response_url": w.fake.NewMessageResponseURL("T1", "C1", "U1", messageTS),
		"actions": []any{act},
	})
	w.slackPost(t, "/extensions/slack/action/", "application/x-www-form-urlencoded", url.Values{"payload": {string(payload)}}.Encode())
}
