package eventview_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"triage"
	"triage/internal/eventview"
	"triage/internal/eventwriter"
	"triage/internal/ingest"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

type bundle struct {
	s     *store.Store
	w     *eventwriter.Writer
	v     *eventview.View
	org   *triage.Organization
	pid   int64
	clock time.Time
}

func setup(t testing.TB) *bundle {
	s := dbtest.Open(t, store.SQLite, nil)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := eventwriter.New(s, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	go w.Run(ctx)
	u, _ := s.CreateUser(ctx, "o@acme.test", "", "h", false)
	org, _ := s.CreateOrganization(ctx, "acme", "", u.ID)
	p, _ := s.CreateProject(ctx, org.ID, "web", "")
	return &bundle{s: s, w: w, v: eventview.New(s, w), org: org, pid: p.ID, clock: time.Now().Add(-time.Hour)}
}

// save stores an event payload, one second after the last.
func (b *bundle) save(t testing.TB, body string) *ingest.Event {
	t.Helper()
	b.clock = b.clock.Add(time.Second)
	e, err := ingest.ParseStore([]byte(body), b.clock)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.w.Save(context.Background(), b.pid, []*ingest.Event{e}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (b *bundle) issue(t testing.TB) *triage.Issue {
	t.Helper()
	issues, err := b.s.Issues(context.Background(), triage.IssueFilter{OrgID: b.org.ID})
	if err != nil || len(issues) != 1 {
		t.Fatalf("%d issues, %v", len(issues), err)
	}
	issues[0].OrgSlug = b.org.Slug
	return issues[0]
}

const full = `{"event_id":"%032x","level":"error","platform":"python","release":"web@2.1","environment":"prod","logger":"shop.views",
	"tags":{"browser":"Firefox"},"user":{"email":"pat@example.com","id":"7"},
	"breadcrumbs":{"values":[{"timestamp":1767225600.5,"category":"query","level":"info","message":"SELECT 1","data":{"rows":3}}]},
	"request":{"method":"POST","url":"https://shop.test/pay?token=t0psecret&page=2","query_string":"token=t0psecret&page=2",
		"headers":{"Authorization":"Bearer s3cret","User-Agent":"curl"},"cookies":"sessionid=abc123; theme=dark","data":{"password":"pw1","qty":"2"}},
	"contexts":{"os":{"name":"Linux","version":"6.1"},"runtime":{"name":"CPython","version":"3.12"}},
	"extra":{"order":42,"api_key":"k3y"},
	"fingerprint":["{{ default }}","checkout"],
	"exception":{"values":[
		{"type":"KeyError","value":"'sku'","stacktrace":{"frames":[{"module":"shop.cart","function":"lookup","filename":"shop/cart.py","lineno":7,"in_app":true}]}},
		{"type":"ValueError","value":"bad <input>","mechanism":{"type":"django","handled":false},"stacktrace":{"frames":[
		{"module":"runtime","function":"goexit","filename":"asm.s","lineno":1,"in_app":false},
		{"module":"app.views","function":"checkout","abs_path":"/srv/app/views.py","lineno":42,"colno":9,"in_app":true,
		 "pre_context":["def checkout(req):","\tprice = 3","\tqty = 0","","\t# divide"],"context_line":"\ttotal = price / qty",
		 "post_context":["\treturn total","","x = 1","y = 2","z = 3"]}]}}]}}`

func TestEventPageSections(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	first := b.save(t, fmt.Sprintf(full, 1))
	second := b.save(t, fmt.Sprintf(full, 2))
	third := b.save(t, fmt.Sprintf(full, 3))
	issue := b.issue(t)
	html, err := b.v.EventSection(ctx, issue, second.EventID)
	if err != nil {
		t.Fatal(err)
	}
	page := string(html)
	for _, want := range []string{
		"ValueError", "bad &lt;input&gt;", "mechanism <b>django</b>", "handled <b>no</b>", "KeyError",
		`/srv/app/views.py</span> in <code class="function">checkout</code> at line <span class="line">42:9</span>`,
		"<span class=\"ln\">37</span>  def checkout(req):", "<span class=\"ln\">42</span>&#x25B6; \ttotal = price / qty", "<span class=\"ln\">47</span>  z = 3",
		"Show all 2 frames (1 more", "runtime", "asm.s",
		`id="breadcrumbs"`, "SELECT 1", "2026-01-01 00:00:00.500", "query",
		`id="request"`, "<b>POST</b>", "page=2", "User-Agent", "sessionid", "theme", "qty",
		`id="user"`, "pat@example.com", `id="contexts"`, "<h4>os</h4>", "Linux", "CPython",
		`id="tags"`, "Firefox", `id="extra"`, "order", "42",
		"shop.views", "checkout</code>", "grouped by the fingerprint", "web@2.1", "prod",
		`id="raw"`, "download JSON",
		`href="` + issue.Path() + "events/" + first.EventID + `/" rel="Older"`,
		`href="` + issue.Path() + "events/" + third.EventID + `/" rel="Newer"`,
		`href="` + issue.Path() + "events/" + first.EventID + `/" rel="Oldest"`,
		`href="` + issue.Path() + "events/" + third.EventID + `/" rel="Latest"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, secret := range []string{"t0psecret", "s3cret", "abc123", "pw1", "k3y"} {
		if strings.Contains(page, secret) {
			t.Errorf("page shows the secret %q", secret)
		}
	}
	if strings.Index(page, "app.views") > 0 && strings.Index(page, "checkout</code>") > strings.Index(page, "Show all") {
		t.Error("the in-app frame is not shown before the folded frames")
	}
	if strings.Index(page, "ValueError") > strings.Index(page, "KeyError") {
		t.Error("the cause is shown before the thrown exception")
	}
	latest, err := b.v.Section(ctx, issue)
	if err != nil || !strings.Contains(string(latest), third.EventID) || !strings.Contains(string(latest), "Latest event") ||
		!strings.Contains(string(latest), `<span class="muted nav-Newer">Newer</span>`) {
		t.Errorf("the issue page does not show the latest event with no newer link (%v)", err)
	}
	raw, err := b.v.RawJSON(ctx, issue, first.EventID)
	if err != nil || !strings.Contains(string(raw), `"[Filtered]"`) || strings.Contains(string(raw), "s3cret") || !strings.Contains(string(raw), "shop.cart") {
		t.Errorf("raw JSON %v: %.300s", err, raw)
	}
	if _, err := b.v.EventSection(ctx, issue, fmt.Sprintf("%032x", 9)); triage.ErrorCode(err) != triage.ENOTFOUND {
		t.Errorf("an unknown event: %v, want ENOTFOUND", err)
	}
}

func TestEventPageEscapes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.save(t, `{"message":"<script>alert(1)</script>","extra":{"<b>k</b>":"<img src=x onerror=alert(2)>"},
		"breadcrumbs":[{"message":"<script>alert(3)</script>"}],"tags":{"t":"<i>x</i>"}}`)
	html, err := b.v.Section(context.Background(), b.issue(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<img", "<b>k</b>", "<i>x</i>"} {
		if strings.Contains(string(html), bad) {
			t.Errorf("page holds unescaped %q", bad)
		}
	}
	if !strings.Contains(string(html), "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the message is not shown escaped")
	}
}

// BenchmarkEventPage renders a 1 MiB event: deep stacks with source
// context, many breadcrumbs and a large extra. (It should take well under
// 100 ms; a benchmark, not a test, says how much.)
func BenchmarkEventPage(b *testing.B) {
	bb := setup(b)
	var sb strings.Builder
	sb.WriteString(`{"platform":"python","exception":{"values":[`)
	for e := range 20 {
		if e > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"type":"E%d","value":"v","stacktrace":{"frames":[`, e)
		for f := range 200 {
			if f > 0 {
				sb.WriteString(",")
			}
			fmt.Fprintf(&sb, `{"module":"m%d","function":"f%d","filename":"f.py","lineno":%d,"in_app":%t,"pre_context":["a = 1","b = 2"],"context_line":"c = a / b","post_context":["d = 4"]}`, f, f, f+10, f%2 == 0)
		}
		sb.WriteString(`]}}`)
	}
	sb.WriteString(`]},"breadcrumbs":[`)
	for i := range 100 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"message":"crumb %d","category":"http","data":{"url":"/x/%d"}}`, i, i)
	}
	sb.WriteString(`],"extra":{"blob":"`)
	for sb.Len() < 1<<20-200 {
		sb.WriteString("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
	}
	sb.WriteString(`"}}`)
	if sb.Len() > ingest.MaxEventSize {
		b.Fatalf("event of %d bytes is over the limit", sb.Len())
	}
	bb.save(b, sb.String())
	issue := bb.issue(b)
	b.SetBytes(int64(sb.Len()))
	b.ResetTimer()
	for b.Loop() {
		if _, err := bb.v.Section(context.Background(), issue); err != nil {
			b.Fatal(err)
		}
	}
}

type anyKey struct{}

func (anyKey) Authenticate(context.Context, int64, string) error { return nil }

// TestSourceLinesOfAPostedEvent: the ingestion endpoint does not read the
// frames' source lines (NormalizeOptions.SkipSource), but the event page
// of an event posted to it still shows them, from the stored JSON.
func TestSourceLinesOfAPostedEvent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mux := http.NewServeMux()
	mux.Handle("POST /api/{project_id}/store/", ingest.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)), anyKey{}, b.w, ingest.HandlerOptions{}))
	r := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/api/%d/store/", b.pid), strings.NewReader(fmt.Sprintf(full, 9)))
	r.Header.Set("X-Sentry-Auth", "Sentry sentry_key=k, sentry_version=7")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Fatalf("POST answered %d: %s", rec.Code, rec.Body)
	}
	html, err := b.v.EventSection(context.Background(), b.issue(t), fmt.Sprintf("%032x", 9))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<span class=\"ln\">37</span>  def checkout(req):", "<span class=\"ln\">42</span>&#x25B6; \ttotal = price / qty", "<span class=\"ln\">47</span>  z = 3"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
