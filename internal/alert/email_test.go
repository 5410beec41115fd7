package alert_test

import (
	"context"
	"errors"
	"reflect"
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
		`{"name": "x", "action": {"type": "fax"}}`:                                           "action.type",
		`{"name": "x", "action": {"type": "email", "target": "teams", "userIds": "7"}}`:      "action.userIds",
		`{"name": "x", "action": {"type": "email", "target": "members", "userIds": ["x"]}}`:  "action.userIds",
		`{"name": "x", "action": {"type": "slack", "target": "teams"}}`:                      "action.target",
		`{"name": "x", "action": {"type": "email", "cc": "boss"}}`:                           "action.cc",
		`{"name": "x", "action": {"type": "email", "userIds": ["7"]}}`:                       "action.target",
		`{"name": "x", "action": {"type": "slack", "target": "members"}}`:                    "action.target",
		`{"name": "x", "action": {"integrationId": "3", "channel": "C1", "userIds": ["7"]}}`: "action.userIds",
		`{"name": "x", "action": {"type": "email", "target": "team"}}`:                       "action.target",
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

	// A rule's action as GET shows it goes back through PUT unchanged: an
	// email action (no workspace) and a Slack action to the team's channel.
	for body, want := range map[string]alert.ActionInput{
		`{"action": {"type": "email", "integrationId": "", "workspace": "", "channelId": "", "channelName": "",
			"target": "members", "userIds": ["7"], "status": "ok", "reason": "", "hint": ""}}`: {Type: "email", Target: "members", UserIDs: []int64{7}},
		`{"action": {"type": "slack", "integrationId": "3", "workspace": "Acme", "channelId": "", "channelName": "",
			"target": "team", "status": "ok", "reason": "", "hint": ""}}`: {Type: "slack", Target: "team", IntegrationID: 3},
	} {
		in, err := alert.ParseRuleInput([]byte(body))
		if err != nil || in.Action == nil || !reflect.DeepEqual(*in.Action, want) {
			t.Errorf("%s: parsed %+v, %v; want %+v", body, in.Action, err, want)
		}
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
