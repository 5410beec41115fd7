package alert

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"triage/internal/store"
)

// Rate is a send rate with bursts: PerSecond on average, Burst at once.
// PerSecond <= 0 means unlimited.
type Rate struct {
	PerSecond float64
	Burst     int
}

func (r Rate) interval() time.Duration {
	if r.PerSecond <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / r.PerSecond)
}

// PaceLimits are the pacing rules: chat.postMessage allows about one
// message per second per channel, with short bursts; a workspace as a
// whole gets a ceiling too.
type PaceLimits struct {
	Channel   Rate
	Workspace Rate
}

// DefaultPaceLimits follow Slack's published guidance.
func DefaultPaceLimits() PaceLimits {
	return PaceLimits{
		Channel:   Rate{PerSecond: 1, Burst: 3},
		Workspace: Rate{PerSecond: 10, Burst: 20},
	}
}

// Pacer hands out send slots per channel and per workspace. Every process
// posting to Slack must share one: MemoryPacer within a process (SQLite:
// one process does everything), SQLPacer across processes on PostgreSQL.
type Pacer interface {
	// Reserve books the earliest slot at or after now that every key
	// allows and returns it. It always books: a caller that will not use
	// its slot soon remembers it and comes back at that time.
	Reserve(ctx context.Context, keys []PaceKey, now time.Time) (time.Time, error)
	// Block records a Retry-After: nothing is sent on key before until,
	// and later slots start after it.
	Block(ctx context.Context, key PaceKey, until time.Time) error
	// Claim books the send time of a message whose slot has come, on
	// key's schedule of actual sends: jobs that run late would otherwise
	// send closer together than their slots, and drain the burst
	// allowance Slack keeps per channel. It also returns the end of the
	// key's last Retry-After, so that the last look before sending costs
	// nothing more.
	Claim(ctx context.Context, key PaceKey, now time.Time) (at, blockedUntil time.Time, err error)
}

// PaceKey names one schedule and its rate.
type PaceKey struct {
	Name string
	Rate Rate
}

// DefaultPacer is the pacer every sender to Slack in a process shares
// (alerts, and the Slack integration's direct messages and Home tabs): in
// the database on PostgreSQL, where several processes send, in memory on
// SQLite, where one does.
func DefaultPacer(s *store.Store) Pacer {
	if s.Engine == store.Postgres {
		return &SQLPacer{Store: s}
	}
	return NewMemoryPacer()
}

// ChannelPaceKey is the schedule of posts to one conversation of a
// workspace (a channel, or a person's direct messages), at l's channel
// rate: the key alerts book.
func ChannelPaceKey(l PaceLimits, integrationID int64, channelID string) PaceKey {
	return channelKey(l, integrationID, channelID)
}

// WorkspacePaceKey is the schedule every post to a workspace shares, at
// l's workspace rate: the key alerts book.
func WorkspacePaceKey(l PaceLimits, integrationID int64) PaceKey {
	return workspaceKey(l, integrationID)
}

func channelKey(l PaceLimits, integrationID int64, channelID string) PaceKey {
	return PaceKey{Name: "c:" + strconv.FormatInt(integrationID, 10) + ":" + channelID, Rate: l.Channel}
}

func workspaceKey(l PaceLimits, integrationID int64) PaceKey {
	return PaceKey{Name: "w:" + strconv.FormatInt(integrationID, 10), Rate: l.Workspace}
}

// gcra computes one key's slot: the generic cell rate algorithm with a
// theoretical arrival time tat. A key allows Burst sends at once, then one
// per interval; blocked pushes the slot past a Retry-After.
func gcraSlot(r Rate, tat, blocked, now time.Time) time.Time {
	slot := now
	if iv := r.interval(); iv > 0 {
		tolerance := time.Duration(max(r.Burst, 1)-1) * iv
		if t := tat.Add(-tolerance); t.After(slot) {
			slot = t
		}
	}
	if blocked.After(slot) {
		slot = blocked
	}
	return slot
}

