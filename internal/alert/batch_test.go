package alert_test

import (
	"net/http"
	"testing"

	"triage"
	"triage/internal/slack/slackfake"
	"triage/internal/testutil/dbtest"
)

// TestBatchHandsOffWhatItCannotEnd: an alert to two channels is one job
// (alert.deliver). Slack answers its two posts with a 500 and a 429: each
// notification goes on in a job of its own (retried; snoozed for the
// Retry-After, which is honoured), and each channel gets its card once. A
// second alert, delivered by a batch too, goes to the two cards' threads.
// On PostgreSQL a second process works jobs as well.
func TestBatchHandsOffWhatItCannotEnd(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{})
			w.writers(engine)
			w.fake.AddChannel(slackfake.Channel{ID: "C5", TeamID: "T1", Name: "errors", BotMember: true})
			integ := itoa(w.integrationID)
			var rules []int64
			for _, ch := range []string{"C1", "C5"} {
				r := w.rule(`{"name": "errors to ` + ch + `", "conditions": {"level": "error"}, "throttleMinutes": 0,
					"action": {"integrationId": "` + integ + `", "channel": "` + ch + `"}}`)
				rules = append(rules, r.ID)
			}
			w.fake.FailNextHTTP("chat.postMessage", http.StatusInternalServerError)
			w.fake.FailNextHTTP("chat.postMessage", http.StatusTooManyRequests)
			w.send("batched", "error", "", "")
			w.waitFor("both notifications delivered", func() bool {
				return w.count(`SELECT COUNT(*) FROM alert_notifications WHERE status = 'delivered'`) == 2
			})
			w.settle()
			if n := w.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'alert.deliver'`); n != 1 {
				t.Fatalf("%d alert.deliver jobs, want the one batch: the test proves nothing", n)
			}
			if n := w.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'alert.notify'`); n != 2 {
				t.Errorf("%d notifications went on in jobs of their own, want the 2 Slack refused", n)
			}
			for _, ch := range []string{"C1", "C5"} {
				if m := w.messages(ch); len(m) != 1 {
					t.Fatalf("%s: %d top-level messages, want 1 card", ch, len(m))
				}
			}
			w.send("batched", "error", "", "")
			w.waitFor("the second alert delivered", func() bool {
				return w.count(`SELECT COUNT(*) FROM alert_notifications WHERE status = 'delivered'`) == 4
			})
			w.settle()
			for k, ch := range []string{"C1", "C5"} {
				m := w.messages(ch)
				if len(m) != 1 || len(m[0].Replies) != 1 {
					t.Errorf("%s: %d top-level messages (%+v), want 1 card with 1 reply", ch, len(m), m)
				}
				if got := w.notifications(rules[k]); got[triage.NotificationDelivered] != 2 || len(got) != 1 {
					t.Errorf("%s: notifications %v, want 2 delivered", ch, got)
				}
			}
			if st := w.fake.RateLimitStats(); st.Limited != 1 || st.Unhonoured != 0 {
				t.Errorf("429s %d (want 1), unhonoured %d (want 0)", st.Limited, st.Unhonoured)
			}
		})
	}
}
