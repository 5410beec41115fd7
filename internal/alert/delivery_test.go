package alert_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"triage"
	"triage/internal/alert"
	"triage/internal/slack/slackfake"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

func (w *world) notifications(ruleID int64) map[string]int64 {
	w.t.Helper()
	counts, err := w.s.NotificationCounts(w.ctx, []int64{ruleID}, time.Time{})
	if err != nil {
		w.t.Fatal(err)
	}
	return counts[ruleID]
}

// TestPermanentFailuresAreReported: a channel made private without the
// bot, an archived channel, a revoked token and a workspace over the free
// message limit each stop their notification, mark the rule broken with
// Slack's reason and a hint, and count in the metrics. Nothing vanishes.
func TestPermanentFailuresAreReported(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{})
			integ := itoa(w.integrationID)
			private := w.rule(`{"name": "to alerts", "action": {"integrationId": "` + integ + `", "channel": "C1"}}`)
			archived := w.rule(`{"name": "to general", "action": {"integrationId": "` + integ + `", "channel": "C4"}}`)
			// After the rules were saved: #alerts goes private without the
			// bot, #general is archived.
			w.fake.UpdateChannel("C1", func(c *slackfake.Channel) { c.IsPrivate, c.BotMember = true, false })
			w.fake.UpdateChannel("C4", func(c *slackfake.Channel) { c.IsArchived = true })
			w.send("payment", "error", "", "")
			w.waitFor("both failures", func() bool {
				return w.notifications(private.ID)[triage.NotificationFailed] == 1 && w.notifications(archived.ID)[triage.NotificationFailed] == 1
			})
			for _, c := range []struct {
				rule   *alert.Rule
				reason string
				hint   string
			}{
				{private, "channel_not_found", "/invite @triagebot"},
				{archived, "is_archived", "archived"},
			} {
				got, err := w.alerts.Rule(w.ctx, w.member.ID, "acme", "api", c.rule.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != triage.AlertActionBroken || got.Reason != c.reason || !strings.Contains(got.Hint, c.hint) {
					t.Errorf("rule %q: %s %s %q; want broken %s with a hint about %q", got.Name, got.Status, got.Reason, got.Hint, c.reason, c.hint)
				}
				if v := w.metric("triage_alert_delivery_failures_total", "reason", c.reason); v != 1 {
					t.Errorf("failures{%s} = %v, want 1", c.reason, v)
				}
				if v := w.metric("triage_alert_rules_broken", "reason", c.reason); v != 1 {
					t.Errorf("rules_broken{%s} = %v, want 1", c.reason, v)
				}
			}

			// The bot is invited back: the next alert goes out and the rule
			// heals.
			w.fake.UpdateChannel("C1", func(c *slackfake.Channel) { c.BotMember = true })
			if _, err := w.s.Pool().ExecContext(w.ctx, `DELETE FROM alert_throttle`); err != nil {
				t.Fatal(err)
			}
			w.send("payment", "error", "", "")
			w.waitFor("the healed delivery", func() bool { return len(w.messages("C1")) == 1 })
			w.waitFor("the rule marked ok", func() bool { st, _ := w.ruleStatus(private.ID); return st == triage.AlertActionOK })

			// Over the free plan's message limit: 429 without Retry-After.
			w.fake.SetMessageLimitExceeded("T1", true)
			if _, err := w.s.Pool().ExecContext(w.ctx, `DELETE FROM alert_throttle`); err != nil {
				t.Fatal(err)
			}
			w.send("limits", "error", "", "")
			w.waitFor("message_limit_exceeded", func() bool { _, r := w.ruleStatus(private.ID); return r == "message_limit_exceeded" })
			w.fake.SetMessageLimitExceeded("T1", false)

			// The token is revoked: the rule and the workspace both say so.
			w.fake.RevokeToken("xoxb-acme")
			w.send("revoked", "error", "", "")
			// Both rules post to the workspace: the first to hear
			// token_revoked marks the workspace for a reinstall, so the other
			// may fail on that instead.
			dead := func(r string) bool { return r == "token_revoked" || r == "integration_inactive" }
			w.waitFor("token_revoked", func() bool {
				_, a := w.ruleStatus(private.ID)
				_, b := w.ruleStatus(archived.ID)
				return dead(a) && dead(b)
			})
			if v := w.metric("triage_alert_delivery_failures_total", "reason", "token_revoked"); v < 1 {
				t.Errorf("failures{token_revoked} = %v, want at least 1", v)
			}
			got, _ := w.alerts.Rule(w.ctx, w.admin.ID, "acme", "api", private.ID)
			if !strings.Contains(got.Hint, "reinstall") {
				t.Errorf("hint %q, want a reinstall hint", got.Hint)
			}
			in, _ := w.s.IntegrationByID(w.ctx, w.integrationID)
			if in.Status != triage.IntegrationNeedsReinstall {
				t.Errorf("workspace status %s, want needs_reinstall", in.Status)
			}
			// Later alerts for that workspace fail at once, recorded, with
			// the workspace's reason.
			if _, err := w.s.Pool().ExecContext(w.ctx, `DELETE FROM alert_throttle`); err != nil {
				t.Fatal(err)
			}
			w.send("after", "error", "", "")
			w.waitFor("integration_inactive", func() bool { _, r := w.ruleStatus(private.ID); return r == "integration_inactive" })
			// The rule may already have said integration_inactive after the
			// revoked alert: wait for the last alert itself to be settled
			// (failed, not left pending).
			w.waitFor("every notification settled", func() bool {
				return w.notifications(private.ID)[triage.NotificationPending] == 0 &&
					w.metric("triage_alert_notifications_total", "result", "failed") >= 5
			})
			counts := w.notifications(private.ID)
			if counts[triage.NotificationPending] != 0 {
				t.Errorf("notifications left pending: %v", counts)
			}
			if v := w.metric("triage_alert_notifications_total", "result", "failed"); v < 5 {
				t.Errorf("failed = %v, want at least 5", v)
			}
		})
	}
}

