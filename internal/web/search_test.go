package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"triage/internal/store"
	"triage/internal/testutil/browser"
)

// tagIssue gives an issue tag values and events this hour, as the event
// writer would have counted them.
func (b *bundle) tagIssue(issueID int64, key string, values map[string]int64) {
	b.t.Helper()
	now := time.Now()
	err := b.store.InTx(context.Background(), func(tx *store.Tx) error {
		var rows []store.TagCount
		var n int64
		for v, c := range values {
			rows = append(rows, store.TagCount{IssueID: issueID, Key: key, Value: v, N: c, First: now.UnixMicro(), Last: now.UnixMicro()})
			n += c
		}
		added, err := tx.CountIssueTags(context.Background(), rows)
		if err != nil {
			return err
		}
		if err := tx.AddUserCounts(context.Background(), added); err != nil {
			return err
		}
		hour := now.Unix() - now.Unix()%3600
		return tx.CountIssueHours(context.Background(), []store.HourCount{{IssueID: issueID, Hour: hour, N: n}})
	})
	if err != nil {
		b.t.Fatal(err)
	}
}

// TestSearchAPI: the API's search errors name the term, the tags endpoint
// has Sentry's shape, stats add up to the events counted this hour.
func TestSearchAPI(t *testing.T) {
	t.Parallel()
	for _, engine := range []store.Engine{store.SQLite, store.Postgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setup(t, engine)
			alice := b.tokens["alice"]
			b.tagIssue(b.issue.ID, "browser", map[string]int64{"Chrome": 2, "Firefox": 1})
			b.tagIssue(b.issue.ID, "user", map[string]int64{"id:1": 2, "id:2": 1})

			for q, term := range map[string]string{"level:loud": "level:loud", `browser:"Chrome`: `browser:"Chrome`, "TypeError: x": "TypeError:"} {
				r := b.api(http.MethodGet, "/api/0/organizations/acme/issues/?query="+url.QueryEscape(q), alice, nil, nil)
				var e struct{ Detail string }
				if err := json.Unmarshal([]byte(r.body), &e); err != nil || r.status != http.StatusBadRequest || !strings.Contains(e.Detail, `"`+term+`"`) {
					t.Errorf("query %q: %d %s, want 400 naming %q", q, r.status, r.body, term)
				}
			}
			for _, q := range []string{"sort=loud", "statsPeriod=1y", "cursor=1:2"} {
				if r := b.api(http.MethodGet, "/api/0/organizations/acme/issues/?"+q, alice, nil, nil); r.status != http.StatusBadRequest {
					t.Errorf("%s: %d, want 400", q, r.status)
				}
			}

			var list []struct {
				ShortID   string                `json:"shortId"`
				UserCount int64                 `json:"userCount"`
				Stats     map[string][][2]int64 `json:"stats"`
			}
			r := b.api(http.MethodGet, "/api/0/organizations/acme/issues/?query=browser:Chrome&statsPeriod=24h", alice, nil, &list)
			if r.status != http.StatusOK || len(list) != 1 || list[0].ShortID != "WEB-1" || list[0].UserCount != 2 {
				t.Fatalf("browser:Chrome: %d %+v", r.status, list)
			}
			st := list[0].Stats["24h"]
			var sum int64
			for k, p := range st {
				sum += p[1]
				if k > 0 && p[0]-st[k-1][0] != 3600 {
					t.Errorf("buckets %d and %d are %d s apart", k-1, k, p[0]-st[k-1][0])
				}
			}
			if len(st) != 24 || sum != 6 || st[23][1] != 6 {
				t.Errorf("24h stats %v: want 24 buckets, the last holding all 6 events", st)
			}

			var tags []struct {
				Key         string `json:"key"`
				TotalValues int64  `json:"totalValues"`
				TopValues   []struct {
					Value     string    `json:"value"`
					Count     int64     `json:"count"`
					FirstSeen time.Time `json:"firstSeen"`
					LastSeen  time.Time `json:"lastSeen"`
				} `json:"topValues"`
			}
			if r := b.api(http.MethodGet, "/api/0/issues/"+itoa(b.issue.ID)+"/tags/", alice, nil, &tags); r.status != http.StatusOK {
				t.Fatalf("tags: %d %s", r.status, r.body)
			}
			var got []string
			for _, k := range tags {
				for _, v := range k.TopValues {
					got = append(got, k.Key+"="+v.Value+":"+itoa(v.Count)+"/"+itoa(k.TotalValues))
					if v.FirstSeen.IsZero() || v.LastSeen.IsZero() {
						t.Errorf("tag %s=%s has no first or last seen", k.Key, v.Value)
					}
				}
			}
			want := []string{"browser=Chrome:2/3", "browser=Firefox:1/3", "user=id:1:2/3", "user=id:2:1/3"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
			if r := b.api(http.MethodGet, "/api/0/issues/"+itoa(b.secret.ID)+"/tags/", alice, nil, nil); r.status != http.StatusNotFound {
				t.Errorf("another organization's issue's tags: %d, want 404", r.status)
			}
		})
	}
}

