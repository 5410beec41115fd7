package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// ledger is what the counts test sent, per issue: the events, the
// distinct users, and each tag value's events.
type ledger struct {
	mu     sync.Mutex
	seq    int
	events map[string]int64            // by issue title
	users  map[string]map[string]bool  // by issue title
	tags   map[string]map[string]int64 // by issue title: "key=value" → events
	// withUser counts the events that had a user: the user tag's total
	// (its values are more than the ten the API lists).
	withUser map[string]int64
}

func newLedger() *ledger {
	return &ledger{events: map[string]int64{}, users: map[string]map[string]bool{}, tags: map[string]map[string]int64{}, withUser: map[string]int64{}}
}

// countsSender sends events to one serve process.
type countsSender struct {
	base, projectID, key string
	client               *http.Client
}

// send sends one event of issue i from user u ("" for none) and
// records it once Triage acknowledged it (it commits before answering).
func (s countsSender) send(t *testing.T, l *ledger, i int, u, tier, env string) {
	l.mu.Lock()
	l.seq++
	id := l.seq
	l.mu.Unlock()
	title := fmt.Sprintf("counts issue %d", i)
	ev := map[string]any{"event_id": fmt.Sprintf("%032x", 0xc0_0000+id), "level": "error", "platform": "go", "message": title,
		"fingerprint": []string{fmt.Sprintf("counts-%d", i)}, "environment": env, "tags": map[string]string{"customer_tier": tier}}
	if u != "" {
		ev["user"] = map[string]string{"id": u}
	}
	body, _ := json.Marshal(ev)
	req, _ := http.NewRequest("POST", s.base+"/api/"+s.projectID+"/store/", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_key="+s.key)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Errorf("send to %s: %v", s.base, err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("send to %s: %d", s.base, resp.StatusCode)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events[title]++
	if l.users[title] == nil {
		l.users[title], l.tags[title] = map[string]bool{}, map[string]int64{}
	}
	if u != "" {
		l.users[title][u] = true
		l.withUser[title]++
	}
	l.tags[title]["customer_tier="+tier]++
	l.tags[title]["environment="+env]++
	l.tags[title]["level=error"]++
}

// round sends n events, spread over the issues, from users u<from>…
// u<from+11>, with tiers and environments by turns, from `senders`
// goroutines at once.
func (s countsSender) round(t *testing.T, l *ledger, n, issues, from, senders int) {
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for k := g; k < n; k += senders {
				u := ""
				if k%5 != 4 { // one event in five has no user
					u = fmt.Sprintf("u%d", from+k%12)
				}
				s.send(t, l, k%issues, u, []string{"free", "pro"}[k%2], []string{"production", "staging", "production"}[(k/issues)%3])
			}
		})
	}
	wg.Wait()
}

// countsSeen is what the API says about one issue.
type countsSeen struct {
	Events, Users, Day, Fortnight int64
	Tags                          map[string]int64
	TagTotals                     map[string]int64
}

