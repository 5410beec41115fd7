package main

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"

	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

type ingestBundle struct {
	base, dsn, token, url string
	projectID             string
}

func setupIngest(t *testing.T, engine store.Engine) *ingestBundle {
	t.Helper()
	url := dbtest.URL(t, engine)
	e := env{"TRIAGE_DATABASE_URL": url, "TRIAGE_ADDR": freeAddr(t), "TRIAGE_SECRET_KEY": strings.Repeat("k", 40)}
	for _, args := range [][]string{
		{"user", "create", "--email", "ada@acme.test", "--password", "correct horse"},
		{"org", "create", "--slug", "acme", "--owner", "ada@acme.test"},
	} {
		if _, _, err := triageCmd(t, e, args...); err != nil {
			t.Fatal(err)
		}
	}
	out, _, err := triageCmd(t, e, "project", "create", "--org", "acme", "--slug", "api")
	if err != nil {
		t.Fatal(err)
	}
	dsn := lastLine(out)
	out, _, err = triageCmd(t, e, "token", "create", "--email", "ada@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	b := &ingestBundle{dsn: dsn, token: lastLine(out), url: url}
	b.base = startServe(t, e)
	b.projectID = dsn[strings.LastIndex(dsn, "/")+1:]
	return b
}

func (b *ingestBundle) issues(t *testing.T) []map[string]any {
	t.Helper()
	var all []map[string]any
	for _, q := range []string{"is:unresolved", "is:resolved", "is:ignored"} {
		req, _ := http.NewRequest("GET", b.base+"/api/0/organizations/acme/issues/?query="+q, nil)
		req.Header.Set("Authorization", "Bearer "+b.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var list []map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		all = append(all, list...)
	}
	return all
}

var errPayment = errors.New("payment declined")

// chargeCard and loadUser report their errors where they happen, as an
// application would: the SDK records the stack of the capture.
func chargeCard(hub *sentry.Hub) { hub.CaptureException(errPayment) }

func loadUser(hub *sentry.Hub) {
	hub.CaptureException(fmt.Errorf("load user: %w", errors.New("connection refused")))
}

// TestSentrySDK sends events with the real sentry-go SDK and finds them
// grouped into issues through the API.
func TestSentrySDK(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setupIngest(t, engine)
			client, err := sentry.NewClient(sentry.ClientOptions{Dsn: b.dsn, Release: "web@1.0.0", Environment: "test"})
			if err != nil {
				t.Fatal(err)
			}
			hub := sentry.NewHub(client, sentry.NewScope())
			for range 2 {
				chargeCard(hub) // the same error from the same place twice
			}
			loadUser(hub)
			hub.CaptureMessage("cache warmed in 42 ms")
			if !hub.Flush(10 * time.Second) {
				t.Fatal("the SDK did not flush")
			}
			deadline := time.Now().Add(10 * time.Second)
			var list []map[string]any
			for time.Now().Before(deadline) {
				list = b.issues(t)
				if len(list) >= 3 {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			byTitle := map[string]map[string]any{}
			for _, i := range list {
				byTitle[fmt.Sprint(i["title"])] = i
			}
			if len(list) != 3 {
				t.Fatalf("%d issues, want 3: %v", len(list), keys(byTitle))
			}
			checks := []struct {
				title   string
				count   float64
				level   string
				culprit string
			}{
				{"*errors.errorString: payment declined", 2, "error", "chargeCard"},
				{"*fmt.wrapError: load user: connection refused", 1, "error", "loadUser"},
				{"cache warmed in 42 ms", 1, "info", ""},
			}
			for _, c := range checks {
				i, ok := byTitle[c.title]
				if !ok {
					t.Errorf("no issue titled %q; have %v", c.title, keys(byTitle))
					continue
				}
				if i["count"] != c.count || i["level"] != c.level || !strings.Contains(fmt.Sprint(i["culprit"]), c.culprit) {
					t.Errorf("%q: count %v level %v culprit %q; want %v %s ~%q", c.title, i["count"], i["level"], i["culprit"], c.count, c.level, c.culprit)
				}
			}
		})
	}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestIngestAnswers sends hand-made requests: good compressed ones are
// stored; rejected ones get their status and leave nothing behind.
func TestIngestAnswers(t *testing.T) {
	t.Parallel()
	b := setupIngest(t, store.SQLite)
	key := b.dsn[len("http://"):strings.Index(b.dsn, "@")]
	envelopeURL := b.base + "/api/" + b.projectID + "/envelope/"
	storeURL := b.base + "/api/" + b.projectID + "/store/"
	event := func(id int, msg string) string {
		return fmt.Sprintf(`{"event_id":"%032x","level":"error","exception":{"values":[{"type":"RuntimeError","value":%q,"stacktrace":{"frames":[{"function":"handler%d","module":"app","in_app":true}]}}]}}`, id, msg, id)
	}
	envelope := func(id int, msg string) []byte {
		ev := event(id, msg)
		return []byte(fmt.Sprintf("{\"event_id\":\"%032x\"}\n{\"type\":\"event\",\"length\":%d}\n%s\n", id, len(ev), ev))
	}
	gz := func(p []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(p)
		w.Close()
		return buf.Bytes()
	}
	zl := func(p []byte) []byte {
		var buf bytes.Buffer
		w := zlib.NewWriter(&buf)
		w.Write(p)
		w.Close()
		return buf.Bytes()
	}
	bomb := func() []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		zeros := make([]byte, 1<<20)
		for range 100 {
			w.Write(zeros)
		}
		w.Close()
		return buf.Bytes()
	}()
	post := func(url, auth, encoding string, body []byte) int {
		t.Helper()
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		if auth != "" {
			req.Header.Set("X-Sentry-Auth", "Sentry sentry_key="+auth+", sentry_version=7, sentry_client=test/1.0")
		}
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	cases := []struct {
		name   string
		url    string
		auth   string
		enc    string
		body   []byte
		status int
	}{
		{"gzip envelope", envelopeURL, key, "gzip", gz(envelope(1, "accepted gzip")), 200},
		{"deflate store", storeURL, key, "deflate", zl([]byte(event(2, "accepted deflate"))), 200},
		{"bad key", envelopeURL, strings.Repeat("0", 32), "", envelope(3, "bad key"), 403},
		{"unknown project", b.base + "/api/999/envelope/", key, "", envelope(4, "unknown project"), 401},
		{"malformed envelope", envelopeURL, key, "", []byte("{\"event_id\":\n{{{"), 400},
		{"malformed store JSON", storeURL, key, "", []byte(`{"event_id": `), 400},
		{"oversized event", storeURL, key, "", []byte(event(5, strings.Repeat("x", 2<<20))), 413},
		{"decompression bomb", envelopeURL, key, "gzip", bomb, 413},
	}
	// A DSN with a path prefix (Triage behind a proxy path) posts to
	// <prefix>/api/<id>/envelope/.
	cases = append(cases, struct {
		name   string
		url    string
		auth   string
		enc    string
		body   []byte
		status int
	}{"DSN path prefix", b.base + "/sentry/relay/api/" + b.projectID + "/envelope/", key, "", envelope(6, "via prefix"), 200})
	for _, c := range cases {
		if got := post(c.url, c.auth, c.enc, c.body); got != c.status {
			t.Errorf("%s: %d, want %d", c.name, got, c.status)
		}
	}
	var titles []string
	for _, i := range b.issues(t) {
		titles = append(titles, fmt.Sprint(i["title"]))
	}
	if len(titles) != 3 {
		t.Errorf("issues %v: want exactly the three accepted events", titles)
	}
	s, err := store.Open(context.Background(), b.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	s.Pool().QueryRow(`SELECT COUNT(*) FROM events`).Scan(&n)
	if n != 3 {
		t.Errorf("%d events stored, want 3", n)
	}
}
