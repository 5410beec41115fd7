package web

import (
	"context"
	"embed"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed static
var staticFS embed.FS

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write([]byte("ok\n"))
	})
}

// handleReadyz answers 200 when the database answers and is migrated (or
// Deps.Ready says so), 503 with the reason otherwise.
func (s *Server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		err := s.ready(ctx)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			s.log.Warn("not ready", "err", err)
			w.Header().Set("Retry-After", retryAfterUnavailable)
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
}

func (s *Server) ready(ctx context.Context) error {
	if s.d.Ready != nil {
		return s.d.Ready(ctx)
	}
	if err := s.store.DB.PingContext(ctx); err != nil {
		return errorString("database unreachable")
	}
	n, err := s.store.Pending(ctx)
	if err != nil {
		return errorString("cannot read migration status")
	}
	if n > 0 {
		return errorString("database migrations pending")
	}
	return nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

func (s *Server) handleMetrics() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{ErrorLog: slogPrintln{s}})
}

type slogPrintln struct{ s *Server }

func (l slogPrintln) Println(v ...any) { l.s.log.Warn("metrics", "err", v) }

// handleStatic serves the embedded stylesheet. The files change only with
// a new binary, so browsers may keep them for a day.
func handleStatic() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}

// ingest delegates to the ingestion handler, or answers 503 when Triage was
// built without one.
func (s *Server) ingest(get func(IngestHandlers) http.Handler) http.Handler {
	if s.d.Ingest == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusServiceUnavailable, apiDetail{Detail: "Event ingestion is not configured on this server."})
		})
	}
	return get(s.d.Ingest)
}

const slackNotConfigured = "Slack is not configured on this server: set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET."

// slackPage delegates a Slack page, or shows that Slack is not configured.
func (s *Server) slackPage(get func(SlackHandlers) http.Handler) http.Handler {
	if s.d.Slack == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.errorPage(w, r, http.StatusServiceUnavailable, slackNotConfigured)
		})
	}
	return get(s.d.Slack)
}

// slackEndpoint delegates one of Slack's signed callbacks, or answers 503.
func (s *Server) slackEndpoint(get func(SlackHandlers) http.Handler) http.Handler {
	if s.d.Slack == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusServiceUnavailable, apiDetail{Detail: slackNotConfigured})
		})
	}
	return get(s.d.Slack)
}

// handleNotFound answers every unknown URL: JSON under /api/, a page
// elsewhere (with the session, so the page shows who is logged in).
func (s *Server) handleNotFound() http.Handler {
	page := s.page(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusNotFound, "")
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") {
			writeJSON(w, http.StatusNotFound, apiDetail{Detail: "The requested resource does not exist."})
			return
		}
		page.ServeHTTP(w, r)
	})
}
