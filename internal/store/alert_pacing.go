package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Pace is one key's send schedule: the GCRA theoretical arrival time and
// the end of the last Retry-After.
type Pace struct {
	Key          string
	TAT          time.Time
	BlockedUntil time.Time
}

// LockPaces reads the schedules of keys, creating missing ones, and locks
// them until the transaction ends (rows on PostgreSQL; SQLite's immediate
// transaction holds the write lock already). Keys are locked in sorted
// order, so two transactions cannot deadlock.
func (q *Queries) LockPaces(ctx context.Context, keys []string) (map[string]*Pace, error) {
	keys = slices.Sorted(slices.Values(keys))
	lock := ""
	if q.engine == Postgres {
		lock = " FOR UPDATE"
	}
	out := map[string]*Pace{}
	for _, k := range keys {
		if _, err := q.q.ExecContext(ctx, `INSERT INTO alert_pacing (key, tat, blocked_until) VALUES ($1, 0, 0)
			ON CONFLICT (key) DO NOTHING`, k); err != nil {
			return nil, fmt.Errorf("create pace %s: %w", k, err)
		}
		var tat, blocked int64
		if err := q.q.QueryRowContext(ctx, `SELECT tat, blocked_until FROM alert_pacing WHERE key = $1`+lock, k).
			Scan(&tat, &blocked); err != nil {
			return nil, fmt.Errorf("lock pace %s: %w", k, err)
		}
		out[k] = &Pace{Key: k, TAT: fromMicros(tat), BlockedUntil: fromMicros(blocked)}
	}
	return out, nil
}

// SavePace writes a schedule read with LockPaces.
func (q *Queries) SavePace(ctx context.Context, p *Pace) error {
	_, err := q.q.ExecContext(ctx, `UPDATE alert_pacing SET tat = $1, blocked_until = $2 WHERE key = $3`,
		micros(p.TAT), micros(p.BlockedUntil), p.Key)
	if err != nil {
		return fmt.Errorf("save pace %s: %w", p.Key, err)
	}
	return nil
}

// ReservePace books the next send slot of one key in one statement (GCRA
// with interval iv and tolerance tol, past any Retry-After) and returns it.
func (q *Queries) ReservePace(ctx context.Context, key string, now time.Time, iv, tol time.Duration) (time.Time, error) {
	greatest := "GREATEST"
	if q.engine == SQLite {
		greatest = "MAX" // SQLite's scalar max of several values
	}
	slot := greatest + `(CAST($2 AS BIGINT), alert_pacing.tat - CAST($4 AS BIGINT), alert_pacing.blocked_until)`
	var at int64
	// SET reads the row as it was, so slot and tat both start from the
	// old schedule; a new key sends now.
	err := q.q.QueryRowContext(ctx, `INSERT INTO alert_pacing (key, tat, blocked_until, last_slot) VALUES ($1, CAST($2 AS BIGINT) + CAST($3 AS BIGINT), 0, $2)
		ON CONFLICT (key) DO UPDATE SET last_slot = `+slot+`,
		tat = `+greatest+`(alert_pacing.tat, `+slot+`) + CAST($3 AS BIGINT)
		RETURNING last_slot`, key, micros(now), iv.Microseconds(), tol.Microseconds()).Scan(&at)
	if err != nil {
		return time.Time{}, fmt.Errorf("reserve pace %s: %w", key, err)
	}
	return fromMicros(at), nil
}

// ReservePaces is ReservePace for several distinct keys of one rate in
// one statement (a batch of notifications to different channels): each
// key's next slot, by key.
func (q *Queries) ReservePaces(ctx context.Context, keys []string, now time.Time, iv, tol time.Duration) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	// Rows are locked in the order of the values: sorted, two batches
	// cannot deadlock.
	keys = slices.Sorted(slices.Values(keys))
	greatest := "GREATEST"
	if q.engine == SQLite {
		greatest = "MAX"
	}
	var values strings.Builder
	args := []any{micros(now), iv.Microseconds(), tol.Microseconds()}
	for k, key := range keys {
		if k > 0 {
			values.WriteString(", ")
		}
		args = append(args, key)
		fmt.Fprintf(&values, "($%d, CAST($1 AS BIGINT) + CAST($2 AS BIGINT), 0, $1)", len(args))
	}
	slot := greatest + `(CAST($1 AS BIGINT), alert_pacing.tat - CAST($3 AS BIGINT), alert_pacing.blocked_until)`
	rows, err := q.q.QueryContext(ctx, `INSERT INTO alert_pacing (key, tat, blocked_until, last_slot) VALUES `+values.String()+`
		ON CONFLICT (key) DO UPDATE SET last_slot = `+slot+`,
		tat = `+greatest+`(alert_pacing.tat, `+slot+`) + CAST($2 AS BIGINT)
		RETURNING key, last_slot`, args...)
	type booked struct {
		key string
		at  int64
	}
	got, err := collect(rows, err, fmt.Sprintf("reserve %d paces", len(keys)), func(row rowScanner) (b booked, err error) {
		err = row.Scan(&b.key, &b.at)
		return b, err
	})
	for _, b := range got {
		out[b.key] = fromMicros(b.at)
	}
	return out, err
}

