package store

import (
	"context"
	"strings"
)

// Many rows in few statements, on SQLite: a multi-row VALUES list of a
// power-of-two number of rows (at most valuesChunk), so that a batch of
// any size runs through a handful of statements, each of a size compiled
// once and kept prepared. A statement of a new size for every batch spent
// most of its time compiling; one JSON array read with json_each spent it
// parsing JSON (six extractions a row). PostgreSQL takes arrays (unnest)
// in one statement instead.

// valuesChunk is the most rows one statement carries (six columns a row
// stay far below SQLite's 32,766 parameters).
const valuesChunk = 128

// chunkSizes splits n rows into statement sizes: whole chunks, then the
// powers of two of the rest, largest first.
func chunkSizes(n int) []int {
	var out []int
	for ; n >= valuesChunk; n -= valuesChunk {
		out = append(out, valuesChunk)
	}
	for size := valuesChunk / 2; size > 0; size /= 2 {
		if n >= size {
			out = append(out, size)
			n -= size
		}
	}
	return out
}

// valuesQuery is head, then rows rows of cols parameters ("(?, ?), (?,
// ?)"), then tail. The parameters are anonymous, not numbered as
// elsewhere: the driver looks the name of every parameter up when it binds
// it, in a list as long as the statement's named ones, which made binding
// a statement of hundreds of numbered parameters cost more than running
// it. The text of each size is built once per store.
func (q *Queries) valuesQuery(head string, cols, rows int, tail string) string {
	key := valuesKey{head, tail, cols, rows}
	if c := q.stmts; c != nil {
		c.mu.Lock()
		text, ok := c.texts[key]
		c.mu.Unlock()
		if ok {
			return text
		}
	}
	var sb strings.Builder
	sb.Grow(len(head) + len(tail) + rows*(cols*3+2))
	sb.WriteString(head)
	for r := range rows {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for c := range cols {
			if c > 0 {
				sb.WriteString(", ")
			}
			sb.WriteByte('?')
		}
		sb.WriteByte(')')
	}
	sb.WriteString(tail)
	text := sb.String()
	if c := q.stmts; c != nil {
		c.mu.Lock()
		if c.texts == nil {
			c.texts = map[valuesKey]string{}
		}
		c.texts[key] = text
		c.mu.Unlock()
	}
	return text
}

type valuesKey struct {
	head, tail string
	cols, rows int
}

// eachValuesChunk runs, for each chunk of n rows, the prepared statement
// head VALUES … tail with the chunk's arguments (args(i, dst) appends row
// i's cols values to dst), and hands it to run.
func (q *Queries) eachValuesChunk(ctx context.Context, head string, cols int, tail string, n int,
	args func(i int, dst []any) []any, run func(st stmt, args []any) error) error {
	buf := make([]any, 0, cols*min(n, valuesChunk))
	off := 0
	for _, size := range chunkSizes(n) {
		st, err := q.prepared(ctx, q.valuesQuery(head, cols, size, tail))
		if err != nil {
			return err
		}
		buf = buf[:0]
		for i := off; i < off+size; i++ {
			buf = args(i, buf)
		}
		off += size
		if err := run(st, buf); err != nil {
			return err
		}
	}
	return nil
}
