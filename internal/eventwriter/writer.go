// Package eventwriter turns accepted events into issues. One goroutine
// writes: handlers hand it events and wait, it gathers what has arrived
// (under load, waiting a few milliseconds for more: see gather) into one
// transaction (SQLite has one writer anyway, and a batch costs one commit),
// groups the events into issues, counts them, has internal/issues
// decide and apply what the new events do to each issue (a regression, the
// end of an ignore: Lifecycle), publishes the jobs alerts consume, commits,
// and only then answers the handlers: an acknowledged event is a stored
// event.
package eventwriter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/riverqueue/river"

	"triage"
	"triage/internal/ingest"
	"triage/internal/issues"
	"triage/internal/jobs"
	"triage/internal/store"
)

// Publisher inserts jobs in the writer's transaction; *jobs.Client is one.
type Publisher interface {
	InsertMany(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) error
}

// Lifecycle decides and applies, in the writer's transaction, what an
// issue's new events do to it, and tells every subscriber of issue changes;
// *issues.Service is one.
type Lifecycle interface {
	EventsArrived(ctx context.Context, tx *store.Tx, issueID int64, st *store.IssueState, fresh []issues.Arrival, at time.Time) (*issues.Transition, error)
}

// Writer batches events into the database.
type Writer struct {
	store   *store.Store
	jobs    Publisher
	issues  Lifecycle
	logger  *slog.Logger
	now     func() time.Time
	lanes   []*lane
	maxWait time.Duration // how long a lone request waits for company
	// busyWait is the longest a batch waits for company under load.
	busyWait time.Duration
	enc      *zstd.Encoder // PostgreSQL's rows (see encode); nil on SQLite
	dec      *zstd.Decoder // for rows stored as formatZstd

	keysMu sync.RWMutex
	keys   map[int64]keyEntry

	envs envCache // see countFresh

	// wantEventJobs, when set, says whether a project needs event.received
	// jobs (some alert rule looks at every event); nil publishes them always.
	wantEventJobs func(ctx context.Context, projectID int64) (bool, error)
	// wantCreatedJobs is the same for issue.created jobs.
	wantCreatedJobs func(ctx context.Context, projectID int64) (bool, error)
	// newIssueJob, when set, gives the job a batch that creates issues in
	// a project inserts once (see NewIssueJob).
	newIssueJob func(ctx context.Context, projectID int64) (*river.InsertManyParams, error)

	pgLanes int // lanes on PostgreSQL

	// folds wakes the fold of the batches' pending counts (PostgreSQL;
	// see runFolds), nil on SQLite.
	folds chan struct{}
}

// lane is one writing goroutine with its queue. SQLite has one writer, so
// one lane, and PostgreSQL one lane by default too (see postgresLanes);
// with several (Lanes), each group of events always goes to the same lane,
// so that two lanes never race to create one issue or lock one issue's
// row.
type lane struct {
	in chan *request
	// Caches only this lane's goroutine touches: an issue never changes
	// its grouping hash, and a release once recorded stays recorded.
	issueIDs map[groupKey]int64
	releases map[groupKey]bool
	// arrivals is reused for each group's new events.
	arrivals []issues.Arrival
	// busy: the last batch gathered several requests (see gather).
	busy bool
}

type groupKey struct {
	projectID int64
	key       string
}

// cacheLimit bounds the writer's caches; past it they start again empty.
const cacheLimit = 100_000

type keyEntry struct {
	keys    []string // the project's enabled DSN keys
	fetched time.Time
}

// How long the writer trusts its copy of a project's keys. A key
// disabled or rotated in this process is forgotten at once (ForgetKeys);
// other processes stop accepting it within keysFresh. A key the copy
// does not know is looked up again once keysRecheck has passed, so that
// a key created or rotated in another process works within a second,
// while a flood of wrong keys costs at most one query a second.
const (
	keysFresh   = 10 * time.Second
	keysRecheck = time.Second
)

type request struct {
	projectID int64
	events    []*ingest.Event
	data      map[*ingest.Event][]byte       // encoded by the caller, off the writer's path
	tags      map[*ingest.Event][]ingest.Tag // counted tags, worked out by the caller too
	done      chan error
}