// ClaimSend books the send time of one message on key's schedule of
// actual sends (GCRA with interval iv and tolerance tol): the earliest time
// at or after now that keeps the sends within the rate, however late the
// job came. It returns that time and the end of the key's last
// Retry-After, read in the same statement. It is ClaimSends of one.
//
// On PostgreSQL it runs on the store's side connections (see Open), not
// the main pool: a send is booked at its slot, and a claim that queued
// behind a burst's other queries would come late and push the channel's
// whole schedule back.
func (q *Queries) ClaimSend(ctx context.Context, key string, now time.Time, iv, tol time.Duration) (time.Time, time.Time, error) {
	got, err := q.ClaimSends(ctx, []SendClaim{{Key: key, Now: now}}, iv, tol)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	c, ok := got[key]
	if !ok {
		return time.Time{}, time.Time{}, fmt.Errorf("claim send on %s: no row", key)
	}
	return c.At, c.BlockedUntil, nil
}

// SendClaim is one send to book with ClaimSends: on Key's schedule of
// actual sends, at or after Now.
type SendClaim struct {
	Key string
	Now time.Time
}

// ClaimedSend is a SendClaim's answer, as ClaimSend gives it.
type ClaimedSend struct {
	At, BlockedUntil time.Time
}

// ClaimSends books several sends at once, on distinct keys sharing one
// rate (interval iv, tolerance tol), each as ClaimSend would, in one
// statement on the side connections: a burst's sends to twenty channels
// are due together, and one round trip for all of them does not queue
// behind the others' (with two side connections, a claim waited for one
// about 100 ms in such a burst, and a channel posts one message at a time).
// Rows are locked in key order, as ReservePaces locks them.
func (q *Queries) ClaimSends(ctx context.Context, claims []SendClaim, iv, tol time.Duration) (map[string]ClaimedSend, error) {
	out := make(map[string]ClaimedSend, len(claims))
	if len(claims) == 0 {
		return out, nil
	}
	claims = slices.SortedFunc(slices.Values(claims), func(a, b SendClaim) int { return strings.Compare(a.Key, b.Key) })
	greatest := "GREATEST"
	if q.engine == SQLite {
		greatest = "MAX"
	}
	var db queryer = q.q
	if q.counters != nil && q.tx == nil {
		db = q.counters
	}
	var values strings.Builder
	args := []any{iv.Microseconds(), tol.Microseconds()}
	for k, c := range claims {
		if k > 0 {
			if c.Key == claims[k-1].Key {
				return nil, fmt.Errorf("claim sends: %s twice", c.Key)
			}
			values.WriteString(", ")
		}
		args = append(args, c.Key, micros(c.Now))
		fmt.Fprintf(&values, "($%d, CAST($%d AS BIGINT) + CAST($1 AS BIGINT), CAST($%d AS BIGINT))", len(args)-1, len(args), len(args))
	}
	// excluded.last_claim is the claim's now.
	at := greatest + `(excluded.last_claim, alert_pacing.sent_tat - CAST($2 AS BIGINT))`
	rows, err := db.QueryContext(ctx, `INSERT INTO alert_pacing (key, sent_tat, last_claim) VALUES `+values.String()+`
		ON CONFLICT (key) DO UPDATE SET last_claim = `+at+`,
		sent_tat = `+greatest+`(alert_pacing.sent_tat, `+at+`) + CAST($1 AS BIGINT)
		RETURNING key, last_claim, blocked_until`, args...)
	type claimed struct {
		key            string
		claim, blocked int64
	}
	got, err := collect(rows, err, fmt.Sprintf("claim %d sends", len(claims)), func(row rowScanner) (c claimed, err error) {
		err = row.Scan(&c.key, &c.claim, &c.blocked)
		return c, err
	})
	for _, c := range got {
		out[c.key] = ClaimedSend{At: fromMicros(c.claim), BlockedUntil: optFromMicros(c.blocked)}
	}
	return out, err
}

// BlockPace records a Retry-After on key: no slot before until.
func (q *Queries) BlockPace(ctx context.Context, key string, until time.Time) error {
	greatest := "GREATEST"
	if q.engine == SQLite {
		greatest = "MAX"
	}
	_, err := q.q.ExecContext(ctx, `INSERT INTO alert_pacing (key, tat, blocked_until, last_slot) VALUES ($1, $2, $2, 0)
		ON CONFLICT (key) DO UPDATE SET blocked_until = `+greatest+`(alert_pacing.blocked_until, CAST($2 AS BIGINT)),
		tat = `+greatest+`(alert_pacing.tat, CAST($2 AS BIGINT))`, key, micros(until))
	if err != nil {
		return fmt.Errorf("block pace %s: %w", key, err)
	}
	return nil
}
