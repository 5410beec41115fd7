package main

import (
	"log/slog"
	"net/http"

	"triage/internal/config"
	"triage/internal/eventwriter"
	"triage/internal/ingest"
	"triage/internal/web"
)

// ingestHandlers adapts the ingestion handler to the web layer: one handler
// serves both SDK endpoints.
type ingestHandlers struct{ h http.Handler }

func (i ingestHandlers) EnvelopeHandler() http.Handler { return i.h }
func (i ingestHandlers) StoreHandler() http.Handler    { return i.h }

func newIngest(logger *slog.Logger, w *eventwriter.Writer, cfg *config.Config) web.IngestHandlers {
	return ingestHandlers{h: ingest.Handler(logger, w, w, ingest.HandlerOptions{RateLimitPerSecond: cfg.IngestRateLimit})}
}
