package main

import (
	"log/slog"
	"net/http"

	"triage/internal/config"
	"triage/internal/eventwriter"
	"triage/internal/web"
)

// ingestHandlers adapts the ingestion handlers to the web layer.
type ingestHandlers struct{ envelope, store http.Handler }

func (h ingestHandlers) EnvelopeHandler() http.Handler { return h.envelope }
func (h ingestHandlers) StoreHandler() http.Handler    { return h.store }

func newIngest(logger *slog.Logger, w *eventwriter.Writer, cfg *config.Config) web.IngestHandlers {
	return nil
}
