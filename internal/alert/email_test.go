package alert_test

import (
	"context"
	"errors"
	"testing"

	"triage/internal/alert"
	"triage/internal/mail"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestEmailActionInput: the email action's fields are checked and named
// when refused, and a server without email refuses it on action.type.
func TestEmailActionInput(t *testing.T) {
	t.Parallel()
	for body, field := range map[string]string{
		`{"name": "x", "action": {"type": "fax"}}`:                                          "action.type",
		`{"name": "x", "action": {"type": "email", "target": "teams", "userIds": "7"}}`:     "action.userIds",
		`{"name": "x", "action": {"type": "email", "target": "members", "userIds": ["x"]}}`: "action.userIds",
		`{"name": "x", "action": {"type": "slack", "target": "teams"}}`:                     "action.target",
		`{"name": "x", "action": {"type": "email", "cc": "boss"}}`:                          "action.cc",
	} {
		_, err := alert.ParseRuleInput([]byte(body))
		var fe *alert.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: %v, want a field error on %s", body, err, field)
		}
	}
	in, err := alert.ParseRuleInput([]byte(`{"name": "x", "action": {"type": "email", "target": "members", "userIds": ["7", 9]}}`))
	if err != nil || in.Action.Type != "email" || in.Action.Target != "members" || len(in.Action.UserIDs) != 2 || in.Action.UserIDs[1] != 9 {
		t.Fatalf("parsed %+v, %v", in.Action, err)
	}

	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u, err := s.CreateUser(ctx, "owner@example.com", "Owner", "hash", false)
		if err != nil {
			t.Fatal(err)
		}
		org, err := s.CreateOrganization(ctx, "acme", "Acme", u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateProject(ctx, org.ID, "web", "Web"); err != nil {
			t.Fatal(err)
		}
		in, err := alert.ParseRuleInput([]byte(`{"name": "x", "action": {"type": "email", "target": "teams"}}`))
		if err != nil {
			t.Fatal(err)
		}
		var fe *alert.FieldError
		_, err = alert.New(alert.Deps{Store: s}).CreateRule(ctx, u.ID, "acme", "web", in)
		if !errors.As(err, &fe) || fe.Field != "action.type" {
			t.Errorf("an email rule without email configured: %v, want a field error on action.type", err)
		}
		// With email, a project without a team cannot email "its teams".
		_, err = alert.New(alert.Deps{Store: s, Mailer: mail.NewMailer(nil)}).CreateRule(ctx, u.ID, "acme", "web", in)
		if !errors.As(err, &fe) || fe.Field != "action.target" {
			t.Errorf("emailing the teams of a project without one: %v, want a field error on action.target", err)
		}
	})
}
