package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"

	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// quotaError is a second kind of error, so that it groups apart from
// errPayment.
type quotaError struct{}

func (quotaError) Error() string { return "quota exceeded" }

// TestBulkResolveRebuildsCards: two issues with a card each in a fake
// Slack; one PUT on the organization's issues resolves both, and each
// card is rebuilt to show it, with its thread saying who did it.
func TestBulkResolveRebuildsCards(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := setupAlerts(t, engine)
			rule := `{"name": "New issues", "conditions": {"firstSeen": true}, "throttleMinutes": 0,
				"action": {"integrationId": "` + w.integrationID + `", "channel": "C1"}}`
			if code := w.api("POST", "/api/0/projects/acme/api/rules/", w.adaToken, rule, nil); code != 201 {
				t.Fatalf("create rule: %d", code)
			}
			client, err := sentry.NewClient(sentry.ClientOptions{Dsn: w.dsn})
			if err != nil {
				t.Fatal(err)
			}
			hub := sentry.NewHub(client, sentry.NewScope())
			hub.CaptureException(errPayment)
			hub.CaptureException(quotaError{})
			if !hub.Flush(10 * time.Second) {
				t.Fatal("the SDK did not flush")
			}
			w.waitFor("two cards in #alerts", func() bool { return len(w.fake.Messages("C1")) == 2 })
			var issues []struct{ ID string }
			w.api("GET", "/api/0/organizations/acme/issues/", w.adaToken, "", &issues)
			if len(issues) != 2 {
				t.Fatalf("issues %+v", issues)
			}
			// Both cards are out and recorded as such (a card still on its
			// way is another story, told by the alert tests).
			s, err := store.Open(context.Background(), w.dbURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			w.waitFor("both cards recorded", func() bool {
				for _, i := range issues {
					id, _ := strconv.ParseInt(i.ID, 10, 64)
					if cards, err := s.AlertCards(context.Background(), id); err != nil || len(cards) != 1 {
						return false
					}
				}
				return true
			})

			var out struct{ Status string }
			path := "/api/0/organizations/acme/issues/?id=" + issues[0].ID + "&id=" + issues[1].ID
			if code := w.api("PUT", path, w.adaToken, `{"status": "resolved"}`, &out); code != 200 || out.Status != "resolved" {
				t.Fatalf("bulk resolve: %d %+v", code, out)
			}
			for _, card := range w.fake.Messages("C1") {
				w.waitFor("card "+card.TS+"'s thread saying who resolved it", func() bool {
					m, _ := w.fake.GetMessage("C1", card.TS)
					return len(m.Replies) == 1 && m.Replies[0].Text == "*Resolved by <@U1>*"
				})
				w.waitFor("card "+card.TS+" rebuilt as resolved", func() bool {
					m, _ := w.fake.GetMessage("C1", card.TS)
					blocks := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(string(m.Blocks))
					return strings.Contains(blocks, "*Resolved by <@U1>*") && strings.Contains(blocks, `"text":"*Resolved*`)
				})
				w.waitFor("card "+card.TS+"'s thread saying who resolved it", func() bool {
					m, _ := w.fake.GetMessage("C1", card.TS)
					return len(m.Replies) == 1 && m.Replies[0].Text == "*Resolved by <@U1>*"
				})
			}
		})
	}
}
