package main

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"triage/internal/testutil/dbtest"
	"triage/internal/testutil/pgtest"
)

// bomb compresses size bytes of zeros, streaming: the test never holds
// the zeros, only the (small) compressed result.
func bomb(t *testing.T, coding string, size int64) []byte {
	t.Helper()
	var out bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w, _ = gzip.NewWriterLevel(&out, gzip.BestSpeed)
	case "zstd":
		w, _ = zstd.NewWriter(&out, zstd.WithEncoderLevel(zstd.SpeedFastest))
	}
	zeros := make([]byte, 1<<20)
	for n := int64(0); n < size; n += int64(len(zeros)) {
		if _, err := w.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// procStatus reads a field of /proc/PID/status in KiB.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// normalEnvelope is one small event, keyed by the header's dsn.
func normalEnvelope(dsn, eventID string) []byte {
	return []byte(`{"event_id":"` + eventID + `","dsn":"` + dsn + `"}` + "\n" +
		`{"type":"event"}` + "\n" +
		`{"event_id":"` + eventID + `","level":"error","platform":"go","exception":{"values":[{"type":"BombTest","value":"meanwhile"}]}}` + "\n")
}

func newEventID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestParallelBombsKeepMemoryBounded posts 64 decompression bombs at once
// (1 GiB of zeros each, gzip and zstd, with and without a key) to a triage
// serve process, sends ordinary events meanwhile, and reads the process's
// peak resident memory.
//
//	go test ./cmd/triage -run TestParallelBombsKeepMemoryBounded -v -count=1
func TestParallelBombsKeepMemoryBounded(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("posts 64 GiB of decompressed zeros")
	}
	const perKind = 16 // 4 kinds: 64 bombs
	bombs := map[string][]byte{"gzip": bomb(t, "gzip", 1<<30), "zstd": bomb(t, "zstd", 1<<30)}
	t.Logf("compressed 1 GiB of zeros: gzip %d bytes, zstd %d bytes", len(bombs["gzip"]), len(bombs["zstd"]))
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			url := dbtest.URL(t, engine)
			e := env{"TRIAGE_DATABASE_URL": url, "TRIAGE_ADDR": freeAddr(t), "TRIAGE_SECRET_KEY": strings.Repeat("k", 40)}
			dsn := setupProject(t, e)
			key := dsn[len("http://"):strings.Index(dsn, "@")]
			projectID := dsn[strings.LastIndex(dsn, "/")+1:]
			child := startChild(t, e, filepath.Join(t.TempDir(), "serve.log"))
			pid := child.Process.Pid
			base := "http://" + e["TRIAGE_ADDR"]
			endpoint := base + "/api/" + projectID + "/envelope/"
			idle := procStatus(t, pid, "VmRSS")

			client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: 100}}
			var wg sync.WaitGroup
			var mu sync.Mutex
			statuses := map[string]map[int]int{}
			start := make(chan struct{})
			for _, coding := range []string{"gzip", "zstd"} {
				for _, keyed := range []bool{false, true} {
					kind := fmt.Sprintf("%s keyed=%v", coding, keyed)
					statuses[kind] = map[int]int{}
					for range perKind {
						wg.Go(func() {
							<-start
							req, _ := http.NewRequest("POST", endpoint, bytes.NewReader(bombs[coding]))
							req.Header.Set("Content-Encoding", coding)
							if keyed {
								req.Header.Set("X-Sentry-Auth", "Sentry sentry_key="+key+", sentry_version=7")
							}
							resp, err := client.Do(req)
							status := -1
							if err == nil {
								_, _ = io.Copy(io.Discard, resp.Body)
								resp.Body.Close()
								status = resp.StatusCode
							}
							mu.Lock()
							statuses[kind][status]++
							mu.Unlock()
						})
					}
				}
			}
			// Ordinary events while the bombs are in flight.
			bombsDone := make(chan struct{})
			var accepted, sent int
			var normalErr error
			normalDone := make(chan struct{})
			go func() {
				defer close(normalDone)
				for {
					select {
					case <-bombsDone:
						return
					case <-time.After(100 * time.Millisecond):
					}
					resp, err := http.Post(endpoint, "application/x-sentry-envelope", bytes.NewReader(normalEnvelope(dsn, newEventID())))
					sent++
					if err != nil {
						normalErr = err
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						normalErr = fmt.Errorf("an ordinary event during the bombs: %d %s", resp.StatusCode, body)
						return
					}
					accepted++
				}
			}()
			began := time.Now()
			close(start)
			wg.Wait()
			took := time.Since(began)
			close(bombsDone)
			<-normalDone
			peak := procStatus(t, pid, "VmHWM")
			t.Logf("%s: 64 bombs answered in %v: %v; serve RSS idle %d MiB, peak %d MiB; ordinary events accepted %d of %d",
				engine, took.Round(time.Millisecond), statuses, idle>>10, peak>>10, accepted, sent)
			if normalErr != nil {
				t.Error(normalErr)
			}
			if accepted == 0 {
				t.Error("no ordinary event was sent while the bombs were in flight")
			}
			if peak > 600<<10 {
				t.Errorf("peak RSS %d MiB, want under 600 MiB", peak>>10)
			}
			for kind, st := range statuses {
				for status, n := range st {
					switch status {
					case http.StatusRequestEntityTooLarge, http.StatusBadRequest, http.StatusServiceUnavailable:
					default:
						t.Errorf("%s: %d bombs answered %d", kind, n, status)
					}
				}
			}
			// The memory goes back to the system once the burst is over.
			deadline := time.Now().Add(15 * time.Second)
			for {
				rss := procStatus(t, pid, "VmRSS")
				if rss < idle+64<<10 {
					t.Logf("RSS back to %d MiB", rss>>10)
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("RSS still %d MiB 15 s after the burst (idle before: %d MiB)", rss>>10, idle>>10)
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}

// setupProject creates a user, an organization and a project, and returns
// the project's DSN.
func setupProject(t *testing.T, e env) string {
	t.Helper()
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
	return lastLine(out)
}

// dedicatedPostgres starts a PostgreSQL server of the test's own (the test
// freezes it, which must not touch any other test's database) with
// scripts/pg, and returns its URL and the directory it runs in.
func dedicatedPostgres(t *testing.T) (url, dir string) {
	t.Helper()
	pgtest.Require(t)
	// Not under t.TempDir(): the server runs as another OS user, which
	// must reach the directory.
	dir = filepath.Join(os.TempDir(), "triage-frozen-pg-"+newEventID()[:12])
	cmd := exec.Command("bash", "../../scripts/pg", "start")
	cmd.Env = append(os.Environ(), "TRIAGE_PG_DIR="+dir, "TRIAGE_PG_PORT=56432")
	out, err := cmd.Output()
	t.Cleanup(func() {
		stop := exec.Command("bash", "../../scripts/pg", "stop")
		stop.Env = append(os.Environ(), "TRIAGE_PG_DIR="+dir)
		if out, err := stop.CombinedOutput(); err != nil {
			t.Logf("stop the dedicated server: %v\n%s", err, out)
		}
	})
	if err != nil {
		t.Fatalf("start a dedicated PostgreSQL: %v\n%s", err, out)
	}
	line := strings.TrimSpace(string(out))
	url = strings.Trim(line[strings.Index(line, "=")+1:], "'")
	return url, dir
}

// signalServer sends sig to the server in dir and every process it
// started (its backends), the server first when stopping, last when
// continuing, so that it forks none in between.
func signalServer(t *testing.T, dir string, sig syscall.Signal) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	main, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	var children []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces, so read after ')'.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(main) {
			children = append(children, pid)
		}
	}
	order := append([]int{main}, children...)
	if sig == syscall.SIGCONT {
		order = append(children, main)
	}
	for _, pid := range order {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Logf("signal %d: %v", pid, err)
		}
	}
}

