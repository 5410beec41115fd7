package eventwriter_test

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"triage"
	"triage/internal/search"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestTagFilterPages: tag filters, alone, intersected, negated and beside
// other terms, list the issues that had the value on any event, with the
// total of all matches on every page, in each sort's order with ties
// broken by the newest issue, the same walking the pages forward and back.
func TestTagFilterPages(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := &sender{bundle: setup(t, s)}
		ctx := context.Background()
		tags := func(tier, region string) map[string]string {
			m := map[string]string{"customer_tier": tier}
			if region != "" {
				m["region"] = region
			}
			return m
		}
		ev := func(fn, level string, tg map[string]string, user string) spec {
			sp := spec{fn: fn, typ: "E" + fn, level: level, at: "2026-11-01T10:00:00Z", tags: tg}
			if user != "" {
				sp.user = map[string]string{"id": user}
			}
			return sp
		}
		// Seven issues; g0 and g5 tie on events and users, several tie on
		// last seen; g6's first event was "free", its second "pro".
		b.send(t,
			ev("g0", "error", tags("pro", "eu"), "u1"), ev("g1", "error", tags("pro", "us"), "u1"),
			ev("g2", "error", tags("free", "eu"), "u2"), ev("g3", "warning", tags("pro", "eu"), "u3"),
			ev("g4", "error", tags("pro", ""), ""), ev("g5", "error", tags("pro", "eu"), "u4"),
			ev("g6", "error", tags("free", "eu"), "u5"))
		*b.clock = b.clock.Add(time.Hour)
		b.send(t, ev("g0", "error", tags("pro", "eu"), "u6"), ev("g5", "error", tags("pro", "eu"), "u7"),
			ev("g3", "warning", tags("pro", "eu"), "u3"), ev("g3", "warning", tags("pro", "eu"), "u3"))
		*b.clock = b.clock.Add(time.Hour)
		b.send(t, ev("g6", "error", tags("pro", ""), "u5"), ev("g2", "error", tags("free", "eu"), "u2"))

		all := map[string]*triage.Issue{}
		for _, i := range b.issues(t) {
			all[i.Culprit[1:]] = i
		}
		if len(all) != 7 {
			t.Fatalf("%d issues, want 7", len(all))
		}
		if err := s.SetIssueStatus(ctx, all["g5"].ID, triage.StatusResolved, triage.StatusDetails{}, 0); err != nil {
			t.Fatal(err)
		}

		tests := map[string][]string{
			"customer_tier:pro":                               {"g0", "g1", "g3", "g4", "g6"},
			"customer_tier:pro is:all":                        {"g0", "g1", "g3", "g4", "g5", "g6"},
			"customer_tier:pro region:eu":                     {"g0", "g3", "g6"},
			"region:eu customer_tier:pro is:all":              {"g0", "g3", "g5", "g6"},
			"customer_tier:pro !region:eu":                    {"g1", "g4"},
			"customer_tier:free region:eu":                    {"g2", "g6"},
			"level:error customer_tier:pro region:eu is:all":  {"g0", "g5", "g6"},
			"customer_tier:pro times_seen:>=2":                {"g0", "g3", "g6"},
			"customer_tier:pro customer_tier:free":            {"g6"},
			"customer_tier:enterprise":                        {},
			"customer_tier:pro region:eu user.id:u3":          {"g3"},
			"customer_tier:pro region:eu !user.id:u3 is:all":  {"g0", "g5", "g6"},
			"Eg0 customer_tier:pro":                           {"g0"},
			"customer_tier:pro region:eu !customer_tier:free": {"g0", "g3"},
		}
		for q, names := range tests {
			for _, sort := range []search.Sort{search.SortDate, search.SortNew, search.SortFreq, search.SortUser} {
				want := make([]*triage.Issue, len(names))
				for k, n := range names {
					want[k] = all[n]
				}
				slices.SortFunc(want, func(x, y *triage.Issue) int {
					return cmp.Or(cmp.Compare(sort.Key(y), sort.Key(x)), cmp.Compare(y.ID, x.ID))
				})
				wantIDs := []int64{}
				for _, i := range want {
					wantIDs = append(wantIDs, i.ID)
				}
				fwd, back := walkPages(t, s, b.project.OrgID, mustParse(t, q, *b.clock), sort, int64(len(names)))
				if diff := gocmp.Diff(wantIDs, fwd); diff != "" {
					t.Errorf("%q sort %s, forward (-want +got):\n%s", q, sort, diff)
				}
				if diff := gocmp.Diff(wantIDs, back); diff != "" {
					t.Errorf("%q sort %s, backward (-want +got):\n%s", q, sort, diff)
				}
			}
		}
	})
}

// walkPages lists a search two issues a page, forward from the start and
// then back from the last page's Prev cursors, checking each page's total.
func walkPages(t *testing.T, s *store.Store, orgID int64, q search.Query, sort search.Sort, total int64) (fwd, back []int64) {
	t.Helper()
	ctx := context.Background()
	fwd, back = []int64{}, []int64{}
	page := func(c search.Cursor) *search.Page {
		p, err := s.SearchIssues(ctx, search.Request{OrgID: orgID, Query: q, Sort: sort, Cursor: c, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != total {
			t.Errorf("%s sort %s at %v: total %d, want %d", q, sort, c, p.Total, total)
		}
		return p
	}
	var last *search.Page
	for c, n := (search.Cursor{}), 0; n < 10; n++ {
		last = page(c)
		for _, i := range last.Issues {
			fwd = append(fwd, i.ID)
		}
		if last.Next == nil {
			break
		}
		c = *last.Next
	}
	if len(last.Issues) == 0 {
		return fwd, back
	}
	for _, i := range slices.Backward(last.Issues) {
		back = append(back, i.ID)
	}
	for p, n := last, 0; p.Prev != nil && n < 10; n++ {
		p = page(*p.Prev)
		for _, i := range slices.Backward(p.Issues) {
			back = append(back, i.ID)
		}
	}
	slices.Reverse(back)
	return fwd, back
}
