package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"triage/internal/config"
	"triage/internal/issues"
	"triage/internal/store"
)

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	c := b.client()
	if r := b.get(c, "/healthz"); r.status != http.StatusOK || strings.TrimSpace(r.body) != "ok" {
		t.Errorf("healthz: %d %q", r.status, r.body)
	}
	if r := b.get(c, "/readyz"); r.status != http.StatusOK {
		t.Errorf("readyz: %d %q", r.status, r.body)
	}
	b.get(c, b.issue.Path())
	r := b.get(c, "/metrics")
	for _, want := range []string{
		`triage_http_requests_total{code="200",route="GET /healthz"} 1`,
		`triage_http_requests_total{code="303",route="GET /organizations/{org}/issues/{id}/{$}"} 1`,
		`triage_http_request_duration_seconds_bucket{route="GET /readyz",le="+Inf"} 1`,
		`go_sql_open_connections{db_name="sqlite"}`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Ingestion without a handler is a JSON 503.
	if r := b.post(c, "/api/1/envelope/", nil); r.status != http.StatusServiceUnavailable || detail(t, r) == "" {
		t.Errorf("envelope without ingestion: %d %q", r.status, r.body)
	}
}

func TestReadyzReportsTheReason(t *testing.T) {
	t.Parallel()
	s := openStore(t, store.SQLite)
	reg := prometheus.NewRegistry()
	srv := New(Deps{
		Config: &config.Config{URLPrefix: "http://x"}, Store: s, Issues: issues.New(s, nil), Registry: reg,
		Ready: func(context.Context) error { return errors.New("2 migrations pending") },
	})
	t.Cleanup(func() { srv.Close() })
	// A second server on the same registry (and database) must not panic.
	t.Cleanup(func() { New(Deps{Store: s, Issues: issues.New(s, nil), Registry: reg}).Close() })
	w := &recorder{header: http.Header{}}
	req, _ := http.NewRequest(http.MethodGet, "/readyz", nil)
	srv.Handler().ServeHTTP(w, req)
	if w.status != http.StatusServiceUnavailable || !strings.Contains(w.body.String(), "2 migrations pending") {
		t.Errorf("readyz: %d %q", w.status, w.body.String())
	}
}

type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) { r.status = code }

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for next, want := range map[string]string{
		"/organizations/a/issues/?query=is:resolved": "/organizations/a/issues/?query=is:resolved",
		"/":                    "/",
		"":                     "",
		"//evil.example":       "",
		"/\\evil.example":      "",
		"https://evil.example": "",
		"http:/evil.example":   "",
		"/a\nb":                "",
		"relative/path":        "",
		"/%2F%2Fevil.example":  "/%2F%2Fevil.example",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}
