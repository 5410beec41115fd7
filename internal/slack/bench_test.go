package slack_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"triage"

	"github.com/riverqueue/river"

	"triage/internal/config"
	"triage/internal/issues"
	"triage/internal/jobs"
	"triage/internal/secretbox"
	"triage/internal/signing"
	"triage/internal/slack"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// BenchmarkBlockAction measures the action endpoint in process: a signed
// Resolve or Unresolve (by turns) of one issue by a linked owner, with
// River working the jobs each change queues (the rebuilt message goes to
// a response URL answering 200).
func BenchmarkBlockAction(b *testing.B) {
	for _, engine := range dbtest.Engines {
		b.Run(string(engine), func(b *testing.B) {
			ctx := context.Background()
			dbURL := dbtest.URL(b, engine)
			s, err := store.Open(ctx, dbURL, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			owner, _ := s.CreateUser(ctx, "owner@example.com", "", "h", false)
			org, _ := s.CreateOrganization(ctx, "acme", "Acme", owner.ID)
			p, _ := s.CreateProject(ctx, org.ID, "web", "Web")
			in, _ := s.UpsertIntegration(ctx, &triage.Integration{ExternalID: "T1", Name: "One", InstallType: "v2", AccessTokenEnc: "x"})
			_ = s.AttachIntegration(ctx, org.ID, in.ID)
			_, _ = s.LinkIdentity(ctx, in.ID, "U1", owner.ID)
			var issueID int64
			_ = s.InTx(ctx, func(tx *store.Tx) error {
				is, err := tx.CreateIssue(ctx, store.NewIssue{ProjectID: p.ID, GroupHash: "h", Title: "T: x", Level: "error", SeenAt: time.Now()})
				if err == nil {
					issueID = is.ID
				}
				return err
			})
			sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
			}))
			defer sink.Close()
			key := []byte(secretKey)
			logger := slog.New(slog.DiscardHandler)
			integ := slack.New(slack.Deps{Store: s, Signer: signing.New(key), Box: secretbox.New(key), Issues: issues.New(s, nil), Logger: logger,
				Config:     &config.Config{URLPrefix: prefix, SlackSigningSecret: signingSecret, SlackAPIURL: "http://127.0.0.1:1/api/"},
				HTTPClient: &http.Client{Timeout: 5 * time.Second}})
			workers := river.NewWorkers()
			integ.RegisterWorkers(workers)
			jc, err := jobs.New(ctx, s, dbURL, logger, workers, jobs.Options{Work: true})
			if err != nil {
				b.Fatal(err)
			}
			_ = jc.Start(ctx)
			defer jc.Stop(ctx)
			integ.SetJobs(jc)
			h := integ.Action()
			bodies := [2]string{}
			for k, v := range []string{"resolved", "unresolved"} {
				js, _ := json.Marshal(map[string]any{"type": "block_actions", "team": map[string]any{"id": "T1"}, "user": map[string]any{"id": "U1"},
					"container": map[string]any{"type": "message", "message_ts": "1.1", "channel_id": "C1"}, "response_url": sink.URL + "/hooks/x",
					"actions": []any{map[string]any{"action_id": "status:" + v, "block_id": "issue:" + strconv.FormatInt(issueID, 10), "value": v}}})
				bodies[k] = url.Values{"payload": {string(js)}}.Encode()
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				k := 0
				for pb.Next() {
					k++
					body := bodies[k%2]
					r := httptest.NewRequest("POST", "/extensions/slack/action/", strings.NewReader(body))
					ts := strconv.FormatInt(time.Now().Unix(), 10)
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					r.Header.Set(slack.HeaderTimestamp, ts)
					r.Header.Set(slack.HeaderSignature, slack.ComputeSignature(signingSecret, ts, []byte(body)))
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Errorf("status %d: %s", w.Code, w.Body)
						return
					}
				}
			})
		})
	}
}
