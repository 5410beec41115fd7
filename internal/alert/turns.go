package alert

import (
	"context"
	"sync"
)

// turns lets n callers through at a time, in the order they came.
//
// Rule evaluations take one each (Options.Evaluations). When a burst of
// new issues starts forty evaluations at once (twenty River workers in
// each of two processes), each of their five or six statements waits for
// a pooled connection, and database/sql hands a freed connection to a
// random waiter: every evaluation progressed a little, the first of them
// finished after 40 ms to 1 s (timed per phase in TestDeliveryBurst, most
// of it waiting for the pool), and so did the deliveries they queue, which
// drew the same lots. Taking turns, the first evaluations end first and
// their deliveries start posting at once.
type turns struct {
	mu      sync.Mutex
	free    int
	waiting []chan struct{} // oldest first
}

func newTurns(n int) *turns { return &turns{free: max(n, 1)} }

// take waits for a turn and returns the function that ends it, or ctx's
// error if ctx ends first.
func (t *turns) take(ctx context.Context) (func(), error) {
	t.mu.Lock()
	if t.free > 0 && len(t.waiting) == 0 {
		t.free--
		t.mu.Unlock()
		return t.done, nil
	}
	ready := make(chan struct{})
	t.waiting = append(t.waiting, ready)
	t.mu.Unlock()
	select {
	case <-ready:
		return t.done, nil
	case <-ctx.Done():
		t.mu.Lock()
		for k, w := range t.waiting {
			if w == ready {
				t.waiting = append(t.waiting[:k], t.waiting[k+1:]...)
				t.mu.Unlock()
				return nil, ctx.Err()
			}
		}
		t.mu.Unlock()
		t.done() // given a turn meanwhile: pass it on
		return nil, ctx.Err()
	}
}

// done hands the turn to the oldest waiter, or frees it.
func (t *turns) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.waiting) == 0 {
		t.free++
		return
	}
	w := t.waiting[0]
	t.waiting[0] = nil
	t.waiting = t.waiting[1:]
	close(w)
}

// queued is how many callers wait for a turn.
func (t *turns) queued() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.waiting)
}
