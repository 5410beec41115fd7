package store_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"triage"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

func TestSlackEventsSeenAndMessages(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()

		// Dedup: the first delivery wins, also from inside a transaction
		// that rolls back (then the event counts as unseen).
		if first, err := s.MarkSlackEventSeen(ctx, "Ev1"); err != nil || !first {
			t.Fatalf("first delivery: %v %v", first, err)
		}
		if first, err := s.MarkSlackEventSeen(ctx, "Ev1"); err != nil || first {
			t.Fatalf("retry: %v %v", first, err)
		}
		_ = s.InTx(ctx, func(tx *store.Tx) error {
			if first, err := tx.MarkSlackEventSeen(ctx, "Ev2"); err != nil || !first {
				t.Errorf("Ev2 in tx: %v %v", first, err)
			}
			return triage.Errorf(triage.EINTERNAL, "roll back")
		})
		if first, _ := s.MarkSlackEventSeen(ctx, "Ev2"); !first {
			t.Error("a rolled back mark still counts")
		}
		if _, err := s.MarkSlackEventSeen(ctx, ""); triage.ErrorCode(err) != triage.EINVALID {
			t.Errorf("empty event id: %v", err)
		}
		if n, err := s.DeleteSlackEventsSeenBefore(ctx, time.Now().Add(time.Hour)); err != nil || n != 2 {
			t.Errorf("prune = %d, %v", n, err)
		}

		owner, _ := s.CreateUser(ctx, "o@example.com", "", "h", false)
		org, _ := s.CreateOrganization(ctx, "acme", "", owner.ID)
		p, err := s.CreateProject(ctx, org.ID, "web", "Web")
		if err != nil {
			t.Fatal(err)
		}
		var issue *triage.Issue
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			issue, err = tx.CreateIssue(ctx, store.NewIssue{ProjectID: p.ID, GroupHash: "h", Title: "T", SeenAt: time.Now()})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		in, _ := s.UpsertIntegration(ctx, &triage.Integration{ExternalID: "T1", Name: "One", InstallType: "v2", AccessTokenEnc: "x"})

		if has, _ := s.HasOtherSlackMessages(ctx, issue.ID, 0, "", ""); has {
			t.Error("messages before any was remembered")
		}
		m := &triage.SlackMessage{IssueID: issue.ID, IntegrationID: in.ID, ChannelID: "C1", TS: "1.1", Kind: triage.SlackMessageUnfurl, URL: "https://a/1"}
		if err := s.RememberSlackMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		again := &triage.SlackMessage{IssueID: issue.ID, IntegrationID: in.ID, ChannelID: "C1", TS: "1.1", Kind: triage.SlackMessageUnfurl, URL: "https://a/2"}
		if err := s.RememberSlackMessage(ctx, again); err != nil || again.ID != m.ID {
			t.Fatalf("remember again: %v, id %d want %d", err, again.ID, m.ID)
		}
		if err := s.RememberSlackMessage(ctx, &triage.SlackMessage{IssueID: issue.ID, IntegrationID: in.ID, ChannelID: "C1", TS: "2.2", Kind: triage.SlackMessageCard}); err != nil {
			t.Fatal(err)
		}
		if err := s.RememberSlackMessage(ctx, &triage.SlackMessage{IssueID: issue.ID, IntegrationID: in.ID, ChannelID: "C1", TS: "3", Kind: "nope"}); triage.ErrorCode(err) != triage.EINVALID {
			t.Errorf("bad kind: %v", err)
		}
		list, err := s.SlackMessagesForIssue(ctx, issue.ID)
		if err != nil || len(list) != 2 || list[0].URL != "https://a/2" || list[1].Kind != triage.SlackMessageCard {
			t.Fatalf("messages = %+v, %v", list, err)
		}
		if has, _ := s.HasOtherSlackMessages(ctx, issue.ID, in.ID, "C1", "1.1"); !has {
			t.Error("the card is another message")
		}
		if err := s.ForgetSlackMessage(ctx, list[1].ID); err != nil {
			t.Fatal(err)
		}
		if has, _ := s.HasOtherSlackMessages(ctx, issue.ID, in.ID, "C1", "1.1"); has {
			t.Error("only the skipped message is left")
		}

		if _, err := s.LinkIdentity(ctx, in.ID, "U1", owner.ID); err != nil {
			t.Fatal(err)
		}
		ids, err := s.SlackUserIDs(ctx, in.ID, []int64{owner.ID, owner.ID + 100})
		if err != nil || len(ids) != 1 || ids[owner.ID] != "U1" {
			t.Errorf("SlackUserIDs = %v, %v", ids, err)
		}

		// The action target: one statement for workspace, issue,
		// attachment and link.
		got, tg, err := s.SlackActionTarget(ctx, "T1", "U1", issue.ID)
		if err != nil || got.ID != in.ID || tg.IssueID != issue.ID || tg.OrgSlug != "acme" || tg.ProjectSlug != "web" || tg.Attached || tg.UserID != owner.ID {
			t.Errorf("target before attaching = %+v, %v", tg, err)
		}
		if err := s.AttachIntegration(ctx, org.ID, in.ID); err != nil {
			t.Fatal(err)
		}
		if _, tg, _ := s.SlackActionTarget(ctx, "T1", "U9", issue.ID); !tg.Attached || tg.UserID != 0 {
			t.Errorf("target of an unlinked user = %+v", tg)
		}
		if _, tg, _ := s.SlackActionTarget(ctx, "T1", "U1", issue.ID+100); tg.IssueID != 0 || tg.Attached {
			t.Errorf("target of a missing issue = %+v", tg)
		}
		if _, _, err := s.SlackActionTarget(ctx, "T9", "U1", issue.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("unknown team: %v", err)
		}

		// The same read in a change's transaction, with the issue locked
		// and the linked person's access: one statement.
		err = s.InTx(ctx, func(tx *store.Tx) error {
			got, tg, is, acc, err := tx.SlackChangeTarget(ctx, "T1", "U1", issue.ID)
			if err != nil || got.ID != in.ID || tg.IssueID != issue.ID || tg.OrgSlug != "acme" || tg.ProjectSlug != "web" || !tg.Attached ||
				tg.UserID != owner.ID || is.ID != issue.ID || !acc.Member || !acc.Project {
				t.Errorf("change target = %+v, %+v, %+v, %v", tg, is, acc, err)
			}
			// It answers the change hooks' question about the issue's messages.
			if has, err := tx.HasOtherSlackMessages(ctx, issue.ID, in.ID, "C1", "1.1"); has || err != nil {
				t.Errorf("other messages in the change: %v, %v", has, err)
			}
			if _, tg, _, acc, err := tx.SlackChangeTarget(ctx, "T1", "U9", issue.ID); err != nil || tg.UserID != 0 || acc.Member || acc.Project {
				t.Errorf("change target of an unlinked user = %+v, %+v, %v", tg, acc, err)
			}
			if _, _, _, _, err := tx.SlackChangeTarget(ctx, "T1", "U1", issue.ID+100); triage.ErrorCode(err) != triage.ENOTFOUND {
				t.Errorf("change target of a missing issue: %v", err)
			}
			if _, _, _, _, err := tx.SlackChangeTarget(ctx, "T9", "U1", issue.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
				t.Errorf("change target in an unknown team: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// The card: the issue, release flag, assignable people, newest
		// activity with its user, and Slack ids of the people it names.
		card, err := s.SlackCard(ctx, in.ID, issue.ID)
		if err != nil || card.Issue.ID != issue.ID || card.HasRelease || card.Last != nil || len(card.Users) != 1 || len(card.Teams) != 0 {
			t.Fatalf("fresh card = %+v, %v", card, err)
		}
		if err := s.RecordRelease(ctx, p.ID, "1.0"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddActivity(ctx, &triage.Activity{IssueID: issue.ID, Type: triage.ActivityAssigned, User: owner, Source: triage.SourceSlack,
			Data: map[string]any{"assignee": strconv.FormatInt(owner.ID, 10), "assigneeType": "user"}}); err != nil {
			t.Fatal(err)
		}
		card, err = s.SlackCard(ctx, in.ID, issue.ID)
		if err != nil || !card.HasRelease || card.Last == nil || card.Last.Type != triage.ActivityAssigned ||
			card.Last.User.Email != "o@example.com" || card.SlackIDs[owner.ID] != "U1" {
			t.Errorf("card = %+v %+v, %v", card, card.Last, err)
		}
		if _, err := s.SlackCard(ctx, in.ID, issue.ID+100); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("missing issue: %v", err)
		}
	})
}

// An issue change marks the issue for its Home tabs (MarkHomeIssue): the
// first new mark queues the sweep, later marks (of the same issue or of
// others) find it queued and seers only grows; a rolled back mark is
// gone; once the sweep has started, the next mark queues the next one.
func TestHomeIssueMarks(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Now()
		mark := func(issueID int64, seers bool) bool {
			t.Helper()
			var queue bool
			if err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				queue, err = tx.MarkHomeIssue(ctx, issueID, seers, at)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return queue
		}
		sweep := func() []store.HomeMark {
			t.Helper()
			var marks []store.HomeMark
			if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.EndHomeSweep(ctx) }); err != nil {
				t.Fatal(err)
			}
			if err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				marks, err = tx.TakeHomeMarks(ctx)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return marks
		}
		if !mark(7, false) {
			t.Fatal("the first mark does not queue the sweep")
		}
		if mark(7, false) || mark(7, true) || mark(7, true) || mark(8, false) || mark(7, false) {
			t.Fatal("a mark made while the sweep is queued queues another")
		}
		if got, want := sweep(), []store.HomeMark{{IssueID: 7, Seers: true}, {IssueID: 8}}; !slices.Equal(got, want) {
			t.Errorf("sweep took %v, want %v (seers from the later change of 7)", got, want)
		}
		if got := sweep(); len(got) != 0 {
			t.Errorf("a second sweep took %v", got)
		}
		// Rolled back with its change: nothing is marked, no sweep queued.
		_ = s.InTx(ctx, func(tx *store.Tx) error {
			if queue, err := tx.MarkHomeIssue(ctx, 9, true, at); err != nil || !queue {
				t.Errorf("mark 9 in tx: %v %v", queue, err)
			}
			return triage.Errorf(triage.EINTERNAL, "roll back")
		})
		if !mark(7, false) {
			t.Error("a change after the sweep started does not queue the next one")
		}
		if got, want := sweep(), []store.HomeMark{{IssueID: 7}}; !slices.Equal(got, want) {
			t.Errorf("sweep after a rollback took %v, want %v", got, want)
		}
		// Started but not yet taken: a mark made in between queues the
		// next sweep, and the started one takes it too (harmless twice).
		if !mark(10, false) {
			t.Fatal("mark 10 does not queue a sweep")
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.EndHomeSweep(ctx) }); err != nil {
			t.Fatal(err)
		}
		if !mark(11, false) {
			t.Error("a mark after the sweep started does not queue the next sweep")
		}
	})
}

