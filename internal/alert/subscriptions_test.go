package alert_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"triage"
	"triage/internal/alert"
	"triage/internal/testutil/dbtest"
)

// TestSubscriptionDeliveryPacedAndRateLimited: a channel subscription
// goes through the alert delivery: a burst of matching issues to a channel
// Slack rate-limits gets there, each once, and every 429 (the injected
// one, and any Slack's limit adds when a loaded machine delays a send) is
// waited out: no request before its Retry-After. Issues the query
// excludes never reach the channel.
func TestSubscriptionDeliveryPacedAndRateLimited(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			// Triage paces #alerts at 2 a second; Slack would take 3.
			w := newWorld(t, engine, worldOpts{limits: alert.PaceLimits{Channel: alert.Rate{PerSecond: 2, Burst: 1}}})
			w.fake.SetChannelRateLimit(3, 1)
			ch := alert.ChannelRef{IntegrationID: w.integrationID, ChannelID: "C1", ChannelName: "alerts"}
			if _, err := w.alerts.Subscribe(w.ctx, w.admin.ID, ch, "api", "level:loud"); triage.ErrorCode(err) != triage.EINVALID ||
				!strings.Contains(triage.ErrorMessage(err), `cannot search for "level:loud"`) {
				t.Errorf("bad query: %v", err)
			}
			if _, err := w.alerts.Subscribe(w.ctx, w.outsider.ID, ch, "api", ""); triage.ErrorCode(err) != triage.ENOTFOUND {
				t.Errorf("someone outside the organization: %v, want ENOTFOUND", err)
			}
			sub, err := w.alerts.Subscribe(w.ctx, w.admin.ID, ch, "api", "level:error")
			if err != nil || sub.ChannelName != "alerts" || sub.Query != "level:error" {
				t.Fatalf("subscribe: %+v, %v", sub, err)
			}
			w.fake.FailNextHTTP("chat.postMessage", http.StatusTooManyRequests)
			const n = 6
			for k := range n {
				w.send(fmt.Sprintf("checkout%d", k), "error", "", "")
				w.send(fmt.Sprintf("noise%d", k), "warning", "", "")
			}
			w.waitFor("every matching card", func() bool { return len(w.messages("C1")) >= n })
			w.settle()
			msgs := w.messages("C1")
			if len(msgs) != n {
				t.Errorf("%d cards in #alerts, want %d", len(msgs), n)
			}
			for _, m := range msgs {
				if strings.Contains(m.Text, "noise") {
					t.Errorf("an issue the query excludes was posted: %q", m.Text)
				}
			}
			if st := w.fake.RateLimitStats(); st.Limited < 1 || st.Unhonoured != 0 {
				t.Errorf("rate limits %+v: want the injected 429 seen and every Retry-After honoured", st)
			}

			// Unsubscribed: the next matching issue stays out.
			if _, err := w.alerts.Unsubscribe(w.ctx, w.admin.ID, ch, "api"); err != nil {
				t.Fatal(err)
			}
			w.send("after", "error", "", "")
			w.settle()
			if got := len(w.messages("C1")); got != n {
				t.Errorf("%d cards after unsubscribing, want %d", got, n)
			}
		})
	}
}

// TestTeamChannelDeliveryPacedAndRateLimited: a team linked to a channel
// (/triage link team) gets, through the alert delivery, the cards of the
// rules that post to the team's channel and of the issues assigned to the
// team: a burst to a channel Slack rate-limits gets there, each card once,
// and every 429 (the injected one, and any Slack's limit adds) is waited
// out. A contributor on the team may not link it; the team's admin may.
func TestTeamChannelDeliveryPacedAndRateLimited(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{limits: alert.PaceLimits{Channel: alert.Rate{PerSecond: 2, Burst: 1}}})
			w.fake.SetChannelRateLimit(3, 1)
			ch := alert.ChannelRef{IntegrationID: w.integrationID, ChannelID: "C1", ChannelName: "alerts"}
			if _, err := w.s.LinkIdentity(w.ctx, w.integrationID, "U2", w.member.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := w.alerts.LinkTeam(w.ctx, w.member.ID, ch, "core"); triage.ErrorCode(err) != triage.EFORBIDDEN {
				t.Fatalf("a contributor linking the team: %v, want EFORBIDDEN", err)
			}
			team, err := w.s.TeamBySlug(w.ctx, w.org.ID, "core")
			if err != nil {
				t.Fatal(err)
			}
			if err := w.s.SetTeamRole(w.ctx, team.ID, w.member.ID, triage.TeamRoleAdmin); err != nil {
				t.Fatal(err)
			}
			if tc, err := w.alerts.LinkTeam(w.ctx, w.member.ID, ch, "core"); err != nil || tc.TeamSlug != "core" {
				t.Fatalf("the team's admin linking it: %+v, %v", tc, err)
			}
			w.rule(fmt.Sprintf(`{"name": "new to the team", "conditions": {"firstSeen": true},
				"action": {"integrationId": "%d", "target": "team"}}`, w.integrationID))
			w.fake.FailNextHTTP("chat.postMessage", http.StatusTooManyRequests)
			const n = 6
			for k := range n {
				w.send(fmt.Sprintf("team%d", k), "error", "", "")
			}
			w.waitFor("every card in the team's channel", func() bool { return len(w.messages("C1")) >= n })
			w.settle()
			msgs := w.messages("C1")
			seen := map[string]int{}
			for _, m := range msgs {
				for k := range n {
					if strings.Contains(m.Text, fmt.Sprintf("team%d failed", k)) {
						seen[fmt.Sprint(k)]++
					}
				}
			}
			if len(msgs) != n || len(seen) != n {
				t.Errorf("%d cards in the team's channel for %d issues (%v), want one each", len(msgs), n, seen)
			}
			if st := w.fake.RateLimitStats(); st.Limited < 1 || st.Unhonoured != 0 {
				t.Errorf("rate limits %+v: want the injected 429 seen and every Retry-After honoured", st)
			}
		})
	}
}
