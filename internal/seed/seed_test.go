package seed_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"triage"
	"triage/internal/eventwriter"
	"triage/internal/search"
	"triage/internal/seed"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestSeedAgreesWithItsEvents: a small build on each engine keeps every
// count the event writer keeps in step with the events it wrote, its
// events decode as the writer's do, and the World it reports is what is
// in the database.
func TestSeedAgreesWithItsEvents(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		spec := seed.Spec{Issues: 40, Events: 3000, Users: 200, URLs: 500, Now: now, PasswordHash: "h", Seed: 1}
		w, err := seed.Build(ctx, s, spec, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := seed.Build(ctx, s, spec, io.Discard); triage.ErrorCode(err) != triage.ECONFLICT {
			t.Errorf("a second build: %v, want ECONFLICT", err)
		}
		if _, err := seed.Lookup(ctx, s, seed.Spec{Issues: 41, Events: 3000, Users: 200, URLs: 500}); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("lookup of another spec: %v, want ENOTFOUND", err)
		}
		again, err := seed.Lookup(ctx, s, spec)
		if err != nil || again.Member.ID != w.Member.ID || len(again.Projects) != 3 {
			t.Fatalf("lookup: %+v, %v", again, err)
		}

		one := func(query string, args ...any) int64 {
			t.Helper()
			var n int64
			if err := s.Pool().QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return n
		}
		if n := one(`SELECT COUNT(*) FROM events`); n != 3000 {
			t.Errorf("%d events, want 3000", n)
		}
		if n := one(`SELECT COUNT(*) FROM issues`); n != 40 {
			t.Errorf("%d issues, want 40", n)
		}
		if n := one(`SELECT COUNT(*) FROM (SELECT DISTINCT key, value FROM issue_tags) AS d`); n != int64(w.TagValues) || n < 400 {
			t.Errorf("%d distinct tag values, the build says %d", n, w.TagValues)
		}
		// Every issue: its counts against its events.
		mismatches := []struct{ what, query string }{
			{"times seen", `SELECT COUNT(*) FROM issues i WHERE times_seen <> (SELECT COUNT(*) FROM events e WHERE e.issue_id = i.id)`},
			{"first and last seen", `SELECT COUNT(*) FROM issues i WHERE first_seen <> (SELECT MIN(received_at) FROM events e WHERE e.issue_id = i.id)
				OR last_seen <> (SELECT MAX(received_at) FROM events e WHERE e.issue_id = i.id)`},
			{"hours", `SELECT COUNT(*) FROM issues i WHERE times_seen <> (SELECT SUM(n) FROM issue_hours h WHERE h.issue_id = i.id)`},
			{"level tag", `SELECT COUNT(*) FROM issues i WHERE times_seen <> (SELECT SUM(times_seen) FROM issue_tags t WHERE t.issue_id = i.id AND t.key = 'level' AND t.value = i.level)`},
			{"environment tag", `SELECT COUNT(*) FROM issues i WHERE EXISTS (SELECT 1 FROM issue_tags t WHERE t.issue_id = i.id AND t.key = 'environment'
				AND t.times_seen <> (SELECT COUNT(*) FROM events e WHERE e.issue_id = i.id AND e.environment = t.value))`},
			{"release tag", `SELECT COUNT(*) FROM issues i WHERE EXISTS (SELECT 1 FROM issue_tags t WHERE t.issue_id = i.id AND t.key = 'release'
				AND t.times_seen <> (SELECT COUNT(*) FROM events e WHERE e.issue_id = i.id AND e.release = t.value))`},
			{"users", `SELECT COUNT(*) FROM issues i WHERE user_count <> (SELECT COUNT(*) FROM issue_tags t WHERE t.issue_id = i.id AND t.key = 'user')`},
			{"environments", `SELECT COUNT(*) FROM (SELECT DISTINCT project_id, environment FROM events) AS d
				WHERE NOT EXISTS (SELECT 1 FROM environments v WHERE v.project_id = d.project_id AND v.name = d.environment)`},
			{"releases", `SELECT COUNT(*) FROM (SELECT project_id, release, MIN(received_at) AS first FROM events GROUP BY project_id, release) AS d
				WHERE NOT EXISTS (SELECT 1 FROM releases r WHERE r.project_id = d.project_id AND r.version = d.release AND r.first_seen = d.first)`},
		}
		for _, m := range mismatches {
			if n := one(m.query); n != 0 {
				t.Errorf("%s: %d issues disagree with their events", m.what, n)
			}
		}

		// The busiest issue comes first by events, as a member sees it (web
		// and api only), and its latest event decodes as the writer's do.
		page, err := s.SearchIssues(ctx, search.Request{OrgID: w.Projects[0].OrgID, UserID: w.Member.ID, Sort: search.SortFreq,
			Query: search.Query{Terms: []search.Term{{Kind: search.KindIs, Key: "is", Value: "all"}}}, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 27 || page.Issues[0].ShortID() != "WEB-1" || page.Issues[0].TimesSeen < page.Issues[1].TimesSeen*3/2 {
			t.Fatalf("the member sees %d issues, the busiest %s; want 27 of web and api, WEB-1 first by far", page.Total, page.Issues[0].ShortID())
		}
		busiest := page.Issues[0]
		rows, err := s.IssueEvents(ctx, busiest.ID, 1)
		if err != nil || len(rows) != 1 {
			t.Fatalf("the busiest issue's events: %v, %v", rows, err)
		}
		wr := eventwriter.New(s, nil, nil, slog.New(slog.DiscardHandler), time.Now)
		e, err := wr.Decode(rows[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Exceptions) != 1 || e.Exceptions[0].Type+": "+e.Exceptions[0].Value != busiest.Title || e.Level != busiest.Level {
			t.Errorf("the stored event decodes as %+v, level %s; want the issue's title %q and level %s", e.Exceptions, e.Level, busiest.Title, busiest.Level)
		}
	})
}
