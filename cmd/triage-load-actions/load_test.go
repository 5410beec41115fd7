package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"triage"
	"triage/internal/config"
	"triage/internal/issues"
	"triage/internal/secretbox"
	"triage/internal/signing"
	"triage/internal/slack"
	"triage/internal/store"
)

// TestSetupAndRun: -setup prepares a database, and a short run against
// the action endpoint resolves and unresolves the issue with no errors,
// then runs the baseline.
func TestSetupAndRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "triage.db")
	s, err := store.Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	owner, _ := s.CreateUser(ctx, "owner@example.com", "", "h", false)
	org, err := s.CreateOrganization(ctx, "acme", "Acme", owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateProject(ctx, org.ID, "web", "Web"); err != nil {
		t.Fatal(err)
	}
	sc := SetupConfig{DB: db, Org: "acme", Project: "web", Email: "owner@example.com", Team: "T1", User: "U1"}
	sc.Count = 2
	ids, err := Setup(ctx, sc)
	if err != nil || len(ids) != 2 {
		t.Fatal(ids, err)
	}
	if again, err := Setup(ctx, sc); err != nil || len(again) != 2 || again[0] != ids[0] {
		t.Fatalf("setup twice: %v %v, want %v", again, err, ids)
	}
	id := ids[0]

	key := []byte("0123456789abcdef0123456789abcdef")
	svc := issues.New(s, nil)
	integ := slack.New(slack.Deps{Store: s, Signer: signing.New(key), Box: secretbox.New(key), Issues: svc,
		Config:     &config.Config{URLPrefix: "http://triage.test", SlackSigningSecret: "sekrit", SlackAPIURL: "http://127.0.0.1:1/api/"},
		HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	mux := http.NewServeMux()
	mux.Handle("POST /extensions/slack/action/{$}", integ.Action())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := Run(ctx, Config{URL: srv.URL, N: 40, C: 4, Secret: "sekrit", Team: "T1", User: "U1", Issues: ids, Baseline: true, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Triage.Errors != 0 || res.Triage.Sent != 40 || res.Baseline == nil || res.Baseline.Sent != 40 {
		t.Fatalf("result = %+v", res)
	}
	acts, _ := s.Activities(ctx, id, 100)
	if len(acts) == 0 || acts[0].Source != triage.SourceSlack {
		t.Errorf("no Slack activity recorded: %d", len(acts))
	}
	var out bytes.Buffer
	res.Print(&out)
	if !strings.Contains(out.String(), "actions/s") || !strings.Contains(out.String(), "ratio") {
		t.Errorf("report:\n%s", out.String())
	}
	// A wrong secret: every action refused, reported as errors.
	res, _ = Run(ctx, Config{URL: srv.URL, N: 4, C: 2, Secret: "wrong", Team: "T1", User: "U1", Issues: ids, Timeout: time.Minute})
	if res.Triage.Errors != 4 || !strings.Contains(res.Triage.FirstErr, "401") {
		t.Errorf("wrong secret: %+v", res.Triage)
	}
}
