package eventwriter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"triage"
	"triage/internal/eventwriter"
	"triage/internal/ingest"
	"triage/internal/issues"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// recorder stands in for River: it records the jobs a batch publishes.
type recorder struct {
	mu    sync.Mutex
	kinds []string
}

func (r *recorder) InsertMany(_ context.Context, _ *store.Tx, ps []river.InsertManyParams) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range ps {
		r.kinds = append(r.kinds, p.Args.Kind())
	}
	return nil
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.kinds
	r.kinds = nil
	return k
}

type bundle struct {
	s       *store.Store
	w       *eventwriter.Writer
	jobs    *recorder
	svc     *issues.Service
	owner   *triage.User
	project *triage.Project
	clock   *time.Time
}

func setup(t *testing.T, s *store.Store, opts ...eventwriter.Option) *bundle {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	b := &bundle{s: s, jobs: &recorder{}, clock: &now}
	clock := func() time.Time { return *b.clock }
	b.svc = issues.New(s, clock)
	b.w = eventwriter.New(s, b.jobs, b.svc, slog.New(slog.NewTextHandler(io.Discard, nil)), clock, opts...)
	go b.w.Run(ctx)
	var err error
	if b.owner, err = s.CreateUser(ctx, "o@acme.test", "", "h", false); err != nil {
		t.Fatal(err)
	}
	org, _ := s.CreateOrganization(ctx, "acme", "", b.owner.ID)
	if b.project, err = s.CreateProject(ctx, org.ID, "web", ""); err != nil {
		t.Fatal(err)
	}
	return b
}

