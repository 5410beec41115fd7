// Package jobs runs Triage's durable background work on River, on SQLite
// and PostgreSQL alike. Jobs are inserted in the same transaction as the
// change that causes them, so a rolled-back change never runs its jobs, and
// a committed one always does, even across a crash.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"triage/internal/store"
)

// Client inserts and works jobs.
type Client struct {
	river  *river.Client[*sql.Tx]
	ownDB  *sql.DB       // River's own single-connection pool on SQLite
	listen *pgxpool.Pool // River's LISTEN connection on PostgreSQL
	logger *slog.Logger
}

// Options tune the client.
type Options struct {
	// Work false makes an insert-only client (admin commands).
	Work       bool
	MaxWorkers int
	Periodic   []*river.PeriodicJob
	// Queues are queues worked beside the default one, with their own
	// number of workers (jobs that wait a long time, such as paced Slack
	// posts, get their own so that they never hold every worker).
	Queues map[string]int
	// JobTimeout bounds one run of a job (default 2 minutes). RescueAfter
	// is when a job still marked running is taken for abandoned (its
	// process died) and run again; it must exceed JobTimeout. Zero keeps
	// River's default of an hour.
	JobTimeout  time.Duration
	RescueAfter time.Duration
}

// New migrates River's tables and returns a client over the store's
// database. Workers must hold every kind that will be inserted.
func New(ctx context.Context, s *store.Store, databaseURL string, logger *slog.Logger, workers *river.Workers, opts Options) (*Client, error) {
	var driver riverdriver.Driver[*sql.Tx]
	var ownDB *sql.DB
	var listenPool *pgxpool.Pool
	if s.Engine == store.SQLite {
		// River's SQLite driver wants a pool of its own with one
		// connection; it shares the file (and busy timeout) with the app.
		_, drv, dsn, err := store.ParseURL(databaseURL)
		if err != nil {
			return nil, err
		}
		if ownDB, err = sql.Open(drv, dsn); err != nil {
			return nil, fmt.Errorf("open River's SQLite pool: %w", err)
		}
		ownDB.SetMaxOpenConns(1)
		driver = riversqlite.New(ownDB)
	} else {
		// database/sql cannot LISTEN, which would leave River polling; a
		// small pgx pool of its own carries the notifications, so a job
		// inserted by any process starts at once in whichever process
		// is free.
		cfg, err := pgxpool.ParseConfig(databaseURL)
		if err != nil {
			return nil, fmt.Errorf("parse database URL for River's listener: %w", err)
		}
		cfg.MaxConns = 2
		if listenPool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
			return nil, fmt.Errorf("open River's listener pool: %w", err)
		}
		driver = riverdatabasesql.NewWithPgxListener(s.Pool(), listenPool)
	}
	built := false
	defer func() {
		if built {
			return
		}
		if listenPool != nil {
			listenPool.Close()
		}
		if ownDB != nil {
			ownDB.Close()
		}
	}()
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: quiet(logger)})
	if err != nil {
		return nil, fmt.Errorf("river migrator: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("migrate River's tables: %w", err)
	}
	cfg := &river.Config{
		Logger:            quiet(logger),
		Workers:           workers,
		FetchPollInterval: 200 * time.Millisecond,
		FetchCooldown:     50 * time.Millisecond,
		JobTimeout:        cmp.Or(opts.JobTimeout, 2*time.Minute),
		PeriodicJobs:      opts.Periodic,
	}
	if opts.RescueAfter > 0 {
		if opts.RescueAfter <= cfg.JobTimeout {
			return nil, fmt.Errorf("jobs: RescueAfter (%s) must exceed JobTimeout (%s)", opts.RescueAfter, cfg.JobTimeout)
		}
		cfg.RescueStuckJobsAfter = opts.RescueAfter
	}
	if opts.Work {
		n := opts.MaxWorkers
		if n <= 0 {
			n = 20
		}
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: n}}
		for name, workers := range opts.Queues {
			cfg.Queues[name] = river.QueueConfig{MaxWorkers: max(workers, 1)}
		}
	}
	rc, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	built = true
	return &Client{river: rc, ownDB: ownDB, listen: listenPool, logger: logger}, nil
}

// quiet keeps River's own chatter at warnings and above.
func quiet(l *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{l.Handler(), slog.LevelWarn})
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

// Start begins working jobs until ctx is done or Stop is called.
func (c *Client) Start(ctx context.Context) error { return c.river.Start(ctx) }

// Stop finishes jobs in progress and releases River's pool.
func (c *Client) Stop(ctx context.Context) error {
	err := c.river.Stop(ctx)
	if c.listen != nil {
		c.listen.Close()
	}
	if c.ownDB != nil {
		c.ownDB.Close()
	}
	return err
}

// Insert adds a job in the caller's transaction.
func (c *Client) Insert(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := c.river.InsertTx(ctx, tx.SQL, args, opts); err != nil {
		return fmt.Errorf("insert %s job: %w", args.Kind(), err)
	}
	return nil
}

// InsertMany adds several jobs in the caller's transaction.
func (c *Client) InsertMany(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	if _, err := c.river.InsertManyTx(ctx, tx.SQL, params); err != nil {
		return fmt.Errorf("insert %d jobs: %w", len(params), err)
	}
	return nil
}

// River exposes the client for subscriptions in tests.
func (c *Client) River() *river.Client[*sql.Tx] { return c.river }
