package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"triage"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestTransactionsNeverWaitForASecondConnection: every other pooled
// connection is busy while a transaction runs queries the statement cache
// has not seen. Preparing them on the pool needs a connection nobody gives
// back (under load the server stalled until contexts expired); they must
// run anyway.
func TestTransactionsNeverWaitForASecondConnection(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		u, _ := s.CreateUser(context.Background(), "a@example.com", "", "h", false)
		org, _ := s.CreateOrganization(context.Background(), "acme", "", u.ID)
		p, err := s.CreateProject(context.Background(), org.ID, "web", "")
		if err != nil {
			t.Fatal(err)
		}
		const n = 3
		s.Pool().SetMaxOpenConns(n)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for range n - 1 {
			c, err := s.Pool().Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
		}
		err = s.InTx(ctx, func(tx *store.Tx) error {
			for k, lock := range []bool{false, true} {
				if _, _, err := tx.IssueForUser(ctx, int64(1000+k), 1, lock); triage.ErrorCode(err) != triage.ENOTFOUND {
					return err
				}
			}
			_, err := tx.SlackCard(ctx, 1, 1000)
			if triage.ErrorCode(err) != triage.ENOTFOUND {
				return err
			}
			// New issues take their short ids apart from the transaction
			// on PostgreSQL: not from the busy pool either.
			ids, err := tx.CreateIssues(ctx, p.ID, []store.FirstSeen{{NewIssue: store.NewIssue{GroupHash: "h", Title: "T", SeenAt: time.Now()}}})
			if err == nil && ids["h"] == 0 {
				t.Error("CreateIssues returned no id")
			}
			return err
		})
		if err != nil {
			t.Fatalf("transaction: %v (it waited for a second connection)", err)
		}
		// Outside transactions the cache fills (SQLite) and the same
		// queries keep working.
		if _, _, err := s.IssueForUser(ctx, 1000, 1, false); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Fatalf("IssueForUser: %v", err)
		}
		var one int
		if err := s.Pool().QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil && err != sql.ErrNoRows {
			t.Fatal(err)
		}
	})
}