// Option tunes a Writer when it is built.
type Option func(*Writer)

// EventJobFilter limits event.received jobs to the projects f approves.
// A job per issue per batch is most of the background work at high event
// rates, and without a rule that looks at every event it does nothing.
func EventJobFilter(f func(ctx context.Context, projectID int64) (bool, error)) Option {
	return func(w *Writer) { w.wantEventJobs = f }
}

// Lanes sets how many transactions write events at once on PostgreSQL
// (SQLite has one writer). Tests use more than one to race lanes in one
// process, as two processes on one database race.
func Lanes(n int) Option {
	return func(w *Writer) { w.pgLanes = max(n, 1) }
}

// CreatedJobFilter limits issue.created jobs to the projects f approves
// (some alert rule is about new issues).
func CreatedJobFilter(f func(ctx context.Context, projectID int64) (bool, error)) Option {
	return func(w *Writer) { w.wantCreatedJobs = f }
}

// NewIssueJob adds, to a batch's transaction, one job per project in
// which the batch creates issues: f's, nil for none (the Slack Home tabs
// of the project's people, republished when a new issue appears). f is
// asked before the transaction, like the filters, and must be cheap: it
// runs for every project of every batch.
func NewIssueJob(f func(ctx context.Context, projectID int64) (*river.InsertManyParams, error)) Option {
	return func(w *Writer) { w.newIssueJob = f }
}

// New returns a Writer; call Run to start it. pub may be nil (no jobs);
// lc nil applies the lifecycle with no subscribers.
func New(s *store.Store, pub Publisher, lc Lifecycle, logger *slog.Logger, now func() time.Time, opts ...Option) *Writer {
	dec, _ := zstd.NewReader(nil)
	var enc *zstd.Encoder
	if s.Engine == store.Postgres {
		enc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	}
	if now == nil {
		now = time.Now
	}
	if lc == nil {
		lc = issues.New(s, now)
	}
	w := &Writer{store: s, jobs: pub, issues: lc, logger: logger, now: now,
		maxWait: 500 * time.Microsecond, busyWait: 6 * time.Millisecond, enc: enc, dec: dec, keys: map[int64]keyEntry{}, pgLanes: postgresLanes}
	for _, o := range opts {
		o(w)
	}
	n := 1
	if s.Engine == store.Postgres {
		w.folds = make(chan struct{}, 1)
		n = w.pgLanes
	}
	for range n {
		w.lanes = append(w.lanes, &lane{in: make(chan *request, 4096), issueIDs: map[groupKey]int64{}, releases: map[groupKey]bool{}})
	}
	return w
}

// maxBatch bounds the events of one transaction.
const maxBatch = 500

// postgresLanes is how many transactions write events at once on
// PostgreSQL by default. Two lanes kept the database busy while a writer
// waited on round trips, but since each batch counts tag values, users and
// hours, a batch's statements cost the database more than the round trips.
// One lane writes batches two to three times as large, so two to three
// times fewer transactions and statements, for the same rows (a lane's
// batch holds the events that arrived while the last one was written, and
// an issue's count rows aggregate its events in a batch either way).
// Measured under cmd/triage-load, the database's CPU per event fell by a
// fifth to a third.
const postgresLanes = 1

// laneFor picks the lane of a request by its first event's group.
func (w *Writer) laneFor(projectID int64, e *ingest.Event) *lane {
	if len(w.lanes) == 1 {
		return w.lanes[0]
	}
	h := fnv.New32a()
	fmt.Fprintf(h, "%d/%s", projectID, e.GroupingHash())
	return w.lanes[h.Sum32()%uint32(len(w.lanes))]
}

