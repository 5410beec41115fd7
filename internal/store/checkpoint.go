package store

import (
	"context"
	"database/sql"
	"os"
	"time"
)

// SQLite's write-ahead log is copied back into the database file by a
// checkpoint. Left to SQLite, the checkpoint runs inside the commit that
// takes the log past 1,000 pages, on the committing connection: the event
// writer's, whose commit then copies the pages and waits for two fsyncs
// (milliseconds on a virtual disk) while every sender of its batch and of
// the next waits with it. Under triage-load that was a checkpoint every
// few batches. So no connection checkpoints on commit
// (wal_autocheckpoint(0)), and a connection of the checkpointer's own
// copies the log back in the background: a passive checkpoint, which
// takes no lock a writer or reader waits for, every checkpointEvery while
// the log changes.
//
// A passive checkpoint copies what no reader still needs; the log starts
// again from its beginning at the first commit after one that copied it
// all, as with SQLite's own checkpoints (which are passive too).
const checkpointEvery = 100 * time.Millisecond

// journalSizeLimit truncates a log that a long burst grew past it, once
// it has been checkpointed and reset (SQLite reuses the file otherwise).
const journalSizeLimit = 64 << 20

type checkpointer struct {
	db   *sql.DB
	wal  string
	stop chan struct{}
	done chan struct{}
}

// startCheckpointer checkpoints the SQLite database at path in the
// background until stopped.
func startCheckpointer(driver, dsn, path string) (*checkpointer, error) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	c := &checkpointer{db: db, wal: path + "-wal", stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	var last os.FileInfo
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		// The log's size and time change with every commit; unchanged,
		// there is nothing new to copy.
		fi, err := os.Stat(c.wal)
		if err != nil || (last != nil && fi.Size() == last.Size() && fi.ModTime().Equal(last.ModTime())) {
			continue
		}
		log, copied, err := c.checkpoint()
		if err != nil {
			continue // the next tick tries again; commits go on meanwhile
		}
		if log == copied {
			last = fi // all copied: nothing to do until the next commit
		}
	}
}

// checkpoint runs a passive checkpoint and returns the log's length and
// how many of its pages are in the database file now (-1, -1 when the
// database is not in WAL mode).
func (c *checkpointer) checkpoint() (log, copied int64, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var busy int
	err = c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &copied)
	return log, copied, err
}

// close stops the checkpoints; SQLite checkpoints the rest when the last
// connection closes.
func (c *checkpointer) close() {
	close(c.stop)
	<-c.done
	c.db.Close()
}
