package alert

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"triage/internal/testutil/dbtest"
)

// TestClaimsDueTogether: sends claimed at once on many channels (an alert
// to twenty channels) each get the time a claim of its own would give, on
// both engines' SQL (SQLPacer runs on PostgreSQL in production; the
// statement is the same): five rounds of claims on twenty keys at the same
// moment book every key's sends one interval apart, and never two sends of
// a key at one time, though the claims share statements.
func TestClaimsDueTogether(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			s := dbtest.Open(t, engine, nil)
			p := &SQLPacer{Store: s}
			rate := Rate{PerSecond: 20, Burst: 1}
			t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
			const keys, rounds = 20, 5
			got := make([][]time.Time, keys)
			var mu sync.Mutex
			var wg sync.WaitGroup
			for k := range keys {
				key := PaceKey{Name: fmt.Sprintf("c:1:C%02d", k), Rate: rate}
				wg.Go(func() {
					for range rounds {
						at, _, err := p.Claim(context.Background(), key, t0)
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						got[k] = append(got[k], at)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			for k, ats := range got {
				slices.SortFunc(ats, time.Time.Compare)
				for i, at := range ats {
					if want := t0.Add(time.Duration(i) * rate.interval()); !at.Equal(want) {
						t.Errorf("key %d, send %d: booked at %v, want %v", k, i, at.Sub(t0), want.Sub(t0))
					}
				}
			}
			t.Logf("%d claims in %d statements", keys*rounds, p.ClaimStatements())
		})
	}
}
