package alert_test

import (
	"strings"
	"testing"
	"time"

	"triage"
	"triage/internal/issues"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestCardLifecycle: an event fires a rule and the card lands in its
// channel; a resolve (as the web or Slack does it, through the issue
// service) rebuilds the card and says who resolved it in the thread; the
// error coming back regresses the issue and the thread says so; a repeated
// alert goes to the card's thread instead of a new card.
func TestCardLifecycle(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{})
			w.rule(`{"name": "New issues", "conditions": {"firstSeen": true}, "action": {"integrationId": "` +
				itoa(w.integrationID) + `", "channel": "C1"}}`)
			w.send("checkout", "error", "production", "1.0")
			w.waitFor("the card", func() bool { return len(w.messages("C1")) == 1 })
			card := w.messages("C1")[0]
			issue := w.issueOf("checkout")
			if !strings.Contains(string(card.Blocks), "checkout failed") || card.BotID == "" {
				t.Fatalf("card: %s", card.Blocks)
			}

			// Ada (linked as U1) resolves it on the web.
			_, err := w.issues.Update(w.ctx, triage.Actor{UserID: w.admin.ID, Source: triage.SourceWeb}, issue.ID,
				issues.Update{Status: &issues.StatusChange{Status: triage.StatusResolved}})
			if err != nil {
				t.Fatal(err)
			}
			w.waitFor("the resolve reply and the rebuilt card", func() bool {
				m := w.messages("C1")[0]
				return len(m.Replies) == 1 && strings.Contains(string(m.Blocks), "*Resolved*")
			})
			if got := w.messages("C1")[0].Replies[0].Text; got != "*Resolved by <@U1>*" {
				t.Errorf("reply %q, want *Resolved by <@U1>*", got)
			}

			// Mel is not linked: named, with where they acted from.
			_, err = w.issues.Update(w.ctx, triage.Actor{UserID: w.member.ID, Source: triage.SourceAPI}, issue.ID,
				issues.Update{Status: &issues.StatusChange{Status: triage.StatusUnresolved}})
			if err != nil {
				t.Fatal(err)
			}
			w.waitFor("the reopen reply", func() bool { return len(w.messages("C1")[0].Replies) == 2 })
			if got := w.messages("C1")[0].Replies[1].Text; got != "*Reopened by Mel (through the API)*" {
				t.Errorf("reply %q", got)
			}
			_, err = w.issues.Update(w.ctx, triage.Actor{UserID: w.member.ID, Source: triage.SourceWeb}, issue.ID,
				issues.Update{Status: &issues.StatusChange{Status: triage.StatusResolved}})
			if err != nil {
				t.Fatal(err)
			}
			w.waitFor("the second resolve reply", func() bool { return len(w.messages("C1")[0].Replies) == 3 })

			// The error comes back in a new release: a regression.
			w.send("checkout", "error", "production", "1.1")
			w.waitFor("the regression reply", func() bool { return len(w.messages("C1")[0].Replies) == 4 })
			if got := w.messages("C1")[0].Replies[3].Text; !strings.HasPrefix(got, "*Regressed* in 1.1") {
				t.Errorf("reply %q, want Regressed in 1.1", got)
			}
			w.waitFor("the card showing Unresolved again", func() bool {
				return strings.Contains(string(w.messages("C1")[0].Blocks), "*Unresolved*")
			})

			// A rule on every event, threaded: the next alert is a reply.
			w.rule(`{"name": "Every event", "throttleMinutes": 0, "action": {"integrationId": "` +
				itoa(w.integrationID) + `", "channel": "#alerts"}}`)
			w.send("checkout", "error", "production", "1.1")
			w.waitFor("the repeat in the thread", func() bool { return len(w.messages("C1")[0].Replies) == 5 })
			if got := w.messages("C1")[0].Replies[4].Text; !strings.Contains(got, "*Seen again*") || !strings.Contains(got, "Every event") {
				t.Errorf("repeat %q", got)
			}
			if n := len(w.messages("C1")); n != 1 {
				t.Errorf("%d top-level messages, want the one card", n)
			}
			if v := w.metric("triage_alert_notifications_total", "result", "posted"); v != 1 {
				t.Errorf("posted = %v, want 1", v)
			}
			list, err := w.s.AlertCards(w.ctx, issue.ID)
			if err != nil || len(list) != 1 || list[0] != (store.AlertCard{IntegrationID: w.integrationID, ChannelID: "C1", TS: card.TS}) {
				t.Errorf("cards %+v, %v", list, err)
			}
		})
	}
}

// TestChangeWhileCardInFlight: a change made while the card is still on
// its way reaches the card's thread once it is out, and the card shows
// the change.
func TestChangeWhileCardInFlight(t *testing.T) {
	t.Parallel()
	w := newWorld(t, store.SQLite, worldOpts{})
	w.rule(`{"name": "New issues", "conditions": {"firstSeen": true}, "action": {"integrationId": "` +
		itoa(w.integrationID) + `", "channel": "C1"}}`)
	w.fake.SetLatency("chat.postMessage", 700*time.Millisecond)
	w.send("slowpost", "error", "", "")
	issue := w.issueOf("slowpost")
	w.waitFor("the pending notification", func() bool {
		has, _ := w.s.HasAlertNotifications(w.ctx, issue.ID)
		return has
	})
	if _, err := w.issues.Update(w.ctx, triage.Actor{UserID: w.admin.ID, Source: triage.SourceWeb}, issue.ID,
		issues.Update{Status: &issues.StatusChange{Status: triage.StatusResolved}}); err != nil {
		t.Fatal(err)
	}
	if n := len(w.messages("C1")); n != 0 {
		t.Fatalf("the card was out before the change (%d messages): the test proves nothing", n)
	}
	w.waitFor("the card with its reply, showing the resolution", func() bool {
		m := w.messages("C1")
		return len(m) == 1 && len(m[0].Replies) == 1 && m[0].Replies[0].Text == "*Resolved by <@U1>*" &&
			strings.Contains(string(m[0].Blocks), "Resolved")
	})
}