// TestRateLimitsAndTransientErrors: a 429 snoozes the notification for its
// Retry-After (no request before it elapses), a 5xx is retried; both end
// delivered, once.
func TestRateLimitsAndTransientErrors(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{})
			w.rule(`{"name": "all", "action": {"integrationId": "` + itoa(w.integrationID) + `", "channel": "C1"}}`)
			w.fake.FailNextHTTP("chat.postMessage", http.StatusTooManyRequests)
			w.fake.FailNextHTTP("chat.postMessage", http.StatusInternalServerError)
			start := time.Now()
			w.send("slow", "error", "", "")
			w.waitFor("the card", func() bool { return len(w.messages("C1")) == 1 })
			if d := time.Since(start); d < time.Second {
				t.Errorf("delivered after %s, before Retry-After: 1 elapsed", d)
			}
			st := w.fake.RateLimitStats()
			if st.Limited != 1 || st.Unhonoured != 0 {
				t.Errorf("rate limit stats %+v, want 1 limited, 0 unhonoured", st)
			}
			if w.metric("triage_alert_notifications_total", "result", "rate_limited") != 1 ||
				w.metric("triage_alert_notifications_total", "result", "retried") != 1 {
				t.Errorf("rate_limited/retried not counted")
			}
			w.settle()
			if n := len(w.fake.Calls("chat.postMessage")); n != 3 {
				t.Errorf("%d chat.postMessage calls, want 3 (429, 500, ok)", n)
			}
		})
	}
}

// TestThrottle: a rule fires at most once per issue per throttle window.
func TestThrottle(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{})
			r := w.rule(`{"name": "all", "thread": false, "action": {"integrationId": "` + itoa(w.integrationID) + `", "channel": "C1"}}`)
			for range 3 {
				w.send("noisy", "error", "", "")
			}
			w.waitFor("one card", func() bool { return len(w.messages("C1")) == 1 })
			w.send("other", "error", "", "") // another issue is not throttled by the first
			w.waitFor("the other issue's card", func() bool { return len(w.messages("C1")) == 2 })
			w.settle()
			if n := w.notifications(r.ID)[triage.NotificationDelivered]; n != 2 {
				t.Fatalf("%d notifications, want 2 (one per issue)", n)
			}
			// 31 minutes later.
			if _, err := w.s.Pool().ExecContext(w.ctx, `UPDATE alert_throttle SET fired_at = fired_at - $1, quiet_until = quiet_until - $1`,
				(31 * time.Minute).Microseconds()); err != nil {
				t.Fatal(err)
			}
			w.send("noisy", "error", "", "")
			w.waitFor("a third card (threading off)", func() bool { return len(w.messages("C1")) == 3 })
		})
	}
}

