package eventwriter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"triage/internal/eventwriter"
	"triage/internal/ingest"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// taggedEvent is event n shaped like cmd/triage-load's: ~3 KiB, one of 20
// repeating errors (every 20th event a new one), and what the counting
// reads from a real SDK's event: five tags, a user, the os, runtime and
// device contexts, the request's URL, server name, transaction, release
// and environment (16 counted tags in all).
func taggedEvent(n int64) []byte {
	k := n % 20
	fn := fmt.Sprintf("handler%d", k)
	if n%20 == 0 {
		fn = fmt.Sprintf("rare%d", n)
	}
	ev := map[string]any{
		"event_id": fmt.Sprintf("%032x", n), "level": "error", "platform": "go", "release": "shop@1.42.0",
		"environment": "production", "server_name": fmt.Sprintf("web-%d", k%4), "transaction": "POST /api/" + fn,
		"tags": map[string]string{"region": []string{"eu-west-1", "us-east-1"}[k%2], "customer_tier": []string{"free", "pro", "enterprise"}[k%3],
			"http.method": "POST", "handler": "POST /api/" + fn, "goroutine": fmt.Sprint(100 + k)},
		"user": map[string]string{"id": fmt.Sprint(4200 + k), "email": fmt.Sprintf("user%d@example.com", 4200+k), "ip_address": "10.1.2.3"},
		"contexts": map[string]any{
			"os":      map[string]string{"name": "linux", "kernel_version": "6.8.0-45-generic"},
			"runtime": map[string]any{"name": "go", "version": "go1.26.8", "go_maxprocs": 2},
			"device":  map[string]any{"arch": "amd64", "num_cpu": 2},
		},
		"request": map[string]any{"url": "https://shop.example.com/api/" + fn, "method": "POST"},
		"extra":   map[string]string{"pad": strings.Repeat("x", 2200)},
		"exception": []any{map[string]any{"type": "Panic", "value": fmt.Sprintf("boom %d", n), "stacktrace": map[string]any{"frames": []any{
			map[string]any{"module": "app", "function": fn, "in_app": true, "lineno": 3}}}}},
	}
	b, _ := json.Marshal(ev)
	return b
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWriteBatch measures the writer's batch alone: each iteration
// saves one request of 16 or 64 tagged events (a batch of its own: nothing else
// is queued), so the time per event is the database's and the writer's,
// counting included, without HTTP or concurrency. Compare commits with
// benchstat; see BenchmarkSave for 64 concurrent savers.
//
//	scripts/test -run '^$' -bench WriteBatch -count 6 ./internal/eventwriter/
func BenchmarkWriteBatch(b *testing.B) {
	// 64 is what 64 senders of one event each make a batch of when all
	// wait on the writer; 16, about what they make when most are still
	// being parsed (cmd/triage-load on two cores).
	for _, engine := range dbtest.Engines {
		for _, size := range []int{16, 64} {
			b.Run(fmt.Sprintf("%s/%d", engine, size), func(b *testing.B) { benchmarkWriteBatch(b, engine, size) })
		}
	}
}

func benchmarkWriteBatch(b *testing.B, engine store.Engine, size int) {
	s := dbtest.Open(b, engine, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := eventwriter.New(s, &recorder{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	go w.Run(ctx)
	u, _ := s.CreateUser(ctx, "o@acme.test", "", "h", false)
	org, _ := s.CreateOrganization(ctx, "acme", "", u.ID)
	p, _ := s.CreateProject(ctx, org.ID, "web", "")
	// Events are parsed before the clock starts: the batch is
	// what is measured.
	batches := make([][]*ingest.Event, b.N+1)
	var seq int64
	for i := range batches {
		batch := make([]*ingest.Event, size)
		for j := range batch {
			seq++
			e, err := ingest.ParseStore(taggedEvent(seq), time.Now())
			if err != nil {
				b.Fatal(err)
			}
			batch[j] = e
		}
		batches[i] = batch
	}
	// One batch first, so that the 20 repeating issues exist.
	if err := w.Save(ctx, p.ID, batches[b.N]); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0, db0 := processCPU(), serverCPU(b, s)
	for i := range b.N {
		if err := w.Save(ctx, p.ID, batches[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*size), "us/event")
	// CPU time is steadier than the clock on a shared machine.
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N*size), "cpu-us/event")
	if engine == store.Postgres && db0 >= 0 {
		b.ReportMetric(float64((serverCPU(b, s)-db0).Microseconds())/float64(b.N*size), "pg-cpu-us/event")
	}
}

// serverCPU is the CPU time PostgreSQL's backends serving s's database
// have used, read from /proc when the server runs on this machine as a
// user whose processes this one may read; -1 when it cannot be read.
func serverCPU(b *testing.B, s *store.Store) time.Duration {
	if s.Engine != store.Postgres {
		return -1
	}
	rows, err := s.Pool().Query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var total time.Duration
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Fatal(err)
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return -1
		}
		// utime and stime are fields 14 and 15, after the command's ")".
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(utime+stime) * 10 * time.Millisecond
	}
	return total
}