func event(t *testing.T, id int, typ, value, function string, line int, release string) *ingest.Event {
	t.Helper()
	body := fmt.Sprintf(`{"event_id":"%032x","level":"error","platform":"go","release":%q,
		"exception":[{"type":%q,"value":%q,"stacktrace":{"frames":[
		{"module":"main","function":"main","filename":"main.go","lineno":10,"in_app":true},
		{"module":"example.com/app","function":%q,"filename":"app.go","lineno":%d,"in_app":true}]}}]}`,
		id, release, typ, value, function, line)
	e, err := ingest.ParseStore([]byte(body), time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (b *bundle) issues(t *testing.T) []*triage.Issue {
	t.Helper()
	list, err := b.s.Issues(context.Background(), triage.IssueFilter{OrgID: b.project.OrgID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestGroupingAndCounting(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		err := b.w.Save(ctx, b.project.ID, []*ingest.Event{
			event(t, 1, "*errors.errorString", "user 42 not found", "load", 20, ""),
			event(t, 2, "*errors.errorString", "user 43 not found", "load", 25, ""), // same bug, other values and line
			event(t, 3, "*errors.errorString", "boom", "save", 30, ""),              // another function
			event(t, 3, "*errors.errorString", "boom", "save", 30, ""),              // a resend: counts once
		})
		if err != nil {
			t.Fatal(err)
		}
		list := b.issues(t)
		if len(list) != 2 {
			t.Fatalf("%d issues, want 2", len(list))
		}
		counts := map[string]int64{}
		for _, i := range list {
			counts[i.Title] = i.TimesSeen
		}
		if counts["*errors.errorString: user 42 not found"] != 2 || counts["*errors.errorString: boom"] != 1 {
			t.Errorf("counts by title = %v", counts)
		}
		if err := b.w.Save(ctx, b.project.ID, []*ingest.Event{event(t, 3, "*errors.errorString", "boom", "save", 30, "")}); err != nil {
			t.Fatal(err)
		}
		for _, i := range b.issues(t) {
			if i.Title == "*errors.errorString: boom" && i.TimesSeen != 1 {
				t.Errorf("a resent event was counted again: %d", i.TimesSeen)
			}
		}
		kinds := b.jobs.take()
		created := 0
		for _, k := range kinds {
			if k == "issue.created" {
				created++
			}
		}
		if created != 2 {
			t.Errorf("jobs %v: want two issue.created", kinds)
		}
	})
}

func TestRegressionAndReleases(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		save := func(id int, release string) {
			t.Helper()
			*b.clock = b.clock.Add(time.Minute)
			if err := b.w.Save(ctx, b.project.ID, []*ingest.Event{event(t, id, "Panic", "x", "run", 1, release)}); err != nil {
				t.Fatal(err)
			}
		}
		save(1, "1.0")
		issue := b.issues(t)[0]
		actor := triage.Actor{UserID: b.owner.ID, Source: triage.SourceWeb}
		resolve := func(c issues.StatusChange) {
			t.Helper()
			c.Status = triage.StatusResolved
			if _, err := b.svc.Update(ctx, actor, issue.ID, issues.Update{Status: &c}); err != nil {
				t.Fatal(err)
			}
		}
		status := func() triage.Status {
			i, _ := s.IssueByID(ctx, issue.ID)
			return i.Status
		}
		// Plain resolve: any event reopens, with a regression entry and job.
		resolve(issues.StatusChange{})
		b.jobs.take()
		save(2, "1.0")
		if status() != triage.StatusUnresolved {
			t.Fatal("a resolved issue did not regress")
		}
		acts, _ := s.Activities(ctx, issue.ID, 10)
		if acts[0].Type != triage.ActivitySetRegression {
			t.Errorf("newest activity %s, want set_regression", acts[0].Type)
		}
		if k := b.jobs.take(); !contains(k, "issue.regressed") {
			t.Errorf("jobs %v: want issue.regressed", k)
		}
		// Resolved in the current release (1.0): events of 1.0 are covered,
		// events of a newer release reopen.
		resolve(issues.StatusChange{InCurrentRelease: true})
		save(3, "1.0")
		if status() != triage.StatusResolved {
			t.Fatal("an event of the resolving release reopened the issue")
		}
		save(4, "1.1")
		if status() != triage.StatusUnresolved {
			t.Fatal("an event of a newer release did not reopen the issue")
		}
		// Resolved in the next release (current is 1.1): 1.1 is covered, 1.2 is not.
		resolve(issues.StatusChange{InNextRelease: true})
		save(5, "1.1")
		if status() != triage.StatusResolved {
			t.Fatal("an event of the release current at resolve reopened the issue")
		}
		save(6, "1.2")
		if status() != triage.StatusUnresolved {
			t.Fatal("an event of the next release did not reopen the issue")
		}
	})
}

func TestIgnoreUntil(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		n := 0
		save := func(k int) {
			t.Helper()
			var evs []*ingest.Event
			for range k {
				n++
				evs = append(evs, event(t, n, "Panic", "x", "run", 1, ""))
			}
			if err := b.w.Save(ctx, b.project.ID, evs); err != nil {
				t.Fatal(err)
			}
		}
		save(1)
		issue := b.issues(t)[0]
		actor := triage.Actor{UserID: b.owner.ID, Source: triage.SourceWeb}
		ignore := func(c issues.StatusChange) {
			t.Helper()
			c.Status = triage.StatusIgnored
			if _, err := b.svc.Update(ctx, actor, issue.ID, issues.Update{Status: &c}); err != nil {
				t.Fatal(err)
			}
		}
		status := func() triage.Status {
			i, _ := s.IssueByID(ctx, issue.ID)
			return i.Status
		}
		ignore(issues.StatusChange{IgnoreCount: 3})
		save(2)
		if status() != triage.StatusIgnored {
			t.Fatal("unignored before the count was reached")
		}
		save(1)
		if status() != triage.StatusUnresolved {
			t.Fatal("still ignored after 3 more events")
		}
		ignore(issues.StatusChange{IgnoreMinutes: 30})
		*b.clock = b.clock.Add(29 * time.Minute)
		save(1)
		if status() != triage.StatusIgnored {
			t.Fatal("unignored before the duration passed")
		}
		*b.clock = b.clock.Add(2 * time.Minute)
		save(1)
		if status() != triage.StatusUnresolved {
			t.Fatal("still ignored after the duration passed")
		}
		ignore(issues.StatusChange{})
		save(5)
		if status() != triage.StatusIgnored {
			t.Fatal("an issue ignored forever came back")
		}
	})
}

// unignoreProbe subscribes to issue changes and looks inside the
// writer's transaction: when an event ends an ignore it reads the issue
// through that transaction, and it can refuse the change.
type unignoreProbe struct {
	mu     sync.Mutex
	fail   int // changes still to refuse
	got    []issues.Transition
	inside []triage.Status // the issue's status, read through the writer's transaction
}

