package store_test

import (
	"context"
	"testing"

	"triage"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// An organization comes to be with its owner or not at all, from the CLI
// (CreateOrganization) and from the first-run setup (CreateFirstOwner).
func TestCreateOrganizationWithOwner(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		// An owner that does not exist: no organization is left behind.
		if _, err := s.CreateOrganization(ctx, "ghost", "", 9999); err == nil {
			t.Fatal("organization created for a missing owner")
		}
		if _, err := s.OrganizationBySlug(ctx, "ghost"); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("half-created organization: %v", err)
		}

		// Setup with a bad slug creates no user either.
		if _, _, err := s.CreateFirstOwner(ctx, "ada@example.com", "Ada", "hash", "Not A Slug"); triage.ErrorCode(err) != triage.EINVALID {
			t.Fatalf("bad slug: %v", err)
		}
		if n, _ := s.CountUsers(ctx); n != 0 {
			t.Fatalf("a failed setup left %d users", n)
		}
		u, org, err := s.CreateFirstOwner(ctx, "ada@example.com", "Ada", "hash", "acme")
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.Member(ctx, org.ID, u.ID)
		if err != nil || m.Role != triage.RoleOwner || !u.IsSuperuser {
			t.Errorf("first owner: member %+v, %v; superuser %v", m, err, u.IsSuperuser)
		}
		if _, _, err := s.CreateFirstOwner(ctx, "bob@example.com", "", "hash", "other"); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("second setup: %v, want ENOTFOUND", err)
		}
		o2, err := s.CreateOrganization(ctx, "second", "Second", u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := s.Member(ctx, o2.ID, u.ID); err != nil || m.Role != triage.RoleOwner {
			t.Errorf("CLI organization's owner: %+v, %v", m, err)
		}
	})
}
