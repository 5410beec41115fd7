package store_test

import (
	"context"
	"testing"
	"time"

	"triage"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

func TestSlackIntegrationsAndIdentities(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		alice, _ := s.CreateUser(ctx, "alice@example.com", "", "h", false)
		bob, _ := s.CreateUser(ctx, "bob@example.com", "", "h", false)
		org, err := s.CreateOrganization(ctx, "acme", "", alice.ID)
		if err != nil {
			t.Fatal(err)
		}

		in, err := s.UpsertIntegration(ctx, &triage.Integration{ExternalID: "T1", Name: "One", InstallType: "v2",
			AccessTokenEnc: "v1:a", RefreshTokenEnc: "v1:r", TokenExpiresAt: time.Unix(2000000000, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if in.Status != triage.IntegrationActive || in.Provider != "slack" || in.TokenExpiresAt.Unix() != 2000000000 {
			t.Errorf("integration = %+v", in)
		}
		if err := s.SetIntegrationStatus(ctx, in.ID, triage.IntegrationNeedsReinstall, "refresh failed"); err != nil {
			t.Fatal(err)
		}
		again, err := s.UpsertIntegration(ctx, &triage.Integration{ExternalID: "T1", Name: "Renamed", InstallType: "v2", AccessTokenEnc: "v1:b"})
		if err != nil {
			t.Fatal(err)
		}
		if again.ID != in.ID || again.Name != "Renamed" || again.Status != triage.IntegrationActive || !again.TokenExpiresAt.IsZero() {
			t.Errorf("reinstall = %+v, want same id, new name, active, no expiry", again)
		}
		if _, err := s.IntegrationByTeam(ctx, "T9"); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("unknown team: %v", err)
		}

		for range 2 {
			if err := s.AttachIntegration(ctx, org.ID, in.ID); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.IntegrationsForOrg(ctx, org.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("IntegrationsForOrg = %v, %v", list, err)
		}
		if ok, _ := s.IntegrationAttached(ctx, org.ID, in.ID); !ok {
			t.Error("not attached")
		}

		// Token rotation only applies to the pair it read.
		if ok, err := s.UpdateIntegrationTokens(ctx, in.ID, "stale", "v1:x", "v1:y", time.Now()); err != nil || ok {
			t.Errorf("stale rotation = %v, %v; want false", ok, err)
		}

		// Newest link wins on both sides.
		link := func(ext string, user int64) {
			t.Helper()
			if err := s.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.LinkIdentity(ctx, in.ID, ext, user)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		link("U1", alice.ID)
		link("U1", bob.ID)
		if id, _ := s.IdentityByExternalID(ctx, in.ID, "U1"); id == nil || id.UserID != bob.ID {
			t.Errorf("U1 = %+v, want bob", id)
		}
		link("U2", bob.ID)
		if _, err := s.IdentityByExternalID(ctx, in.ID, "U1"); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("U1 after bob moved: %v", err)
		}
		ids, _ := s.IdentitiesForUser(ctx, bob.ID)
		if len(ids) != 1 || ids[0].ExternalID != "U2" {
			t.Errorf("bob's identities = %+v", ids)
		}
		if err := s.UnlinkIdentity(ctx, in.ID, "U2"); err != nil {
			t.Fatal(err)
		}
		if err := s.UnlinkIdentity(ctx, in.ID, "U2"); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("second unlink: %v", err)
		}

		// OAuth state: single use, bound to its user, expires.
		now := time.Now()
		if err := s.CreateOAuthState(ctx, "h1", alice.ID, org.ID, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConsumeOAuthState(ctx, "h1", bob.ID, now); triage.ErrorCode(err) != triage.EINVALID {
			t.Errorf("other user: %v", err)
		}
		if got, err := s.ConsumeOAuthState(ctx, "h1", alice.ID, now); err != nil || got != org.ID {
			t.Errorf("consume = %d, %v", got, err)
		}
		if _, err := s.ConsumeOAuthState(ctx, "h1", alice.ID, now); triage.ErrorCode(err) != triage.EINVALID {
			t.Errorf("reuse: %v", err)
		}
		_ = s.CreateOAuthState(ctx, "h2", alice.ID, org.ID, now.Add(time.Minute))
		if _, err := s.ConsumeOAuthState(ctx, "h2", alice.ID, now.Add(2*time.Minute)); triage.ErrorCode(err) != triage.EINVALID {
			t.Errorf("expired: %v", err)
		}

		if err := s.DetachIntegration(ctx, org.ID, in.ID); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.IntegrationAttached(ctx, org.ID, in.ID); ok {
			t.Error("still attached")
		}
	})
}
