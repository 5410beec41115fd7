package eventwriter

import (
	"context"
	"sync"

	"triage/internal/ingest"
	"triage/internal/store"
)

// What the search, the tag section and the trends read is counted here, in
// the batch's transaction: tag values per issue (whether a user is new to
// the issue comes back from the user tag's rows) and events per issue and
// hour, in one statement on PostgreSQL, a few prepared ones on SQLite
// (store.CountBatch); the new users are added to the issues with their
// events (CountIssuesEvents). On PostgreSQL the tag values other than users
// and the hours are written as a pending row that the writer folds into
// the count tables after the batch (runFolds), and readers before they
// read.
// (Environments, for the list's picker, are written once per project and
// name.)

// envCache remembers the environments recorded, shared by the lanes.
type envCache struct {
	mu   sync.Mutex
	seen map[groupKey]bool
}

// forget drops what a rolled back transaction may have recorded.
func (c *envCache) forget() {
	c.mu.Lock()
	clear(c.seen)
	c.mu.Unlock()
}

type tagKey struct {
	issueID    int64
	key, value string
}

// countFresh counts the fresh events of a project's groups, and returns
// how many users new to it each issue gained (CountIssuesEvents adds them
// with the events).
func (w *Writer) countFresh(ctx context.Context, tx *store.Tx, projectID int64, hashes []string, groups map[string]*group, tags map[*ingest.Event][]ingest.Tag) (map[int64]int64, error) {
	tagRows := map[tagKey]*store.TagCount{}
	hours := map[[2]int64]int64{}
	var envs []string
	for _, h := range hashes {
		g := groups[h]
		for _, e := range g.fresh {
			at := e.Timestamp.UnixMicro()
			for _, t := range tags[e] {
				k := tagKey{g.issueID, t.Key, t.Value}
				if r := tagRows[k]; r != nil {
					r.N++
					r.First, r.Last = min(r.First, at), max(r.Last, at)
				} else {
					tagRows[k] = &store.TagCount{IssueID: g.issueID, Key: t.Key, Value: t.Value, N: 1, First: at, Last: at}
				}
			}
			hours[[2]int64{g.issueID, hourOf(e)}]++
			if e.Environment != "" && !w.envs.has(projectID, e.Environment) && !containsString(envs, e.Environment) {
				envs = append(envs, e.Environment)
			}
		}
	}
	rows := make([]store.TagCount, 0, len(tagRows))
	for _, r := range tagRows {
		rows = append(rows, *r)
	}
	store.SortTagCounts(rows)
	hourRows := make([]store.HourCount, 0, len(hours))
	for k, n := range hours {
		hourRows = append(hourRows, store.HourCount{IssueID: k[0], Hour: k[1], N: n})
	}
	store.SortHourCounts(hourRows)
	added, err := tx.CountBatch(ctx, rows, hourRows)
	if err != nil {
		return nil, err
	}
	if len(envs) > 0 {
		if err := tx.RecordEnvironments(ctx, projectID, envs); err != nil {
			return nil, err
		}
		w.envs.add(projectID, envs)
	}
	return added, nil
}

// hourOf is the start of the hour the event was received in, in unix
// seconds: the trends count events as they arrive.
func hourOf(e *ingest.Event) int64 {
	s := e.Received.Unix()
	return s - s%3600
}

func (c *envCache) has(projectID int64, name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[groupKey{projectID, name}]
}

func (c *envCache) add(projectID int64, names []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil || len(c.seen) > cacheLimit {
		c.seen = map[groupKey]bool{}
	}
	for _, n := range names {
		c.seen[groupKey{projectID, n}] = true
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
