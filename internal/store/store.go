package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"triage"
)

//go:embed migrations
var migrations embed.FS

// Engine names the database behind a Store.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// DefaultTimeout bounds one statement, one wait for a lock and one
// connection attempt, unless Open is given another (TRIAGE_DATABASE_TIMEOUT).
const DefaultTimeout = 5 * time.Second

// ParseURL tells the engine of a TRIAGE_DATABASE_URL and returns the
// driver name and data source to open it with, bounded by DefaultTimeout.
func ParseURL(raw string) (Engine, string, string, error) {
	return parseURL(raw, DefaultTimeout)
}

// parseURL is ParseURL with the timeout that every connection gets: on
// PostgreSQL statement_timeout, lock_timeout and connect_timeout (unless
// the URL sets them), on SQLite a busy_timeout of twice that, since every
// writer queues for SQLite's one write lock and a burst of background
// jobs makes that queue long. A statement that outlives it fails instead
// of holding a request, a connection and perhaps locks.
func parseURL(raw string, timeout time.Duration) (Engine, string, string, error) {
	ms := max(timeout.Milliseconds(), 1)
	switch {
	case raw == "":
		return "", "", "", triage.Errorf(triage.EINVALID, "database URL is empty")
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return "", "", "", triage.Errorf(triage.EINVALID, "database URL is not a valid postgres:// URL")
		}
		q := u.Query()
		for k, v := range map[string]string{
			"statement_timeout": strconv.FormatInt(ms, 10),
			"lock_timeout":      strconv.FormatInt(ms, 10),
			"connect_timeout":   strconv.FormatInt(max(1, (ms+999)/1000), 10),
		} {
			if !q.Has(k) {
				q.Set(k, v)
			}
		}
		u.RawQuery = q.Encode()
		return Postgres, "pgx", u.String(), nil
	}
	path := sqlitePath(raw)
	if path == "" {
		return "", "", "", triage.Errorf(triage.EINVALID, "database URL %q names no SQLite file", raw)
	}
	if strings.Contains(path, "?") {
		return "", "", "", triage.Errorf(triage.EINVALID, "SQLite path %q must not carry parameters: Triage sets them", path)
	}
	// WAL lets readers run beside the one writer; immediate transactions take
	// the write lock up front so two writers queue on busy_timeout instead of
	// failing when one upgrades a read lock; foreign keys are off by default
	// in SQLite and the schema relies on them. Temporary files live in
	// memory: a statement that writes several rows inside a transaction
	// (the event writer's batches, whose counting upserts dozens of rows a
	// statement) keeps the pages it changes in a statement journal, and in
	// a file that was a write system call per page (9% of the writer's CPU
	// in BenchmarkWriteBatch's profile).
	dsn := "file:" + path + "?_pragma=busy_timeout(" + strconv.FormatInt(2*ms, 10) + ")&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate" +
		// See checkpointer.
		"&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(" + strconv.Itoa(journalSizeLimit) + ")"
	return SQLite, "sqlite", dsn, nil
}

// sqlitePath is the file a SQLite database URL names.
func sqlitePath(raw string) string {
	return strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite://"), "sqlite:")
}

// Store is Triage's database. Its query methods come from the embedded
// Queries, which Tx shares, so every query runs inside or outside a
// transaction alike.
type Store struct {
	*Queries
	db       *sql.DB
	Engine   Engine
	now      func() time.Time
	counters *sql.DB       // PostgreSQL: side connections, see Open
	ckpt     *checkpointer // SQLite
	timeout  time.Duration
	rawURL   string
}

// Option changes how Open connects.
type Option func(*Store)