// On PostgreSQL a sweep that takes a mark waits for a change still
// holding it (a change of an issue marked already, which wrote nothing to
// the mark), and then reads what that change wrote: the sweep never works
// from the state before a change whose mark it took.
func TestHomeSweepWaitsForTheChangeHoldingTheMark(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		if s.Engine != store.Postgres {
			t.Skip("SQLite's write transactions run one at a time")
		}
		ctx := context.Background()
		u, err := s.CreateUser(ctx, "m@example.com", "", "h", false)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.MarkHomeIssue(ctx, 7, true, time.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		marked, commit, changed := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			changed <- s.InTx(ctx, func(tx *store.Tx) error {
				if queue, err := tx.MarkHomeIssue(ctx, 7, false, time.Now()); err != nil || queue {
					return fmt.Errorf("mark while marked: queue %v, %v", queue, err)
				}
				set := triage.DefaultDMSettings()
				set.Assigned = false // what "the change" wrote
				if err := tx.SetDMSettings(ctx, u.ID, set); err != nil {
					return err
				}
				close(marked)
				<-commit
				return nil
			})
		}()
		select {
		case <-marked:
		case err := <-changed:
			t.Fatalf("change: %v", err)
		}
		type swept struct {
			marks []store.HomeMark
			seen  triage.DMSettings
			err   error
		}
		done := make(chan swept, 1)
		go func() {
			var r swept
			if r.err = s.InTx(ctx, func(tx *store.Tx) error { return tx.EndHomeSweep(ctx) }); r.err == nil {
				r.err = s.InTx(ctx, func(tx *store.Tx) error {
					var err error
					if r.marks, err = tx.TakeHomeMarks(ctx); err != nil {
						return err
					}
					r.seen, err = tx.DMSettings(ctx, u.ID)
					return err
				})
			}
			done <- r
		}()
		// Let the change commit once the sweep is done or waiting for it.
		var r swept
		finished := false
		for deadline := time.Now().Add(30 * time.Second); !finished; {
			select {
			case r = <-done:
				finished = true
				continue
			case <-time.After(10 * time.Millisecond):
			}
			if n, err := s.LockWaiters(ctx); err != nil {
				t.Fatal(err)
			} else if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the sweep neither finished nor waited for a lock")
			}
		}
		close(commit)
		if err := <-changed; err != nil {
			t.Fatalf("change: %v", err)
		}
		if !finished {
			r = <-done
		}
		if r.err != nil {
			t.Fatal(r.err)
		}
		if want := []store.HomeMark{{IssueID: 7, Seers: true}}; !slices.Equal(r.marks, want) {
			t.Errorf("sweep took %v, want %v", r.marks, want)
		}
		if r.seen.Assigned {
			t.Error("the sweep read the state before the change whose mark it took")
		}
	})
}
