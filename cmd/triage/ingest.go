package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"triage"
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

func newIngest(logger *slog.Logger, w *eventwriter.Writer, cfg *config.Config, budget *ingest.Budget) web.IngestHandlers {
	a := unavailableAdapter{w}
	return ingestHandlers{h: ingest.Handler(logger, a, a, ingest.HandlerOptions{
		RateLimitPerSecond: cfg.IngestRateLimit,
		SaveTimeout:        cfg.RequestTimeout,
		Memory:             budget,
	})}
}

// unavailableAdapter tells the ingestion handler, in its own terms, when
// the database did not answer: the SDK then gets 503 and Retry-After and
// sends the event again later, where a 500 would make it drop the event.
type unavailableAdapter struct{ w *eventwriter.Writer }

func (a unavailableAdapter) Authenticate(ctx context.Context, projectID int64, key string) error {
	return unavailable(a.w.Authenticate(ctx, projectID, key))
}

func (a unavailableAdapter) Save(ctx context.Context, projectID int64, events []*ingest.Event) error {
	return unavailable(a.w.Save(ctx, projectID, events))
}

func unavailable(err error) error {
	if err != nil && triage.ErrorCode(err) == triage.EUNAVAILABLE {
		return fmt.Errorf("%w: %w", ingest.ErrUnavailable, err)
	}
	return err
}