// Authenticate checks a DSN key against the project's enabled keys, from
// a short-lived cache so a burst of events costs no query each.
func (w *Writer) Authenticate(ctx context.Context, projectID int64, publicKey string) error {
	w.keysMu.RLock()
	e, ok := w.keys[projectID]
	w.keysMu.RUnlock()
	age := w.now().Sub(e.fetched)
	if !ok || age > keysFresh || (!slices.Contains(e.keys, publicKey) && age > keysRecheck) {
		keys, err := w.store.EnabledKeys(ctx, projectID)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			w.ForgetKeys(projectID)
			return ingest.ErrUnknownProject
		} else if err != nil {
			return err
		}
		e = keyEntry{keys: keys, fetched: w.now()}
		w.keysMu.Lock()
		if len(w.keys) >= cacheLimit {
			clear(w.keys)
		}
		w.keys[projectID] = e
		w.keysMu.Unlock()
	}
	if !slices.Contains(e.keys, publicKey) {
		return ingest.ErrBadKey
	}
	return nil
}

// ForgetKeys drops the cached keys of a project, so that a key disabled or
// rotated (or a project deleted) is refused from the next event on.
func (w *Writer) ForgetKeys(projectID int64) {
	w.keysMu.Lock()
	delete(w.keys, projectID)
	w.keysMu.Unlock()
}

// Save hands events to the writer and waits until they are committed.
func (w *Writer) Save(ctx context.Context, projectID int64, events []*ingest.Event) error {
	if len(events) == 0 {
		return nil
	}
	r := &request{projectID: projectID, events: events, data: make(map[*ingest.Event][]byte, len(events)),
		tags: make(map[*ingest.Event][]ingest.Tag, len(events)), done: make(chan error, 1)}
	for _, e := range events {
		b, err := w.encode(e)
		if err != nil {
			return err
		}
		r.data[e] = b
		r.tags[e] = eventTags(e)
	}
	select {
	case w.laneFor(projectID, events[0]).in <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// The batch may still commit; the SDK will resend and the event
		// id keeps the resend from counting twice.
		return ctx.Err()
	}
}

// Run writes batches until ctx is done, then drains what is queued and
// folds what the last batches left pending.
func (w *Writer) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, l := range w.lanes {
		wg.Go(func() { w.runLane(ctx, l) })
	}
	if w.folds == nil {
		wg.Wait()
		return
	}
	fctx, stop := context.WithCancel(context.Background())
	folded := make(chan struct{})
	go func() {
		w.runFolds(fctx)
		close(folded)
	}()
	wg.Wait()
	stop()
	<-folded
}

// foldEvery is the least time between two folds of the batches' pending
// counts: the batches that commit meanwhile are added up in one fold
// (store.FoldCounts), so an issue busy under load has its tag rows
// updated once a fold rather than once a batch. It delays no reader:
// reading the counts folds what is pending first.
const foldEvery = 50 * time.Millisecond

// runFolds folds the pending counts on PostgreSQL: what an earlier process
// left when it starts, after each batch (at most every foldEvery), and
// what the last batches left when ctx is done. A fold that fails leaves
// the rows pending for the next one, or for the next reader.
func (w *Writer) runFolds(ctx context.Context) {
	fold := func() {
		fctx, cancel := context.WithTimeout(context.Background(), 2*w.store.Timeout())
		defer cancel()
		if _, err := w.store.FoldCounts(fctx); err != nil {
			w.logger.Warn("folding counts failed", "err", err)
		}
	}
	pause := time.NewTimer(foldEvery)
	for {
		fold()
		pause.Reset(foldEvery)
		select {
		case <-pause.C:
		case <-ctx.Done():
			fold()
			return
		}
		select {
		case <-w.folds:
		case <-ctx.Done():
			fold()
			return
		}
	}
}

func (w *Writer) runLane(ctx context.Context, l *lane) {
	for {
		var first *request
		select {
		case first = <-l.in:
		case <-ctx.Done():
			for {
				select {
				case r := <-l.in:
					w.write(context.Background(), l, []*request{r})
				default:
					return
				}
			}
		}
		w.write(context.Background(), l, w.gather(l, first))
	}
}

