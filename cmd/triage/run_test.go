package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// env is a fake environment for run.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// triage runs one admin command in-process and returns its stdout, stderr
// and error.
func triageCmd(t *testing.T, e env, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, e.get, &out, &errb)
	return out.String(), errb.String(), err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// dbFingerprint hashes the content of every table the admin commands can
// write (every row, every column, in key order), to show that a failed
// command changed nothing: an update that keeps the row count changes it.
func dbFingerprint(t *testing.T, url string) string {
	t.Helper()
	s, err := store.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := sha256.New()
	for _, table := range fingerprintTables(t, s) {
		rows, err := s.DB.Query("SELECT * FROM " + table + " ORDER BY 1")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		fmt.Fprintf(h, "table %s %v\n", table, cols)
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				fmt.Fprintf(h, "%T:%v|", v, v)
			}
			fmt.Fprintln(h)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// fingerprintTables lists the database's own tables: everything but the
// migration bookkeeping and River's queue.
func fingerprintTables(t *testing.T, s *store.Store) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if s.Engine == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	rows, err := s.DB.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(name, "goose_") || strings.HasPrefix(name, "river_") {
			continue
		}
		out = append(out, name)
	}
	if len(out) < 8 {
		t.Fatalf("fingerprint sees only tables %v", out)
	}
	return out
}

// TestDBFingerprintSeesUpdates: the fingerprint changes when a row changes
// and the counts do not, so "failed commands changed nothing" can fail.
func TestDBFingerprintSeesUpdates(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			url := dbtest.URL(t, engine)
			e := env{"TRIAGE_DATABASE_URL": url, "TRIAGE_SECRET_KEY": strings.Repeat("k", 40)}
			if _, _, err := triageCmd(t, e, "user", "create", "--email", "ada@acme.test", "--password", "correct horse", "--name", "Ada"); err != nil {
				t.Fatal(err)
			}
			before := dbFingerprint(t, url)
			if again := dbFingerprint(t, url); again != before {
				t.Fatal("two fingerprints of the same database differ")
			}
			s, err := store.Open(context.Background(), url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.DB.Exec("UPDATE users SET name = 'Eve' WHERE email = 'ada@acme.test'"); err != nil {
				t.Fatal(err)
			}
			if dbFingerprint(t, url) == before {
				t.Error("renaming a user left the fingerprint unchanged")
			}
		})
	}
}

// startServe runs `triage serve` in-process until the test ends, and waits
// for /healthz.
func startServe(t *testing.T, e env) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := io.Discard
	if os.Getenv("TRIAGE_TEST_SERVE_LOG") == "1" {
		logs = os.Stderr // to see what serve logs while debugging a test
	}
	go func() { done <- run(ctx, []string{"serve"}, e.get, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20s of cancellation")
		}
	})
	base := "http://" + e["TRIAGE_ADDR"]
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("/healthz did not answer within 20s")
	return ""
}