// WithTimeout sets the bound of one statement, one lock wait and one
// connection attempt (DefaultTimeout otherwise).
func WithTimeout(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// Timeout is the bound of one statement: callers that run several in a
// row (a transaction) size their own deadlines from it.
func (s *Store) Timeout() time.Duration { return s.timeout }

// DefaultPostgresConns is the connection pool's size on PostgreSQL. On the
// 2-core machine Triage is measured on, with the database beside it, 12
// did better than 20 everywhere (Slack actions on 50 issues 1,430 -> 1,750
// a second with p99 110 -> 87 ms; alert bursts +12% -> +10% over the
// minimum; ingestion unchanged): more connections only made the
// database's backends take turns on the same cores.
// TRIAGE_DATABASE_MAX_CONNS sets it for bigger database servers.
const DefaultPostgresConns = 12

// SetMaxConns sets the connection pool's size (PostgreSQL; SQLite keeps
// its own).
func (s *Store) SetMaxConns(n int) {
	if s.Engine == Postgres && n > 0 {
		s.db.SetMaxOpenConns(n)
		s.db.SetMaxIdleConns(n)
	}
}

// Open connects to the database named by rawURL. It does not migrate.
func Open(ctx context.Context, rawURL string, now func() time.Time, opts ...Option) (*Store, error) {
	o := &Store{timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(o)
	}
	engine, driver, dsn, err := parseURL(rawURL, o.timeout)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", engine, err)
	}
	if engine == SQLite {
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	} else {
		// Idle connections are kept, not closed after a while: each
		// carries its server backend's catalog caches (see Warm), and a
		// burst after a quiet hour would otherwise start on cold ones.
		db.SetMaxOpenConns(DefaultPostgresConns)
		db.SetMaxIdleConns(DefaultPostgresConns)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", engine, err)
	}
	if now == nil {
		now = time.Now
	}
	stmts := newStmtCache(db, engine)
	st := &Store{Queries: &Queries{q: db, engine: engine, now: now, stmts: stmts}, db: db, Engine: engine, now: now,
		timeout: o.timeout, rawURL: rawURL}
	if engine == Postgres {
		// Side connections for short statements that must never queue
		// behind the main pool: the short-id counter (see CreateIssues:
		// a writer holding a transaction must never wait for the main
		// pool, whose connections may all be in transactions waiting on
		// the writer's row locks), and alert sends booked at their slot
		// (ClaimSend).
		if st.counters, err = sql.Open(driver, dsn); err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s database: %w", engine, err)
		}
		st.counters.SetMaxOpenConns(sideConns)
		st.counters.SetMaxIdleConns(sideConns)
		st.Queries.counters = st.counters
		// Connected now: the first burst of alert sends would otherwise
		// wait for them to connect, and push their channels' schedules
		// back from the first message on.
		if err := connectAll(pingCtx, st.counters, sideConns, nil); err != nil {
			st.Close()
			return nil, fmt.Errorf("connect to %s database: %w", engine, err)
		}
	}
	if path := sqlitePath(rawURL); engine == SQLite && path != ":memory:" {
		if st.ckpt, err = startCheckpointer(driver, dsn, path); err != nil {
			st.Close()
			return nil, fmt.Errorf("open %s database: %w", engine, err)
		}
	}
	return st, nil
}

// sideConns is the size of the side pool (PostgreSQL).
const sideConns = 2

