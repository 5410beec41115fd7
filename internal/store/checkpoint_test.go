package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"triage/internal/store"
)

// SQLite's log is copied back into the database file in the background,
// never by a commit, and is reused once copied instead of growing.
func TestSQLiteCheckpointsInBackground(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "triage.db")
	s, err := store.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.Pool()
	var auto int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("wal_autocheckpoint = %d, %v; want 0 (a commit must not checkpoint)", auto, err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE blobs (b BLOB)"); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	write := func(mib int) {
		for range mib * 16 {
			if _, err := db.ExecContext(ctx, "INSERT INTO blobs VALUES (?)", chunk); err != nil {
				t.Fatal(err)
			}
		}
	}
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	write(4)
	deadline := time.Now().Add(10 * time.Second)
	for size(path) < 4<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("database file is %d bytes 10 s after 4 MiB were committed: the log was not copied back", size(path))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Twenty more MiB, a MiB at a time with pauses in which the
	// checkpointer catches up: the log starts again from its beginning
	// each time, so it stays near a few MiB.
	for range 20 {
		write(1)
		time.Sleep(300 * time.Millisecond)
	}
	if got := size(path + "-wal"); got > 10<<20 {
		t.Errorf("log is %d bytes after 24 MiB written in steps; want it reused, under 10 MiB", got)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM blobs").Scan(&n); err != nil || n != 24*16 {
		t.Errorf("rows = %d, %v; want %d", n, err, 24*16)
	}
}