func TestAdminCommandsAndAPI(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			url := dbtest.URL(t, engine)
			e := env{"TRIAGE_DATABASE_URL": url, "TRIAGE_ADDR": freeAddr(t), "TRIAGE_SECRET_KEY": strings.Repeat("k", 40)}
			mustRun := func(args ...string) string {
				t.Helper()
				out, _, err := triageCmd(t, e, args...)
				if err != nil {
					t.Fatalf("triage %s: %v", strings.Join(args, " "), err)
				}
				return out
			}
			mustRun("user", "create", "--email", "ada@acme.test", "--password", "correct horse", "--name", "Ada")
			mustRun("user", "create", "--email", "bob@acme.test", "--password", "correct horse")
			mustRun("user", "create", "--email", "eve@other.test", "--password", "correct horse")
			mustRun("org", "create", "--slug", "acme", "--owner", "ada@acme.test")
			mustRun("org", "create", "--slug", "other", "--owner", "eve@other.test")
			mustRun("member", "add", "--org", "acme", "--email", "bob@acme.test")
			teamID := lastLine(mustRun("team", "create", "--org", "acme", "--slug", "backend", "--member", "bob@acme.test"))
			dsn := lastLine(mustRun("project", "create", "--org", "acme", "--slug", "web", "--team", "backend"))
			if !strings.HasPrefix(dsn, "http://") || !strings.HasSuffix(dsn, "@"+e["TRIAGE_ADDR"]+"/1") {
				t.Errorf("DSN %q", dsn)
			}
			adaToken := lastLine(mustRun("token", "create", "--email", "ada@acme.test"))
			eveToken := lastLine(mustRun("token", "create", "--email", "eve@other.test"))

			before := dbFingerprint(t, url)
			bad := [][]string{
				{"user", "create", "--email", "ada@acme.test", "--password", "correct horse"}, // duplicate email
				{"user", "create", "--email", "new@acme.test", "--password", ""},              // empty password
				{"org", "create", "--slug", "acme", "--owner", "ada@acme.test"},               // duplicate slug
				{"org", "create", "--slug", "Has Spaces", "--owner", "ada@acme.test"},         // bad slug
				{"org", "create", "--slug", "neworg", "--owner", "nobody@acme.test"},          // unknown email
				{"member", "add", "--org", "acme", "--email", "eve@other.test", "--role", "boss"},
				{"member", "remove", "--org", "acme", "--email", "ada@acme.test"}, // last owner
				{"team", "create", "--org", "acme", "--slug", "ops", "--member", "eve@other.test"},
				{"project", "create", "--org", "acme", "--slug", "web"},
				{"project", "create", "--org", "acme", "--slug", "api", "--team", "nope"},
				{"token", "create", "--email", "nobody@acme.test"},
			}
			for _, args := range bad {
				_, _, err := triageCmd(t, e, args...)
				if err == nil {
					t.Errorf("triage %s succeeded; want a failure", strings.Join(args, " "))
				} else if msg := oneLine(err); msg == "" || strings.Contains(msg, "\n") {
					t.Errorf("triage %s: reason %q is not one line", strings.Join(args, " "), msg)
				}
			}
			if after := dbFingerprint(t, url); after != before {
				t.Error("failed commands changed the database")
			}

			base := startServe(t, e)
			// Seed an issue through the store (ingestion has its own tests).
			s, err := store.Open(context.Background(), url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var issueID int64
			s.InTx(context.Background(), func(tx *store.Tx) error {
				i, err := tx.CreateIssue(context.Background(), store.NewIssue{ProjectID: 1, GroupHash: "x", Title: "ValueError: bad", Level: "error", SeenAt: time.Now()})
				if err == nil {
					issueID = i.ID
				}
				return err
			})
			issueURL := fmt.Sprintf("%s/api/0/issues/%d/", base, issueID)
			call := func(method, url, token, body string) (int, map[string]any) {
				t.Helper()
				req, _ := http.NewRequest(method, url, strings.NewReader(body))
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var m map[string]any
				b, _ := io.ReadAll(resp.Body)
				json.Unmarshal(b, &m)
				return resp.StatusCode, m
			}
			if code, _ := call("GET", issueURL, "", ""); code != 401 {
				t.Errorf("no token: %d, want 401", code)
			}
			if code, _ := call("GET", issueURL, "not-a-token", ""); code != 401 {
				t.Errorf("bad token: %d, want 401", code)
			}
			if code, _ := call("GET", issueURL, eveToken, ""); code != 404 {
				t.Errorf("outsider get: %d, want 404", code)
			}
			if code, _ := call("PUT", issueURL, eveToken, `{"status":"resolved"}`); code != 404 {
				t.Errorf("outsider put: %d, want 404", code)
			}
			for _, st := range []string{"resolved", "ignored", "unresolved"} {
				code, m := call("PUT", issueURL, adaToken, `{"status":"`+st+`"}`)
				if code != 200 {
					t.Fatalf("owner %s: %d %v", st, code, m)
				}
				_, got := call("GET", issueURL, adaToken, "")
				if got["status"] != st {
					t.Errorf("after %s: status %v", st, got["status"])
				}
			}
			if code, m := call("PUT", issueURL, adaToken, `{"assignedTo":"user:3"}`); code != 400 || m["detail"] == "" {
				t.Errorf("assign outsider: %d %v, want 400 with a reason", code, m)
			}
			if code, m := call("PUT", issueURL, adaToken, `{"assignedTo":"team:`+teamID+`"}`); code != 200 {
				t.Errorf("assign team: %d %v", code, m)
			}
			_, got := call("GET", issueURL, adaToken, "")
			if a, _ := got["assignedTo"].(map[string]any); a == nil || a["type"] != "team" || a["name"] != "backend" {
				t.Errorf("assignedTo = %v", got["assignedTo"])
			}
			if got["permalink"] != fmt.Sprintf("%s/organizations/acme/issues/%d/", base, issueID) || got["shortId"] != "WEB-1" {
				t.Errorf("permalink %v shortId %v", got["permalink"], got["shortId"])
			}
			req, _ := http.NewRequest("GET", issueURL+"activity/", nil)
			req.Header.Set("Authorization", "Bearer "+adaToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var acts []map[string]any
			json.NewDecoder(resp.Body).Decode(&acts)
			resp.Body.Close()
			var types []string
			for _, a := range acts {
				types = append(types, fmt.Sprint(a["type"]))
			}
			if want := "assigned set_unresolved set_ignored set_resolved"; strings.Join(types, " ") != want {
				t.Errorf("activity = %v, want %s", types, want)
			}
		})
	}
}

func TestServeRejectsBadConfiguration(t *testing.T) {
	t.Parallel()
	e := env{"TRIAGE_DATABASE_URL": filepath.Join(t.TempDir(), "t.db"), "TRIAGE_ADDR": "nonsense",
		"TRIAGE_URL_PREFIX": "ftp://x", "SLACK_CLIENT_ID": "123", "SLACK_OAUTH_FLOW": "v3"}
	_, _, err := triageCmd(t, e, "serve")
	if err == nil {
		t.Fatal("serve started with a bad configuration")
	}
	for _, want := range []string{"TRIAGE_ADDR", "TRIAGE_URL_PREFIX", "SLACK_CLIENT_SECRET", "SLACK_SIGNING_SECRET", "SLACK_OAUTH_FLOW"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestSecretFromFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	os.WriteFile(path, []byte("short\n"), 0o600)
	e := env{"TRIAGE_DATABASE_URL": filepath.Join(dir, "t.db"), "TRIAGE_SECRET_KEY_FILE": path}
	_, _, err := triageCmd(t, e, "serve")
	if err == nil || !strings.Contains(err.Error(), "TRIAGE_SECRET_KEY is too short") {
		t.Fatalf("a short key from a file: %v", err)
	}
	e["TRIAGE_SECRET_KEY_FILE"] = filepath.Join(dir, "missing")
	if _, _, err := triageCmd(t, e, "serve"); err == nil || !strings.Contains(err.Error(), "TRIAGE_SECRET_KEY_FILE") {
		t.Fatalf("a missing key file: %v", err)
	}
}
