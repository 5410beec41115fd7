package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"triage/internal/testutil/dbtest"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address 127.0.0.n, so that one test can play several client addresses.
func clientFrom(n byte) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, n)}, Timeout: 10 * time.Second}
	return &http.Client{
		Timeout:       60 * time.Second,
		Transport:     &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func postLogin(c *http.Client, base, email, password string) (int, string, error) {
	resp, err := c.PostForm(base+"/auth/login/", neturl.Values{"email": {email}, "password": {password}})
	if err != nil {
		return 0, "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// TestLoginThrottling guesses one account's password 30 times in a row,
// then floods the login form from 32 addresses while another user logs in.
func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			e := env{"TRIAGE_DATABASE_URL": dbtest.URL(t, engine), "TRIAGE_ADDR": freeAddr(t), "TRIAGE_SECRET_KEY": strings.Repeat("k", 40),
				// On a machine loaded by other work a password check alone
				// can take seconds: the test compares times, so the request
				// deadline must not cut them off.
				"TRIAGE_REQUEST_TIMEOUT": "60s"}
			for _, args := range [][]string{
				{"user", "create", "--email", "ada@acme.test", "--password", "correct horse"},
				{"user", "create", "--email", "bob@acme.test", "--password", "battery staple"},
				{"org", "create", "--slug", "acme", "--owner", "ada@acme.test"},
				{"member", "add", "--org", "acme", "--email", "bob@acme.test"},
			} {
				if _, _, err := triageCmd(t, e, args...); err != nil {
					t.Fatal(err)
				}
			}
			base := startServe(t, e)

			// 30 wrong passwords in a row from one address.
			guesser := clientFrom(2)
			var last int
			var retryAfter string
			for i := 1; i <= 30; i++ {
				status, ra, err := postLogin(guesser, base, "ada@acme.test", fmt.Sprintf("guess %d", i))
				if err != nil {
					t.Fatal(err)
				}
				last, retryAfter = status, ra
			}
			if last != http.StatusTooManyRequests || retryAfter == "" {
				t.Fatalf("the 30th wrong password answered %d (Retry-After %q), want 429 with Retry-After", last, retryAfter)
			}
			// Not a lockout: once the wait is over the owner logs in.
			deadline := time.Now().Add(10 * time.Second)
			for {
				status, _, err := postLogin(clientFrom(3), base, "ada@acme.test", "correct horse")
				if err != nil {
					t.Fatal(err)
				}
				if status == http.StatusSeeOther {
					break
				}
				if status != http.StatusTooManyRequests || time.Now().After(deadline) {
					t.Fatalf("the owner's correct password answered %d", status)
				}
				time.Sleep(200 * time.Millisecond)
			}

			// How long a correct login takes on this machine, as loaded as
			// it is now, without a flood.
			bob := clientFrom(200)
			login := func(what string) time.Duration {
				t.Helper()
				var took []time.Duration
				for range 3 {
					began := time.Now()
					status, _, err := postLogin(bob, base, "bob@acme.test", "battery staple")
					if err != nil {
						t.Fatal(err)
					}
					if status != http.StatusSeeOther {
						t.Fatalf("bob's correct login %s answered %d", what, status)
					}
					took = append(took, time.Since(began))
				}
				slices.Sort(took)
				t.Logf("bob's logins %s: %v", what, took)
				return took[1]
			}
			quiet := login("without a flood")

			// 32 clients, each from its own address, post wrong passwords
			// (for ada and for unknown emails) while bob logs in.
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var failures atomic.Int64
			for i := range 32 {
				c := clientFrom(byte(10 + i))
				wg.Go(func() {
					for n := 0; ctx.Err() == nil; n++ {
						email := "ada@acme.test"
						if i%2 == 1 {
							email = fmt.Sprintf("nobody%d-%d@acme.test", i, n)
						}
						if status, _, err := postLogin(c, base, email, "wrong"); err == nil && status == http.StatusOK {
							failures.Add(1)
						}
					}
				})
			}
			defer func() { stop(); wg.Wait() }()
			// Wait until the flood is checking passwords.
			for failures.Load() < 32 {
				time.Sleep(20 * time.Millisecond)
			}
			flooded := login("during the flood")
			// The bound is 1 s on an idle machine; on a loaded one a
			// password check alone may take longer, so the bound grows
			// with what a login takes here without a flood. Without the
			// slots kept for clean checks, bob would queue behind 32
			// others: eight checks' time. With them he shares the CPU with
			// one flood check.
			if bound := max(time.Second, 4*quiet); flooded > bound {
				t.Errorf("bob's correct login took %v (median) during the flood, want under %v (1 s, or 4× the %v it takes without)", flooded, bound, quiet)
			}
			t.Logf("wrong passwords checked during the flood: %d", failures.Load())
		})
	}
}
