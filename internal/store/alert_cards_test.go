package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"triage"

	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestCardClaims: the first notification about an issue in a channel
// holds its card, whatever the concurrency; a holder that ends without
// posting gives the card up and the next one takes it; a holder that runs
// again (a retry after a crash) still holds it; the posted card is what
// every later notification threads into.
func TestCardClaims(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := alertSetup(t, s)
		r := &triage.AlertRule{ProjectID: f.project.ID, Name: "all", Conditions: `{}`, IntegrationID: f.integration.ID,
			ChannelID: "C1", ThrottleMinutes: 0, Thread: true}
		if err := s.CreateAlertRule(ctx, r); err != nil {
			t.Fatal(err)
		}
		// Ten evaluations at once, each recording a notification and
		// claiming the card in one transaction.
		ids := make([]int64, 10)
		var wg sync.WaitGroup
		for k := range ids {
			wg.Go(func() {
				err := s.InTx(ctx, func(tx *store.Tx) error {
					n := &triage.AlertNotification{RuleID: r.ID, IssueID: f.issue.ID, Cause: fmt.Sprintf("event.received:e%d", k),
						IntegrationID: f.integration.ID, ChannelID: "C1"}
					got, err := tx.CreateNotificationsAndClaim(ctx, []*triage.AlertNotification{n})
					ids[k] = got[r.ID]
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		holder := func() (int64, string, string) {
			t.Helper()
			d, err := s.AlertDelivery(ctx, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			return d.CardHolder, d.CardTS, d.HolderStatus
		}
		first, ts, status := holder()
		if first == 0 || ts != "" || status != triage.NotificationPending {
			t.Fatalf("holder %d, ts %q, status %q: want one pending holder", first, ts, status)
		}
		var others []int64
		for _, id := range ids {
			if id != first {
				others = append(others, id)
			}
		}
		// Nobody takes a card its holder is still posting.
		if took, err := s.TakeCard(ctx, others[0], 0); err != nil || took {
			t.Errorf("took a held card: %v %v", took, err)
		}
		if took, err := s.TakeCard(ctx, others[0], others[1]); err != nil || took {
			t.Errorf("took a card from a notification that does not hold it: %v %v", took, err)
		}
		// The holder fails for good: its claim goes with it, and the
		// next notification takes the card.
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.FinishNotification(ctx, first, triage.NotificationFailed, "channel_not_found", "", "")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if h, _, _ := holder(); h != 0 {
			t.Fatalf("a failed notification still holds the card (%d)", h)
		}
		if pending, _ := s.PendingCards(ctx, f.issue.ID); len(pending) != 0 {
			t.Errorf("pending cards %v after the holder failed", pending)
		}
		second := others[0]
		if took, err := s.TakeCard(ctx, second, 0); err != nil || !took {
			t.Fatalf("the next notification could not take the card: %v %v", took, err)
		}
		if took, _ := s.TakeCard(ctx, others[1], 0); took {
			t.Error("two notifications took the card")
		}
		if pending, _ := s.PendingCards(ctx, f.issue.ID); len(pending) != 1 || pending[0] != second {
			t.Errorf("pending cards %v, want [%d]", pending, second)
		}
		// A run of the holder after a crash finds its own claim.
		if h, _, _ := holder(); h != second {
			t.Fatalf("holder %d, want %d", h, second)
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.FinishNotification(ctx, second, triage.NotificationDelivered, "", "222.2", "")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if h, ts, _ := holder(); h != second || ts != "222.2" {
			t.Errorf("card %d %q, want %d 222.2", h, ts, second)
		}
		if cards, _ := s.AlertCards(ctx, f.issue.ID); len(cards) != 1 || cards[0].TS != "222.2" {
			t.Errorf("cards %+v", cards)
		}
		// A reply in the thread does not become a card, and a posted card
		// is never taken over.
		if _, err := s.FinishNotification(ctx, others[1], triage.NotificationDelivered, "", "333.3", "222.2"); err != nil {
			t.Fatal(err)
		}
		if took, _ := s.TakeCard(ctx, others[2], second); took {
			t.Error("a posted card was taken over")
		}
		if ts, _ := s.AlertCardIn(ctx, f.issue.ID, f.integration.ID, "C1"); ts != "222.2" {
			t.Errorf("card %q, want 222.2", ts)
		}
	})
}

// TestRecordDelivery: a delivered card becomes the issue's card in the
// channel and a message Triage keeps up to date, a reply in its thread
// becomes neither, a broken rule's action is ok again, and a second record
// of the same delivery (a job run again) changes nothing. AlertDelivery
// reads the notification with its rule, and without it once the rule is
// deleted.
func TestRecordDelivery(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := alertSetup(t, s)
		r := &triage.AlertRule{ProjectID: f.project.ID, Name: "all", Conditions: `{"level": "error"}`, IntegrationID: f.integration.ID,
			ChannelID: "C1", ChannelName: "alerts", ThrottleMinutes: 5, Thread: true}
		if err := s.CreateAlertRule(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetAlertActionStatus(ctx, r.ID, triage.AlertActionBroken, "channel_not_found"); err != nil {
			t.Fatal(err)
		}
		var ids map[int64]int64
		var reply map[int64]int64
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			var err error
			ids, err = tx.CreateNotificationsAndClaim(ctx, []*triage.AlertNotification{{RuleID: r.ID, IssueID: f.issue.ID,
				Cause: "issue.created:e1", IntegrationID: f.integration.ID, ChannelID: "C1"}})
			if err != nil {
				return err
			}
			reply, err = tx.CreateNotificationsAndClaim(ctx, []*triage.AlertNotification{{RuleID: r.ID, IssueID: f.issue.ID,
				Cause: "event.received:e2", IntegrationID: f.integration.ID, ChannelID: "C1"}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		d, err := s.AlertDelivery(ctx, ids[r.ID])
		if err != nil {
			t.Fatal(err)
		}
		if d.Rule == nil || d.Rule.ID != r.ID || d.Rule.Name != "all" || d.Rule.Conditions != `{"level": "error"}` ||
			d.Rule.ChannelName != "alerts" || d.Rule.ThrottleMinutes != 5 || !d.Rule.Thread ||
			d.Rule.ActionStatus != triage.AlertActionBroken || d.Rule.ActionReason != "channel_not_found" || d.Rule.CreatedAt.IsZero() {
			t.Fatalf("rule read with the delivery: %+v, want %+v (broken)", d.Rule, r)
		}
		if d.CardHolder != ids[r.ID] || d.Notification.Status != triage.NotificationPending {
			t.Fatalf("holder %d, status %q: want %d pending", d.CardHolder, d.Notification.Status, ids[r.ID])
		}
		card := store.Delivered{Notification: d.Notification, TS: "111.1", FixRule: r.ID}
		for run := range 2 {
			pending, err := s.RecordDelivery(ctx, card)
			if err != nil {
				t.Fatal(err)
			}
			if pending != (run == 0) {
				t.Errorf("run %d: pending %v", run, pending)
			}
		}
		d, err = s.AlertDelivery(ctx, ids[r.ID])
		if err != nil {
			t.Fatal(err)
		}
		if d.Notification.Status != triage.NotificationDelivered || d.Notification.MessageTS != "111.1" || d.CardTS != "111.1" {
			t.Errorf("after delivery: status %q, ts %q, card %q", d.Notification.Status, d.Notification.MessageTS, d.CardTS)
		}
		if d.Rule.ActionStatus != triage.AlertActionOK || d.Rule.ActionReason != "" {
			t.Errorf("action %q %q, want ok again", d.Rule.ActionStatus, d.Rule.ActionReason)
		}
		// The reply goes to the card's thread: no card, no message to keep.
		rd, err := s.AlertDelivery(ctx, reply[r.ID])
		if err != nil {
			t.Fatal(err)
		}
		if rd.CardTS != "111.1" {
			t.Fatalf("the reply sees card %q", rd.CardTS)
		}
		if _, err := s.RecordDelivery(ctx, store.Delivered{Notification: rd.Notification, TS: "112.2", ThreadTS: rd.CardTS}); err != nil {
			t.Fatal(err)
		}
		msgs, err := s.SlackMessagesForIssue(ctx, f.issue.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].TS != "111.1" || msgs[0].ChannelID != "C1" || msgs[0].Kind != triage.SlackMessageCard ||
			msgs[0].IntegrationID != f.integration.ID {
			t.Errorf("remembered messages %+v, want the card 111.1 in C1 only", msgs)
		}
		if cards, _ := s.AlertCards(ctx, f.issue.ID); len(cards) != 1 || cards[0].TS != "111.1" {
			t.Errorf("cards %+v, want 111.1 only", cards)
		}
		rd, err = s.AlertDelivery(ctx, reply[r.ID])
		if err != nil || rd.Notification.Status != triage.NotificationDelivered || rd.Notification.ThreadTS != "111.1" {
			t.Fatalf("reply after delivery: %+v %v", rd, err)
		}
		// A deleted rule: the delivery reads without it.
		if err := s.DeleteAlertRule(ctx, f.project.ID, r.ID); err != nil {
			t.Fatal(err)
		}
		if d, err = s.AlertDelivery(ctx, ids[r.ID]); err != nil || d.Rule != nil || d.Notification.RuleID != 0 {
			t.Fatalf("after the rule's deletion: rule %+v, rule id %d, %v", d.Rule, d.Notification.RuleID, err)
		}
	})
}

// TestCardRecordWaitsForIssueChange (PostgreSQL): a card recorded while a
// change to its issue is under way (its transaction holds the issue's row
// for update) is recorded after that change commits, so that the
// delivery's look at the issue after the record sees the change; the
// notification is recorded once the change is done. SQLite's write
// transaction holds the whole database, so there is nothing to show.
func TestCardRecordWaitsForIssueChange(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		if s.Engine != store.Postgres {
			t.Skip("SQLite's write transaction holds the whole database")
		}
		ctx := context.Background()
		f := alertSetup(t, s)
		r := &triage.AlertRule{ProjectID: f.project.ID, Name: "all", Conditions: `{}`, IntegrationID: f.integration.ID,
			ChannelID: "C1", Thread: true}
		if err := s.CreateAlertRule(ctx, r); err != nil {
			t.Fatal(err)
		}
		var ids map[int64]int64
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			var err error
			ids, err = tx.CreateNotificationsAndClaim(ctx, []*triage.AlertNotification{{RuleID: r.ID, IssueID: f.issue.ID,
				Cause: "issue.created:e1", IntegrationID: f.integration.ID, ChannelID: "C1"}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		d, err := s.AlertDelivery(ctx, ids[r.ID])
		if err != nil {
			t.Fatal(err)
		}
		// A change under way: its transaction holds the issue's row.
		change, err := s.Pool().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer change.Rollback()
		if _, err := change.ExecContext(ctx, `UPDATE issues SET title = 'changed' WHERE id = $1`, f.issue.ID); err != nil {
			t.Fatal(err)
		}
		type result struct {
			pending bool
			err     error
		}
		done := make(chan result, 1)
		go func() {
			pending, err := s.RecordDelivery(ctx, store.Delivered{Notification: d.Notification, TS: "111.1"})
			done <- result{pending, err}
		}()
		// The record waits on the issue's row lock (the database says so),
		// and has not committed: the notification still reads pending.
		deadline := time.Now().Add(30 * time.Second)
		for {
			var waiting int
			// (Read outside the change's transaction, which would keep its
			// first look at the activity.)
			if err := s.Pool().QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO slack_messages%'`).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			if waiting == 1 {
				break
			}
			select {
			case res := <-done:
				t.Fatalf("the card was recorded during the issue's change (pending %v, %v)", res.pending, res.err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("the card's record never waited for the issue's change")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if got, err := s.AlertDelivery(ctx, ids[r.ID]); err != nil || got.Notification.Status != triage.NotificationPending {
			t.Fatalf("during the change: %+v %v, want pending", got, err)
		}
		if err := change.Commit(); err != nil {
			t.Fatal(err)
		}
		res := <-done
		if res.err != nil || !res.pending {
			t.Fatalf("record after the change: pending %v, %v", res.pending, res.err)
		}
		got, err := s.AlertDelivery(ctx, ids[r.ID])
		if err != nil || got.Notification.Status != triage.NotificationDelivered || got.CardTS != "111.1" {
			t.Fatalf("after the change: %+v %v, want delivered with card 111.1", got, err)
		}
	})
}
