package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"triage"
)

// parseStatusQuery reads Sentry's search for the statuses Triage knows:
// "is:unresolved", "is:resolved", "is:ignored". Without a query the list
// shows unresolved issues, as Sentry does; an empty query shows all.
func parseStatusQuery(raw string, present bool) (triage.Status, error) {
	if !present {
		return triage.StatusUnresolved, nil
	}
	var status triage.Status
	for _, term := range strings.Fields(raw) {
		var st triage.Status
		switch strings.ToLower(term) {
		case "is:unresolved":
			st = triage.StatusUnresolved
		case "is:resolved":
			st = triage.StatusResolved
		case "is:ignored", "is:archived":
			st = triage.StatusIgnored
		default:
			return "", triage.Errorf(triage.EINVALID, "unsupported search term %q: use is:unresolved, is:resolved or is:ignored", term)
		}
		if status != "" && status != st {
			return "", triage.Errorf(triage.EINVALID, "search for one status at a time")
		}
		status = st
	}
	return status, nil
}

// maxOffset bounds how deep a cursor may page, so a crafted cursor cannot
// make the database skip millions of rows.
const maxOffset = 100000

// parseCursor reads a page cursor: Sentry's "value:offset:is_prev" form
// (Triage writes "0:<offset>:0") or a bare offset.
func parseCursor(raw string) (int, error) {
	if raw == "" {
		return 0, nil
	}
	off := raw
	if parts := strings.Split(raw, ":"); len(parts) == 3 {
		off = parts[1]
	}
	n, err := strconv.Atoi(off)
	if err != nil || n < 0 || n > maxOffset {
		return 0, triage.Errorf(triage.EINVALID, "invalid cursor %q", raw)
	}
	return n, nil
}

func formatCursor(offset int) string { return "0:" + strconv.Itoa(offset) + ":0" }

// parseID reads a path id: digits only, positive.
func parseID(s, what string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, triage.Errorf(triage.ENOTFOUND, "%s not found", what)
	}
	return n, nil
}

// orgMember resolves {org} for the user through access.Service.Org: the
// organization and their membership, or ENOTFOUND when either is missing,
// so that a stranger learns nothing about which organizations exist.
func (s *Server) orgMember(ctx context.Context, r *http.Request, u *triage.User) (*triage.Organization, *triage.Member, error) {
	return s.access.Org(ctx, u.ID, r.PathValue("org"))
}
