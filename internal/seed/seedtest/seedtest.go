// Package seedtest gives benchmarks the seeded database of package seed,
// built once per engine and kept between runs: a SQLite file under
// TRIAGE_BENCH_SEED_DIR (default: the temp dir), a PostgreSQL database
// named triage_bench_seed on the tests' server. A build that stopped half
// way is started again from an empty database. Migrations added since
// the build are applied on open, so one database measures a schema
// change before and after.
package seedtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"triage"
	"triage/internal/seed"
	"triage/internal/store"
	"triage/internal/testutil/pgtest"
)

// Enabled reports whether TRIAGE_BENCH_SEED=1 asks for the seeded
// benchmarks, which take minutes the first time.
func Enabled() bool { return os.Getenv("TRIAGE_BENCH_SEED") == "1" }

// Open returns a store on the seeded database of the engine (building it
// when missing) and its World. The store is closed when tb ends.
func Open(tb testing.TB, engine store.Engine, spec seed.Spec) (*store.Store, *seed.World) {
	tb.Helper()
	ctx := context.Background()
	s := open(tb, engine, false)
	w, err := seed.Lookup(ctx, s, spec)
	if err == nil {
		tb.Cleanup(func() { s.Close() })
		return s, w
	}
	if triage.ErrorCode(err) != triage.ENOTFOUND {
		tb.Fatalf("look for the seeded %s database: %v", engine, err)
	}
	s.Close()
	s = open(tb, engine, true)
	tb.Cleanup(func() { s.Close() })
	tb.Logf("building the seeded %s database (%s); it is kept for the next run", engine, spec.Fingerprint())
	if w, err = seed.Build(ctx, s, spec, testWriter{tb}); err != nil {
		tb.Fatalf("seed %s: %v", engine, err)
	}
	return s, w
}

// open opens and migrates the engine's seeded database, emptied first
// when fresh; the caller closes it.
func open(tb testing.TB, engine store.Engine, fresh bool) *store.Store {
	tb.Helper()
	var dsn string
	if engine == store.Postgres {
		dsn = pgtest.Kept(tb, "triage_bench_seed", fresh)
	} else {
		dir := os.Getenv("TRIAGE_BENCH_SEED_DIR")
		if dir == "" {
			dir = filepath.Join(os.TempDir(), "triage-bench-seed")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		dsn = filepath.Join(dir, "seed.db")
		if fresh {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				if err := os.Remove(dsn + suffix); err != nil && !os.IsNotExist(err) {
					tb.Fatal(err)
				}
			}
		}
	}
	// Building runs long statements (PostgreSQL's ANALYZE of a million
	// events); the bound is the store's, not the requests'.
	s, err := store.Open(context.Background(), dsn, nil, store.WithTimeout(10*time.Minute))
	if err != nil {
		tb.Fatalf("open the seeded %s database: %v", engine, err)
	}
	if _, err := s.Migrate(context.Background()); err != nil {
		s.Close()
		tb.Fatalf("migrate the seeded %s database: %v", engine, err)
	}
	return s
}

// testWriter logs the build's progress.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