// TestBrowserSearch is what a person does to find an error: type a query,
// see the list filtered, sort by events, open an issue, click one of its
// tag values and land on the list of the issues with that value.
func TestBrowserSearch(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	checkout := b.newIssue(b.web.ID, "h3", "checkout failed", time.Now().Add(-3*time.Hour))
	// WEB-2 gets five more events: the busiest of the TypeError/ZeroDivisionError pair.
	if _, err := b.store.CountIssuesEvents(context.Background(), []store.IssueCount{{IssueID: b.issue2.ID, N: 5, LastSeen: b.issue2.LastSeen}}); err != nil {
		t.Fatal(err)
	}
	b.tagIssue(b.issue.ID, "browser", map[string]int64{"Firefox": 3})
	b.tagIssue(b.issue2.ID, "browser", map[string]int64{"Chrome": 6, "Safari 17.1": 2})
	b.tagIssue(checkout.ID, "browser", map[string]int64{"Chrome": 1, "Firefox": 2})
	ctx := browser.New(t)

	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	rows := func() []string {
		t.Helper()
		ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#issues tbody .short-id")].map(a => a.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	load := func(action chromedp.Action[chromedp.Void], what string) {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx, action)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if resp.Status != 200 {
			t.Fatalf("%s: page answered %d", what, resp.Status)
		}
	}

	load(chromedp.Navigate(b.url+"/auth/login/?next=/organizations/acme/issues/"), "open the login form")
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#email"), "alice@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword)); err != nil {
		t.Fatal(err)
	}
	load(chromedp.Click(chromedp.CSS("#login")), "log in")
	if diff := cmp.Diff([]string{"WEB-1", "WEB-2", "WEB-3"}, rows()); diff != "" {
		t.Fatalf("the list, last seen first (-want +got):\n%s", diff)
	}

	// Type a query: the issues with "error" in the title, not the checkout one.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector("#query").value = "") === ""`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#query"), "error")); err != nil {
		t.Fatal(err)
	}
	load(chromedp.Submit(chromedp.CSS("#query")), "search")
	if diff := cmp.Diff([]string{"WEB-1", "WEB-2"}, rows()); diff != "" {
		t.Errorf("after searching for error (-want +got):\n%s", diff)
	}
	if got := text("#total"); got != "2 issues" {
		t.Errorf("total: %q, want 2 issues", got)
	}

	// Sort by events: WEB-2 (8) before WEB-1 (3); the query stays.
	load(chromedp.Click(chromedp.CSS("#sort-freq")), "sort by events")
	if diff := cmp.Diff([]string{"WEB-2", "WEB-1"}, rows()); diff != "" {
		t.Errorf("sorted by events (-want +got):\n%s", diff)
	}
	query, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#query")))
	if err != nil || query != "error" {
		t.Errorf("the search box holds %q after sorting (%v), want error", query, err)
	}

	// Open WEB-2 and click its Chrome value.
	load(chromedp.Click(chromedp.CSS(`#issues a.issue-title[href="`+b.issue2.Path()+`"]`)), "open WEB-2")
	if got := text("#tags"); !strings.Contains(got, "Chrome") || !strings.Contains(got, "75%") || !strings.Contains(got, "Safari 17.1") {
		t.Errorf("tag section: %q, want Chrome at 75%% and Safari 17.1", got)
	}
	if got := text("#users"); got != "0" {
		t.Errorf("users: %q", got)
	}
	if bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#trend-24h svg rect").length`)); err != nil || bars != 24 {
		t.Errorf("the 24 h trend has %d bars (%v), want 24", bars, err)
	}
	load(chromedp.Click(chromedp.CSS(`#tags a.tag-value[href*="Chrome"]`)), "click Chrome")
	if diff := cmp.Diff([]string{"WEB-2", "WEB-3"}, rows()); diff != "" {
		t.Errorf("issues with browser Chrome (-want +got):\n%s", diff)
	}
	if query, err = chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#query"))); err != nil || query != "is:all browser:Chrome" {
		t.Errorf("the search box holds %q (%v), want the tag filter", query, err)
	}

	// A value with a space is quoted in the filter.
	load(chromedp.Navigate(b.url+b.issue2.Path()), "back to WEB-2")
	load(chromedp.Click(chromedp.CSS(`#tags a.tag-value[href*="Safari"]`)), "click Safari 17.1")
	if diff := cmp.Diff([]string{"WEB-2"}, rows()); diff != "" {
		t.Errorf("issues with browser Safari 17.1 (-want +got):\n%s", diff)
	}

	// A query that does not parse: the message beside the box, the query kept.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector("#query").value = "level:loud") !== ""`)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Submit(chromedp.CSS("#query"))); err != nil {
		t.Fatal(err)
	}
	if got := text("#error"); !strings.Contains(got, `"level:loud"`) {
		t.Errorf("error: %q, want it to name level:loud", got)
	}
	if query, err = chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#query"))); err != nil || query != "level:loud" {
		t.Errorf("the search box holds %q after the error, want level:loud", query)
	}
}
