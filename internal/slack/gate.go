package slack

import (
	"context"
	"sync"
)

// clickGate lets as many clicks' change transactions run at a time on
// PostgreSQL as the pool has connections, and admits the waiting ones
// oldest click first.
//
// It exists because of a measurement: database/sql hands a freed pooled
// connection to a random waiter (connRequestSet.TakeRandom), not to the
// one that has waited longest. With 50 clicks in flight on a pool of 12,
// a click could lose that draw many times in a row: timed per phase, the
// wait for a connection was 25-31 ms at the median and 180-300 ms at p99,
// most of the clicks' p99. Queued here instead, by the ticket each click
// takes when it arrives, the clicks reach the pool in the order they came
// (the same wait measured 16-47 ms at p99).
//
// The database reads of the clicked cards' rebuilds (and of the other
// card rebuilds) go through the gate too, behind the clicks: they get a
// turn when no click waits, and at least one turn in lowShare when clicks
// do, so that a burst of clicks slows the cards without stopping them.
// Waiting rebuilds of one message then fold into one (dispatch), as they
// did when they drew lots for connections: let in at once, beside the
// clicks, a rebuild ran for every click, which doubled the CPU a click
// costs and halved the clicks a second.
//
// A click takes its issue's turn (serializeWrites) before the gate, never
// the other way round: a click inside the gate waits for nothing but the
// database, so the gate cannot fill up with clicks waiting for one another.
type clickGate struct {
	mu      sync.Mutex
	free    int
	waiting []*gateWaiter // clicks, by ticket, oldest first
	low     []*gateWaiter // rebuilds, in the order they came
	streak  int           // turns handed to clicks while rebuilds waited
}

// lowShare: a waiting rebuild gets at least one turn in this many.
const lowShare = 4

type gateWaiter struct {
	ticket uint64
	ready  chan struct{}
}

func newClickGate(n int) *clickGate { return &clickGate{free: max(n, 1)} }

// enter waits until the click with this ticket may begin its transaction
// and returns the function that lets the next one in; it returns ctx's
// error if ctx ends first.
func (g *clickGate) enter(ctx context.Context, ticket uint64) (func(), error) {
	g.mu.Lock()
	if g.free > 0 && len(g.waiting) == 0 {
		g.free--
		g.mu.Unlock()
		return g.leave, nil
	}
	w := &gateWaiter{ticket: ticket, ready: make(chan struct{})}
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

// enterLow is enter for a card rebuild's reads: behind the clicks, in
// the order the rebuilds came.
func (g *clickGate) enterLow(ctx context.Context) (func(), error) {
	g.mu.Lock()
	if g.free > 0 {
		g.free--
		g.mu.Unlock()
		return g.leave, nil
	}
	w := &gateWaiter{ready: make(chan struct{})}
	g.low = append(g.low, w)
	g.mu.Unlock()
	return g.wait(ctx, w, &g.low)
}

// wait waits for w's turn in queue q.
func (g *clickGate) wait(ctx context.Context, w *gateWaiter, q *[]*gateWaiter) (func(), error) {
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

// leave hands the turn to the oldest waiting click (or to the first
// waiting rebuild: see lowShare), or frees it.
func (g *clickGate) leave() {
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
