package web

import (
	"encoding/json"
	"net/http"

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
	case triage.ENOTIMPLEMENTED:
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
	writeJSON(w, status, apiDetail{Detail: triage.ErrorMessage(err)})
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
