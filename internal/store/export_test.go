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