// TestRuleConditionsOnIngestion: level, environment and frequency
// conditions, checked on real ingestion jobs.
func TestRuleConditionsOnIngestion(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{})
			integ := itoa(w.integrationID)
			w.rule(`{"name": "prod errors", "conditions": {"firstSeen": true, "level": "error", "environment": "production"},
				"action": {"integrationId": "` + integ + `", "channel": "C1"}}`)
			w.rule(`{"name": "bursts", "conditions": {"frequency": {"count": 2, "minutes": 5}}, "thread": false,
				"action": {"integrationId": "` + integ + `", "channel": "C4"}}`)
			w.send("staging-only", "error", "staging", "")
			w.send("warn-only", "warning", "production", "")
			w.send("prod-error", "fatal", "production", "")
			w.waitFor("the prod error", func() bool { return len(w.messages("C1")) == 1 })
			if !strings.Contains(string(w.messages("C1")[0].Blocks), "prod-error failed") {
				t.Errorf("wrong card in #alerts: %s", w.messages("C1")[0].Blocks)
			}
			// bursts: the third event in 5 minutes is "more than 2".
			w.send("burst", "info", "", "")
			w.send("burst", "info", "", "")
			w.settle()
			if n := len(w.messages("C4")); n != 0 {
				t.Fatalf("%d messages in #general after 2 events, want 0", n)
			}
			w.send("burst", "info", "", "")
			w.waitFor("the burst alert", func() bool { return len(w.messages("C4")) == 1 })
			w.settle()
			if n := len(w.messages("C1")); n != 1 {
				t.Errorf("%d messages in #alerts, want 1", n)
			}
		})
	}
}

