package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/klauspost/compress/s2"
)

// Pending counts (PostgreSQL): the tag values other than users and the
// hours a batch counted, written with its events as one pending_counts
// row (CountBatch) and added to issue_tags and issue_hours by FoldCounts,
// which the event writer runs after its batches and every reader of
// those tables runs first (settleCounts).

// countsLock is the advisory lock folds share and the deletion of issues'
// counts takes alone (deleteCounted): a fold that started before an
// issue's deletion commits before its counts are deleted, and one that
// starts after it finds the issue gone and drops its counts.
const countsLock = 0x7472696167650001 // "triage", 1

// FoldCounts adds what committed batches left in pending_counts to the
// count tables in one transaction, and says how many batches it added. It
// takes the pending rows in id order (a fold that finds a row another fold
// holds waits for it and skips it: whoever deletes a row adds it), adds
// their counts up (an issue's rows from several batches become one
// update), and upserts them in key order, so that folds of several
// processes never deadlock; the counts of issues deleted meanwhile are
// dropped. SQLite counts in the batch's transaction: nothing is pending.
func (q *Queries) FoldCounts(ctx context.Context) (int, error) {
	db, ok := q.q.(*sql.DB)
	if q.engine != Postgres || !ok {
		return 0, nil
	}
	var n int
	err := q.inTx(ctx, db, func(tx *Tx) error {
		rows, err := tx.q.QueryContext(ctx, `WITH l AS (SELECT pg_advisory_xact_lock_shared($1))
			DELETE FROM pending_counts WHERE id IN (SELECT id FROM pending_counts, l ORDER BY id FOR UPDATE OF pending_counts)
			RETURNING id, data`, int64(countsLock))
		type pending struct {
			id   int64
			data []byte
		}
		got, err := collect(rows, err, "take pending counts", func(row rowScanner) (pending, error) {
			var p pending
			err := row.Scan(&p.id, &p.data)
			return p, err
		})
		if err != nil {
			return err
		}
		n = len(got)
		if n == 0 {
			return nil
		}
		tags := map[tagRowKey]*TagCount{}
		hours := map[[2]int64]int64{}
		for _, p := range got {
			if err := decodePending(p.data, tags, hours); err != nil {
				return fmt.Errorf("pending counts %d: %w", p.id, err)
			}
		}
		return tx.upsertFolded(ctx, tags, hours)
	})
	if err != nil {
		return 0, fmt.Errorf("fold counts: %w", err)
	}
	return n, nil
}

// upsertFolded writes a fold's sums in key order, skipping issues that
// are gone.
func (q *Queries) upsertFolded(ctx context.Context, tags map[tagRowKey]*TagCount, hours map[[2]int64]int64) error {
	rows := make([]TagCount, 0, len(tags))
	for _, r := range tags {
		rows = append(rows, *r)
	}
	SortTagCounts(rows)
	hs := make([]HourCount, 0, len(hours))
	for k, n := range hours {
		hs = append(hs, HourCount{IssueID: k[0], Hour: k[1], N: n})
	}
	SortHourCounts(hs)
	hIDs, hHours, hNs := make([]int64, len(hs)), make([]int64, len(hs)), make([]int64, len(hs))
	for k, h := range hs {
		hIDs[k], hHours[k], hNs[k] = h.IssueID, h.Hour, h.N
	}
	_, err := q.q.ExecContext(ctx, `WITH t AS (INSERT INTO issue_tags (issue_id, key, value, times_seen, first_seen, last_seen)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[]) AS v(issue_id)
			WHERE EXISTS (SELECT 1 FROM issues i WHERE i.id = v.issue_id)`+tagConflict+`)
		INSERT INTO issue_hours (issue_id, hour, n)
			SELECT * FROM unnest($7::bigint[], $8::bigint[], $9::bigint[]) AS v(issue_id)
			WHERE EXISTS (SELECT 1 FROM issues i WHERE i.id = v.issue_id)`+hourConflict,
		append(tagArrays(rows), hIDs, hHours, hNs)...)
	return err
}

// settleCounts folds what committed batches left pending before a read of
// issue_tags or issue_hours, so that the reader sees every batch committed
// before it asked, by this process or another. Inside a transaction it
// does nothing (a fold there would hold count rows until it ends): such a
// read sees the counts folded so far.
func (q *Queries) settleCounts(ctx context.Context) error {
	if _, ok := q.q.(*sql.DB); q.engine != Postgres || !ok {
		return nil
	}
	var pending bool
	if err := q.q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pending_counts)`).Scan(&pending); err != nil {
		return fmt.Errorf("look for pending counts: %w", err)
	}
	if !pending {
		return nil
	}
	_, err := q.FoldCounts(ctx)
	return err
}

type tagRowKey struct {
	issueID    int64
	key, value string
}

// encodePending is a batch's pending counts as pending_counts.data: the
// tag rows then the hours, each field a varint (strings length-prefixed),
// S2-compressed (keys and values repeat from issue to issue).
func encodePending(tags []TagCount, hours []HourCount) []byte {
	b := make([]byte, 0, 16+len(tags)*40+len(hours)*12)
	b = binary.AppendUvarint(b, uint64(len(tags)))
	for _, r := range tags {
		b = binary.AppendVarint(b, r.IssueID)
		b = binary.AppendUvarint(b, uint64(len(r.Key)))
		b = append(b, r.Key...)
		b = binary.AppendUvarint(b, uint64(len(r.Value)))
		b = append(b, r.Value...)
		b = binary.AppendVarint(b, r.N)
		b = binary.AppendVarint(b, r.First)
		b = binary.AppendVarint(b, r.Last)
	}
	b = binary.AppendUvarint(b, uint64(len(hours)))
	for _, h := range hours {
		b = binary.AppendVarint(b, h.IssueID)
		b = binary.AppendVarint(b, h.Hour)
		b = binary.AppendVarint(b, h.N)
	}
	return s2.Encode(nil, b)
}

var errPendingCorrupt = errors.New("corrupt pending counts")

// decodePending adds one pending_counts row to a fold's sums.
func decodePending(data []byte, tags map[tagRowKey]*TagCount, hours map[[2]int64]int64) error {
	b, err := s2.Decode(nil, data)
	if err != nil {
		return err
	}
	r := pendingReader{b: b}
	for range r.uvarint() {
		k := tagRowKey{issueID: r.varint(), key: r.str(), value: r.str()}
		n, first, last := r.varint(), r.varint(), r.varint()
		if r.bad {
			return errPendingCorrupt
		}
		if t := tags[k]; t != nil {
			t.N += n
			t.First, t.Last = min(t.First, first), max(t.Last, last)
		} else {
			tags[k] = &TagCount{IssueID: k.issueID, Key: k.key, Value: k.value, N: n, First: first, Last: last}
		}
	}
	for range r.uvarint() {
		id, hour, n := r.varint(), r.varint(), r.varint()
		if r.bad {
			return errPendingCorrupt
		}
		hours[[2]int64{id, hour}] += n
	}
	if r.bad || len(r.b) != 0 {
		return errPendingCorrupt
	}
	return nil
}

// pendingReader reads encodePending's fields; past the end or on a
// malformed field it sets bad and reads zeros.
type pendingReader struct {
	b   []byte
	bad bool
}

func (r *pendingReader) uvarint() uint64 { return readNumber(r, binary.Uvarint) }
func (r *pendingReader) varint() int64   { return readNumber(r, binary.Varint) }

// readNumber reads one varint field with decode (binary.Uvarint or Varint).
func readNumber[T uint64 | int64](r *pendingReader, decode func([]byte) (T, int)) T {
	v, n := decode(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *pendingReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
