package web

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoginSlotsKeepRoomForCleanChecks floods the password-check slots
// with suspect checks (addresses or accounts with recent failures) that
// hold their slot until released, and proves that they never hold more
// than one slot at a time, and that clean checks still get the other
// slots while every suspect check is still queued or running.
func TestLoginSlotsKeepRoomForCleanChecks(t *testing.T) {
	th := newLoginThrottle(time.Now)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	const flood = 32
	var holding, most, done atomic.Int64
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range flood {
		wg.Go(func() {
			free, err := th.slot(ctx, true)
			if err != nil {
				t.Errorf("a suspect check got no slot: %v", err)
				return
			}
			n := holding.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			<-release
			holding.Add(-1)
			free()
			done.Add(1)
		})
	}
	// One suspect check is running (holding its slot) and the other 31 wait.
	for holding.Load() == 0 {
		if ctx.Err() != nil {
			t.Fatal("no suspect check got a slot")
		}
		time.Sleep(time.Millisecond)
	}

	// The clean checks take the remaining slots while the suspect one
	// still holds its own: they do not queue behind the flood.
	var frees []func()
	for i := range loginSlots - 1 {
		free, err := th.slot(ctx, false)
		if err != nil {
			t.Fatalf("clean check %d waited behind the flood until the test's deadline: %v", i+1, err)
		}
		frees = append(frees, free)
	}
	if d := done.Load(); d != 0 {
		t.Fatalf("%d suspect checks finished before the clean ones got their slots; the test needs them held", d)
	}
	for _, free := range frees {
		free()
	}

	// Let the flood drain one check at a time.
	for range flood {
		release <- struct{}{}
	}
	wg.Wait()
	if m := most.Load(); m != 1 {
		t.Errorf("suspect checks held %d slots at once, want 1 (the others are kept for clean checks)", m)
	}
}

// TestLoginSlotWaitEndsWithContext: a check that finds no slot gives up
// when its request ends, and leaves no slot taken.
func TestLoginSlotWaitEndsWithContext(t *testing.T) {
	th := newLoginThrottle(time.Now)
	bg := context.Background()
	var frees []func()
	for range loginSlots {
		free, err := th.slot(bg, false)
		if err != nil {
			t.Fatal(err)
		}
		frees = append(frees, free)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := th.slot(ctx, true); err == nil {
		t.Fatal("a check found a slot with every slot taken")
	}
	for _, free := range frees {
		free()
	}
	// Every slot, the suspect one included, is free again.
	if _, err := th.slot(bg, true); err != nil {
		t.Fatal(err)
	}
	if len(th.any) != 1 || len(th.suspect) != 1 {
		t.Fatalf("slots taken: %d of any, %d suspect; want 1 and 1", len(th.any), len(th.suspect))
	}
}
