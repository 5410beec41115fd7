package store_test

import (
	"context"
	"database/sql"
	"strings"
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
	url := dbtest.URL(t, store.Postgres)
	s, err := store.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Pool().Stats(); st.OpenConnections != store.DefaultPostgresConns || st.Idle != store.DefaultPostgresConns {
		t.Errorf("pool after Warm: %d open, %d idle; want %d of each", st.OpenConnections, st.Idle, store.DefaultPostgresConns)
	}
	// Seen from outside: every backend of the two pools (the main one and
	// the two side connections) last ran the warm-up.
	_, _, dsn, err := store.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	look, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer look.Close()
	rows, err := look.QueryContext(ctx, `SELECT query FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	warmed, others := 0, 0
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(q, "DO $$") && strings.Contains(q, "EXPLAIN") {
			warmed++
		} else {
			others++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := store.DefaultPostgresConns + 2; warmed != want {
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