// Under load a batch waits a little for company. Its cost is mostly per
// batch and per issue touched, not per event: the counting writes one row
// per issue and tag value whatever the number of the issue's events in the
// batch, and a batch is one commit (BenchmarkWriteBatch: 64 events cost
// about half as much per event as 16, on both engines). Without waiting, a
// batch is what queued while the last one was written, and on a busy
// machine most senders are still being parsed then: batches of 12-20
// events. So when the last batch gathered several requests (the lane is
// busy), a small batch waits while requests keep arriving (each within
// busyGap of the last), up to busyWait and busyFill events; the CPU the
// writer saves goes to parsing. A lone request on a quiet lane waits only
// maxWait, and a request alone after a busy spell at most busyGap.
const (
	busyFill = 64
	busyGap  = time.Millisecond
)

// gather makes a batch of first and the requests queued behind it.
func (w *Writer) gather(l *lane, first *request) []*request {
	batch, n := []*request{first}, len(first.events)
	take := func(r *request) {
		batch = append(batch, r)
		n += len(r.events)
	}
drain:
	for n < maxBatch {
		select {
		case r := <-l.in:
			take(r)
		default:
			break drain
		}
	}
	switch {
	case l.busy && n < busyFill && w.busyWait > 0:
		deadline, gap := time.NewTimer(w.busyWait), time.NewTimer(busyGap)
	wait:
		for n < busyFill {
			select {
			case r := <-l.in:
				take(r)
				gap.Reset(busyGap)
			case <-gap.C:
				break wait
			case <-deadline.C:
				break wait
			}
		}
		deadline.Stop()
		gap.Stop()
	case len(batch) == 1 && w.maxWait > 0:
		timer := time.NewTimer(w.maxWait)
	linger:
		for n < maxBatch {
			select {
			case r := <-l.in:
				take(r)
			case <-timer.C:
				break linger
			}
		}
		timer.Stop()
	}
	l.busy = len(batch) > 1
	return batch
}

// write commits a batch, trying again when the database refused it for a
// reason that passes (a deadlock, or a request whose later events belong to
// another lane's new issue), so that one bad moment fails no request.
func (w *Writer) write(ctx context.Context, l *lane, batch []*request) {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		// A database that stops answering fails the attempt at the
		// deadline, and the senders get 503 instead of waiting forever;
		// a batch takes milliseconds when it answers.
		actx, cancel := context.WithTimeout(ctx, 2*w.store.Timeout())
		err = w.writeOnce(actx, l, batch)
		cancel()
		if err == nil {
			break
		}
		// The transaction rolled back: forget what it may have cached.
		clear(l.issueIDs)
		clear(l.releases)
		w.envs.forget()
		w.logger.Warn("writing events failed", "requests", len(batch), "attempt", attempt, "err", err)
		if triage.Unavailable(err) {
			break // trying again would only keep the senders waiting
		}
	}
	if err != nil {
		w.logger.Error("events not stored", "requests", len(batch), "err", err)
	} else if w.folds != nil {
		select {
		case w.folds <- struct{}{}:
		default: // a fold is due already
		}
	}
	for _, r := range batch {
		r.done <- err
	}
}

func (w *Writer) writeOnce(ctx context.Context, l *lane, batch []*request) error {
	byProject := map[int64][]*ingest.Event{}
	var order []int64
	data := map[*ingest.Event][]byte{}
	tags := map[*ingest.Event][]ingest.Tag{}
	for _, r := range batch {
		maps.Copy(data, r.data)
		maps.Copy(tags, r.tags)
		if _, ok := byProject[r.projectID]; !ok {
			order = append(order, r.projectID)
		}
		byProject[r.projectID] = append(byProject[r.projectID], r.events...)
	}
	// Which jobs each project wants is asked before the transaction: the
	// filters may read the database, and a writer holding a transaction
	// must not wait for a second connection (they may all be in
	// transactions waiting for this one).
	wants := make(map[int64]jobWants, len(order))
	for _, pid := range order {
		wj, err := w.jobWants(ctx, pid)
		if err != nil {
			return fmt.Errorf("project %d: %w", pid, err)
		}
		wants[pid] = wj
	}
	return w.store.InTx(ctx, func(tx *store.Tx) error {
		var jobsToInsert []river.InsertManyParams
		for _, pid := range order {
			js, err := w.writeProject(ctx, tx, l, pid, byProject[pid], data, tags, wants[pid])
			if err != nil {
				return fmt.Errorf("project %d: %w", pid, err)
			}
			jobsToInsert = append(jobsToInsert, js...)
		}
		if w.jobs != nil {
			return w.jobs.InsertMany(ctx, tx, jobsToInsert)
		}
		return nil
	})
}

