package web

import (
	"context"
	"net/http"
	"strconv"

	"triage"
)

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
