package store_test

import (
	"context"
	"testing"
	"time"

	"triage"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestChangeSeesCardsRecordedWhileItWaited: a status change that waited
// for the issue's lock while an alert's card was being claimed sees that
// card (its thread must hear of the change), though its locking read began
// before the card was committed: the change's own statement reads the
// cards, after the lock (store.ChangeCards).
func TestChangeSeesCardsRecordedWhileItWaited(t *testing.T) {
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
		// The card's claim, in a transaction holding the issue's row
		// (as a card's record does) until the change waits for it.
		holding, release := make(chan struct{}), make(chan struct{})
		claimed := make(chan map[int64]int64, 1)
		go func() {
			var ids map[int64]int64
			err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				if ids, err = tx.CreateNotificationsAndClaim(ctx, []*triage.AlertNotification{{RuleID: r.ID, IssueID: f.issue.ID,
					Cause: "issue.created:e1", IntegrationID: f.integration.ID, ChannelID: "C1"}}); err != nil {
					return err
				}
				if _, err := tx.SQL.ExecContext(ctx, `SELECT id FROM issues WHERE id = $1 FOR SHARE`, f.issue.ID); err != nil {
					return err
				}
				close(holding)
				<-release
				return nil
			})
			if err != nil {
				t.Error(err)
				select {
				case <-holding:
				default:
					close(holding)
				}
			}
			claimed <- ids
		}()
		<-holding
		type result struct {
			cards []store.AlertCard
			err   error
		}
		done := make(chan result, 1)
		go func() {
			var res result
			res.err = s.InTx(ctx, func(tx *store.Tx) error {
				if _, err := tx.SQL.ExecContext(ctx, `SELECT /* the change's lock */ id FROM issues WHERE id = $1 FOR UPDATE`, f.issue.ID); err != nil {
					return err
				}
				a := &triage.Activity{IssueID: f.issue.ID, Type: triage.ActivitySetResolved, Source: triage.SourceWeb, Data: map[string]any{}, CreatedAt: time.Now()}
				if err := tx.SetIssueStatusLogged(ctx, f.issue.ID, triage.StatusResolved, triage.StatusDetails{}, 0, a); err != nil {
					return err
				}
				var err error
				res.cards, err = tx.ChangeCards(ctx, f.issue.ID, a.ID)
				return err
			})
			done <- res
		}()
		deadline := time.Now().Add(30 * time.Second)
		for {
			var waiting int
			if err := s.Pool().QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%the change''s lock%'`).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			if waiting == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the change never waited for the issue's lock")
			}
			time.Sleep(20 * time.Millisecond)
		}
		close(release)
		ids := <-claimed
		res := <-done
		if res.err != nil {
			t.Fatal(res.err)
		}
		if len(res.cards) != 1 || res.cards[0].PendingID != ids[r.ID] || res.cards[0].ChannelID != "C1" {
			t.Fatalf("the change's cards = %+v, want the card claimed by notification %d while it waited", res.cards, ids[r.ID])
		}
	})
}
