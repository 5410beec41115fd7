package gate

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// waitingTakes is how many callers wait for a turn.
func (g *Gate) waitingTakes() int {
	n, _ := g.queued()
	return n
}

// Two at a time, each freed turn going to the oldest waiter; one whose
// context ends leaves the line without taking a turn from the others.
func TestTakeInOrder(t *testing.T) {
	t.Parallel()
	tt := New(2)
	ctx := context.Background()
	endA, err := tt.Take(ctx)
	if err != nil {
		t.Fatal(err)
	}
	endB, _ := tt.Take(ctx)
	var mu sync.Mutex
	var order []int
	got := func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(order)
	}
	release := map[int]chan struct{}{}
	var wg sync.WaitGroup
	cctx, cancel := context.WithCancel(ctx)
	gaveUp := make(chan error, 1)
	for i := range 5 {
		if i == 2 {
			// The third in line gives up while it waits.
			go func() {
				_, err := tt.Take(cctx)
				gaveUp <- err
			}()
		} else {
			release[i] = make(chan struct{})
			wg.Go(func() {
				end, err := tt.Take(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				<-release[i]
				end()
			})
		}
		for tt.waitingTakes() != i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	cancel()
	if err := <-gaveUp; err == nil {
		t.Fatal("a caller whose context ended got a turn")
	}
	if o := got(); len(o) != 0 {
		t.Fatalf("%v got turns while both were taken", o)
	}
	// Each turn that ends goes to the oldest waiter still in line.
	waitLen := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for len(got()) < n {
			if time.Now().After(deadline) {
				t.Fatalf("turns taken %v, waiting for %d", got(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	endA()
	waitLen(1)
	endB()
	waitLen(2)
	close(release[0])
	waitLen(3)
	close(release[1])
	waitLen(4)
	if want := []int{0, 1, 3, 4}; !slices.Equal(got(), want) {
		t.Errorf("turns taken in order %v, want %v", got(), want)
	}
	close(release[3])
	close(release[4])
	wg.Wait()
	// All turns are back: two are taken at once without waiting.
	for range 2 {
		if _, err := tt.Take(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if tt.waitingTakes() != 0 || tt.free != 0 {
		t.Errorf("queued %d, free %d after taking both turns", tt.waitingTakes(), tt.free)
	}
}
