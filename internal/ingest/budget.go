package ingest

import (
	"context"
	"runtime/debug"
	"sync"
	"time"
)

// DefaultMemory is the budget a handler gets when HandlerOptions.Memory is
// nil.
const DefaultMemory = 128 << 20

// Budget is the process-wide ceiling on the memory that ingestion requests
// hold for bodies and decompression, in bytes: every buffer a request
// grows is granted from it first, so that a flood of large or
// decompression-bomb requests costs at most the budget, not 20 MiB times
// the requests in flight. A request that finds the budget spent waits a
// moment for others to finish, then answers 503 with Retry-After.
//
// An eighth of the budget is kept for requests that hold little (up to
// 256 KiB: an ordinary event), so that they still get through while large
// bodies hold the rest. Grants are not queued in order: any
// that fits is given, so small requests are never stuck behind a large one.
//
// After a burst (the budget held more than a quarter of itself and is idle
// again for a second) the memory is handed back to the operating system.
type Budget struct {
	limit, reserve int64
	maxWait        time.Duration

	mu      sync.Mutex
	used    int64
	peak    int64         // highest use since the memory was last handed back
	changed chan struct{} // closed and replaced whenever bytes are released
	idle    *time.Timer
}

// NewBudget returns a budget of limit bytes.
func NewBudget(limit int64) *Budget {
	return &Budget{limit: limit, reserve: limit / 8, maxWait: 2 * time.Second, changed: make(chan struct{})}
}

// Limit is the budget's size in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Used is how many bytes are granted now.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// maxReserveGrant is the most a request may hold and still draw on the
// reserve: an ordinary event's buffers, not a large body's.
const maxReserveGrant = 256 << 10

// busyError is a request that could not get memory in time (503).
type busyError struct{}

func (*busyError) Error() string {
	return "Triage is receiving more data than it has memory for; retry later"
}

// retryAfterBusy is the Retry-After of a 503, in seconds.
const retryAfterBusy = "2"

// acquire grants n bytes, waiting up to maxWait (or ctx) for them. small
// (a request that holds little) may use the reserve.
func (b *Budget) acquire(ctx context.Context, n int64, small bool) error {
	ceiling := b.limit - b.reserve
	if small {
		ceiling = b.limit
	}
	if n > ceiling {
		return &busyError{}
	}
	var deadline <-chan time.Time
	for {
		b.mu.Lock()
		if b.used+n <= ceiling {
			b.used += n
			b.peak = max(b.peak, b.used)
			if b.idle != nil {
				b.idle.Stop()
				b.idle = nil
			}
			b.mu.Unlock()
			return nil
		}
		changed := b.changed
		b.mu.Unlock()
		if deadline == nil {
			t := time.NewTimer(b.maxWait)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-changed:
		case <-deadline:
			return &busyError{}
		case <-ctx.Done():
			return &busyError{}
		}
	}
}

// release gives n bytes back.
func (b *Budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	close(b.changed)
	b.changed = make(chan struct{})
	if b.used == 0 && b.peak > b.limit/4 && b.idle == nil {
		b.idle = time.AfterFunc(time.Second, b.handBack)
	}
}

// handBack returns freed memory to the operating system once a burst is
// over: Go's own scavenger would take minutes to do so.
func (b *Budget) handBack() {
	b.mu.Lock()
	if b.used > 0 || b.idle == nil {
		b.mu.Unlock()
		return
	}
	b.idle, b.peak = nil, 0
	b.mu.Unlock()
	debug.FreeOSMemory()
}

// grant is what one request holds of a budget.
type grant struct {
	b    *Budget
	ctx  context.Context
	held int64
}

func (b *Budget) grant(ctx context.Context) *grant { return &grant{b: b, ctx: ctx} }

// grow takes n more bytes for the request.
func (g *grant) grow(n int64) error {
	if g == nil {
		return nil
	}
	if err := g.b.acquire(g.ctx, n, g.held+n <= maxReserveGrant); err != nil {
		return err
	}
	g.held += n
	return nil
}

// done gives back everything the request held.
func (g *grant) done() {
	if g == nil {
		return
	}
	g.b.release(g.held)
	g.held = 0
}