func gcraNext(r Rate, tat, slot time.Time) time.Time {
	iv := r.interval()
	if iv == 0 {
		return tat
	}
	if slot.After(tat) {
		tat = slot
	}
	return tat.Add(iv)
}

// MemoryPacer paces the sends of one process.
type MemoryPacer struct {
	mu    sync.Mutex
	paces map[string]*memPace
}

type memPace struct{ tat, blocked, sentTAT time.Time }

// NewMemoryPacer returns an empty pacer.
func NewMemoryPacer() *MemoryPacer { return &MemoryPacer{paces: map[string]*memPace{}} }

func (p *MemoryPacer) get(name string) *memPace {
	mp := p.paces[name]
	if mp == nil {
		mp = &memPace{}
		p.paces[name] = mp
	}
	return mp
}

func (p *MemoryPacer) Reserve(_ context.Context, keys []PaceKey, now time.Time) (time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	slot := now
	for _, k := range keys {
		mp := p.get(k.Name)
		if s := gcraSlot(k.Rate, mp.tat, mp.blocked, now); s.After(slot) {
			slot = s
		}
	}
	for _, k := range keys {
		mp := p.get(k.Name)
		mp.tat = gcraNext(k.Rate, mp.tat, slot)
	}
	return slot, nil
}

func (p *MemoryPacer) Block(_ context.Context, key PaceKey, until time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	mp := p.get(key.Name)
	if until.After(mp.blocked) {
		mp.blocked = until
	}
	if until.After(mp.tat) {
		mp.tat = until
	}
	return nil
}

func (p *MemoryPacer) Claim(_ context.Context, key PaceKey, now time.Time) (time.Time, time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	mp := p.get(key.Name)
	at := gcraSlot(key.Rate, mp.sentTAT, time.Time{}, now)
	mp.sentTAT = gcraNext(key.Rate, mp.sentTAT, at)
	return at, mp.blocked, nil
}

// SQLPacer keeps the schedules in the database, so that several processes
// share them: a slot is booked in a short transaction that locks the keys'
// rows, and a Retry-After one process receives holds back the others.
//
// Sends due at once share a statement (Claim): an alert to twenty channels
// books twenty sends at the same slot, each channel posting one message at
// a time, and with a statement each they queued for the store's two side
// connections (about 100 ms a claim while a burst's evaluations ran), so
// that every channel posted at a fraction of its rate.
type SQLPacer struct {
	Store *store.Store

	mu      sync.Mutex
	waiting []*sendClaim
	rounds  int // statements in flight
	// statements counts the statements that booked sends.
	statements atomic.Int64
}

// ClaimStatements is how many statements have booked sends so far.
func (p *SQLPacer) ClaimStatements() int64 { return p.statements.Load() }

// sendClaim is one Claim waiting for its round.
type sendClaim struct {
	key     string
	now     time.Time
	iv, tol time.Duration
	done    chan struct{}
	got     store.ClaimedSend
	err     error
}

// claimRounds is how many statements booking sends a process runs at once:
// one per side connection.
const claimRounds = 2

// claimTimeout bounds one statement booking sends.
const claimTimeout = 10 * time.Second

func names(keys []PaceKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Name
	}
	return out
}

