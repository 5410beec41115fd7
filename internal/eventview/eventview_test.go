package eventview_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"triage/internal/eventview"
	"triage/internal/eventwriter"
	"triage/internal/ingest"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

func TestSectionShowsTheLatestEvent(t *testing.T) {
	t.Parallel()
	s := dbtest.Open(t, store.SQLite, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := eventwriter.New(s, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	go w.Run(ctx)
	u, _ := s.CreateUser(ctx, "o@acme.test", "", "h", false)
	org, _ := s.CreateOrganization(ctx, "acme", "", u.ID)
	p, _ := s.CreateProject(ctx, org.ID, "web", "")
	e, err := ingest.ParseStore([]byte(`{"event_id":"0123456789abcdef0123456789abcdef","level":"error","release":"web@2.1","environment":"prod",
		"tags":{"browser":"Firefox"},"user":{"email":"pat@example.com"},
		"exception":{"values":[{"type":"ValueError","value":"bad <input>","stacktrace":{"frames":[
		{"module":"runtime","function":"goexit","filename":"asm.s","lineno":1,"in_app":false},
		{"module":"app.views","function":"checkout","filename":"views.py","lineno":42,"in_app":true,"context_line":"total = price / qty"}]}}]}}`), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Save(ctx, p.ID, []*ingest.Event{e}); err != nil {
		t.Fatal(err)
	}
	issues, err := s.Issues(ctx, store.IssueFilter{OrgID: org.ID})
	if err != nil || len(issues) != 1 {
		t.Fatalf("%d issues, %v", len(issues), err)
	}
	html, err := eventview.New(s, w).Section(ctx, issues[0])
	if err != nil {
		t.Fatal(err)
	}
	page := string(html)
	for _, want := range []string{"ValueError", "bad &lt;input&gt;", "app.views.checkout", "views.py:42", "total = price / qty",
		"1 other frames", "runtime.goexit", "web@2.1", "prod", "Firefox", "pat@example.com", "0123456789abcdef0123456789abcdef"} {
		if !strings.Contains(page, want) {
			t.Errorf("section lacks %q", want)
		}
	}
	if strings.Index(page, "app.views.checkout") > strings.Index(page, "runtime.goexit") {
		t.Error("the application's frame is not shown before the others")
	}
}