// connectAll opens n connections of db, runs ready on each (when not
// nil), and leaves them idle in the pool.
func connectAll(ctx context.Context, db *sql.DB, n int, ready func(*sql.Conn) error) error {
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		if ready != nil {
			if err := ready(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// Warm opens every connection of the pools now (PostgreSQL; SQLite has
// nothing to warm) and has each one's server backend plan a lookup on
// every table of the schema. A new backend fills its catalog caches as it
// plans its first statements: measured on a fresh connection, planning an
// issue's lookup (five tables) took 4.6 ms the first time and 0.46 ms
// the next. A burst of alerts on a just-started process planned every
// statement cold on each of its connections (1.8 s of the database's CPU
// in TestDeliveryBurst, while the machine was at 100%). One statement a
// connection, about 25 ms; the pools keep their connections (see Open).
// serve calls it once migrated.
func (s *Store) Warm(ctx context.Context) error {
	if s.Engine != Postgres {
		return nil
	}
	ready := func(c *sql.Conn) error {
		if _, err := c.ExecContext(ctx, warmSQL); err != nil {
			return fmt.Errorf("warm a database connection: %w", err)
		}
		return nil
	}
	if err := connectAll(ctx, s.db, s.db.Stats().MaxOpenConnections, ready); err != nil {
		return err
	}
	return connectAll(ctx, s.counters, sideConns, ready)
}

// warmSQL plans a self-join on the primary key of each table of the
// schema, which loads what later plans read: the tables' and indexes'
// descriptions and statistics, and the operators and join methods.
const warmSQL = `DO $$
DECLARE r record;
BEGIN
	FOR r IN SELECT c.relname, a.attname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
		JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
		WHERE c.relkind = 'r'
	LOOP
		EXECUTE format('EXPLAIN SELECT 1 FROM %I x JOIN %I y ON y.%I = x.%I', r.relname, r.relname, r.attname, r.attname);
	END LOOP;
END $$`

// Close closes the prepared statements and the connection pools.
func (s *Store) Close() error {
	s.stmts.close()
	if s.ckpt != nil {
		s.ckpt.close()
	}
	if s.counters != nil {
		s.counters.Close()
	}
	return s.db.Close()
}

// Pool is the connection pool, for what must hold the pool itself rather
// than ask the store: River's driver and the pool's metrics. Tests use it
// to look at tables directly. Application queries belong in this package.
func (s *Store) Pool() *sql.DB { return s.db }

// SidePool is the side pool (PostgreSQL; nil on SQLite), for its
// statistics.
func (s *Store) SidePool() *sql.DB { return s.counters }

var _ triage.HealthStore = (*Store)(nil)

// Ping reaches the database (for /readyz).
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

func (s *Store) migrationsFS() (fs.FS, goose.Dialect) {
	if s.Engine == Postgres {
		sub, _ := fs.Sub(migrations, "migrations/postgres")
		return sub, goose.DialectPostgres
	}
	sub, _ := fs.Sub(migrations, "migrations/sqlite")
	return sub, goose.DialectSQLite3
}

// Migrate applies every pending migration and returns how many it applied.
// It runs on a connection of its own: on PostgreSQL without the statement
// timeout (building an index on a large table may take minutes); on
// SQLite one connection, so that a migration that rebuilds a table can
// turn foreign keys off and on around its own transaction (SQLite's
// procedure for changes ALTER TABLE cannot make; see 00012).
func (s *Store) Migrate(ctx context.Context) (int, error) {
	fsys, dialect := s.migrationsFS()
	driver, dsn := "pgx", s.rawURL
	if s.Engine == SQLite {
		var err error
		if _, driver, dsn, err = parseURL(s.rawURL, s.timeout); err != nil {
			return 0, err
		}
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return 0, fmt.Errorf("open a migration connection: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	p, err := goose.NewProvider(dialect, db, fsys)
	if err != nil {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	return len(res), nil
}

// Pending reports how many migrations are not applied yet (for /readyz).
func (s *Store) Pending(ctx context.Context) (int, error) {
	fsys, dialect := s.migrationsFS()
	p, err := goose.NewProvider(dialect, s.db, fsys)
	if err != nil {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("migration status: %w", err)
	}
	n := 0
	for _, m := range st {
		if m.State != goose.StatePending {
			continue
		}
		n++
	}
	return n, nil
}

// Tx is a transaction with the same query methods as the Store.
type Tx struct {
	*Queries
	SQL *sql.Tx
	// cardsQueued are the issues whose messages a hook of this
	// transaction queued a rebuild of (see MarkCardsQueued).
	cardsQueued map[int64]bool
}

// MarkCardsQueued notes that a rebuild of every remembered Slack message
// about the issue is queued in this transaction, so that the change's
// other hooks can tell.
func (tx *Tx) MarkCardsQueued(issueID int64) {
	if tx.cardsQueued == nil {
		tx.cardsQueued = map[int64]bool{}
	}
	tx.cardsQueued[issueID] = true
}

// CardsQueued tells whether MarkCardsQueued(issueID) was called in this
// transaction.
func (tx *Tx) CardsQueued(issueID int64) bool { return tx.cardsQueued[issueID] }

// InTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise. On SQLite the transaction takes the write lock at once.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	return s.Queries.inTx(ctx, s.db, fn)
}

// inTx runs fn in a transaction of db (the store's pool), with q's
// settings: InTx, and FoldCounts, which readers reach from Queries.
func (q *Queries) inTx(ctx context.Context, db *sql.DB, fn func(tx *Tx) error) error {
	sqlTx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Queries: &Queries{q: sqlTx, engine: q.engine, now: q.now, stmts: q.stmts, tx: sqlTx, counters: q.counters}, SQL: sqlTx}
	if err := fn(tx); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Queries holds every query; Store and Tx embed it.
type Queries struct {
	q      queryer
	engine Engine
	now    func() time.Time
	stmts  *stmtCache
	tx     *sql.Tx        // set inside a transaction
	msgs   *issueMessages // inside a transaction: see messagesOf
	cards  *changeCards   // inside a transaction: see ChangeCards
	// counters runs the short-id counter and alert send claims outside
	// transactions on PostgreSQL (nil on SQLite).
	counters *sql.DB
}

// Dialect tells which database the queries run on.
func (q *Queries) Dialect() Engine { return q.engine }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(n int64) time.Time { return time.UnixMicro(n).UTC() }

// translate maps driver errors to triage errors: what names the thing for
// the message ("organization slug").
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &wrapped{triage.Errorf(triage.ENOTFOUND, "%s not found", what), err}
	}
	if isUniqueViolation(err) {
		return &wrapped{triage.Errorf(triage.ECONFLICT, "%s already exists", what), err}
	}
	return err
}

// wrapped keeps the driver error for logs while exposing the triage error.
type wrapped struct {
	te  *triage.Error
	err error
}

func (w *wrapped) Error() string { return w.te.Error() + ": " + w.err.Error() }
func (w *wrapped) Unwrap() []error {
	return []error{w.te, w.err}
}

func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}
