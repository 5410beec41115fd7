// Command sentrygen runs the real sentry-go SDK and saves the envelopes it
// sends, byte for byte, as fixtures for the ingest tests. The v2 build tag
// swaps in the same program after an edit (other line numbers, other
// values), as a later deploy of it would be. From the repository root:
//
//	go run ./internal/ingest/testdata/sentrygen -out internal/ingest/testdata/sdk
//	go run -tags v2 ./internal/ingest/testdata/sentrygen -out internal/ingest/testdata/sdk
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/getsentry/sentry-go"
)

// recorder is an http.RoundTripper that keeps request bodies instead of
// sending them, so the fixtures are exactly what the SDK puts on the wire.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if r.Header.Get("Content-Encoding") != "" {
		return nil, fmt.Errorf("unexpected Content-Encoding %q", r.Header.Get("Content-Encoding"))
	}
	rec.mu.Lock()
	rec.bodies = append(rec.bodies, body)
	rec.mu.Unlock()
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader([]byte(`{}`))),
		Request:    r,
	}, nil
}

func (rec *recorder) take() [][]byte {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	b := rec.bodies
	rec.bodies = nil
	return b
}

func main() {
	out := flag.String("out", "internal/ingest/testdata/sdk", "directory for the envelopes")
	flag.Parse()
	rec := &recorder{}
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn:              "https://0123456789abcdef0123456789abcdef@triage.example.com/42",
		HTTPTransport:    rec,
		Release:          release,
		Environment:      "production",
		ServerName:       "web-1",
		AttachStacktrace: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	hub := sentry.NewHub(client, sentry.NewScope())
	hub.Scope().SetTag("region", "eu-west-1")
	hub.Scope().SetUser(sentry.User{ID: "42", Email: "ada@example.com"})
	for _, step := range steps {
		play(hub, step)
		if !hub.Flush(5 * time.Second) {
			log.Fatalf("%s: flush timed out", step)
		}
		bodies := rec.take()
		if len(bodies) != 1 {
			log.Fatalf("%s: the SDK sent %d envelopes, want 1", step, len(bodies))
		}
		name := filepath.Join(*out, variant+"_"+step+".envelope")
		if err := os.WriteFile(name, bodies[0], 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Println(name, len(bodies[0]))
	}
}
