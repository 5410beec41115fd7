package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
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
