package ingest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

func benchFixture(b *testing.B) []byte {
	body, err := os.ReadFile("testdata/sdk/v1_checkout_1.envelope") // 3.3 KiB, a 2.8 KiB event
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkIngest is the per-event CPU cost of the pure part of ingestion:
// parse the envelope, normalize the event, group it.
func BenchmarkIngest(b *testing.B) {
	body := benchFixture(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		env, err := ParseEnvelope(body)
		if err != nil {
			b.Fatal(err)
		}
		events, err := env.Events(fixedNow)
		if err != nil || len(events) != 1 {
			b.Fatal(err)
		}
		ev := events[0]
		_, _, _ = ev.GroupingHash(), ev.Title(), ev.Culprit()
	}
}

func BenchmarkNormalize(b *testing.B) {
	payload := bytes.Split(benchFixture(b), []byte("\n"))[2]
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize(payload, NormalizeOptions{Received: fixedNow}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGroupingHash(b *testing.B) {
	_, ev := loadFixture(b, "v1_checkout_1")
	b.ReportAllocs()
	for b.Loop() {
		_ = ev.GroupingHash()
	}
}

func BenchmarkGroupingHashMessage(b *testing.B) {
	_, ev := loadFixture(b, "v1_latency")
	b.ReportAllocs()
	for b.Loop() {
		_ = ev.GroupingHash()
	}
}

func BenchmarkDecodeGzip(b *testing.B) {
	body := compress(b, "gzip", bytes.NewReader(benchFixture(b)))
	var d bodyDecoder
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.decode(bytes.NewReader(body), "gzip", int64(len(body)), nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandler is one gzip'd SDK envelope through the whole handler,
// with fakes for authentication and storage.
func BenchmarkHandler(b *testing.B) {
	bnd := setup(b, HandlerOptions{})
	bnd.sink.discard = true
	body := compress(b, "gzip", bytes.NewReader(benchFixture(b)))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r := post("/api/42/envelope/", body, "X-Sentry-Auth", authHeader, "Content-Encoding", "gzip")
		w := httptest.NewRecorder()
		bnd.mux.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