// group is the events of one batch that share an issue.
type group struct {
	hash    string
	events  []*ingest.Event
	issueID int64
	created bool
	// fresh are the events stored for the first time (a resent event id
	// counts once), newest the latest of them.
	fresh  []*ingest.Event
	newest *ingest.Event
}

// jobWants is which optional jobs a project's alert rules use, and the
// job to insert when the batch creates an issue in it (NewIssueJob).
type jobWants struct {
	events, created bool
	newIssue        *river.InsertManyParams
}

func (w *Writer) jobWants(ctx context.Context, projectID int64) (jobWants, error) {
	wj := jobWants{events: true, created: true}
	var err error
	if w.wantEventJobs != nil {
		if wj.events, err = w.wantEventJobs(ctx, projectID); err != nil {
			return wj, err
		}
	}
	if w.wantCreatedJobs != nil {
		if wj.created, err = w.wantCreatedJobs(ctx, projectID); err != nil {
			return wj, err
		}
	}
	if w.newIssueJob != nil {
		if wj.newIssue, err = w.newIssueJob(ctx, projectID); err != nil {
			return wj, err
		}
	}
	return wj, nil
}

func (w *Writer) writeProject(ctx context.Context, tx *store.Tx, l *lane, projectID int64, events []*ingest.Event, encoded map[*ingest.Event][]byte, tags map[*ingest.Event][]ingest.Tag, wants jobWants) ([]river.InsertManyParams, error) {
	groups := map[string]*group{}
	var hashes []string
	for _, e := range events {
		h := e.GroupingHash()
		g, ok := groups[h]
		if !ok {
			g = &group{hash: h}
			groups[h] = g
			hashes = append(hashes, h)
		}
		g.events = append(g.events, e)
		if e.Release != "" && !l.releases[groupKey{projectID, e.Release}] {
			if err := tx.RecordRelease(ctx, projectID, e.Release); err != nil {
				return nil, err
			}
			if len(l.releases) >= cacheLimit {
				clear(l.releases)
			}
			l.releases[groupKey{projectID, e.Release}] = true
		}
	}
	if err := w.findOrCreate(ctx, tx, l, projectID, hashes, groups); err != nil {
		return nil, err
	}
	var rows []store.StoredEvent
	for _, h := range hashes {
		g := groups[h]
		for _, e := range g.events {
			rows = append(rows, store.StoredEvent{ProjectID: projectID, IssueID: g.issueID, EventID: e.EventID,
				Timestamp: e.Timestamp, Received: e.Received, Release: e.Release, Environment: e.Environment, Data: encoded[e]})
		}
	}
	inserted, err := tx.StoreEvents(ctx, rows)
	if err != nil {
		return nil, err
	}
	// Count every issue's new events in one statement, then decide each
	// issue's transition from the state that statement returned.
	var counts []store.IssueCount
	for _, h := range hashes {
		g := groups[h]
		for _, e := range g.events {
			if inserted[e.EventID] { // a resent event id counts once
				g.fresh = append(g.fresh, e)
				inserted[e.EventID] = false
				if g.newest == nil || e.Timestamp.After(g.newest.Timestamp) {
					g.newest = e
				}
			}
		}
		if len(g.fresh) > 0 {
			counts = append(counts, store.IssueCount{IssueID: g.issueID, N: int64(len(g.fresh)), LastSeen: g.newest.Timestamp, Level: g.fresh[len(g.fresh)-1].Level,
				Title: g.newest.Title(), Culprit: g.newest.Culprit()})
		}
	}
	if len(counts) == 0 {
		return nil, nil
	}
	users, err := w.countFresh(ctx, tx, projectID, hashes, groups, tags)
	if err != nil {
		return nil, err
	}
	for k := range counts {
		counts[k].Users = users[counts[k].IssueID]
	}
	states, err := tx.CountIssuesEvents(ctx, counts)
	if err != nil {
		return nil, err
	}
	var out []river.InsertManyParams
	created := false
	for _, h := range hashes {
		g := groups[h]
		created = created || g.created
		if len(g.fresh) == 0 {
			continue
		}
		issue := states[g.issueID]
		if issue == nil {
			return nil, fmt.Errorf("issue %d vanished while counting its events", g.issueID)
		}
		js, err := w.transition(ctx, tx, l, g, issue, wants)
		if err != nil {
			return nil, err
		}
		out = append(out, js...)
	}
	if created && wants.newIssue != nil {
		out = append(out, *wants.newIssue)
	}
	return out, nil
}

