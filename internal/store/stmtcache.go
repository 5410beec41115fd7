package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// stmtCache keeps prepared statements for the hot paths on SQLite, which
// spends most of a small query's time compiling it; database/sql re-uses a
// statement prepared on the pool on each connection it has been prepared on,
// inside transactions too. On PostgreSQL pgx already keeps a statement cache
// on each connection, so the queries go to it unchanged.
//
// Preparing on the pool takes a connection of its own. A transaction must
// never wait for one: with every connection held by a transaction waiting
// for a second, the pool deadlocks until the contexts expire. So a
// transaction that misses the cache runs its query unprepared and leaves
// the preparing to the background.
type stmtCache struct {
	db      *sql.DB
	disable bool // PostgreSQL: pgx caches per connection

	mu      sync.Mutex
	m       map[string]*sql.Stmt
	warming map[string]bool
	texts   map[valuesKey]string // see valuesQuery

	// The background preparations: close cancels and waits for them, so
	// that none opens a connection (and SQLite's files) after the store
	// closed.
	stop    context.CancelFunc
	stopped context.Context
	warmers sync.WaitGroup
}

func newStmtCache(db *sql.DB, engine Engine) *stmtCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &stmtCache{db: db, disable: engine == Postgres, m: map[string]*sql.Stmt{}, warming: map[string]bool{}, stop: cancel, stopped: ctx}
}

func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// prepare prepares query on the pool, holding no lock while it waits.
func (c *stmtCache) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[query]; ok { // another caller won the race
		st.Close()
		return old, nil
	}
	if c.m == nil { // closed meanwhile
		st.Close()
		return nil, sql.ErrConnDone
	}
	c.m[query] = st
	return st, nil
}

// warm prepares query in the background, once at a time per query.
func (c *stmtCache) warm(query string) {
	c.mu.Lock()
	if c.warming[query] || c.m == nil {
		c.mu.Unlock()
		return
	}
	c.warming[query] = true
	c.warmers.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.warmers.Done()
		ctx, cancel := context.WithTimeout(c.stopped, 30*time.Second)
		defer cancel()
		_, _ = c.prepare(ctx, query) // a failure leaves the query unprepared; the next miss tries again
		c.mu.Lock()
		delete(c.warming, query)
		c.mu.Unlock()
	}()
}

func (c *stmtCache) close() {
	c.mu.Lock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
	c.mu.Unlock()
	c.stop()
	c.warmers.Wait()
}

// stmt is what prepared returns: a prepared statement, or the query text
// bound to the connection or transaction when none is at hand.
type stmt interface {
	ExecContext(ctx context.Context, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, args ...any) *sql.Row
}

type unprepared struct {
	q     queryer
	query string
}

func (u unprepared) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return u.q.ExecContext(ctx, u.query, args...)
}

func (u unprepared) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	return u.q.QueryContext(ctx, u.query, args...)
}

func (u unprepared) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return u.q.QueryRowContext(ctx, u.query, args...)
}

// prepared returns a cached statement for query, bound to the transaction
// when the queries run in one. Only fixed query texts belong here.
func (q *Queries) prepared(ctx context.Context, query string) (stmt, error) {
	if q.stmts == nil || q.stmts.disable {
		return unprepared{q.q, query}, nil
	}
	st := q.stmts.lookup(query)
	if st == nil && q.tx != nil {
		q.stmts.warm(query)
		return unprepared{q.q, query}, nil
	}
	if st == nil {
		var err error
		if st, err = q.stmts.prepare(ctx, query); err != nil {
			return nil, err
		}
	}
	if q.tx != nil {
		return q.tx.StmtContext(ctx, st), nil
	}
	return st, nil
}
