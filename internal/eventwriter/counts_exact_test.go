package eventwriter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"triage"
	"triage/internal/eventwriter"
	"triage/internal/ingest"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestCountsExactUnderConcurrentSaves: many senders at once, resends among
// them, on each engine (two lanes on PostgreSQL, racing as two processes
// would): every issue's events, users, tag values and hourly counts add up
// to the distinct events sent.
// What a person sees on the list (events, users) and on the issue page
// (each tag's share) must agree with what was sent, however the writer
// batched it.
func TestCountsExactUnderConcurrentSaves(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s, eventwriter.Lanes(2))
		ctx := context.Background()
		const senders, perSender = 16, 40
		// Event n: one of 6 errors, else (every 10th) a new one; its
		// user is one of 3 per error, so users repeat within an issue.
		body := func(n int) []byte {
			fn := fmt.Sprintf("handler%d", n%6)
			if n%10 == 9 {
				fn = fmt.Sprintf("rare%d", n)
			}
			ev := map[string]any{
				"event_id": fmt.Sprintf("%032x", n), "level": "error", "platform": "go", "release": "shop@1",
				"environment": "production", "server_name": fmt.Sprintf("web-%d", n%2), "transaction": "/" + fn,
				"tags":     map[string]string{"region": []string{"eu", "us", "ap"}[n%3]},
				"user":     map[string]string{"id": fmt.Sprintf("%s-%d", fn, n%3)},
				"contexts": map[string]any{"os": map[string]string{"name": "linux", "version": "6"}},
				"request":  map[string]any{"url": "https://shop.test/" + fn},
				"exception": []any{map[string]any{"type": "Panic", "value": "boom", "stacktrace": map[string]any{"frames": []any{
					map[string]any{"module": "app", "function": fn, "in_app": true, "lineno": 3}}}}},
			}
			raw, _ := json.Marshal(ev)
			return raw
		}
		type want struct {
			events int64
			users  map[string]bool
		}
		expect := map[string]*want{} // by transaction: one issue each
		var mu sync.Mutex
		var wg sync.WaitGroup
		for g := range senders {
			wg.Go(func() {
				for k := range perSender {
					n := g*perSender + k
					// Every 8th request resends the one before it too.
					ids := []int{n}
					if k%8 == 7 {
						ids = append(ids, n-1)
					}
					var events []*ingest.Event
					for _, id := range ids {
						e, err := ingest.ParseStore(body(id), *b.clock)
						if err != nil {
							t.Error(err)
							return
						}
						events = append(events, e)
					}
					if err := b.w.Save(ctx, b.project.ID, events); err != nil {
						t.Error(err)
						return
					}
					e := events[0]
					mu.Lock()
					w := expect[e.Transaction]
					if w == nil {
						w = &want{users: map[string]bool{}}
						expect[e.Transaction] = w
					}
					w.events++
					w.users[e.User.ID] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		list, err := s.Issues(ctx, triage.IssueFilter{OrgID: b.project.OrgID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != len(expect) {
			t.Fatalf("%d issues, want %d", len(list), len(expect))
		}
		ids := make([]int64, len(list))
		for k, is := range list {
			ids[k] = is.ID
		}
		hours, err := s.IssueHours(ctx, ids, b.clock.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range list {
			keys, err := s.IssueTags(ctx, is.ID, 10)
			if err != nil {
				t.Fatal(err)
			}
			var tx string
			totals := map[string]int64{}
			for _, k := range keys {
				totals[k.Key] = k.TotalValues
				if k.Key == "transaction" && len(k.TopValues) == 1 {
					tx = k.TopValues[0].Value
				}
			}
			w := expect[tx]
			if w == nil {
				t.Errorf("issue %d (%s): transaction tag %q is none of those sent", is.ID, is.Title, tx)
				continue
			}
			if is.TimesSeen != w.events || is.UserCount != int64(len(w.users)) {
				t.Errorf("issue %s: %d events, %d users; want %d, %d", tx, is.TimesSeen, is.UserCount, w.events, len(w.users))
			}
			for _, key := range []string{"level", "environment", "release", "server_name", "transaction", "user", "os", "os.name", "url", "region"} {
				if totals[key] != w.events {
					t.Errorf("issue %s: tag %s counts %d events, want %d", tx, key, totals[key], w.events)
				}
			}
			var sum int64
			for _, n := range hours[is.ID] {
				sum += n
			}
			if sum != w.events {
				t.Errorf("issue %s: hourly counts add up to %d, want %d", tx, sum, w.events)
			}
		}
	})
}