// findOrCreate sets each group's issueID, creating the issues (with their
// first_seen activities) of the groups that are new: one query for the
// groups the lane has not cached, and three for all the new ones.
func (w *Writer) findOrCreate(ctx context.Context, tx *store.Tx, l *lane, projectID int64, hashes []string, groups map[string]*group) error {
	var misses []string
	for _, h := range hashes {
		if id, ok := l.issueIDs[groupKey{projectID, h}]; ok {
			groups[h].issueID = id
		} else {
			misses = append(misses, h)
		}
	}
	if len(misses) == 0 {
		return nil
	}
	// An issue created before grouping version 2 carries its events'
	// version 1 hash: look both up, the current one first, so that no
	// existing issue splits.
	lookup := slices.Clone(misses)
	v1 := make(map[string]string, len(misses))
	for _, h := range misses {
		if old := groups[h].events[0].GroupingHashV1(); old != h {
			v1[h] = old
			lookup = append(lookup, old)
		}
	}
	found, err := tx.IssueIDsByHash(ctx, projectID, lookup)
	if err != nil {
		return err
	}
	var fresh []store.FirstSeen
	for _, h := range misses {
		if _, ok := found[h]; ok {
			continue
		}
		if id, ok := found[v1[h]]; ok && v1[h] != "" {
			found[h] = id
			continue
		}
		first := groups[h].events[0]
		fresh = append(fresh, store.FirstSeen{EventID: first.EventID, NewIssue: store.NewIssue{ProjectID: projectID, GroupHash: h,
			Title: first.Title(), Culprit: first.Culprit(), Level: first.Level, Release: first.Release, SeenAt: first.Timestamp,
			GroupingVersion: ingest.GroupingVersion}})
	}
	created, err := tx.CreateIssues(ctx, projectID, fresh)
	if err != nil {
		return err
	}
	if len(l.issueIDs)+len(misses) > cacheLimit {
		clear(l.issueIDs)
	}
	for _, h := range misses {
		g := groups[h]
		if id, ok := created[h]; ok {
			g.issueID, g.created = id, true
		} else {
			g.issueID = found[h]
		}
		l.issueIDs[groupKey{projectID, h}] = g.issueID
	}
	return nil
}

// transition applies what a group's new events do to its issue, whose
// state (before counting them) is issue, and publishes the jobs alert
// rules consume: a new issue, a regression, events for rules that look at
// every event. Regressions and ends of ignores are decided and applied by
// the lifecycle (internal/issues), which also tells every subscriber.
func (w *Writer) transition(ctx context.Context, tx *store.Tx, l *lane, g *group, issue *store.IssueState, wants jobWants) ([]river.InsertManyParams, error) {
	fresh, newest := g.fresh, g.newest
	// What the batch made of the issue, for the rules: its count and level.
	at := jobs.At{TimesSeen: issue.TimesSeen + int64(len(fresh)), Level: fresh[len(fresh)-1].Level}
	for _, e := range fresh {
		if e.Received.After(at.ReceivedAt) {
			at.ReceivedAt = e.Received
		}
	}
	var out []river.InsertManyParams
	if g.created && wants.created {
		out = append(out, river.InsertManyParams{Args: jobs.IssueCreated{IssueID: g.issueID, EventID: g.events[0].EventID, At: at}})
	}
	arrivals := l.arrivals[:0]
	for _, e := range fresh {
		arrivals = append(arrivals, issues.Arrival{EventID: e.EventID, Release: e.Release})
	}
	l.arrivals = arrivals
	t, err := w.issues.EventsArrived(ctx, tx, g.issueID, issue, arrivals, w.now())
	if err != nil {
		return nil, err
	}
	if t != nil && t.Kind == issues.Regressed {
		// Rules about regressions are evaluated in the background.
		out = append(out, river.InsertManyParams{Args: jobs.IssueRegressed{IssueID: g.issueID, EventID: t.Event.EventID, Release: t.Event.Release}})
	}
	if wants.events {
		out = append(out, river.InsertManyParams{Args: jobs.EventReceived{IssueID: g.issueID, EventID: newest.EventID, Count: int64(len(fresh)), At: at}})
	}
	return out, nil
}

