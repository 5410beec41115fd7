package gate

import (
	"context"
	"slices"
	"testing"
	"time"
)

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (g *Gate) queued() (clicks, low int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiting), len(g.low)
}

// TestGateOldestFirst: callers (clicks) that wait for the gate get in by the
// order they arrived (their tickets), not by the order they reached the
// gate; a click whose request ends while it waits leaves no turn lost.
func TestGateOldestFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := New(1)
	leave, err := g.Enter(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	admitted := make(chan uint64, 8)
	enterAs := func(ticket uint64) {
		l, err := g.Enter(ctx, ticket)
		if err != nil {
			t.Error(err)
			return
		}
		admitted <- ticket
		l()
	}
	gone, cancel := context.WithCancel(ctx)
	cancelled := make(chan error, 1)
	go func() {
		_, err := g.Enter(gone, 2)
		cancelled <- err
	}()
	waitFor(t, "ticket 2 to wait", func() bool { c, _ := g.queued(); return c == 1 })
	for n, ticket := range []uint64{6, 4, 5, 3} {
		go enterAs(ticket)
		waitFor(t, "the clicks to wait", func() bool { c, _ := g.queued(); return c == n+2 })
	}
	cancel()
	if err := <-cancelled; err == nil {
		t.Fatal("a click whose request ended got in")
	}
	leave()
	var order []uint64
	for range 4 {
		order = append(order, <-admitted)
	}
	if want := []uint64{3, 4, 5, 6}; !slices.Equal(order, want) {
		t.Errorf("clicks got in as %v, want %v", order, want)
	}
	// Every turn came back: the gate lets one in at once again.
	l, err := g.Enter(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	l()
}

// TestGateLowBehind: a low-priority caller (a card rebuild) waits behind the
// clicks, but gets a turn within lowShare turns however many clicks wait.
func TestGateLowBehind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := New(1)
	leave, _ := g.Enter(ctx, 1)
	admitted := make(chan string, 16)
	release := make(chan struct{})
	go func() {
		l, err := g.EnterLow(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		admitted <- "rebuild"
		<-release
		l()
	}()
	waitFor(t, "the rebuild to wait", func() bool { _, low := g.queued(); return low == 1 })
	const clicks = 8
	for n := range clicks {
		go func() {
			l, err := g.Enter(ctx, uint64(10+n))
			if err != nil {
				t.Error(err)
				return
			}
			admitted <- "click"
			<-release
			l()
		}()
		waitFor(t, "the clicks to wait", func() bool { c, _ := g.queued(); return c == n+1 })
	}
	leave()
	var order []string
	for range clicks + 1 {
		order = append(order, <-admitted)
		release <- struct{}{}
	}
	pos := -1
	for k, what := range order {
		if what == "rebuild" {
			pos = k
		}
	}
	if pos != lowShare-1 {
		t.Errorf("turns went %v: the rebuild got in at turn %d, want %d", order, pos+1, lowShare)
	}
	// With no click waiting, a rebuild gets in at once.
	l, err := g.EnterLow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l()
}