// TestFrozenPostgres stops a PostgreSQL server with SIGSTOP (as a network
// partition or a stuck server would look) under a running Triage:
// ingestion, pages and /readyz must answer 503 with Retry-After within
// 10 s; after SIGCONT ingestion must work again within 5 s, and every
// event acknowledged before, during and after must be stored.
func TestFrozenPostgres(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("freezes a database server")
	}
	url, dir := dedicatedPostgres(t)
	e := env{"TRIAGE_DATABASE_URL": url, "TRIAGE_ADDR": freeAddr(t), "TRIAGE_SECRET_KEY": strings.Repeat("k", 40)}
	dsn := setupProject(t, e)
	projectID := dsn[strings.LastIndex(dsn, "/")+1:]
	base := startServe(t, e)
	endpoint := base + "/api/" + projectID + "/envelope/"

	// A logged-in browser.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.PostForm(base+"/auth/login/", neturl.Values{"email": {"ada@acme.test"}, "password": {"correct horse"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %v %v", resp, err)
	}
	resp.Body.Close()

	var ackMu sync.Mutex
	var acked []string
	client := &http.Client{Timeout: 60 * time.Second}
	send := func() (int, string, time.Duration) {
		id := newEventID()
		began := time.Now()
		resp, err := client.Post(endpoint, "application/x-sentry-envelope", bytes.NewReader(normalEnvelope(dsn, id)))
		if err != nil {
			return -1, "", time.Since(began)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			ackMu.Lock()
			acked = append(acked, id)
			ackMu.Unlock()
		}
		return resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(began)
	}
	for range 10 {
		if status, _, _ := send(); status != http.StatusOK {
			t.Fatalf("before the freeze: %d", status)
		}
	}

	signalServer(t, dir, syscall.SIGSTOP)
	frozen := true
	defer func() {
		if frozen {
			signalServer(t, dir, syscall.SIGCONT)
		}
	}()
	get := func(c *http.Client, path string) (int, string, time.Duration) {
		began := time.Now()
		resp, err := c.Get(base + path)
		if err != nil {
			return -1, "", time.Since(began)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(began)
	}
	type answer struct {
		what, retryAfter string
		status           int
		took             time.Duration
	}
	answers := make(chan answer, 8)
	var wg sync.WaitGroup
	wg.Go(func() { s, ra, d := send(); answers <- answer{"envelope", ra, s, d} })
	wg.Go(func() {
		s, ra, d := get(browser, "/organizations/acme/issues/")
		answers <- answer{"issue list", ra, s, d}
	})
	wg.Go(func() { s, ra, d := get(client, "/readyz"); answers <- answer{"/readyz", ra, s, d} })
	wg.Wait()
	close(answers)
	for a := range answers {
		t.Logf("frozen: %s answered %d (Retry-After %q) in %v", a.what, a.status, a.retryAfter, a.took.Round(time.Millisecond))
		if a.status != http.StatusServiceUnavailable || a.retryAfter == "" || a.took > 10*time.Second {
			t.Errorf("frozen database: %s answered %d (Retry-After %q) after %v; want 503 with Retry-After within 10 s",
				a.what, a.status, a.retryAfter, a.took)
		}
	}

	signalServer(t, dir, syscall.SIGCONT)
	frozen = false
	thawed := time.Now()
	for {
		status, _, _ := send()
		if status == http.StatusOK {
			t.Logf("ingestion works again %v after SIGCONT", time.Since(thawed).Round(time.Millisecond))
			break
		}
		if time.Since(thawed) > 30*time.Second {
			t.Fatalf("ingestion still fails 30 s after SIGCONT: %d", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for range 10 {
		if status, _, _ := send(); status != http.StatusOK {
			t.Fatalf("after the freeze: %d", status)
		}
	}
	if status, _, _ := get(browser, "/organizations/acme/issues/"); status != http.StatusOK {
		t.Errorf("issue list after the freeze: %d", status)
	}

	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := map[string]bool{}
	rows, err := db.Query(`SELECT event_id FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored[strings.ReplaceAll(id, "-", "")] = true
	}
	rows.Close()
	for _, id := range acked {
		if !stored[id] {
			t.Errorf("acknowledged event %s was not stored", id)
		}
	}
	t.Logf("%d events acknowledged, %d stored", len(acked), len(stored))
}
