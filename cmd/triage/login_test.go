package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
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

			// 32 clients, each from its own address, post wrong passwords
			// (for ada and for unknown emails) while bob logs in. Whether
			// bob's check keeps its room beside the flood is proven without
			// clocks in internal/web (TestLoginSlotsKeepRoomForCleanChecks);
			// here a real server must let him in while the flood goes on.
			bob := clientFrom(200)
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
			var took []time.Duration
			for range 3 {
				before := failures.Load()
				began := time.Now()
				status, _, err := postLogin(bob, base, "bob@acme.test", "battery staple")
				if err != nil {
					t.Fatal(err)
				}
				if status != http.StatusSeeOther {
					t.Fatalf("bob's correct login during the flood answered %d, want 303 (logged in)", status)
				}
				took = append(took, time.Since(began))
				// The flood was still checking passwords while bob got in.
				for wait := time.Now().Add(time.Minute); failures.Load() == before; {
					if time.Now().After(wait) {
						t.Fatal("the flood stopped checking passwords")
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			t.Logf("bob's logins during the flood took %v", took)
			t.Logf("wrong passwords checked during the flood: %d", failures.Load())
		})
	}
}
