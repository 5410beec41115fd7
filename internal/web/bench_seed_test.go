package web

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"triage/internal/config"
	"triage/internal/issues"
	"triage/internal/password"
	"triage/internal/seed"
	"triage/internal/seed/seedtest"
)

// listCases are the searches issue 12 asks to answer within 50 ms at p95
// on the seeded database, each as the list page and as the API.
var listCases = []struct{ name, params string }{
	{"default", ""},
	{"level_env", "query=" + url.QueryEscape("level:error environment:production")},
	{"tag", "query=" + url.QueryEscape(`browser:"Firefox 121.0"`)},
	{"tag_rare", "query=" + url.QueryEscape("user.id:4242")},
	{"text", "query=checkout"},
	{"sort_events", "sort=freq"},
	{"sort_users", "sort=user"},
}

// BenchmarkIssueList measures the issue list page and the API on the
// seeded database (1,000,000 events, 10,000 issues, 200,000 distinct tag
// values) as a member of a team that owns two of its three projects, and
// reports each request's p50, p95 and p99 in milliseconds. It runs only
// with TRIAGE_BENCH_SEED=1; the first run builds the databases (minutes),
// later runs reuse them:
//
//	TRIAGE_BENCH_SEED=1 scripts/test -run '^$' -bench IssueList -benchtime 200x ./internal/web/
func BenchmarkIssueList(b *testing.B) {
	if !seedtest.Enabled() {
		b.Skip("set TRIAGE_BENCH_SEED=1 to build (once) and measure the seeded database")
	}
	hash, err := password.HashWithParams(testPassword, testParams)
	if err != nil {
		b.Fatal(err)
	}
	for _, engine := range engines {
		b.Run(string(engine), func(b *testing.B) {
			s, w := seedtest.Open(b, engine, seed.Default(time.Now(), hash))
			ts := httptest.NewUnstartedServer(nil)
			base := "http://" + ts.Listener.Addr().String()
			srv := New(Deps{Config: &config.Config{URLPrefix: base}, Store: s, Issues: issues.New(s, nil)})
			b.Cleanup(func() { srv.Close() })
			ts.Config.Handler = srv.Handler()
			ts.Start()
			b.Cleanup(ts.Close)

			plain, th := password.NewToken()
			if _, err := s.CreateAPIToken(context.Background(), w.Member.ID, "bench", th, time.Time{}); err != nil {
				b.Fatal(err)
			}
			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Jar: jar}
			resp, err := browser.PostForm(base+"/auth/login/", url.Values{"email": {seed.MemberEmail}, "password": {testPassword}})
			if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Request.URL.Path, "/issues/") {
				b.Fatalf("log in as the member: %v %v", err, resp)
			}
			resp.Body.Close()

			for _, c := range listCases {
				for _, kind := range []string{"page", "api"} {
					b.Run(c.name+"/"+kind, func(b *testing.B) {
						client, path, params := browser, "/organizations/"+w.OrgSlug+"/issues/", c.params
						var header http.Header
						if kind == "api" {
							client, path = &http.Client{}, "/api/0/organizations/"+w.OrgSlug+"/issues/"
							params = strings.TrimPrefix(params+"&statsPeriod=24h", "&")
							header = http.Header{"Authorization": {"Bearer " + plain}}
						}
						u := base + path + "?" + params
						get := func() {
							req, _ := http.NewRequest(http.MethodGet, u, nil)
							for k, v := range header {
								req.Header[k] = v
							}
							resp, err := client.Do(req)
							if err != nil {
								b.Fatal(err)
							}
							_, _ = io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if resp.StatusCode != http.StatusOK {
								b.Fatalf("GET %s: %d", u, resp.StatusCode)
							}
						}
						get() // warm the statement caches
						var took []time.Duration
						for b.Loop() {
							start := time.Now()
							get()
							took = append(took, time.Since(start))
						}
						reportPercentiles(b, took)
					})
				}
			}
		})
	}
}

// reportPercentiles adds p50, p95 and p99 (milliseconds) to a
// benchmark's line.
func reportPercentiles(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	at := func(p float64) float64 {
		k := min(len(took)-1, int(float64(len(took))*p))
		return float64(took[k].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.95), "p95-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