// encode stores the JSON the SDK sent, compressed behind a format byte.
// The normalized event is not stored: Decode normalizes the raw JSON
// again with the row's event id and arrival time, which is all
// normalization takes, and an event is read far less often than written.
// (Storing both doubled what was compressed and written for every event.)
//
// SQLite's rows are S2: under load zstd's fastest level was 10-13% of
// serve's CPU (about 32 us an event, its 256 KiB hash table out of the
// cache), S2 about 4 us, for rows about 30% larger (the SDK events under
// internal/ingest/testdata: 66% of their size against zstd's 52%).
// PostgreSQL's stay zstd: there the larger rows cost the database about
// what they saved serve (its CPU was higher in five of six interleaved
// runs; README, the fifth ingestion pass).
func (w *Writer) encode(e *ingest.Event) ([]byte, error) {
	if w.enc != nil {
		out := make([]byte, 1, 1+len(e.Raw)/2)
		out[0] = formatZstd
		return w.enc.EncodeAll(e.Raw, out), nil
	}
	out := make([]byte, 1+s2.MaxEncodedLen(len(e.Raw)))
	out[0] = formatS2
	n := len(s2.Encode(out[1:], e.Raw))
	return out[: 1+n : 1+n], nil
}

// Stored event formats: a format byte, then the SDK's JSON compressed.
// Rows older than the format byte are a zstd frame (which starts with
// 0x28) of the normalized JSON, a newline and the SDK's JSON.
const (
	formatZstd = 0x02 // PostgreSQL's rows, SQLite's before S2, internal/seed's
	formatS2   = 0x03
)

// Decode reads an event stored by the writer.
func (w *Writer) Decode(row store.StoredEvent) (*ingest.Event, error) {
	data := row.Data
	if len(data) > 0 && (data[0] == formatS2 || data[0] == formatZstd) {
		var raw []byte
		var err error
		if data[0] == formatS2 {
			raw, err = decodeS2(data[1:])
		} else {
			raw, err = w.dec.DecodeAll(data[1:], nil)
		}
		if err != nil {
			return nil, fmt.Errorf("decompress event: %w", err)
		}
		e, err := ingest.Normalize(raw, ingest.NormalizeOptions{EventID: row.EventID, Received: row.Received})
		if err != nil {
			return nil, fmt.Errorf("decode event: %w", err)
		}
		return e, nil
	}
	b, err := w.dec.DecodeAll(data, nil)
	if err != nil {
		return nil, fmt.Errorf("decompress event: %w", err)
	}
	norm, raw, _ := bytes.Cut(b, []byte{'\n'})
	var e ingest.Event
	if err := json.Unmarshal(norm, &e); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	if len(raw) > 0 {
		e.Raw = raw
	}
	return &e, nil
}

// decodeS2 decompresses a stored event, refusing one that says it is
// larger than any event the writer accepts before allocating for it.
func decodeS2(b []byte) ([]byte, error) {
	n, err := s2.DecodedLen(b)
	if err != nil {
		return nil, err
	}
	if n > ingest.MaxEventSize {
		return nil, fmt.Errorf("a stored event of %d bytes is over the limit", n)
	}
	return s2.Decode(make([]byte, n), b)
}
