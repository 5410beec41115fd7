package store

import (
	"context"

	"github.com/pressly/goose/v3"
)

// MigrateUpTo applies the migrations up to version, for tests that put
// data in an older schema and migrate it.
func (s *Store) MigrateUpTo(ctx context.Context, version int64) error {
	fsys, dialect := s.migrationsFS()
	p, err := goose.NewProvider(dialect, s.db, fsys)
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}

// LockWaiters counts this database's PostgreSQL sessions waiting for a
// lock, for tests that prove a statement waits for another transaction.
func (s *Store) LockWaiters(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
	return n, err
}
