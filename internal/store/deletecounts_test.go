package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// countedWorld is a project with two issues, each with events, tag
// counts and hourly counts as the event writer stores them.
type countedWorld struct {
	s       *store.Store
	org     int64
	project int64
	issues  [2]int64
	now     time.Time
}

func newCountedWorld(t *testing.T, s *store.Store) *countedWorld {
	t.Helper()
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, "a@example.com", "", "h", false)
	org, _ := s.CreateOrganization(ctx, "acme", "", u.ID)
	p, err := s.CreateProject(ctx, org.ID, "web", "")
	if err != nil {
		t.Fatal(err)
	}
	w := &countedWorld{s: s, org: org.ID, project: p.ID, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	err = s.InTx(ctx, func(tx *store.Tx) error {
		for k := range w.issues {
			is, err := tx.CreateIssue(ctx, store.NewIssue{ProjectID: p.ID, GroupHash: fmt.Sprint(k), Title: fmt.Sprint(k), Level: "error", SeenAt: w.now})
			if err != nil {
				return err
			}
			w.issues[k] = is.ID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range w.issues {
		if err := s.InTx(ctx, func(tx *store.Tx) error { return w.write(ctx, tx, w.issues[k], fmt.Sprintf("first-%d", k)) }); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// write stores one event of issue in tx the way the event writer does:
// the event, its tag and hour counts, then the issue's count (which
// locks its row). It fails when the issue is gone, as the writer does.
func (w *countedWorld) write(ctx context.Context, tx *store.Tx, issue int64, eventID string) error {
	if _, err := tx.StoreEvents(ctx, []store.StoredEvent{{ProjectID: w.project, IssueID: issue, EventID: eventID,
		Timestamp: w.now, Received: w.now, Data: []byte("{}")}}); err != nil {
		return err
	}
	at := w.now.UnixMicro()
	if _, err := tx.CountBatch(ctx, []store.TagCount{{IssueID: issue, Key: "user", Value: "id:" + eventID, N: 1, First: at, Last: at}},
		[]store.HourCount{{IssueID: issue, Hour: w.now.Unix() - w.now.Unix()%3600, N: 1}}); err != nil {
		return err
	}
	states, err := tx.CountIssuesEvents(ctx, []store.IssueCount{{IssueID: issue, N: 1, LastSeen: w.now}})
	if err != nil {
		return err
	}
	if states[issue] == nil {
		return fmt.Errorf("issue %d vanished", issue)
	}
	return nil
}

// rows counts what belongs to issue in each counted table, once what
// committed batches left pending is folded, as every reader of the
// counts does first.
func (w *countedWorld) rows(t *testing.T, issue int64) string {
	t.Helper()
	if _, err := w.s.FoldCounts(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := ""
	for _, table := range []string{"events", "issue_tags", "issue_hours"} {
		var n int
		if err := w.s.Pool().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table+` WHERE issue_id = $1`, issue).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out += fmt.Sprintf("%s %d ", table, n)
	}
	return out
}

const noRows = "events 0 issue_tags 0 issue_hours 0 "

// A deleted issue takes its events, tag counts and hourly counts with it,
// and a deleted project those of all its issues, including one a writer
// created while the project was being deleted; the other issue keeps its
// own until then.
func TestDeletingIssuesDeletesTheirCounts(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newCountedWorld(t, s)
		a, b := w.issues[0], w.issues[1]
		if got := w.rows(t, a); got == noRows {
			t.Fatalf("issue a has nothing to delete: %s", got)
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteIssue(ctx, a) }); err != nil {
			t.Fatal(err)
		}
		if got := w.rows(t, a); got != noRows {
			t.Errorf("after deleting issue a: %s", got)
		}
		if got, want := w.rows(t, b), "events 1 issue_tags 1 issue_hours 1 "; got != want {
			t.Errorf("issue b: %s, want %s", got, want)
		}
		if err := s.BeginProjectDeletion(ctx, w.project); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteProjectIssues(ctx, w.project, 10); err != nil || n != 1 {
			t.Fatalf("deleted %d issues, %v; want 1", n, err)
		}
		if got := w.rows(t, b); got != noRows {
			t.Errorf("after deleting the project's issues: %s", got)
		}
		// A writer that was under way creates an issue in the project
		// before its row goes: the project's last step deletes it too.
		var late int64
		err := s.InTx(ctx, func(tx *store.Tx) error {
			is, err := tx.CreateIssue(ctx, store.NewIssue{ProjectID: w.project, GroupHash: "late", Title: "late", Level: "error", SeenAt: w.now})
			if err != nil {
				return err
			}
			late = is.ID
			return w.write(ctx, tx, late, "late")
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.FinishProjectDeletion(ctx, w.project) }); err != nil {
			t.Fatal(err)
		}
		if got := w.rows(t, late); got != noRows {
			t.Errorf("after deleting the project: %s", got)
		}
	})
}

// An issue deleted while a writer adds an event to it: the deletion waits
// for the writer's transaction (it holds the issue's row) and deletes
// what the writer added. A writer that comes after the deletion fails
// and stores nothing. Either way nothing is left that names the issue
// (PostgreSQL: those rows carry no foreign key that would do it).
func TestIssueDeletedWhileAWriterAddsToIt(t *testing.T) {
	t.Parallel()
	s := dbtest.Open(t, store.Postgres, nil)
	ctx := context.Background()
	w := newCountedWorld(t, s)
	a, b := w.issues[0], w.issues[1]

	// The writer's transaction stays open once it has counted its event.
	wrote, release, committed := make(chan error, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		committed <- s.InTx(ctx, func(tx *store.Tx) error {
			err := w.write(ctx, tx, a, "during")
			wrote <- err
			<-release
			return err
		})
	}()
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	deleted := make(chan error, 1)
	go func() { deleted <- s.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteIssue(ctx, a) }) }()
	for waiting := 0; waiting == 0; {
		select {
		case err := <-deleted:
			t.Fatalf("the deletion ended (%v) before the writer's transaction did", err)
		case <-time.After(10 * time.Millisecond):
		}
		var err error
		if waiting, err = s.LockWaiters(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
	if got := w.rows(t, a); got != noRows {
		t.Errorf("issue deleted while a writer added to it: %s", got)
	}

	err := s.InTx(ctx, func(tx *store.Tx) error { return w.write(ctx, tx, a, "after") })
	if err == nil {
		t.Error("a writer counted an event in a deleted issue")
	}
	if got := w.rows(t, a); got != noRows {
		t.Errorf("after a writer came to the deleted issue: %s", got)
	}
	if got, want := w.rows(t, b), "events 1 issue_tags 1 issue_hours 1 "; got != want {
		t.Errorf("issue b: %s, want %s", got, want)
	}
}
