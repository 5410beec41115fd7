package store_test

import (
	"context"
	"testing"

	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// Warm opens every connection of the pools and has each one's backend plan
// a lookup on every table before any request needs it; the connections
// stay open, idle, for the next burst.
func TestWarmReadiesEveryConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := dbtest.Open(t, store.Postgres, nil)
	if err := s.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Pool().Stats(); st.OpenConnections != store.DefaultPostgresConns || st.Idle != store.DefaultPostgresConns {
		t.Errorf("pool after Warm: %d open, %d idle; want %d of each", st.OpenConnections, st.Idle, store.DefaultPostgresConns)
	}
	// Seen by the server: every backend of the two pools (the main one and
	// the two side connections) but the one asking last ran the warm-up.
	var warmed, others int
	err := s.Pool().QueryRowContext(ctx, `SELECT COUNT(*) FILTER (WHERE query LIKE 'DO $$%EXPLAIN%'),
		COUNT(*) FILTER (WHERE query NOT LIKE 'DO $$%EXPLAIN%') FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`).Scan(&warmed, &others)
	if err != nil {
		t.Fatal(err)
	}
	if want := store.DefaultPostgresConns + 2 - 1; warmed != want {
		t.Errorf("%d backends warmed (%d others); want %d", warmed, others, want)
	}
}

// On SQLite there is nothing to warm.
func TestWarmSQLite(t *testing.T) {
	t.Parallel()
	s := dbtest.Open(t, store.SQLite, nil)
	if err := s.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
}