// check reads every issue's counts through the API of one process and
// compares them with the ledger: times seen, users affected, the 24 h
// and 14 d trends, and each tag value's count and each key's total.
func (l *ledger) check(t *testing.T, base, token, when string) {
	t.Helper()
	get := func(path string, out any) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	type apiIssue struct {
		ID        string                `json:"id"`
		Title     string                `json:"title"`
		Count     int64                 `json:"count"`
		UserCount int64                 `json:"userCount"`
		Stats     map[string][][2]int64 `json:"stats"`
	}
	sum := func(st [][2]int64) int64 {
		var n int64
		for _, b := range st {
			n += b[1]
		}
		return n
	}
	got, want := map[string]countsSeen{}, map[string]countsSeen{}
	for _, period := range []string{"24h", "14d"} {
		var list []apiIssue
		get("/api/0/organizations/acme/issues/?query=is:all&limit=100&statsPeriod="+period, &list)
		for _, i := range list {
			c := got[i.Title]
			c.Events, c.Users = i.Count, i.UserCount
			if period == "24h" {
				c.Day = sum(i.Stats["24h"])
			} else {
				c.Fortnight = sum(i.Stats["14d"])
			}
			if c.Tags == nil {
				var keys []struct {
					Key         string `json:"key"`
					TotalValues int64  `json:"totalValues"`
					TopValues   []struct {
						Value string `json:"value"`
						Count int64  `json:"count"`
					} `json:"topValues"`
				}
				get("/api/0/issues/"+i.ID+"/tags/", &keys)
				c.Tags, c.TagTotals = map[string]int64{}, map[string]int64{}
				for _, k := range keys {
					if !slices.Contains([]string{"user", "customer_tier", "environment", "level"}, k.Key) {
						continue
					}
					c.TagTotals[k.Key] = k.TotalValues
					for _, v := range k.TopValues {
						if k.Key == "user" {
							continue
						}
						c.Tags[k.Key+"="+v.Value] = v.Count
					}
				}
			}
			got[i.Title] = c
		}
	}
	l.mu.Lock()
	for title, n := range l.events {
		c := countsSeen{Events: n, Users: int64(len(l.users[title])), Day: n, Fortnight: n,
			Tags: maps.Clone(l.tags[title]), TagTotals: map[string]int64{}}
		for kv, n := range c.Tags {
			c.TagTotals[kv[:strings.Index(kv, "=")]] += n
		}
		if l.withUser[title] > 0 {
			c.TagTotals["user"] = l.withUser[title]
		}
		want[title] = c
	}
	l.mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s, through %s (-sent +counted):\n%s", when, base, diff)
	}
}

// TestCountsAgreeAcrossRestartsAndProcesses sends events to real serve
// processes and reads the counts back through the API: times seen, users
// affected, the 24 h and 14 d trends and tag counts agree with what was
// sent after a SIGKILL and a restart (both engines), and with two serve
// processes receiving at once on one PostgreSQL database (users seen by
// both processes count once). Users recur across the rounds, so a count
// kept in memory instead of the database would show.
//
//	go test ./cmd/triage -run TestCountsAgreeAcrossRestartsAndProcesses -v -count=1
func TestCountsAgreeAcrossRestartsAndProcesses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills and restarts servers")
	}
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			e := env{"TRIAGE_DATABASE_URL": dbtest.URL(t, engine), "TRIAGE_ADDR": freeAddr(t), "TRIAGE_SECRET_KEY": strings.Repeat("k", 40)}
			dsn := setupProject(t, e)
			out, _, err := triageCmd(t, e, "token", "create", "--email", "ada@acme.test")
			if err != nil {
				t.Fatal(err)
			}
			token := lastLine(out)
			key := strings.TrimPrefix(dsn[:strings.Index(dsn, "@")], "http://")
			sender := func(e env) countsSender {
				return countsSender{base: "http://" + e["TRIAGE_ADDR"], projectID: dsn[strings.LastIndex(dsn, "/")+1:], key: key, client: &http.Client{}}
			}
			logs := t.TempDir()
			l := newLedger()

			first := startChild(t, e, logs+"/first.log")
			sender(e).round(t, l, 60, 3, 0, 4)
			l.check(t, sender(e).base, token, "before the restart")
			if err := first.Process.Kill(); err != nil { // SIGKILL: nothing is flushed on the way out
				t.Fatal(err)
			}
			_ = first.Wait()
			startChild(t, e, logs+"/second.log")
			sender(e).round(t, l, 60, 3, 6, 4) // users u6…u11 again, u12…u17 new
			l.check(t, sender(e).base, token, "after the restart")

			if engine != store.Postgres {
				return
			}
			e2 := maps.Clone(e)
			e2["TRIAGE_ADDR"] = freeAddr(t)
			startChild(t, e2, logs+"/other.log")
			var wg sync.WaitGroup
			// The same issues, a fourth one new to both processes at once,
			// users u14…u21 from both.
			wg.Go(func() { sender(e).round(t, l, 160, 4, 10, 4) })
			wg.Go(func() { sender(e2).round(t, l, 160, 4, 14, 4) })
			wg.Wait()
			l.check(t, sender(e).base, token, "two processes")
			l.check(t, sender(e2).base, token, "two processes")
		})
	}
}
