package alert

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
)

// endedPacer answers a send's booking with a Retry-After that ends 5 ms
// after the send's time: by the time the sender reads its clock again, it
// may have ended.
type endedPacer struct{ Pacer }

func (endedPacer) Claim(_ context.Context, _ PaceKey, now time.Time) (time.Time, time.Time, error) {
	return now, now.Add(5 * time.Millisecond), nil
}

// TestRetryAfterThatEndedSnoozesNotPanics: a Retry-After another process
// heard, which ends while the booking's answer comes back, gives a wait
// of zero, not a negative one (river.JobSnooze panics on it, and in a
// batch's goroutine that ended the whole process).
func TestRetryAfterThatEndedSnoozesNotPanics(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	clock := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	s := &Service{pacer: endedPacer{}, blocks: map[string]time.Time{}, sending: map[string]*sync.Mutex{},
		now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(10 * time.Millisecond) // each look at the clock takes 10 ms
			return clock
		}}
	_, err := s.sendAt(context.Background(), []PaceKey{{Name: "c:1:C1", Rate: Rate{PerSecond: 1}}}, clock, nil, "C1", "")
	var ra retryAfterError
	if !errors.As(err, &ra) {
		t.Fatalf("sendAt: %v, want the pacer's Retry-After", err)
	}
	d, ok := s.waitFor(err)
	if !ok || d < 0 {
		t.Fatalf("waitFor: %v, %v; want a wait of at least zero", d, ok)
	}
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("snoozing for the wait panicked: %v", p)
		}
	}()
	_ = river.JobSnooze(d)
}
