package pgtest

import (
	"context"
	"database/sql"
	"testing"
)

func TestNewGivesFreshDatabases(t *testing.T) {
	Require(t)
	ctx := context.Background()

	var first string
	t.Run("two databases", func(t *testing.T) {
		u1, u2 := New(t), New(t)
		if u1 == u2 {
			t.Fatalf("two calls gave the same URL %s", u1)
		}
		names := make([]string, 2)
		for i, u := range []string{u1, u2} {
			db, err := sql.Open("pgx", u)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var one int
			if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("SELECT 1 on %s: %d, %v", u, one, err)
			}
			if err := db.QueryRowContext(ctx, "SELECT current_database()").Scan(&names[i]); err != nil {
				t.Fatal(err)
			}
			var tables int
			if err := db.QueryRowContext(ctx,
				"SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").Scan(&tables); err != nil {
				t.Fatal(err)
			}
			if tables != 0 {
				t.Errorf("database %s is not empty: %d tables", names[i], tables)
			}
		}
		if names[0] == names[1] {
			t.Fatalf("both URLs point at database %s", names[0])
		}
		// Write into one: the other must not see it.
		db1, _ := sql.Open("pgx", u1)
		defer db1.Close()
		if _, err := db1.ExecContext(ctx, "CREATE TABLE t (x int)"); err != nil {
			t.Fatal(err)
		}
		if _, err := db1.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		db2, _ := sql.Open("pgx", u2)
		defer db2.Close()
		seen := func(db *sql.DB) bool {
			t.Helper()
			var n int
			if err := db.QueryRowContext(ctx,
				"SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 't'").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n == 1
		}
		// The first sees its table (so the query would notice one), the
		// second does not, and reading it there fails.
		if !seen(db1) {
			t.Fatalf("database %s does not list the table it just created", names[0])
		}
		if seen(db2) {
			t.Errorf("database %s sees the table created in %s", names[1], names[0])
		}
		var x int
		if err := db2.QueryRowContext(ctx, "SELECT x FROM t").Scan(&x); err == nil {
			t.Errorf("database %s reads %s's table: x = %d", names[1], names[0], x)
		}
		first = names[0]
	})

	// The subtest's cleanup dropped its databases.
	db := Open(t)
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", first).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after its test finished", first)
	}
}

func TestWithDatabase(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://u@127.0.0.1:5432/postgres?sslmode=disable", "postgres://u@127.0.0.1:5432/x?sslmode=disable"},
		{"postgresql://u:p@h/", "postgresql://u:p@h/x"},
		{"host=/tmp dbname=postgres", "host=/tmp dbname=postgres dbname=x"},
	} {
		got, err := withDatabase(c.in, "x")
		if err != nil || got != c.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