func (p *unignoreProbe) hook(ctx context.Context, tx *store.Tx, c issues.Change) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.Transition == nil {
		return nil
	}
	i, err := tx.IssueByID(ctx, c.Issue.ID)
	if err != nil {
		return err
	}
	p.inside = append(p.inside, i.Status)
	if c.Origin.Actor.Source != triage.SourceSystem || c.Activity.Type != triage.ActivitySetUnresolved {
		return fmt.Errorf("change from %q with activity %s, want a system set_unresolved", c.Origin.Actor.Source, c.Activity.Type)
	}
	if p.fail > 0 {
		p.fail--
		return errors.New("subscriber unavailable")
	}
	p.got = append(p.got, *c.Transition)
	return nil
}

func (p *unignoreProbe) take() ([]issues.Transition, []triage.Status) {
	p.mu.Lock()
	defer p.mu.Unlock()
	j, in := p.got, p.inside
	p.got, p.inside = nil, nil
	return j, in
}

// TestUnignoreChange: the event that ends an ignore hands every
// subscriber of issue changes one change saying what the ignore was, in
// the transaction that reopens the issue (a refused change leaves the
// issue ignored), even when no alert rule wants the ingestion jobs.
func TestUnignoreChange(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		probe := &unignoreProbe{}
		clock := func() time.Time { return *b.clock }
		svc := issues.New(s, clock)
		svc.OnChange(probe.hook)
		rec := &recorder{}
		none := func(context.Context, int64) (bool, error) { return false, nil }
		w := eventwriter.New(s, rec, svc, slog.New(slog.NewTextHandler(io.Discard, nil)), clock,
			eventwriter.EventJobFilter(none), eventwriter.CreatedJobFilter(none))
		go w.Run(ctx)
		n := 0
		save := func() (string, error) {
			n++
			e := event(t, n, "Panic", "x", "run", 1, "")
			return e.EventID, w.Save(ctx, b.project.ID, []*ingest.Event{e})
		}
		mustSave := func() string {
			t.Helper()
			id, err := save()
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		mustSave()
		issue := b.issues(t)[0]
		ignore := func(c issues.StatusChange) *triage.Issue {
			t.Helper()
			c.Status = triage.StatusIgnored
			if _, err := b.svc.Update(ctx, triage.Actor{UserID: b.owner.ID, Source: triage.SourceWeb}, issue.ID, issues.Update{Status: &c}); err != nil {
				t.Fatal(err)
			}
			i, err := s.IssueByID(ctx, issue.ID)
			if err != nil {
				t.Fatal(err)
			}
			return i
		}
		status := func() triage.Status {
			t.Helper()
			i, err := s.IssueByID(ctx, issue.ID)
			if err != nil {
				t.Fatal(err)
			}
			return i.Status
		}

		ignore(issues.StatusChange{IgnoreCount: 2})
		mustSave()
		if j, _ := probe.take(); len(j) != 0 || status() != triage.StatusIgnored {
			t.Fatalf("changes %+v, status %s after 1 of 2 events: want none, ignored", j, status())
		}
		// A subscriber refuses the change: the unignore rolls back with it.
		probe.fail = 3 // the writer's attempts
		if _, err := save(); err == nil {
			t.Fatal("the batch was stored although its change was refused")
		}
		j, inside := probe.take()
		if len(j) != 0 || len(inside) == 0 || inside[0] != triage.StatusUnresolved {
			t.Fatalf("changes %+v, status inside the transaction %v: want the change refused after the reopen", j, inside)
		}
		if got := status(); got != triage.StatusIgnored {
			t.Fatalf("status %s after the refused batch, want ignored", got)
		}
		id := mustSave()
		j, _ = probe.take()
		if len(j) != 1 || j[0].Kind != issues.Unignored || j[0].Event.EventID != id || j[0].Reason != "ignoreCount" ||
			j[0].Ignore.IgnoreCount != 2 || j[0].Ignore.IgnoreUntil != nil {
			t.Fatalf("changes %+v, want one ignoreCount unignore of 2 for %s", j, id)
		}
		if got := status(); got != triage.StatusUnresolved {
			t.Fatalf("status %s, want unresolved", got)
		}

		until := *ignore(issues.StatusChange{IgnoreMinutes: 30}).StatusDetails.IgnoreUntil
		*b.clock = b.clock.Add(31 * time.Minute)
		id = mustSave()
		j, _ = probe.take()
		if len(j) != 1 || j[0].Event.EventID != id || j[0].Reason != "ignoreUntil" || j[0].Ignore.IgnoreMinutes != 30 ||
			j[0].Ignore.IgnoreUntil == nil || !j[0].Ignore.IgnoreUntil.Equal(until) || j[0].Ignore.IgnoreCount != 0 {
			t.Fatalf("changes %+v, want one ignoreUntil change for %s, 30 minutes until %s", j, id, until)
		}

		ignore(issues.StatusChange{})
		*b.clock = b.clock.Add(24 * time.Hour)
		mustSave()
		if j, _ := probe.take(); len(j) != 0 || status() != triage.StatusIgnored {
			t.Fatalf("changes %+v, status %s: an issue ignored forever came back", j, status())
		}
		if k := rec.take(); contains(k, "issue.regressed") {
			t.Errorf("jobs %v: an unignore published issue.regressed", k)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestStoredEventsDecode(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		in := event(t, 7, "KeyError", "line one\nline two", "lookup", 9, "2.0")
		if err := b.w.Save(ctx, b.project.ID, []*ingest.Event{in}); err != nil {
			t.Fatal(err)
		}
		issue := b.issues(t)[0]
		rows, err := s.IssueEvents(ctx, issue.ID, 5)
		if err != nil || len(rows) != 1 {
			t.Fatalf("%d rows, %v", len(rows), err)
		}
		if len(rows[0].Data) >= len(in.Raw) {
			t.Errorf("stored %d bytes for a %d-byte event: not compressed", len(rows[0].Data), len(in.Raw))
		}
		out, err := b.w.Decode(rows[0])
		if err != nil {
			t.Fatal(err)
		}
		if out.EventID != in.EventID || out.Release != "2.0" || out.Exceptions[0].Value != "line one\nline two" || string(out.Raw) != string(in.Raw) {
			t.Errorf("decoded %+v", out)
		}
	})
}

func TestEventJobFilter(t *testing.T) {
	t.Parallel()
	s := dbtest.Open(t, store.SQLite, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{}
	asked, askedCreated := 0, 0
	w := eventwriter.New(s, rec, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil,
		eventwriter.EventJobFilter(func(context.Context, int64) (bool, error) { asked++; return false, nil }),
		eventwriter.CreatedJobFilter(func(context.Context, int64) (bool, error) { askedCreated++; return askedCreated > 1, nil }))
	go w.Run(ctx)
	u, _ := s.CreateUser(ctx, "o@acme.test", "", "h", false)
	org, _ := s.CreateOrganization(ctx, "acme", "", u.ID)
	p, _ := s.CreateProject(ctx, org.ID, "web", "")
	// The first new issue comes while no rule wants new issues, the
	// second after one does.
	for i := range 2 {
		if err := w.Save(ctx, p.ID, []*ingest.Event{event(t, i+1, "Panic", "x", fmt.Sprintf("run%d", i), 1, "")}); err != nil {
			t.Fatal(err)
		}
	}
	kinds := rec.take()
	created := 0
	for _, k := range kinds {
		if k == "issue.created" {
			created++
		}
	}
	if contains(kinds, "event.received") || created != 1 || asked == 0 {
		t.Errorf("jobs %v (filter asked %d times): want one issue.created and no event.received", kinds, asked)
	}
}

// TestConcurrentRequestsShareNewGroups: requests whose first events go to
// different lanes (two on PostgreSQL, as two processes would race) but
// which all carry one new group race to create its issue; each request is
// stored exactly once and the shared issue counts every event.
func TestConcurrentRequestsShareNewGroups(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s, eventwriter.Lanes(2))
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				evs := []*ingest.Event{
					event(t, 1000+i, "Own", "x", fmt.Sprintf("own%d", i), 1, ""),
					event(t, 2000+i, "Shared", "y", "shared", 1, ""),
				}
				if err := b.w.Save(ctx, b.project.ID, evs); err != nil {
					t.Errorf("save %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		list := b.issues(t)
		if len(list) != 21 {
			t.Fatalf("%d issues, want 21", len(list))
		}
		for _, is := range list {
			want := int64(1)
			if is.Title == "Shared: y" {
				want = 20
			}
			if is.TimesSeen != want {
				t.Errorf("%s seen %d times, want %d", is.Title, is.TimesSeen, want)
			}
		}
	})
}
