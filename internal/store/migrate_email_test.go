package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestAlertEmailMigrationKeepsRules migrates a database that has Slack
// rules (one a channel subscription posting to the team's channel) with
// throttles and notifications across 00014 (which rebuilds alert_rules on
// SQLite) and checks that nothing referring to the rules was lost, every
// reference still holds, and 00012's columns and index are still there.
func TestAlertEmailMigrationKeepsRules(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, err := store.Open(ctx, dbtest.URL(t, engine), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.MigrateUpTo(ctx, 13); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UnixMicro()
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := s.Pool().ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			exec(`INSERT INTO users (id, email, name, password_hash, created_at) VALUES (1, 'a@example.com', 'A', 'x', $1)`, now)
			exec(`INSERT INTO organizations (id, slug, name, created_at) VALUES (1, 'acme', 'Acme', $1)`, now)
			exec(`INSERT INTO projects (id, org_id, slug, name, public_key, created_at) VALUES (1, 1, 'web', 'Web', 'k', $1)`, now)
			exec(`INSERT INTO issues (id, project_id, short_num, group_hash, title, first_seen, last_seen) VALUES (1, 1, 1, 'h', 't', $1, $1)`, now)
			exec(`INSERT INTO integrations (id, external_id, name, install_type, access_token_enc, created_at, updated_at) VALUES (1, 'T1', 'Acme', 'bot', 'x', $1, $1)`, now)
			exec(`INSERT INTO alert_rules (id, project_id, name, integration_id, channel_id, created_by, created_at, updated_at)
				VALUES (7, 1, 'Slack rule', 1, 'C1', 1, $1, $1)`, now)
			exec(`INSERT INTO alert_rules (id, project_id, name, integration_id, channel_id, created_by, created_at, updated_at, kind, query, target)
				VALUES (8, 1, 'Subscription', 1, '', 1, $1, $1, 'subscription', 'level:error', 'team')`, now)
			exec(`INSERT INTO alert_throttle (rule_id, issue_id, fired_at, quiet_until) VALUES (7, 1, $1, $1)`, now)
			exec(`INSERT INTO alert_notifications (rule_id, issue_id, cause, integration_id, channel_id, created_at)
				VALUES (7, 1, 'issue.created:x', 1, 'C1', $1)`, now)

			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			count := func(q string) int64 {
				t.Helper()
				var n int64
				if err := s.Pool().QueryRowContext(ctx, q).Scan(&n); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				return n
			}
			if n := count(`SELECT COUNT(*) FROM alert_throttle WHERE rule_id = 7`); n != 1 {
				t.Errorf("throttles of rule 7 after the migration: %d, want 1", n)
			}
			if n := count(`SELECT COUNT(*) FROM alert_notifications WHERE rule_id = 7`); n != 1 {
				t.Errorf("notifications of rule 7 after the migration: %d, want 1", n)
			}
			r, err := s.AlertRuleByID(ctx, 7)
			if err != nil || r.Name != "Slack rule" || r.IntegrationID != 1 || r.ChannelID != "C1" || r.ActionType != "slack" {
				t.Fatalf("rule 7 after the migration: %+v, %v", r, err)
			}
			sub, err := s.AlertRuleByID(ctx, 8)
			if err != nil || sub.Kind != "subscription" || sub.Query != "level:error" || sub.Target != "team" || sub.ActionType != "slack" {
				t.Fatalf("subscription 8 after the migration: %+v, %v", sub, err)
			}
			indexQuery := `SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'alert_rules_channel'`
			if engine == store.SQLite {
				indexQuery = `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'alert_rules_channel'`
			}
			if n := count(indexQuery); n != 1 {
				t.Errorf("index alert_rules_channel after the migration: %d, want 1", n)
			}
			if engine == store.SQLite {
				rows, err := s.Pool().QueryContext(ctx, `PRAGMA foreign_key_check`)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				if rows.Next() {
					var table string
					var rowid sql.NullInt64
					var parent string
					var fk int
					_ = rows.Scan(&table, &rowid, &parent, &fk)
					t.Errorf("a broken reference after the migration: %s row %v to %s", table, rowid, parent)
				}
				var fk int
				if err := s.Pool().QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
					t.Errorf("foreign keys after the migration: %d, %v", fk, err)
				}
				// Deleting the rule still reaches the tables that refer to it.
				exec(`DELETE FROM alert_rules WHERE id = 7`)
				if n := count(`SELECT COUNT(*) FROM alert_throttle`); n != 0 {
					t.Errorf("deleting the rule left %d throttles: the reference is gone", n)
				}
			}
		})
	}
}
