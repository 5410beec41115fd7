package alert_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"triage"

	"triage/internal/eventwriter"
	"triage/internal/ingest"
	"triage/internal/jobs"
	"triage/internal/slack/slackfake"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// sendVia ingests one event through the given process's event writer
// (the world's send goes through the first process's).
func (w *world) sendVia(wr *eventwriter.Writer, kind, level string) {
	w.t.Helper()
	id := w.eventSeq.Add(1)
	body := fmt.Sprintf(`{"event_id":"%032x","level":%q,"platform":"go",
		"exception":[{"type":"*errors.errorString","value":"%s failed","stacktrace":{"frames":[
		{"module":"example.com/app","function":%q,"filename":"app.go","lineno":7,"in_app":true}]}}]}`,
		id, level, kind, kind)
	e, err := ingest.ParseStore([]byte(body), time.Now().UTC())
	if err != nil {
		w.t.Error(err)
		return
	}
	if err := wr.Save(w.ctx, w.project.ID, []*ingest.Event{e}); err != nil {
		w.t.Error(err)
	}
}

// writers returns an event writer per process: on PostgreSQL a second
// process with its own writer and River client, as two `serve` processes
// on one database.
func (w *world) writers(engine store.Engine) []*eventwriter.Writer {
	out := []*eventwriter.Writer{w.writer}
	if engine == store.Postgres {
		p := w.startProc(false)
		wr := eventwriter.New(p.s, p.jobs, p.issues, slog.New(slog.NewTextHandler(io.Discard, nil)), nil,
			eventwriter.EventJobFilter(p.alerts.WantsEventJobs))
		go wr.Run(w.ctx)
		out = append(out, wr)
	}
	return out
}

// count runs a COUNT query.
func (w *world) count(query string, args ...any) int64 {
	w.t.Helper()
	var n int64
	if err := w.s.Pool().QueryRowContext(w.ctx, query, args...).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// TestOneCardPerIssueAndChannel: bursts of 5, 20 and 100 events of one
// issue, sent at once, at two rules (two channels) that fire on every
// event with no throttle: each channel gets exactly one card for the
// issue and every other notification in that card's thread; every
// notification is delivered. On PostgreSQL two processes ingest the
// events and work the jobs.
func TestOneCardPerIssueAndChannel(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		for _, n := range []int{5, 20, 100} {
			t.Run(fmt.Sprintf("%s/%d", engine, n), func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, engine, worldOpts{})
				writers := w.writers(engine)
				w.fake.AddChannel(slackfake.Channel{ID: "C5", TeamID: "T1", Name: "errors", BotMember: true})
				integ := itoa(w.integrationID)
				var rules []int64
				for _, ch := range []string{"C1", "C5"} {
					r := w.rule(`{"name": "errors to ` + ch + `", "conditions": {"level": "error"}, "throttleMinutes": 0,
						"action": {"integrationId": "` + integ + `", "channel": "` + ch + `"}}`)
					rules = append(rules, r.ID)
				}
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() { w.sendVia(writers[i%len(writers)], "burst", "error") })
				}
				wg.Wait()
				issue := w.issueOf("burst")
				if issue.TimesSeen != int64(n) {
					t.Fatalf("issue seen %d times, want %d", issue.TimesSeen, n)
				}
				// Every batch of events was evaluated and its notifications
				// are finished.
				w.waitFor("every notification finished", func() bool {
					return w.count(`SELECT COUNT(*) FROM river_job WHERE kind IN ('event.received', 'alert.notify', 'alert.deliver')
						AND state NOT IN ('completed', 'cancelled', 'discarded')`) == 0
				})
				for k, ch := range []string{"C1", "C5"} {
					notified := w.notifications(rules[k])
					total := notified[triage.NotificationDelivered]
					if notified[triage.NotificationPending]+notified[triage.NotificationFailed]+notified[triage.NotificationCancelled] != 0 || total == 0 {
						t.Fatalf("%s: notifications %v, want all delivered", ch, notified)
					}
					msgs := w.messages(ch)
					if len(msgs) != 1 {
						t.Fatalf("%s: %d top-level messages for one issue (%d notifications), want 1 card", ch, len(msgs), total)
					}
					if got := int64(len(msgs[0].Replies)); got != total-1 {
						t.Errorf("%s: the card has %d replies, want %d (one per later notification)", ch, got, total-1)
					}
					t.Logf("%s: %d events, %d notifications: 1 card and %d replies", ch, n, total, len(msgs[0].Replies))
				}
			})
		}
	}
}

