package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"
)

// The ceiling is the same load sent, in the same run, to a bare handler
// that does only what any ingestion endpoint must: read the body and parse
// the envelope's header line for the event id it answers with. Triage's
// rate over the ceiling's is a figure the machine's noise mostly cancels
// out of, which events/s alone is not on a shared machine.

// Ceiling is what the bare handler measured.
type Ceiling struct {
	Sent, Acked int
	Errors      map[string]int
	FirstError  string
	BadReply    int
	SendDur     time.Duration
	Latencies   []time.Duration // sorted
}

// Rate is the bare handler's answered events per second.
func (c *Ceiling) Rate() float64 {
	return float64(c.Acked-c.BadReply) / c.SendDur.Seconds()
}

// maxBareBody bounds what the bare handler reads, as Triage's request
// limit does.
const maxBareBody = 20 << 20

// bareHandler answers an envelope with its header's event id, having read
// (and, for gzip, decompressed) the whole body and parsed nothing else.
func bareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = io.LimitReader(r.Body, maxBareBody)
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(body)
			if err != nil {
				http.Error(w, "bad gzip body", http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
			return
		}
		line, _, _ := bytes.Cut(b, []byte{'\n'})
		var h struct {
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal(line, &h); err != nil || h.EventID == "" {
			http.Error(w, "the envelope header has no event_id", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q}`, h.EventID)
	})
}

// runCeiling sends the run's load again, the same bodies at the same
// concurrency, to a bare handler served by this process.
func runCeiling(ctx context.Context, client *http.Client, t target, auth string, g *generator, bodies [][]byte, cfg Config) Ceiling {
	srv := httptest.NewServer(bareHandler())
	defer srv.Close()
	endpoint := srv.URL + "/api/" + t.projectID + "/envelope/"
	start := time.Now()
	sr := send(ctx, client, endpoint, auth, g, bodies, cfg)
	return Ceiling{Sent: sr.sent, Acked: sr.acked, Errors: sr.errors, FirstError: sr.firstErr, BadReply: sr.badReply,
		SendDur: time.Since(start), Latencies: sr.lat}
}

// printCeiling writes the ceiling's lines of the report, and the ratio of
// Triage's rate (counted in issues when verified, else acknowledged) to
// the ceiling's.
func (r *Result) printCeiling(w io.Writer) {
	c := r.Ceiling
	if c == nil {
		return
	}
	fmt.Fprintf(w, "ceiling    bare handler (reads the body, parses the envelope header), same load: %d answered of %d in %s: %.0f events/s",
		c.Acked-c.BadReply, r.Cfg.N, c.SendDur.Round(time.Millisecond), c.Rate())
	if n := len(c.Latencies); n > 0 {
		q := func(p float64) string { return ms(c.Latencies[min(n-1, int(p*float64(n)))]) }
		fmt.Fprintf(w, ", p50 %s p99 %s ms", q(0.50), q(0.99))
	}
	fmt.Fprintln(w)
	for k, v := range c.Errors {
		fmt.Fprintf(w, "ceiling    %d failed (%s); first: %.200s\n", v, k, c.FirstError)
	}
	what, rate := "accepted", float64(r.Acked-r.BadReply)/r.SendDur.Seconds()
	if r.Cfg.VerifyAPI && r.Verified {
		what, rate = "counted", float64(r.Counted)/r.E2E.Seconds()
	}
	if c.Rate() > 0 {
		fmt.Fprintf(w, "ratio      Triage's %s events/s are %.2f of the ceiling's\n", what, rate/c.Rate())
	}
}
