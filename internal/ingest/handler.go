package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Projects authenticates the keys that SDKs present.
type Projects interface {
	// Authenticate checks that publicKey is an active key of project
	// projectID. It returns an error wrapping ErrUnknownProject when the
	// project does not exist (401) and ErrBadKey when the key is not an
	// active key of it (403); any other error is a failure of Triage (500).
	Authenticate(ctx context.Context, projectID int64, publicKey string) error
}

// Sink stores accepted events.
type Sink interface {
	// Save stores the events of one request, all or none: an error means
	// none was stored, and the SDK is answered 500. The context is not
	// canceled when the client goes away, since the request was complete.
	Save(ctx context.Context, projectID int64, events []*Event) error
}

// HandlerOptions configures Handler; the zero value is ready to use.
type HandlerOptions struct {
	// RateLimitPerSecond is how many requests a second each key may make;
	// 0 turns the limit off. SDKs honour the 429 and back off.
	RateLimitPerSecond float64
	// RateLimitBurst is how many requests a key may save up; 0 means one
	// second's worth.
	RateLimitBurst int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SaveTimeout bounds the wait for the sink to commit a request's
	// events; past it the request answers 503. 0 means DefaultSaveTimeout.
	SaveTimeout time.Duration
	// Memory is the byte budget that every request's body and
	// decompression draw from; nil gives each handler its own of
	// DefaultMemory bytes.
	Memory *Budget
}

// DefaultSaveTimeout is HandlerOptions.SaveTimeout's default.
const DefaultSaveTimeout = 8 * time.Second

// CORS headers for browser SDKs, which post from any origin.
const (
	corsAllowHeaders  = "x-sentry-auth, content-type, sentry-trace, baggage, content-encoding"
	corsExposeHeaders = "x-sentry-error, x-sentry-rate-limits, retry-after"
)

// Handler serves the SDK endpoints POST /api/{project_id}/envelope/ and
// POST /api/{project_id}/store/ (and OPTIONS on both, for CORS preflight).
// Register it for both patterns: it tells them apart by the path's last
// segment. It reads {project_id} with r.PathValue.
func Handler(logger *slog.Logger, projects Projects, sink Sink, opts HandlerOptions) http.Handler {
	h := &handler{logger: logger, projects: projects, sink: sink, now: opts.Now, saveTimeout: opts.SaveTimeout, budget: opts.Memory}
	if h.now == nil {
		h.now = time.Now
	}
	if h.saveTimeout <= 0 {
		h.saveTimeout = DefaultSaveTimeout
	}
	if h.budget == nil {
		h.budget = NewBudget(DefaultMemory)
	}
	if opts.RateLimitPerSecond > 0 {
		h.limiter = newRateLimiter(opts.RateLimitPerSecond, opts.RateLimitBurst, h.now)
	}
	return h
}

type handler struct {
	logger   *slog.Logger
	projects Projects
	sink     Sink
	now      func() time.Time
	limiter  *rateLimiter // nil when off
	decoder  bodyDecoder

	saveTimeout time.Duration
	budget      *Budget
}

// Errors that only the handler produces.
type (
	authError        struct{ reason string }
	rateLimitedError struct{ retryAfter time.Duration }
)

func (e *authError) Error() string        { return e.reason }
func (e *rateLimitedError) Error() string { return "rate limit exceeded for this key" }

var errMethod = errors.New("method not allowed: send a POST")

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	type response struct {
		ID string `json:"id,omitempty"`
	}
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Origin", "*")
	hdr.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	switch r.Method {
	case http.MethodOptions:
		hdr.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		hdr.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		hdr.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusOK)
		return
	case http.MethodPost:
	default:
		hdr.Set("Allow", "POST, OPTIONS")
		h.fail(w, r, errMethod)
		return
	}
	id, err := h.ingest(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, response{ID: id})
}

// ingest runs one request through authentication, decoding, parsing and
// normalization, and saves its events only when all of it succeeded. It
// returns the id of the first event ("" when there was none).
func (h *handler) ingest(r *http.Request) (string, error) {
	ctx := r.Context()
	projectID, err := parseProjectID(r.PathValue("project_id"))
	if err != nil {
		return "", err
	}
	auth, err := AuthFromRequest(r)
	if err != nil {
		return "", &authError{reason: err.Error()}
	}
	store := isStorePath(r.URL.Path)
	var head func([]byte) error
	switch {
	case auth.PublicKey != "": // refuse before reading a byte of the body
		if err := h.authorize(ctx, projectID, auth.PublicKey); err != nil {
			return "", err
		}
	case store:
		return "", &authError{reason: errNoAuth.Error()}
	default:
		// The key is in the envelope header's dsn: read that line alone,
		// and refuse before buffering anything more.
		head = func(line []byte) error {
			if len(bytes.TrimSpace(line)) == 0 {
				return malformed("missing envelope header")
			}
			hdr, err := readEnvelopeHeader(line)
			if err != nil {
				return malformed("envelope header: %v", err)
			}
			return h.authorizeDSN(ctx, projectID, hdr.DSN)
		}
	}
	if r.ContentLength > MaxCompressedBodySize {
		return "", tooLarge("request body", MaxCompressedBodySize)
	}
	g := h.budget.grant(ctx)
	defer g.done()
	body, err := h.decoder.decode(r.Body, r.Header.Get("Content-Encoding"), r.ContentLength, g, head)
	if err != nil {
		return "", err
	}
	// The sink stores the SDK's JSON (normalized again when read), so the
	// frames' source lines are not read here.
	opts := NormalizeOptions{Received: h.now(), SkipSource: true}
	var events []*Event
	if store {
		ev, err := parseStore(body, opts)
		if err != nil {
			return "", err
		}
		events = []*Event{ev}
	} else {
		env, err := ParseEnvelope(body)
		if err != nil {
			return "", err
		}
		if events, err = env.events(opts); err != nil {
			return "", err
		}
	}
	if len(events) == 0 {
		return "", nil
	}
	// The request was complete: a client that goes away does not cancel
	// the save, but a database that does not answer ends it.
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.saveTimeout)
	defer cancel()
	if err := h.sink.Save(saveCtx, projectID, events); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return "", fmt.Errorf("save %d events of project %d: %w", len(events), projectID, err)
	}
	return events[0].EventID, nil
}

