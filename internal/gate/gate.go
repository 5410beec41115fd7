// Package gate lets a bounded number of callers through at a time and
// admits the waiting ones oldest first.
//
// It exists because of a measurement: database/sql hands a freed pooled
// connection to a random waiter (connRequestSet.TakeRandom), not to the
// one that has waited longest, so under a crowd one caller can lose that
// draw many times in a row. Slack clicks (internal/slack: the wait for a
// connection was 180-300 ms at p99, 16-47 ms once they queued here) and
// rule evaluations in an alert burst (internal/alert: the first of forty
// evaluations ended after 40 ms to 1 s, the first post came twice as soon
// once they took turns) queue here instead of drawing lots.
//
// Callers that must go in the order they arrived take a ticket when they
// arrive (Enter); callers with no order of their own take the gate's next
// ticket (Take). Low-priority callers (EnterLow) wait behind them, in the
// order they came, with at least one turn in lowShare while others wait.
package gate

import (
	"context"
	"sync"
	"sync/atomic"
)

// Gate admits at most n callers at once.
type Gate struct {
	mu      sync.Mutex
	free    int
	waiting []*waiter // by ticket, oldest first
	low     []*waiter // in the order they came
	streak  int       // turns handed to waiting while low ones waited
	tickets atomic.Uint64
}

// lowShare: a waiting low-priority caller gets at least one turn in this
// many.
const lowShare = 4

type waiter struct {
	ticket uint64
	ready  chan struct{}
}

// New returns a gate that lets n callers (at least one) through at once.
func New(n int) *Gate { return &Gate{free: max(n, 1)} }

// Take is Enter with the gate's next ticket: callers get in in the order
// they called Take.
func (g *Gate) Take(ctx context.Context) (func(), error) {
	return g.Enter(ctx, g.tickets.Add(1))
}

// Enter waits until the caller with this ticket may go in and returns the
// function that lets the next one in; it returns ctx's error if ctx ends
// first.
func (g *Gate) Enter(ctx context.Context, ticket uint64) (func(), error) {
	g.mu.Lock()
	if g.free > 0 && len(g.waiting) == 0 {
		g.free--
		g.mu.Unlock()
		return g.leave, nil
	}
	w := &waiter{ticket: ticket, ready: make(chan struct{})}
	k := len(g.waiting)
	for k > 0 && g.waiting[k-1].ticket > ticket {
		k--
	}
	g.waiting = append(g.waiting, nil)
	copy(g.waiting[k+1:], g.waiting[k:])
	g.waiting[k] = w
	g.mu.Unlock()
	return g.wait(ctx, w, &g.waiting)
}

// EnterLow is Enter for a low-priority caller: behind the others, in the
// order the low ones came.
func (g *Gate) EnterLow(ctx context.Context) (func(), error) {
	g.mu.Lock()
	if g.free > 0 {
		g.free--
		g.mu.Unlock()
		return g.leave, nil
	}
	w := &waiter{ready: make(chan struct{})}
	g.low = append(g.low, w)
	g.mu.Unlock()
	return g.wait(ctx, w, &g.low)
}

// wait waits for w's turn in queue q.
func (g *Gate) wait(ctx context.Context, w *waiter, q *[]*waiter) (func(), error) {
	select {
	case <-w.ready:
		return g.leave, nil
	case <-ctx.Done():
		g.mu.Lock()
		for k, o := range *q {
			if o == w {
				*q = append((*q)[:k], (*q)[k+1:]...)
				g.mu.Unlock()
				return nil, ctx.Err()
			}
		}
		g.mu.Unlock()
		g.leave() // admitted meanwhile: pass the turn on
		return nil, ctx.Err()
	}
}

// leave hands the turn to the oldest waiting caller (or to the first
// waiting low-priority one: see lowShare), or frees it.
func (g *Gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	q := &g.waiting
	switch {
	case len(g.low) > 0 && (len(g.waiting) == 0 || g.streak >= lowShare-1):
		q, g.streak = &g.low, 0
	case len(g.waiting) > 0:
		if len(g.low) > 0 {
			g.streak++
		}
	default:
		g.free++
		return
	}
	w := (*q)[0]
	(*q)[0] = nil
	*q = (*q)[1:]
	close(w.ready)
}