// TestRuleService: permissions, validation with the field at fault, and
// the channel checks that give the /invite hint.
func TestRuleService(t *testing.T) {
	t.Parallel()
	w := newWorld(t, store.SQLite, worldOpts{})
	integ := itoa(w.integrationID)
	create := func(u *triage.User, body string) (*alert.Rule, error) {
		in, err := alert.ParseRuleInput([]byte(body))
		if err != nil {
			return nil, err
		}
		return w.alerts.CreateRule(w.ctx, u.ID, "acme", "api", in)
	}
	ok := `{"name": "x", "action": {"integrationId": "` + integ + `", "channel": "C1"}}`
	if _, err := create(w.member, ok); triage.ErrorCode(err) != triage.EFORBIDDEN {
		t.Errorf("member create: %v, want EFORBIDDEN", err)
	}
	if _, err := create(w.outsider, ok); triage.ErrorCode(err) != triage.ENOTFOUND {
		t.Errorf("outsider create: %v, want ENOTFOUND", err)
	}
	r, err := create(w.owner, ok)
	if err != nil {
		t.Fatal(err)
	}
	if r.ChannelName != "alerts" || r.ThrottleMinutes != 30 || !r.Thread || r.Status != "ok" || r.Workspace != "Acme Slack" {
		t.Errorf("defaults: %+v", r)
	}
	if list, err := w.alerts.Rules(w.ctx, w.member.ID, "acme", "api"); err != nil || len(list) != 1 {
		t.Errorf("member read: %v, %v", list, err)
	}
	if _, err := w.alerts.Rules(w.ctx, w.outsider.ID, "acme", "api"); triage.ErrorCode(err) != triage.ENOTFOUND {
		t.Errorf("outsider read: %v", err)
	}

	bad := []struct{ body, field, reason string }{
		{`{"action": {"integrationId": "` + integ + `", "channel": "C1"}}`, "name", "required"},
		{`{"name": "x"}`, "action", "required"},
		{`{"name": "x", "throttleMinutes": -5, "action": {"integrationId": "` + integ + `", "channel": "C1"}}`, "throttleMinutes", "from 0"},
		{`{"name": "x", "conditions": {"firstSeen": true, "regression": true}, "action": {"integrationId": "` + integ + `", "channel": "C1"}}`, "conditions.regression", "never a regression"},
		{`{"name": "x", "conditions": {"level": "loud"}, "action": {"integrationId": "` + integ + `", "channel": "C1"}}`, "conditions.level", "unknown level"},
		{`{"name": "x", "action": {"integrationId": "999", "channel": "C1"}}`, "action.integrationId", "no Slack workspace 999"},
		{`{"name": "x", "action": {"integrationId": "` + integ + `", "channel": "C2"}}`, "action.channel", "/invite @triagebot"},
		{`{"name": "x", "action": {"integrationId": "` + integ + `", "channel": "#secret"}}`, "action.channel", "/invite @triagebot"},
		{`{"name": "x", "action": {"integrationId": "` + integ + `", "channel": "C3"}}`, "action.channel", "archived"},
		{`{"name": "x", "action": {"integrationId": "` + integ + `", "channel": "C999"}}`, "action.channel", "does not show channel C999"},
		{`{"name": "x", "action": {"integrationId": "` + integ + `", "channel": "not a channel!"}}`, "action.channel", "channel id"},
	}
	for _, b := range bad {
		_, err := create(w.admin, b.body)
		var fe *alert.FieldError
		if !errors.As(err, &fe) || fe.Field != b.field || !strings.Contains(fe.Reason, b.reason) {
			t.Errorf("%s: %v; want %s: …%s…", b.body, err, b.field, b.reason)
		}
	}
	// Once the bot is invited, the private channel is accepted.
	w.fake.UpdateChannel("C2", func(c *slackfake.Channel) { c.BotMember = true })
	secret, err := create(w.admin, `{"name": "private", "action": {"integrationId": "`+integ+`", "channel": "C2"}}`)
	if err != nil || secret.ChannelName != "secret" {
		t.Fatalf("private channel with the bot: %+v, %v", secret, err)
	}

	// Partial update, then delete.
	in, _ := alert.ParseRuleInput([]byte(`{"name": "renamed", "thread": false}`))
	up, err := w.alerts.UpdateRule(w.ctx, w.admin.ID, "acme", "api", r.ID, in)
	if err != nil || up.Name != "renamed" || up.Thread || up.ChannelID != "C1" {
		t.Fatalf("update: %+v, %v", up, err)
	}
	if err := w.alerts.DeleteRule(w.ctx, w.member.ID, "acme", "api", r.ID); triage.ErrorCode(err) != triage.EFORBIDDEN {
		t.Errorf("member delete: %v", err)
	}
	if want, _ := w.alerts.WantsEventJobs(w.ctx, w.project.ID); !want {
		t.Error("a rule on every event, and no event.received jobs wanted")
	}
	if err := w.alerts.DeleteRule(w.ctx, w.admin.ID, "acme", "api", r.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.alerts.DeleteRule(w.ctx, w.admin.ID, "acme", "api", secret.ID); err != nil {
		t.Fatal(err)
	}
	if want, _ := w.alerts.WantsEventJobs(w.ctx, w.project.ID); want {
		t.Error("no rule on every event left, and event.received jobs still wanted")
	}
	if _, err := w.alerts.Rule(w.ctx, w.admin.ID, "acme", "api", r.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
		t.Errorf("deleted rule: %v", err)
	}
}

// TestChannelList: the picker answers from the cache at once; the cache
// fills in the background one page at a time, within Tier 2 limits,
// honouring a 429.
func TestChannelList(t *testing.T) {
	t.Parallel()
	w := newWorld(t, store.SQLite, worldOpts{})
	for i := range 450 {
		w.fake.AddChannel(slackfake.Channel{ID: fmt.Sprintf("CX%04d", i), TeamID: "T1", Name: fmt.Sprintf("team-%04d", i)})
	}
	w.fake.SetMethodRateLimit("conversations.list", 20.0/60, 2)
	if _, err := w.alerts.Channels(w.ctx, w.member.ID, "acme", w.integrationID, ""); triage.ErrorCode(err) != triage.EFORBIDDEN {
		t.Errorf("member list: %v", err)
	}
	// The first answer comes from the empty cache while the sync goes on:
	// at 20 pages a minute the full list takes over a minute to read, so an
	// answer that waited for it would no longer say it is syncing.
	list, err := w.alerts.Channels(w.ctx, w.admin.ID, "acme", w.integrationID, "")
	if err != nil {
		t.Fatal(err)
	}
	if !list.Syncing {
		t.Errorf("first answer: syncing %v, %d channels; want the cache's answer while the sync goes on", list.Syncing, len(list.Channels))
	}
	w.waitFor("the full list", func() bool {
		l, err := w.alerts.Channels(w.ctx, w.admin.ID, "acme", w.integrationID, "")
		return err == nil && !l.SyncedAt.IsZero()
	})
	list, _ = w.alerts.Channels(w.ctx, w.admin.ID, "acme", w.integrationID, "team-04")
	if len(list.Channels) != 50 {
		t.Fatalf("%d channels match team-04, want 50", len(list.Channels))
	}
	all, _ := w.alerts.Channels(w.ctx, w.admin.ID, "acme", w.integrationID, "")
	names := map[string]bool{}
	for _, c := range all.Channels {
		names[c.Name] = true
	}
	if names["old"] || names["secret"] || !names["alerts"] {
		t.Errorf("listed archived or invisible channels, or missed #alerts: %v", len(names))
	}
	calls := w.fake.Calls("conversations.list")
	if len(calls) != 3 {
		t.Errorf("%d conversations.list calls for 454 channels, want 3 pages of 200", len(calls))
	}
	for i := 1; i < len(calls); i++ {
		if gap := calls[i].Time.Sub(calls[i-1].Time); gap < 2900*time.Millisecond {
			t.Errorf("pages %s apart; Tier 2 wants at least 3 s", gap)
		}
	}
	if st := w.fake.RateLimitStats(); st.Unhonoured != 0 {
		t.Errorf("rate limit stats %+v", st)
	}
}

// TestRecordFailureIsNotAPostAgain: Slack accepted the card, then the
// database could not take its record for a while (busy, locked). The
// record is tried again until it commits; the card is not posted twice,
// which a job retried from the start would do.
func TestRecordFailureIsNotAPostAgain(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{recordTimeout: 300 * time.Millisecond})
			w.rule(`{"name": "New issues", "conditions": {"firstSeen": true}, "action": {"integrationId": "` +
				itoa(w.integrationID) + `", "channel": "C1"}}`)
			hold := w.fake.HoldNext("chat.postMessage")
			w.send("unrecorded", "error", "", "")
			select {
			case <-hold.Arrived():
			case <-time.After(time.Minute): // a bound for a hang, not a timing claim
				t.Fatal("the card never reached Slack")
			}
			// Someone else holds what the record needs: SQLite's write
			// lock, the notification's row on PostgreSQL.
			blocker, err := w.s.Pool().BeginTx(w.ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			var lock string
			if engine == store.Postgres {
				lock = `SELECT COUNT(*) FROM (SELECT id FROM alert_notifications FOR UPDATE) n`
			} else {
				lock = `UPDATE alert_notifications SET reason = reason`
			}
			if _, err := blocker.ExecContext(w.ctx, lock); err != nil {
				t.Fatal(err)
			}
			hold.Release()
			w.waitFor("a record that failed and is tried again", func() bool {
				return w.counter("triage_alert_record_retries_total") >= 1
			})
			if err := blocker.Rollback(); err != nil {
				t.Fatal(err)
			}
			w.waitFor("the delivery recorded", func() bool {
				var n int
				_ = w.s.Pool().QueryRowContext(w.ctx, `SELECT COUNT(*) FROM alert_notifications WHERE status = 'delivered'`).Scan(&n)
				return n == 1
			})
			w.settle()
			if got := len(w.messages("C1")); got != 1 {
				t.Fatalf("%d cards in the channel, want 1 (the record was retried by posting again)", got)
			}
			if got := len(w.fake.Calls("chat.postMessage")); got != 1 {
				t.Fatalf("%d chat.postMessage calls, want 1", got)
			}
		})
	}
}
