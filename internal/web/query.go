package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"triage"
)

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

// orgMember resolves {org} for the user: the organization and their
// membership, or ENOTFOUND when either is missing, so that a stranger
// learns nothing about which organizations exist.
func (s *Server) orgMember(ctx context.Context, r *http.Request, u *triage.User) (*triage.Organization, *triage.Member, error) {
	notFound := triage.Errorf(triage.ENOTFOUND, "organization not found")
	org, err := s.store.OrganizationBySlug(ctx, r.PathValue("org"))
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, err
	}
	m, err := s.store.Member(ctx, org.ID, u.ID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, err
	}
	return org, m, nil
}
