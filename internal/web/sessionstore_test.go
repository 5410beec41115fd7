package web

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"triage/internal/store"
)

func TestSessionStore(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := openStore(t, engine)
			st := NewSessionStore(s, time.Hour)
			if _, found, err := st.Find("missing"); found || err != nil {
				t.Fatalf("Find(missing) = %v, %v", found, err)
			}
			data := []byte{0, 1, 2, 0xff, 'x'}
			if err := st.Commit("live", data, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := st.CommitCtx(ctx, "old", []byte("old"), time.Now().Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
			if b, found, err := st.FindCtx(ctx, "live"); !found || err != nil || !bytes.Equal(b, data) {
				t.Fatalf("Find(live) = %v, %v, %v", b, found, err)
			}
			if _, found, _ := st.Find("old"); found {
				t.Fatalf("an expired session was found")
			}
			// Commit replaces data and expiry.
			if err := st.Commit("live", []byte("new"), time.Now().Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if b, _, _ := st.Find("live"); string(b) != "new" {
				t.Fatalf("after a second commit: %q", b)
			}
			if n, err := st.DeleteExpired(ctx); n != 1 || err != nil {
				t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
			}
			if err := st.Delete("live"); err != nil {
				t.Fatal(err)
			}
			if err := st.Delete("live"); err != nil {
				t.Fatalf("deleting twice: %v", err)
			}
			if _, found, _ := st.Find("live"); found {
				t.Fatal("found after delete")
			}
			// The cleanup goroutine runs and stops.
			st.CommitCtx(ctx, "old", []byte("old"), time.Now().Add(-time.Second))
			st.StartCleanup(10*time.Millisecond, testLogger(t))
			deadline := time.Now().Add(5 * time.Second)
			for {
				var n int
				if err := s.DB.QueryRow(`SELECT COUNT(*) FROM sessions`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("cleanup did not remove the expired session")
				}
				time.Sleep(10 * time.Millisecond)
			}
			st.StopCleanup()
			st.StopCleanup()
		})
	}
}

// TestSessionIdleAndPasswordChange: a session ends after the idle time
// without use (each use pushes the end back), and a password change ends
// every session of its user.
func TestSessionIdleAndPasswordChange(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := openStore(t, engine)
			st := NewSessionStore(s, time.Hour)
			now := time.Now()
			st.now = func() time.Time { return now }
			u, err := s.CreateUser(ctx, "idle@example.com", "", "x", false)
			if err != nil {
				t.Fatal(err)
			}
			data, err := scs.GobCodec{}.Encode(now.Add(24*time.Hour), map[string]any{sessionUserKey: u.ID})
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range []string{"a", "b"} {
				if err := st.CommitCtx(ctx, tok, data, now.Add(24*time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			// "a" is used every 50 minutes and lives on; "b" is left alone.
			for range 3 {
				now = now.Add(50 * time.Minute)
				if _, found, err := st.FindCtx(ctx, "a"); !found || err != nil {
					t.Fatalf("a session in use ended after %v idle: %v", 50*time.Minute, err)
				}
			}
			if _, found, _ := st.FindCtx(ctx, "b"); found {
				t.Fatal("a session idle for 150 minutes (idle time 1h) was still found")
			}
			if n, err := st.DeleteExpired(ctx); n != 1 || err != nil {
				t.Fatalf("DeleteExpired removed %d (%v), want the idle one", n, err)
			}
			if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.SetPassword(ctx, u.ID, "new hash") }); err != nil {
				t.Fatal(err)
			}
			if _, found, _ := st.FindCtx(ctx, "a"); found {
				t.Fatal("a session outlived its user's password change")
			}
		})
	}
}

// TestLoginOnEveryEngine runs a login, a page and a logout against each
// database, since sessions are stored in it.
func TestLoginOnEveryEngine(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setup(t, engine)
			c := b.client()
			b.login(c, "bob")
			if r := b.get(c, "/organizations/acme/issues/"); r.status != http.StatusOK {
				t.Fatalf("issue list: %d", r.status)
			}
			b.post(c, "/auth/logout/", nil)
			if r := b.get(c, "/organizations/acme/issues/"); r.status != http.StatusSeeOther {
				t.Fatalf("after logout: %d", r.status)
			}
			var n int
			if err := b.store.DB.QueryRow(`SELECT COUNT(*) FROM sessions`).Scan(&n); err != nil || n != 0 {
				t.Errorf("%d sessions left after logout (%v)", n, err)
			}
		})
	}
}
