// Package pgtest gives tests a fresh, empty PostgreSQL database.
//
// The server comes from TRIAGE_TEST_DATABASE_URL (scripts/test starts a throwaway
// one and sets it). Without it, tests that ask for a database are skipped, except
// under CI (CI set and not "false"), where they fail: a test whose PostgreSQL is missing must not pass
// silently in CI.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"triage/internal/testutil/ci"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// EnvURL names the environment variable that holds the server's URL. Any database on
// it works as the maintenance database; its user must be allowed to create databases.
const EnvURL = "TRIAGE_TEST_DATABASE_URL"

// Available reports whether a PostgreSQL server is configured for tests.
func Available() bool { return os.Getenv(EnvURL) != "" }

// Require skips the test (fails it under CI, see package ci) when no server is configured.
func Require(t testing.TB) {
	t.Helper()
	if Available() {
		return
	}
	if ci.Enabled() {
		t.Fatalf("pgtest: %s is not set under CI; run the tests with scripts/test", EnvURL)
	}
	t.Skipf("pgtest: %s not set; run scripts/test (or eval \"$(scripts/pg start)\") for PostgreSQL tests", EnvURL)
}

var (
	adminMu  sync.Mutex
	adminDBs = map[string]*sql.DB{}
)

// admin returns a small pool on the server's maintenance database, shared by the
// tests of this process.
func admin(base string) (*sql.DB, error) {
	adminMu.Lock()
	defer adminMu.Unlock()
	if db, ok := adminDBs[base]; ok {
		return db, nil
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(30 * time.Second)
	adminDBs[base] = db
	return db, nil
}

// New creates a new empty database (triage_test_<random>, UTF8, C collation) on the
// configured server and returns its URL. The database is dropped, with FORCE, when
// the test and its subtests finish.
func New(t testing.TB) string {
	t.Helper()
	Require(t)
	base := os.Getenv(EnvURL)
	db, err := admin(base)
	if err != nil {
		t.Fatalf("pgtest: open %s: %v", redact(base), err)
	}
	name := "triage_test_" + randomHex(8)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+quoteIdent(name)+
		` TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`); err != nil {
		t.Fatalf("pgtest: create database on %s: %v", redact(base), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+quoteIdent(name)+` WITH (FORCE)`); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := withDatabase(base, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// Kept returns the URL of the database name on the configured server,
// creating it empty when it does not exist, or anew when fresh. Unlike
// New's, it outlives the test: benchmarks keep a database that takes
// minutes to build for their next run.
func Kept(t testing.TB, name string, fresh bool) string {
	t.Helper()
	Require(t)
	base := os.Getenv(EnvURL)
	db, err := admin(base)
	if err != nil {
		t.Fatalf("pgtest: open %s: %v", redact(base), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if fresh {
		if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+quoteIdent(name)+` WITH (FORCE)`); err != nil {
			t.Fatalf("pgtest: drop database %s: %v", name, err)
		}
	}
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		t.Fatalf("pgtest: look for database %s: %v", name, err)
	}
	if !exists {
		if _, err := db.ExecContext(ctx, `CREATE DATABASE `+quoteIdent(name)+
			` TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`); err != nil {
			t.Fatalf("pgtest: create database %s: %v", name, err)
		}
	}
	u, err := withDatabase(base, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// Open is New followed by sql.Open("pgx", url) and a ping; the pool is closed
// before the database is dropped.
func Open(t testing.TB) *sql.DB {
	t.Helper()
	u := New(t)
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatalf("pgtest: open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("pgtest: ping: %v", err)
	}
	return db
}

// withDatabase returns base with its database name replaced by name. base is a
// postgres:// URL or a keyword/value connection string.
func withDatabase(base, name string) (string, error) {
	if !strings.Contains(base, "://") {
		return base + " dbname=" + name, nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", EnvURL, err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// redact hides a password in a URL for error messages.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
	}
	return s
}