func isStorePath(path string) bool {
	return strings.HasSuffix(strings.TrimSuffix(path, "/"), "/store")
}

// authorizeDSN authenticates with the dsn of the envelope header, which
// browser SDKs behind a tunnel send instead of a header.
func (h *handler) authorizeDSN(ctx context.Context, projectID int64, dsn string) error {
	if dsn == "" {
		return &authError{reason: errNoAuth.Error()}
	}
	d, err := ParseDSN(dsn)
	if err != nil {
		return &authError{reason: "envelope header: " + err.Error()}
	}
	if d.ProjectID != projectID {
		return &authError{reason: fmt.Sprintf("the envelope's dsn is for project %d, not %d", d.ProjectID, projectID)}
	}
	return h.authorize(ctx, projectID, d.PublicKey)
}

func (h *handler) authorize(ctx context.Context, projectID int64, key string) error {
	if err := h.projects.Authenticate(ctx, projectID, key); err != nil {
		return fmt.Errorf("authenticate a key of project %d: %w", projectID, err)
	}
	if h.limiter != nil {
		if ok, wait := h.limiter.allow(key); !ok {
			return &rateLimitedError{retryAfter: wait}
		}
	}
	return nil
}

// errorStatus is the one place that maps errors to what the client sees.
func errorStatus(err error) (int, string) {
	var (
		auth      *authError
		limited   *rateLimitedError
		large     *TooLargeError
		malformed *MalformedError
		busy      *busyError
	)
	switch {
	case errors.As(err, &busy):
		return http.StatusServiceUnavailable, busy.Error()
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable, "Triage cannot store events right now; retry later"
	case errors.As(err, &limited):
		return http.StatusTooManyRequests, limited.Error()
	case errors.As(err, &large):
		return http.StatusRequestEntityTooLarge, large.Error()
	case errors.As(err, &malformed):
		return http.StatusBadRequest, malformed.Error()
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge, ErrTooLarge.Error()
	case errors.Is(err, ErrMalformed):
		return http.StatusBadRequest, ErrMalformed.Error()
	case errors.As(err, &auth):
		return http.StatusUnauthorized, auth.reason
	case IsUnknownProject(err):
		return http.StatusUnauthorized, "unknown project"
	case IsBadKey(err):
		return http.StatusForbidden, "invalid or disabled key for this project"
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed, errMethod.Error()
	}
	return http.StatusInternalServerError, "internal error"
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	type errorResponse struct {
		Detail string `json:"detail"`
	}
	status, detail := errorStatus(err)
	attrs := []slog.Attr{
		slog.String("project_id", r.PathValue("project_id")),
		slog.Int("status", status),
		slog.String("sentry_client", clientName(r)),
	}
	if status == http.StatusServiceUnavailable {
		h.logger.LogAttrs(r.Context(), slog.LevelWarn, "ingest deferred", append(attrs, slog.Any("error", err))...)
	} else if status >= 500 {
		h.logger.LogAttrs(r.Context(), slog.LevelError, "ingest failed", append(attrs, slog.Any("error", err))...)
	} else {
		h.logger.LogAttrs(r.Context(), slog.LevelDebug, "ingest rejected", append(attrs, slog.String("reason", detail))...)
	}
	var limited *rateLimitedError
	if errors.As(err, &limited) {
		secs := strconv.Itoa(max(1, int(math.Ceil(limited.retryAfter.Seconds()))))
		w.Header().Set("Retry-After", secs)
		w.Header().Set("X-Sentry-Rate-Limits", secs+"::key")
	} else if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfterBusy)
	}
	w.Header().Set("X-Sentry-Error", headerSafe(detail))
	writeJSON(w, status, errorResponse{Detail: detail})
}

// clientName is the SDK's self-description, for logs.
func clientName(r *http.Request) string {
	if a, err := AuthFromRequest(r); err == nil && a.Client != "" {
		return truncate(a.Client, 64)
	}
	return truncate(r.UserAgent(), 64)
}

// headerSafe keeps a header value to printable ASCII.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return '?'
		}
		return r
	}, truncate(s, 200))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