func (p *SQLPacer) Reserve(ctx context.Context, keys []PaceKey, now time.Time) (time.Time, error) {
	if len(keys) == 1 {
		// The common case, one statement: no transaction held across
		// round trips.
		k := keys[0]
		iv := k.Rate.interval()
		return p.Store.ReservePace(ctx, k.Name, now, iv, time.Duration(max(k.Rate.Burst, 1)-1)*iv)
	}
	slot := now
	err := p.Store.InTx(ctx, func(tx *store.Tx) error {
		paces, err := tx.LockPaces(ctx, names(keys))
		if err != nil {
			return err
		}
		slot = now
		for _, k := range keys {
			pc := paces[k.Name]
			if s := gcraSlot(k.Rate, pc.TAT, pc.BlockedUntil, now); s.After(slot) {
				slot = s
			}
		}
		for _, k := range keys {
			pc := paces[k.Name]
			pc.TAT = gcraNext(k.Rate, pc.TAT, slot)
			if err := tx.SavePace(ctx, pc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("reserve send slot: %w", err)
	}
	return slot, nil
}

// ReserveEach books the next slot of each key (distinct keys, one send
// each), as Reserve would one at a time; in one statement when they share
// a rate.
func (p *SQLPacer) ReserveEach(ctx context.Context, keys []PaceKey, now time.Time) (map[string]time.Time, error) {
	for _, k := range keys[1:] {
		if k.Rate != keys[0].Rate {
			return reserveEach(ctx, p, keys, now)
		}
	}
	iv := keys[0].Rate.interval()
	return p.Store.ReservePaces(ctx, names(keys), now, iv, time.Duration(max(keys[0].Rate.Burst, 1)-1)*iv)
}

// ReserveEach books the next slot of each key.
func (p *MemoryPacer) ReserveEach(ctx context.Context, keys []PaceKey, now time.Time) (map[string]time.Time, error) {
	return reserveEach(ctx, p, keys, now)
}

func reserveEach(ctx context.Context, p Pacer, keys []PaceKey, now time.Time) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(keys))
	for _, k := range keys {
		slot, err := p.Reserve(ctx, []PaceKey{k}, now)
		if err != nil {
			return nil, err
		}
		out[k.Name] = slot
	}
	return out, nil
}

func (p *SQLPacer) Block(ctx context.Context, key PaceKey, until time.Time) error {
	return p.Store.BlockPace(ctx, key.Name, until)
}

// Claim books the send in the next round: a statement with every other
// send waiting then (one per key). A caller whose context ends while it
// waits gets the context's error; its send may still be booked, which
// only costs its key one interval.
func (p *SQLPacer) Claim(ctx context.Context, key PaceKey, now time.Time) (time.Time, time.Time, error) {
	iv := key.Rate.interval()
	c := &sendClaim{key: key.Name, now: now, iv: iv, tol: time.Duration(max(key.Rate.Burst, 1)-1) * iv, done: make(chan struct{})}
	p.mu.Lock()
	p.waiting = append(p.waiting, c)
	start := p.rounds < claimRounds
	if start {
		p.rounds++
	}
	p.mu.Unlock()
	if start {
		go p.claimRounds()
	}
	select {
	case <-c.done:
		return c.got.At, c.got.BlockedUntil, c.err
	case <-ctx.Done():
		return time.Time{}, time.Time{}, ctx.Err()
	}
}

// claimRounds books the waiting sends, a statement at a time, until none
// waits.
func (p *SQLPacer) claimRounds() {
	for {
		p.mu.Lock()
		round := p.takeRound()
		if len(round) == 0 {
			p.rounds--
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		claims := make([]store.SendClaim, len(round))
		for i, c := range round {
			claims[i] = store.SendClaim{Key: c.key, Now: c.now}
		}
		ctx, cancel := context.WithTimeout(context.Background(), claimTimeout)
		got, err := p.Store.ClaimSends(ctx, claims, round[0].iv, round[0].tol)
		cancel()
		p.statements.Add(1)
		for _, c := range round {
			c.got, c.err = got[c.key], err
			if err == nil && c.got.At.IsZero() {
				c.err = fmt.Errorf("claim send on %s: no answer", c.key)
			}
			close(c.done)
		}
	}
}

// takeRound takes the waiting sends that share the first one's rate, one
// per key (a key's second send waits for the next round); p.mu is held.
func (p *SQLPacer) takeRound() []*sendClaim {
	if len(p.waiting) == 0 {
		return nil
	}
	first := p.waiting[0]
	var round, rest []*sendClaim
	keys := map[string]bool{}
	for _, c := range p.waiting {
		if c.iv == first.iv && c.tol == first.tol && !keys[c.key] {
			keys[c.key] = true
			round = append(round, c)
		} else {
			rest = append(rest, c)
		}
	}
	p.waiting = rest
	return round
}
