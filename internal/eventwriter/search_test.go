package eventwriter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"triage"
	"triage/internal/ingest"
	"triage/internal/search"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// spec is one event of the search tests' world.
type spec struct {
	fn, typ, level, env, release string
	at                           string // timestamp, RFC 3339
	user                         map[string]string
	tags                         map[string]string
	browser, os                  [2]string
	url                          string
}

// sender sends specs as events, numbering their ids.
type sender struct {
	*bundle
	seq int
}

func (b *sender) send(t *testing.T, specs ...spec) {
	t.Helper()
	var events []*ingest.Event
	for _, sp := range specs {
		b.seq++
		ev := map[string]any{
			"event_id": fmt.Sprintf("%032x", 1_000_000+b.seq), "level": sp.level, "platform": "go", "timestamp": sp.at,
			"environment": sp.env, "release": sp.release, "server_name": "web-1", "transaction": "/" + sp.fn,
			"exception": []any{map[string]any{"type": sp.typ, "value": "it failed in " + sp.fn, "stacktrace": map[string]any{"frames": []any{
				map[string]any{"module": "example.com/shop", "function": sp.fn, "filename": "shop.go", "lineno": 7, "in_app": true}}}}},
		}
		if sp.user != nil {
			ev["user"] = sp.user
		}
		if sp.tags != nil {
			ev["tags"] = sp.tags
		}
		ctx := map[string]any{}
		if sp.browser[0] != "" {
			ctx["browser"] = map[string]string{"name": sp.browser[0], "version": sp.browser[1]}
		}
		if sp.os[0] != "" {
			ctx["os"] = map[string]string{"name": sp.os[0], "version": sp.os[1]}
		}
		ev["contexts"] = ctx
		if sp.url != "" {
			ev["request"] = map[string]any{"method": "GET", "url": sp.url}
		}
		body, _ := json.Marshal(ev)
		e, err := ingest.ParseStore(body, *b.clock)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if err := b.w.Save(context.Background(), b.project.ID, events); err != nil {
		t.Fatal(err)
	}
}

// searchWorld sends the events every search test reads: four issues
// named by their functions.
func searchWorld(t *testing.T, b *sender) map[string]*triage.Issue {
	chrome, firefox := [2]string{"Chrome", "120.0"}, [2]string{"Firefox", "121"}
	win := [2]string{"Windows", "10"}
	b.send(t,
		spec{fn: "checkout", typ: "TypeError", level: "error", env: "production", release: "web@1", at: "2026-10-31T10:00:00Z",
			user: map[string]string{"id": "1", "email": "one@shop.test"}, tags: map[string]string{"customer_tier": "pro"},
			browser: chrome, os: win, url: "https://shop.test/cart"},
		spec{fn: "checkout", typ: "TypeError", level: "error", env: "production", release: "web@1", at: "2026-10-31T11:00:00Z",
			user: map[string]string{"id": "2"}, tags: map[string]string{"customer_tier": "pro"}, browser: chrome, os: win, url: "https://shop.test/cart"},
		spec{fn: "checkout", typ: "TypeError", level: "error", env: "production", release: "web@1", at: "2026-10-31T12:00:00Z",
			user: map[string]string{"id": "1"}, tags: map[string]string{"customer_tier": "free"}, browser: chrome, url: "https://shop.test/cart"},
		spec{fn: "query", typ: "ValueError", level: "warning", env: "staging", release: "web@2", at: "2026-11-01T11:00:00Z",
			user: map[string]string{"email": "x@y.test"}, browser: firefox},
		spec{fn: "render", typ: "KeyError", level: "fatal", env: "production", release: "web@1", at: "2026-10-20T08:00:00Z"},
		spec{fn: "render", typ: "KeyError", level: "fatal", env: "production", release: "web@1", at: "2026-10-20T09:00:00Z"},
		spec{fn: "assign", typ: "TypeError", level: "error", env: "production", release: "web@2", at: "2026-11-01T09:00:00Z",
			user: map[string]string{"ip_address": "10.0.0.9"}},
	)
	out := map[string]*triage.Issue{}
	page, err := b.s.SearchIssues(context.Background(), search.Request{OrgID: b.project.OrgID, Query: mustParse(t, "is:all", *b.clock), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range page.Issues {
		out[strings.TrimPrefix(i.Culprit, "/")] = i
	}
	if len(page.Issues) != 4 || out["checkout"] == nil || out["query"] == nil || out["render"] == nil || out["assign"] == nil {
		t.Fatalf("the world has %d issues: %v", len(page.Issues), out)
	}
	ctx := context.Background()
	if err := b.s.SetIssueStatus(ctx, out["render"].ID, triage.StatusResolved, triage.StatusDetails{}, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.s.SetIssueAssignee(ctx, out["assign"].ID, &triage.Assignee{Type: "user", ID: b.owner.ID}); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustParse(t *testing.T, q string, now time.Time) search.Query {
	t.Helper()
	p, err := search.Parse(q, now)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSearchTerms: every term of the syntax filters as the README says,
// on both engines, against what the writer counted.
func TestSearchTerms(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := &sender{bundle: setup(t, s)}
		world := searchWorld(t, b)
		tests := map[string][]string{
			"":                                     {"checkout", "query", "assign"}, // is:unresolved implied
			"is:unresolved":                        {"checkout", "query", "assign"},
			"is:resolved":                          {"render"},
			"is:all":                               {"checkout", "query", "render", "assign"},
			"is:ignored":                           {},
			"is:assigned":                          {"assign"},
			"is:unassigned":                        {"checkout", "query", "render"},
			"assigned:me":                          {"assign"},
			"assigned:O@ACME.test":                 {"assign"},
			"!assigned:me":                         {"checkout", "query"},
			"checkout":                             {"checkout"},
			`"Failed In Checkout" is:all`:          {"checkout"},
			"TypeError":                            {"checkout", "assign"},
			"!TypeError":                           {"query"},
			"level:error":                          {"checkout", "assign"},
			"level:fatal is:all":                   {"render"},
			"!level:error is:all":                  {"query", "render"},
			"environment:production":               {"checkout", "assign"},
			"!environment:production":              {"query"},
			"environment:production is:all":        {"checkout", "render", "assign"},
			"release:web@2 is:all":                 {"query", "assign"},
			"project:web":                          {"checkout", "query", "assign"},
			"project:other":                        {},
			"firstSeen:>2026-10-31":                {"checkout", "query", "assign"},
			"firstSeen:2026-10-31 is:all":          {"checkout"},
			"firstSeen:<2026-10-31 is:all":         {"render"},
			"firstSeen:-24h is:all":                {"query", "assign"},
			"lastSeen:+7d is:all":                  {"render"},
			"lastSeen:>=2026-11-01T10:00:00Z":      {"query"},
			"times_seen:>2":                        {"checkout"},
			"times_seen:>=2 is:all":                {"checkout", "render"},
			"times_seen:1 is:all":                  {"query", "assign"},
			"times_seen:<=1":                       {"query", "assign"},
			`browser:"Chrome 120.0"`:               {"checkout"},
			"browser.name:Firefox":                 {"query"},
			`os:"Windows 10"`:                      {"checkout"},
			"os.name:Windows customer_tier:free":   {"checkout"},
			"customer_tier:pro":                    {"checkout"},
			"!customer_tier:pro":                   {"query", "assign"}, // never had the tag
			"user.id:2":                            {"checkout"},
			"user.email:x@y.test":                  {"query"},
			"user.ip:10.0.0.9":                     {"assign"},
			"url:https://shop.test/cart":           {"checkout"},
			"server_name:web-1 transaction:/query": {"query"},
			"level:error environment:production":   {"checkout", "assign"},
		}
		for q, want := range tests {
			page, err := b.s.SearchIssues(context.Background(), search.Request{OrgID: b.project.OrgID, UserID: b.owner.ID,
				Query: mustParse(t, q, *b.clock), Limit: 100})
			if err != nil {
				t.Errorf("search %q: %v", q, err)
				continue
			}
			got := []string{}
			for _, i := range page.Issues {
				for fn, wi := range world {
					if wi.ID == i.ID && !slices.Contains(got, fn) {
						got = append(got, fn)
					}
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if want == nil {
				want = []string{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("search %q (-want +got):\n%s", q, diff)
			}
			if page.Total != int64(len(want)) {
				t.Errorf("search %q: total %d, want %d", q, page.Total, len(want))
			}
		}
	})
}

// TestCountsAgreeWithEvents: users, tag values and hourly trends add up
// to the events sent, a resent event counting once.
func TestCountsAgreeWithEvents(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := &sender{bundle: setup(t, s)}
		ctx := context.Background()
		world := searchWorld(t, b)
		checkout := world["checkout"]
		if checkout.UserCount != 2 || world["query"].UserCount != 1 || world["render"].UserCount != 0 {
			t.Errorf("user counts: checkout %d, query %d, render %d; want 2, 1, 0", checkout.UserCount, world["query"].UserCount, world["render"].UserCount)
		}
		keys, err := s.IssueTags(ctx, checkout.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		byKey := map[string]search.TagKey{}
		for _, k := range keys {
			byKey[k.Key] = k
		}
		for key, want := range map[string][]string{
			"level": {"error:3"}, "environment": {"production:3"}, "release": {"web@1:3"},
			"customer_tier": {"pro:2", "free:1"}, "user": {"id:1:2", "id:2:1"}, "browser": {"Chrome 120.0:3"},
			"os": {"Windows 10:2"}, "url": {"https://shop.test/cart:3"}, "server_name": {"web-1:3"}, "transaction": {"/checkout:3"},
		} {
			var got []string
			for _, v := range byKey[key].TopValues {
				got = append(got, fmt.Sprintf("%s:%d", v.Value, v.Count))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("tag %s values (-want +got):\n%s", key, diff)
			}
		}
		if k := byKey["customer_tier"]; k.TotalValues != 3 || k.Distinct != 2 {
			t.Errorf("customer_tier: %d events, %d values; want 3, 2", k.TotalValues, k.Distinct)
		}
		if v := byKey["user"].TopValues[0]; v.FirstSeen.Format(time.RFC3339) != "2026-10-31T10:00:00Z" || v.LastSeen.Format(time.RFC3339) != "2026-10-31T12:00:00Z" {
			t.Errorf("user id:1 seen %v to %v", v.FirstSeen, v.LastSeen)
		}

		// A resend of the first event and one more an hour later.
		b.seq = 0
		b.send(t, spec{fn: "checkout", typ: "TypeError", level: "error", env: "production", release: "web@1", at: "2026-10-31T10:00:00Z",
			user: map[string]string{"id": "1"}})
		*b.clock = b.clock.Add(time.Hour)
		b.seq = 1_000
		b.send(t, spec{fn: "checkout", typ: "TypeError", level: "error", env: "production", release: "web@1", at: "2026-11-01T12:30:00Z",
			user: map[string]string{"id": "3"}})
		hours, err := s.IssueHours(ctx, []int64{checkout.ID}, b.clock.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		trend := search.Period24h.Trend(hours[checkout.ID], *b.clock)
		var sum int64
		for _, bk := range trend {
			sum += bk.Count
		}
		if sum != 4 || trend[23].Count != 1 || trend[22].Count != 3 {
			t.Errorf("24h trend sums to %d (last buckets %d, %d), want 4 (3, 1)", sum, trend[22].Count, trend[23].Count)
		}
		got, err := s.IssueByID(ctx, checkout.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.UserCount != 3 || got.TimesSeen != 4 {
			t.Errorf("after two more sends: %d users, %d events; want 3, 4", got.UserCount, got.TimesSeen)
		}
	})
}

// TestSortTies: each sort orders by its value, ties newest issue first,
// and walking the pages forward and back with cursors gives each issue
// once, in the same order, while events keep arriving.
func TestSortTies(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := &sender{bundle: setup(t, s)}
		ctx := context.Background()
		// Five issues: events 2, 1, 2, 1, 3; all seen at one instant.
		counts := []int{2, 1, 2, 1, 3}
		for k, n := range counts {
			for range n {
				b.send(t, spec{fn: fmt.Sprintf("f%d", k), typ: "E", level: "error", at: "2026-11-01T10:00:00Z",
					user: map[string]string{"id": fmt.Sprint(b.seq)}})
			}
		}
		all, err := s.SearchIssues(ctx, search.Request{OrgID: b.project.OrgID, Sort: search.SortNew, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(all.Issues) != 5 {
			t.Fatalf("%d issues", len(all.Issues))
		}
		id := map[int]int64{}
		for _, i := range all.Issues {
			var k int
			fmt.Sscanf(i.Culprit, "/f%d", &k)
			id[k] = i.ID
		}
		// Ids grow in creation order f0…f4, all first seen together.
		want := map[search.Sort][]int64{
			search.SortNew:  {id[4], id[3], id[2], id[1], id[0]},
			search.SortDate: {id[4], id[3], id[2], id[1], id[0]},
			search.SortFreq: {id[4], id[2], id[0], id[3], id[1]},
			search.SortUser: {id[4], id[2], id[0], id[3], id[1]},
		}
		for sort, order := range want {
			before, err := s.SearchIssues(ctx, search.Request{OrgID: b.project.OrgID, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			var c search.Cursor
			for range 10 {
				page, err := s.SearchIssues(ctx, search.Request{OrgID: b.project.OrgID, Sort: sort, Cursor: c, Limit: 2})
				if err != nil {
					t.Fatal(err)
				}
				if c.IsZero() && page.Total != before.Total {
					t.Errorf("%s: total %d, want %d", sort, page.Total, before.Total)
				}
				for _, i := range page.Issues {
					got = append(got, i.ID)
				}
				// Events keep arriving while a person pages: a new issue
				// at the top and counts growing must not shift the pages.
				b.send(t, spec{fn: "late", typ: "Late", level: "error", at: "2026-11-01T11:00:00Z"})
				if page.Next == nil {
					break
				}
				c = *page.Next
			}
			late := func(x int64) bool { return x > id[4] }
			got = slices.DeleteFunc(got, late)
			if diff := cmp.Diff(order, got); diff != "" {
				t.Errorf("sort %s forward (-want +got):\n%s", sort, diff)
			}
			// And back from the last issue, page by page.
			last, err := s.IssueByID(ctx, order[len(order)-1])
			if err != nil {
				t.Fatal(err)
			}
			back := []int64{last.ID}
			c = search.Cursor{Value: sort.Key(last), ID: last.ID, Prev: true}
			for range 10 {
				page, err := s.SearchIssues(ctx, search.Request{OrgID: b.project.OrgID, Sort: sort, Cursor: c, Limit: 2})
				if err != nil {
					t.Fatal(err)
				}
				for k := len(page.Issues) - 1; k >= 0; k-- {
					back = append(back, page.Issues[k].ID)
				}
				if page.Prev == nil {
					break
				}
				c = *page.Prev
			}
			back = slices.DeleteFunc(back, late)
			slices.Reverse(back)
			if diff := cmp.Diff(order, back); diff != "" {
				t.Errorf("sort %s backward (-want +got):\n%s", sort, diff)
			}
		}
	})
}