// TestFrequencyFiresOnceOnTheCrossingEvent: "more than 3 in 5 minutes"
// with no throttle, twelve events of one issue sent from three senders at
// once (on PostgreSQL through two processes), while the rule's jobs run:
// the rule fires once, on the batch that holds the issue's 4th event, and
// never for an earlier batch whose job ran after later events were
// counted.
func TestFrequencyFiresOnceOnTheCrossingEvent(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{})
			writers := w.writers(engine)
			r := w.rule(`{"name": "more than 3", "conditions": {"frequency": {"count": 3, "minutes": 5}}, "throttleMinutes": 0,
				"action": {"integrationId": "` + itoa(w.integrationID) + `", "channel": "C1"}}`)
			var wg sync.WaitGroup
			for s := range 3 {
				wg.Go(func() {
					for range 4 {
						w.sendVia(writers[s%len(writers)], "freq", "error")
					}
				})
			}
			wg.Wait()
			w.waitFor("every job finished", func() bool {
				return w.count(`SELECT COUNT(*) FROM river_job WHERE kind IN ('event.received', 'alert.notify', 'alert.deliver')
					AND state NOT IN ('completed', 'cancelled', 'discarded')`) == 0
			})
			ns, err := w.s.Pool().QueryContext(w.ctx, `SELECT cause FROM alert_notifications WHERE rule_id = $1`, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			var causes []string
			for ns.Next() {
				var c string
				if err := ns.Scan(&c); err != nil {
					t.Fatal(err)
				}
				causes = append(causes, c)
			}
			ns.Close()
			batches := w.eventBatches()
			if len(causes) != 1 {
				t.Fatalf("the rule fired %d times (%v) over %d batches, want once", len(causes), causes, len(batches))
			}
			b, ok := batches[strings.TrimPrefix(causes[0], "event.received:")]
			if !ok {
				t.Fatalf("the notification's cause %s is no batch of events", causes[0])
			}
			if first := b.TimesSeen - b.Count + 1; first > 4 || b.TimesSeen < 4 {
				t.Errorf("fired for the batch of events %d to %d, want the one that holds the 4th", first, b.TimesSeen)
			}
			if m := w.messages("C1"); len(m) != 1 || len(m[0].Replies) != 0 {
				t.Errorf("#alerts has %d messages, want the one card", len(m))
			}
			t.Logf("%d batches; fired on the batch of events %d to %d", len(batches), b.TimesSeen-b.Count+1, b.TimesSeen)
		})
	}
}

// eventBatches reads the event.received jobs by their newest event.
func (w *world) eventBatches() map[string]jobs.EventReceived {
	w.t.Helper()
	args := "CAST(args AS TEXT)"
	if w.s.Engine == store.SQLite {
		args = "json(args)" // River keeps SQLite's binary JSON
	}
	rows, err := w.s.Pool().QueryContext(w.ctx, `SELECT `+args+` FROM river_job WHERE kind = 'event.received'`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]jobs.EventReceived{}
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			w.t.Fatal(err)
		}
		var a jobs.EventReceived
		if err := json.Unmarshal(raw, &a); err != nil {
			w.t.Fatal(err)
		}
		out[a.EventID] = a
	}
	return out
}

// TestCardHolderRetried: the notification that holds the card fails
// (Slack answers 500) and is retried; an alert that arrives meanwhile
// waits for the card instead of posting a second one, and the retry posts
// the card itself (it finds its own claim). One card, one reply.
func TestCardHolderRetried(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{})
			w.writers(engine) // a second process on PostgreSQL works jobs too
			w.rule(`{"name": "errors", "conditions": {"level": "error"}, "throttleMinutes": 0,
				"action": {"integrationId": "` + itoa(w.integrationID) + `", "channel": "C1"}}`)
			w.fake.FailNextHTTP("chat.postMessage", http.StatusInternalServerError)
			// Slack answers slowly, so that the retry is still to come
			// (River waits about a second) when the second alert arrives.
			w.fake.SetLatency("chat.postMessage", time.Second)
			w.send("flaky", "error", "", "")
			w.waitFor("the card's first attempt failed", func() bool {
				return w.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'alert.notify' AND errors IS NOT NULL`) == 1
			})
			w.send("flaky", "error", "", "")
			if n := w.count(`SELECT COUNT(*) FROM alert_notifications WHERE status = 'delivered'`); n != 0 {
				t.Fatalf("%d notifications out before the retry: the test proves nothing", n)
			}
			w.waitFor("two notifications delivered", func() bool {
				return w.count(`SELECT COUNT(*) FROM alert_notifications WHERE status = 'delivered'`) == 2
			})
			m := w.messages("C1")
			if len(m) != 1 || len(m[0].Replies) != 1 {
				t.Fatalf("#alerts has %d cards (%+v), want one card with one reply", len(m), m)
			}
			var holder, first int64
			if err := w.s.Pool().QueryRowContext(w.ctx, `SELECT notification_id FROM alert_cards`).Scan(&holder); err != nil {
				t.Fatal(err)
			}
			if err := w.s.Pool().QueryRowContext(w.ctx, `SELECT MIN(id) FROM alert_notifications`).Scan(&first); err != nil {
				t.Fatal(err)
			}
			if holder != first {
				t.Errorf("the card is notification %d's, want the first one's (%d), retried", holder, first)
			}
		})
	}
}
