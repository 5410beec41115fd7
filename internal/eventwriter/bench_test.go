package eventwriter_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"triage/internal/eventwriter"
	"triage/internal/ingest"
	"triage/internal/testutil/dbtest"
)

// BenchmarkSave measures events per second through the writer with 64
// concurrent savers, ~3 KiB events, 5% new errors, on each engine. River is
// stood in for by a recorder; see cmd/triage-load for the whole server.
//
//	scripts/test -run '^$' -bench Save -benchtime 20000x ./internal/eventwriter/
func BenchmarkSave(b *testing.B) {
	for _, engine := range dbtest.Engines {
		b.Run(string(engine), func(b *testing.B) {
			s := dbtest.Open(b, engine, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := eventwriter.New(s, &recorder{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
			go w.Run(ctx)
			u, _ := s.CreateUser(ctx, "o@acme.test", "", "h", false)
			org, _ := s.CreateOrganization(ctx, "acme", "", u.ID)
			p, _ := s.CreateProject(ctx, org.ID, "web", "")
			pad := strings.Repeat("x", 2500)
			var seq atomic.Int64
			b.SetParallelism(32) // 32 × GOMAXPROCS(2) = 64 savers
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					fn := fmt.Sprintf("handler%d", n%20)
					if n%20 == 0 {
						fn = fmt.Sprintf("rare%d", n)
					}
					body := fmt.Sprintf(`{"event_id":"%032x","level":"error","release":"1.0","extra":{"pad":%q},
						"exception":[{"type":"Panic","value":"boom %d","stacktrace":{"frames":[{"module":"app","function":%q,"in_app":true,"lineno":3}]}}]}`,
						n, pad, n, fn)
					e, err := ingest.ParseStore([]byte(body), time.Now())
					if err != nil {
						b.Error(err)
						return
					}
					if err := w.Save(ctx, p.ID, []*ingest.Event{e}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}
