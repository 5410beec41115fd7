package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"triage"
	"triage/internal/issues"
)

// maxAPIBody bounds a JSON request body.
const maxAPIBody = 1 << 20

// apiIssueUpdate is Sentry's PUT on a group: status with its details and
// the assignee, in one change through the issue service. It answers the
// issue as it is afterwards.
func (s *Server) apiIssueUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, u := r.Context(), CurrentUser(r)
		var req apiUpdateRequest
		if err := decodeJSON(w, r, &req); err != nil {
			s.apiError(w, r, err)
			return
		}
		issue, err := s.issueFromPath(r)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		upd, err := s.updateFromRequest(r, req, issue)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		res, err := s.issues.Update(ctx, triage.Actor{UserID: u.ID, Source: triage.SourceAPI}, issue.ID, upd)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, s.toAPIIssue(res.Issue))
	})
}

// apiUpdateRequest is the body of a PUT on one issue or on many.
type apiUpdateRequest struct {
	Status        *string             `json:"status"`
	StatusDetails *apiStatusDetailsIn `json:"statusDetails"`
	AssignedTo    json.RawMessage     `json:"assignedTo"`
}

// updateFromRequest turns a PUT body into the issue service's request.
// issue is the one issue changed, nil for a bulk change (which accepts
// inRelease "latest" only, since each project has its own current
// release).
func (s *Server) updateFromRequest(r *http.Request, req apiUpdateRequest, issue *triage.Issue) (issues.Update, error) {
	var upd issues.Update
	if req.Status != nil {
		c, err := s.statusChange(r, issue, *req.Status, req.StatusDetails)
		if err != nil {
			return upd, err
		}
		upd.Status = &c
	} else if req.StatusDetails != nil {
		return upd, triage.Errorf(triage.EINVALID, "statusDetails needs a status")
	}
	if len(req.AssignedTo) > 0 {
		to, err := s.parseAPIAssignee(r, req.AssignedTo)
		if err != nil {
			return upd, err
		}
		upd.Assign = &issues.AssignChange{Assignee: to}
	}
	if upd.Status == nil && upd.Assign == nil {
		return upd, triage.Errorf(triage.EINVALID, "nothing to change: send status or assignedTo")
	}
	return upd, nil
}

// apiStatusDetailsIn is the statusDetails a PUT may send.
type apiStatusDetailsIn struct {
	InNextRelease  bool       `json:"inNextRelease"`
	InRelease      string     `json:"inRelease"`
	IgnoreDuration int64      `json:"ignoreDuration"` // minutes
	IgnoreCount    int64      `json:"ignoreCount"`
	IgnoreWindow   int64      `json:"ignoreWindow"` // minutes, with ignoreCount
	IgnoreUntil    *time.Time `json:"ignoreUntil"`
}

// statusChange maps Sentry's status names and details onto the issue
// service's request; the service validates the combination.
func (s *Server) statusChange(r *http.Request, issue *triage.Issue, status string, in *apiStatusDetailsIn) (issues.StatusChange, error) {
	var d apiStatusDetailsIn
	if in != nil {
		d = *in
	}
	c := issues.StatusChange{Status: triage.Status(status)}
	switch status {
	case "resolved":
		c.InNextRelease = d.InNextRelease
		if d.InRelease != "" {
			cur, err := s.isCurrentRelease(r, issue, d.InRelease)
			if err != nil {
				return c, err
			}
			c.InCurrentRelease = cur
		}
	case "resolvedInNextRelease":
		c.Status, c.InNextRelease = triage.StatusResolved, true
	case "ignored":
		c.IgnoreMinutes, c.IgnoreCount, c.IgnoreWindow, c.IgnoreUntil = d.IgnoreDuration, d.IgnoreCount, d.IgnoreWindow, d.IgnoreUntil
	}
	return c, nil
}

// isCurrentRelease accepts "latest" or the project's current release
// version; the issue service resolves only in the current release.
func (s *Server) isCurrentRelease(r *http.Request, issue *triage.Issue, v string) (bool, error) {
	if v == "latest" {
		return true, nil
	}
	if issue == nil {
		return false, triage.Errorf(triage.EINVALID, "inRelease %q: to change many issues at once, use \"latest\" (each project's current release) or inNextRelease", v)
	}
	cur, err := s.store.CurrentRelease(r.Context(), issue.ProjectID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return false, triage.Errorf(triage.EINVALID, "project %s has no releases yet: resolve it without a release", issue.ProjectSlug)
	} else if err != nil {
		return false, err
	}
	if cur != v {
		return false, triage.Errorf(triage.EINVALID, "inRelease %q is not the current release of %s (%q): use \"latest\" or inNextRelease", v, issue.ProjectSlug, cur)
	}
	return true, nil
}

// parseAPIAssignee reads assignedTo: "user:ID", "team:ID", a bare user id
// (string or number), an email, or ""/null to unassign.
func (s *Server) parseAPIAssignee(r *http.Request, raw json.RawMessage) (*triage.Assignee, error) {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var str string
	if err := json.Unmarshal(raw, &str); err != nil {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, triage.Errorf(triage.EINVALID, "assignedTo must be a string such as \"user:7\" or \"team:3\"")
		}
		str = n.String()
	}
	str = strings.TrimSpace(str)
	if strings.Contains(str, "@") {
		u, err := s.store.UserByEmail(r.Context(), str)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			return nil, triage.Errorf(triage.EINVALID, "cannot assign to %q: no such user", str)
		} else if err != nil {
			return nil, err
		}
		return &triage.Assignee{Type: "user", ID: u.ID}, nil
	}
	return triage.ParseAssignee(str)
}

// decodeJSON reads one JSON object of at most maxAPIBody bytes, refusing
// unknown fields, so that a misspelt field is an error and not a silent
// no-op.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxAPIBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		if _, rerr := io.Copy(io.Discard, r.Body); rerr != nil {
			err = rerr
		}
	}
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooBig):
		return triage.Errorf(triage.EINVALID, "request body is larger than %d bytes", maxAPIBody)
	case errors.Is(err, io.EOF):
		return triage.Errorf(triage.EINVALID, "request body is empty: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return triage.Errorf(triage.EINVALID, "request body is not valid JSON (it ends too early)")
	case errors.As(err, &syntax):
		return triage.Errorf(triage.EINVALID, "request body is not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		return triage.Errorf(triage.EINVALID, "field %q has the wrong type: want %s", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return triage.Errorf(triage.EINVALID, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return triage.Errorf(triage.EINVALID, "request body could not be read: %s", shortErr(err))
}

func shortErr(err error) string {
	s := strings.TrimPrefix(err.Error(), "json: ")
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// withoutSecrets round-trips v through JSON and drops every key that names
// a token or a secret, at any depth: a second guard, behind the Slack
// package's own, against ever answering with a credential.
func withoutSecrets(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode integrations: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("decode integrations: %w", err)
	}
	var strip func(any)
	strip = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, v := range x {
				lk := strings.ToLower(k)
				if strings.Contains(lk, "token") || strings.Contains(lk, "secret") || strings.Contains(lk, "password") {
					delete(x, k)
					continue
				}
				strip(v)
			}
		case []any:
			for _, v := range x {
				strip(v)
			}
		}
	}
	strip(out)
	return out, nil
}
