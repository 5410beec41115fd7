package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"triage/internal/slack/slackfake"
	"triage/internal/testutil/dbtest"
)

// TestServeChild is not a test of its own: TestAlertsSurviveSIGKILL runs
// the test binary with TRIAGE_CHILD_SERVE=1 to get a triage serve process
// it can kill.
func TestServeChild(t *testing.T) {
	if os.Getenv("TRIAGE_CHILD_SERVE") != "1" {
		t.Skip("runs only as the crash test's child process")
	}
	if err := run(context.Background(), []string{"serve"}, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// startChild starts triage serve as a child process and waits for /healthz.
func startChild(t *testing.T, e env, logName string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "TRIAGE_CHILD_SERVE=1")
	for k, v := range e {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logFile, err := os.Create(logName)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + e["TRIAGE_ADDR"] + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the child did not answer /healthz; see %s", logName)
	return nil
}

// TestAlertsSurviveSIGKILL queues a burst of 500 notifications (100 new
// issues, 5 channels paced at 20 messages a second), kills triage serve
// with SIGKILL in the middle of delivering them, starts it again, and
// counts: nothing may be lost; duplicates (a crash between Slack's answer
// and the commit recording it) are reported.
//
//	go test ./cmd/triage -run TestAlertsSurviveSIGKILL -v -count=1
func TestAlertsSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills and restarts a server")
	}
	const issuesN, channels = 100, 5
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w, e := prepareAlerts(t, engine)
			e["TRIAGE_ALERT_CHANNEL_RATE"] = "20/1"
			e["TRIAGE_JOB_TIMEOUT"] = "10s"
			e["TRIAGE_JOB_RESCUE_AFTER"] = "15s"
			w.fake.SetChannelRateLimit(20, 3)
			w.base = "http://" + e["TRIAGE_ADDR"]
			logs := t.TempDir()
			child := startChild(t, e, logs+"/first.log")

			var chans []string
			for c := range channels {
				id := fmt.Sprintf("CK%d", c)
				chans = append(chans, id)
				w.fake.AddChannel(slackfake.Channel{ID: id, TeamID: "T1", Name: fmt.Sprintf("crash-%d", c), BotMember: true})
				body := `{"name": "to ` + id + `", "conditions": {"firstSeen": true}, "action": {"integrationId": "` + w.integrationID + `", "channel": "` + id + `"}}`
				if code := w.api("POST", "/api/0/projects/acme/api/rules/", w.adaToken, body, nil); code != 201 {
					t.Fatalf("rule to %s: %d", id, code)
				}
			}
			key := strings.TrimPrefix(w.dsn[:strings.Index(w.dsn, "@")], "http://")
			var wg sync.WaitGroup
			for i := range issuesN {
				wg.Go(func() {
					ev := fmt.Sprintf(`{"event_id":"%032x","level":"error","platform":"go","message":"crash burst %d","fingerprint":["crash-%d"]}`, i+1, i, i)
					req, _ := http.NewRequest("POST", w.base+"/api/"+w.projectID+"/store/", strings.NewReader(ev))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_key="+key)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						t.Errorf("store: %d", resp.StatusCode)
					}
				})
			}
			wg.Wait()
			total := issuesN * channels
			// count is the number of distinct notifications out: a
			// duplicate must not make the wait below end before the last
			// one arrived.
			count := func() int {
				n := 0
				for _, c := range chans {
					seen := map[string]bool{}
					for _, m := range w.fake.Messages(c) {
						seen[m.Text] = true
					}
					n += len(seen)
				}
				return n
			}
			w.waitFor("a third of the burst", func() bool { return count() >= total/3 })
			if err := child.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			_ = child.Wait()
			atKill := count()
			inFlight := alertJobsRunning(t, w.dbURL)

			start := time.Now()
			startChild(t, e, logs+"/second.log")
			deadline := time.Now().Add(90 * time.Second)
			for count() < total && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			recovered := time.Since(start)
			time.Sleep(time.Second) // let stragglers show
			lost, dups := 0, 0
			for _, c := range chans {
				seen := map[string]int{}
				for _, m := range w.fake.Messages(c) {
					seen[m.Text]++
				}
				for i := range issuesN {
					switch n := seen["[api] crash burst "+strconv.Itoa(i)]; {
					case n == 0:
						lost++
					case n > 1:
						dups += n - 1
						if key := c + "|crash burst " + strconv.Itoa(i); !inFlight[key] {
							t.Errorf("%q in %s was posted %d times, but its job was not running when the process died", "crash burst "+strconv.Itoa(i), c, n)
						}
					}
				}
			}
			st := w.fake.RateLimitStats()
			t.Logf("%s: %d notifications, SIGKILL after %d were posted with %d alert jobs running; after the restart all were out in %.1fs (jobs of the dead process are rescued after 15s): lost %d, duplicates %d, 429s %d, unhonoured %d",
				engine, total, atKill, len(inFlight), recovered.Seconds(), lost, dups, st.Limited, st.Unhonoured)
			if lost != 0 {
				t.Errorf("%d notifications lost", lost)
			}
			// Delivery is at least once: only a notification whose job the
			// dead process was running when it died (posted, its record not
			// yet committed) may be posted again after the rescue, and only
			// once more; the loop above checks which ones they were.
			if dups > len(inFlight) {
				t.Errorf("%d duplicates, more than the %d notifications in flight at the kill", dups, len(inFlight))
			}
			if st.Unhonoured != 0 {
				t.Errorf("%d unhonoured 429s", st.Unhonoured)
			}
		})
	}
}

// alertJobsRunning returns, for the alert notifications whose River jobs
// the database holds as running, their channel and issue title as
// "channel|title": after a SIGKILL, those are the only ones whose Slack post
// may have happened without its record being committed.
func alertJobsRunning(t *testing.T, dbURL string) map[string]bool {
	t.Helper()
	// River keeps args as SQLite's binary JSON and PostgreSQL's jsonb.
	driver, dsn, args := "sqlite", strings.TrimPrefix(strings.TrimPrefix(dbURL, "sqlite://"), "sqlite:"), "json(args)"
	if strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://") {
		driver, dsn, args = "pgx", dbURL, "args::text"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A notification is in flight in its own job (alert.notify) or in
	// its evaluation's batch (alert.deliver).
	rows, err := db.Query(`SELECT ` + args + ` FROM river_job WHERE kind IN ('alert.notify', 'alert.deliver') AND state = 'running'`)
	if err != nil {
		t.Fatalf("running alert jobs: %v", err)
	}
	var ids []int64
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var args struct {
			NotificationID  int64   `json:"notification_id"`
			NotificationIDs []int64 `json:"notification_ids"`
		}
		if err := json.Unmarshal(raw, &args); err != nil {
			t.Fatalf("job args %q: %v", raw, err)
		}
		if args.NotificationID != 0 {
			ids = append(ids, args.NotificationID)
		}
		ids = append(ids, args.NotificationIDs...)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	out := map[string]bool{}
	for _, id := range ids {
		var channel, title string
		err := db.QueryRow(`SELECT n.channel_id, i.title FROM alert_notifications n JOIN issues i ON i.id = n.issue_id WHERE n.id = $1`, id).Scan(&channel, &title)
		if err != nil {
			t.Fatalf("notification %d: %v", id, err)
		}
		out[channel+"|"+title] = true
	}
	return out
}
