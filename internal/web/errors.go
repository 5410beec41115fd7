package web

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"triage"
)

// httpStatus is the one map from Triage's error codes to HTTP statuses,
// shared by pages and the API.
func httpStatus(code string) int {
	switch code {
	case "":
		return http.StatusOK
	case triage.EINVALID:
		return http.StatusBadRequest
	case triage.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case triage.EFORBIDDEN:
		return http.StatusForbidden
	case triage.ENOTFOUND:
		return http.StatusNotFound
	case triage.ECONFLICT:
		return http.StatusConflict
	case triage.ENOTIMPLEMENTED, triage.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// apiDetail is the API's error body, as Sentry's.
type apiDetail struct {
	Detail string `json:"detail"`
}

// apiError writes err as {"detail": …}. Internal errors are logged and
// answered with a generic sentence; nothing of their text leaves the server.
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, err error) {
	code := triage.ErrorCode(err)
	status := httpStatus(code)
	if status == http.StatusInternalServerError {
		if r.Context().Err() != nil {
			// The client went away; nobody reads the answer.
			s.log.Info("api request canceled", "method", r.Method, "route", logRoute(r))
		} else {
			s.log.Error("api request failed", "method", r.Method, "route", logRoute(r), "err", err)
		}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="triage"`)
	}
	if code == triage.EUNAVAILABLE {
		s.log.Warn("api request: database unavailable", "method", r.Method, "route", logRoute(r), "err", err)
		w.Header().Set("Retry-After", retryAfterUnavailable)
		writeJSON(w, status, apiDetail{Detail: unavailableMessage})
		return
	}
	writeJSON(w, status, apiDetail{Detail: triage.ErrorMessage(err)})
}

// What a client sees while the database does not answer: 503 with
// Retry-After, which browsers, scripts and SDKs take as "come back later".
const (
	retryAfterUnavailable = "5"
	unavailableMessage    = "The database is not answering right now. Try again in a few seconds."
)

// withDeadline puts every request's work under a deadline, which reaches
// every query through the context: a database that stops answering costs
// a request at most d, and the request answers 503 (see httpStatus).
func withDeadline(d time.Duration, h http.Handler) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"detail":"Internal error."}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte("\n"))
}
