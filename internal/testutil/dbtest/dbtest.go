// Package dbtest opens migrated stores for tests on every engine, so one
// test body runs against SQLite and PostgreSQL alike.
package dbtest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"triage/internal/store"
	"triage/internal/testutil/pgtest"
)

// Engines lists the engines every store test runs on. PostgreSQL's subtest
// skips (or fails under CI) when no server is configured.
var Engines = []store.Engine{store.SQLite, store.Postgres}

// URL returns a fresh database URL for the engine: a SQLite file in a temp
// dir, or a new PostgreSQL database.
func URL(t testing.TB, engine store.Engine) string {
	t.Helper()
	if engine == store.Postgres {
		return pgtest.New(t)
	}
	return filepath.Join(t.TempDir(), "triage.db")
}

// Open returns a migrated store on a fresh database of the engine, closed at
// the end of the test.
func Open(t testing.TB, engine store.Engine, now func() time.Time) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, URL(t, engine), now)
	if err != nil {
		t.Fatalf("open %s store: %v", engine, err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s store: %v", engine, err)
	}
	return s
}

// Each runs fn once per engine as parallel subtests.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	for _, e := range Engines {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, e, nil))
		})
	}
}
