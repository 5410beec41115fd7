package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"triage"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

type alertFixture struct {
	issue, other *triage.Issue
	project      *triage.Project
	integration  *triage.Integration
}

func alertSetup(t *testing.T, s *store.Store) alertFixture {
	t.Helper()
	ctx := context.Background()
	owner, _ := s.CreateUser(ctx, "o@example.com", "", "h", false)
	org, _ := s.CreateOrganization(ctx, "acme", "", owner.ID)
	p, err := s.CreateProject(ctx, org.ID, "web", "Web")
	if err != nil {
		t.Fatal(err)
	}
	var f alertFixture
	f.project = p
	if err := s.InTx(ctx, func(tx *store.Tx) error {
		if f.issue, err = tx.CreateIssue(ctx, store.NewIssue{ProjectID: p.ID, GroupHash: "a", Title: "A", SeenAt: time.Now()}); err != nil {
			return err
		}
		f.other, err = tx.CreateIssue(ctx, store.NewIssue{ProjectID: p.ID, GroupHash: "b", Title: "B", SeenAt: time.Now()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if f.integration, err = s.UpsertIntegration(ctx, &triage.Integration{ExternalID: "T1", Name: "One", InstallType: "v2", AccessTokenEnc: "x"}); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAlertRulesAndLedger(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := alertSetup(t, s)
		r := &triage.AlertRule{ProjectID: f.project.ID, Name: "new", Conditions: `{"firstSeen":true}`, IntegrationID: f.integration.ID,
			ChannelID: "C1", ChannelName: "alerts", ThrottleMinutes: 30, Thread: true}
		if err := s.CreateAlertRule(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := s.AlertRule(ctx, f.project.ID, r.ID)
		if err != nil || got.Name != "new" || got.ActionStatus != triage.AlertActionOK || !got.Thread || got.ChannelName != "alerts" {
			t.Fatalf("rule %+v, %v", got, err)
		}
		if _, err := s.AlertRule(ctx, f.project.ID+1, r.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("rule of another project: %v", err)
		}
		// Broken once: a second report of the same reason changes nothing.
		if changed, err := s.SetAlertActionStatus(ctx, r.ID, triage.AlertActionBroken, "is_archived"); err != nil || !changed {
			t.Fatalf("break: %v %v", changed, err)
		}
		if changed, _ := s.SetAlertActionStatus(ctx, r.ID, triage.AlertActionBroken, "is_archived"); changed {
			t.Error("the same status counted as a change")
		}
		if counts, err := s.BrokenAlertRules(ctx); err != nil || counts["is_archived"] != 1 {
			t.Errorf("broken rules %v, %v", counts, err)
		}
		// Saving the rule again (its action was checked) makes it ok.
		r.Name = "renamed"
		if err := s.UpdateAlertRule(ctx, r); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.AlertRule(ctx, f.project.ID, r.ID); got.Name != "renamed" || got.ActionStatus != triage.AlertActionOK {
			t.Errorf("after update: %+v", got)
		}
		if list, _ := s.AlertRulesForOrg(ctx, f.project.OrgID); len(list) != 1 || list[0].ID != r.ID {
			t.Errorf("org rules %+v", list)
		}

		// The ledger: one notification per rule, issue and cause.
		n := &triage.AlertNotification{RuleID: r.ID, IssueID: f.issue.ID, Cause: "issue.created:e1", IntegrationID: f.integration.ID, ChannelID: "C1"}
		id, err := s.CreateAlertNotification(ctx, n)
		if err != nil || id == 0 {
			t.Fatalf("notification %d, %v", id, err)
		}
		if again, err := s.CreateAlertNotification(ctx, n); err != nil || again != 0 {
			t.Errorf("same cause again: %d, %v", again, err)
		}
		if has, _ := s.HasAlertNotifications(ctx, f.issue.ID); !has {
			t.Error("pending notification not seen")
		}
		if ts, _ := s.AlertCardIn(ctx, f.issue.ID, f.integration.ID, "C1"); ts != "" {
			t.Errorf("card %q before delivery", ts)
		}
		if ok, err := s.FinishNotification(ctx, id, triage.NotificationDelivered, "", "111.1", ""); err != nil || !ok {
			t.Fatalf("finish: %v %v", ok, err)
		}
		if ok, _ := s.FinishNotification(ctx, id, triage.NotificationFailed, "x", "", ""); ok {
			t.Error("a delivered notification was finished again")
		}
		reply, _ := s.CreateAlertNotification(ctx, &triage.AlertNotification{RuleID: r.ID, IssueID: f.issue.ID, Cause: "event.received:e2",
			IntegrationID: f.integration.ID, ChannelID: "C1"})
		if _, err := s.FinishNotification(ctx, reply, triage.NotificationDelivered, "", "", "111.1"); err != nil {
			t.Fatal(err)
		}
		if ts, _ := s.AlertCardIn(ctx, f.issue.ID, f.integration.ID, "C1"); ts != "111.1" {
			t.Errorf("card %q, want 111.1", ts)
		}
		if cards, _ := s.AlertCards(ctx, f.issue.ID); len(cards) != 1 || cards[0].TS != "111.1" {
			t.Errorf("cards %+v: want the one card, not the thread reply", cards)
		}
		if counts, _ := s.NotificationCounts(ctx, []int64{r.ID}, time.Time{}); counts[r.ID][triage.NotificationDelivered] != 2 {
			t.Errorf("counts %v", counts)
		}
		// Deleting the rule keeps the ledger (the cards stay live).
		if err := s.DeleteAlertRule(ctx, f.project.ID, r.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AlertNotification(ctx, id); err != nil || got.RuleID != 0 || got.MessageTS != "111.1" {
			t.Errorf("after rule deletion: %+v, %v", got, err)
		}
		if err := s.DeleteAlertRule(ctx, f.project.ID, r.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("delete twice: %v", err)
		}
	})
}

// TestFireAlertThrottle: one statement takes the throttle, so concurrent
// evaluations of one issue fire once.
func TestFireAlertThrottle(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := alertSetup(t, s)
		r := &triage.AlertRule{ProjectID: f.project.ID, Name: "r", Conditions: "{}", IntegrationID: f.integration.ID, ChannelID: "C1", ThrottleMinutes: 30}
		if err := s.CreateAlertRule(ctx, r); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		fired := 0
		for range 8 {
			wg.Go(func() {
				err := s.InTx(ctx, func(tx *store.Tx) error {
					ok, err := tx.FireAlert(ctx, r.ID, f.issue.ID, t0, 30*time.Minute)
					if ok {
						mu.Lock()
						fired++
						mu.Unlock()
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if fired != 1 {
			t.Fatalf("fired %d times, want 1", fired)
		}
		if ok, _ := s.FireAlert(ctx, r.ID, f.issue.ID, t0.Add(29*time.Minute), 30*time.Minute); ok {
			t.Error("fired within the throttle")
		}
		if ok, _ := s.FireAlert(ctx, r.ID, f.other.ID, t0, 30*time.Minute); !ok {
			t.Error("another issue is throttled")
		}
		if ok, _ := s.FireAlert(ctx, r.ID, f.issue.ID, t0.Add(30*time.Minute), 30*time.Minute); !ok {
			t.Error("not fired after the throttle")
		}
		// Throttle 0 fires every time; several rules in one statement.
		r0 := &triage.AlertRule{ProjectID: f.project.ID, Name: "r0", Conditions: "{}", IntegrationID: f.integration.ID, ChannelID: "C2"}
		if err := s.CreateAlertRule(ctx, r0); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			got, err := s.FireAlerts(ctx, f.other.ID, t0.Add(time.Hour), map[int64]time.Duration{r.ID: 30 * time.Minute, r0.ID: 0})
			if err != nil || !got[r0.ID] || got[r.ID] != (i == 0) {
				t.Errorf("round %d: fired %v, %v; want r0 each time, r the first time", i, got, err)
			}
		}
	})
}

func TestPacesAndChannels(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := alertSetup(t, s)
		t0 := time.Unix(1_700_000_000, 0).UTC()
		err := s.InTx(ctx, func(tx *store.Tx) error {
			paces, err := tx.LockPaces(ctx, []string{"w:1", "c:1:C1"})
			if err != nil {
				return err
			}
			if len(paces) != 2 || paces["c:1:C1"].TAT.After(t0) {
				t.Errorf("new paces %+v", paces)
			}
			p := paces["c:1:C1"]
			p.TAT, p.BlockedUntil = t0, t0.Add(time.Second)
			return tx.SavePace(ctx, p)
		})
		if err != nil {
			t.Fatal(err)
		}
		// Slots: a new key sends now; then one per interval, past a block.
		iv := 50 * time.Millisecond
		if at, err := s.ReservePace(ctx, "c:1:C2", t0, iv, 0); err != nil || !at.Equal(t0) {
			t.Errorf("first slot %v, %v", at, err)
		}
		if at, _ := s.ReservePace(ctx, "c:1:C2", t0, iv, 0); !at.Equal(t0.Add(iv)) {
			t.Errorf("second slot %v, want +50ms", at.Sub(t0))
		}
		if err := s.BlockPace(ctx, "c:1:C2", t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if at, _ := s.ReservePace(ctx, "c:1:C2", t0, iv, 0); !at.Equal(t0.Add(time.Second)) {
			t.Errorf("slot after a block %v, want +1s", at.Sub(t0))
		}
		// Sends: booked on their own schedule, with the block returned.
		at, blocked, err := s.ClaimSend(ctx, "c:1:C2", t0, iv, 0)
		if err != nil || !at.Equal(t0) || !blocked.Equal(t0.Add(time.Second)) {
			t.Errorf("claim %v %v, %v", at.Sub(t0), blocked.Sub(t0), err)
		}
		if at, _, _ := s.ClaimSend(ctx, "c:1:C2", t0, iv, 0); !at.Equal(t0.Add(iv)) {
			t.Errorf("second claim %v, want +50ms", at.Sub(t0))
		}
		// Several keys at once, each as ClaimSend would: the next send on
		// C2's schedule (with its block), the first on a new key.
		got, err := s.ClaimSends(ctx, []store.SendClaim{{Key: "c:1:C9", Now: t0.Add(time.Millisecond)}, {Key: "c:1:C2", Now: t0}}, iv, 0)
		if err != nil || len(got) != 2 {
			t.Fatalf("claim sends: %+v, %v", got, err)
		}
		if c := got["c:1:C2"]; !c.At.Equal(t0.Add(2*iv)) || !c.BlockedUntil.Equal(t0.Add(time.Second)) {
			t.Errorf("C2's claim among others: %v, blocked %v; want +100ms, blocked +1s", c.At.Sub(t0), c.BlockedUntil.Sub(t0))
		}
		if c := got["c:1:C9"]; !c.At.Equal(t0.Add(time.Millisecond)) || !c.BlockedUntil.IsZero() {
			t.Errorf("a new key's claim: %v, blocked %v; want +1ms, no block", c.At.Sub(t0), c.BlockedUntil)
		}
		if at, _, _ := s.ClaimSend(ctx, "c:1:C9", t0, iv, 0); !at.Equal(t0.Add(time.Millisecond + iv)) {
			t.Errorf("the claim after it: %v, want +51ms", at.Sub(t0))
		}
		if _, err := s.ClaimSends(ctx, []store.SendClaim{{Key: "c:1:C9", Now: t0}, {Key: "c:1:C9", Now: t0}}, iv, 0); err == nil {
			t.Error("one key twice in a statement: no error")
		}

		in := f.integration.ID
		seen := time.Now()
		chans := []triage.SlackChannel{{ID: "C1", Name: "alerts"}, {ID: "C2", Name: "alerts_eu", IsPrivate: true, IsMember: true}, {ID: "C3", Name: "ops%"}}
		if err := s.UpsertSlackChannels(ctx, in, chans, seen); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.SlackChannels(ctx, in, "ALERTS", 10); len(got) != 2 {
			t.Errorf("search alerts: %+v", got)
		}
		if got, _ := s.SlackChannels(ctx, in, "%", 10); len(got) != 1 || got[0].ID != "C3" {
			t.Errorf("a %% in the query is literal: %+v", got)
		}
		if got, _ := s.SlackChannels(ctx, in, "s_eu", 10); len(got) != 1 || got[0].ID != "C2" {
			t.Errorf("an _ in the query is literal: %+v", got)
		}
		if c, err := s.SlackChannelByName(ctx, in, "alerts_eu"); err != nil || c.ID != "C2" || !c.IsPrivate {
			t.Errorf("by name: %+v, %v", c, err)
		}
		// A later listing that no longer sees C3 forgets it.
		if err := s.UpsertSlackChannels(ctx, in, chans[:2], seen.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSlackChannelsBefore(ctx, in, seen.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SlackChannelByID(ctx, in, "C3"); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("C3 still cached: %v", err)
		}
		st, err := s.ChannelSyncState(ctx, in)
		if err != nil || !st.FinishedAt.IsZero() || st.Cursor != "" {
			t.Fatalf("fresh sync state %+v, %v", st, err)
		}
		st.Cursor, st.StartedAt, st.Pages = "abc", seen, 1
		if err := s.SaveChannelSync(ctx, st); err != nil {
			t.Fatal(err)
		}
		if st2, _ := s.ChannelSyncState(ctx, in); st2.Cursor != "abc" || st2.Pages != 1 || !st2.StartedAt.Equal(seen.Truncate(time.Microsecond)) {
			t.Errorf("sync state %+v", st2)
		}
		if ids, _ := s.ActiveIntegrationIDs(ctx); len(ids) != 1 || ids[0] != in {
			t.Errorf("active integrations %v", ids)
		}
	})
}
