// Package browser gives tests a headless Chromium driven through chromedp.
//
// The binary comes from TRIAGE_TEST_CHROMIUM, else /usr/bin/chromium, else the first
// of chromium, chromium-browser, google-chrome on PATH. Without one, browser tests are
// skipped, except under CI (CI set and not "false"), where they fail. scripts/test installs Debian's
// chromium when it is missing and sets TRIAGE_TEST_CHROMIUM.
package browser

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"triage/internal/testutil/ci"
)

// EnvChromium names the environment variable that holds the Chromium binary's path.
const EnvChromium = "TRIAGE_TEST_CHROMIUM"

// DefaultTimeout bounds everything a test does with the browser from New.
const DefaultTimeout = 60 * time.Second

// Binary returns the Chromium binary to use, or "" when there is none.
func Binary() string {
	if p := os.Getenv(EnvChromium); p != "" {
		return p
	}
	if st, err := os.Stat("/usr/bin/chromium"); err == nil && !st.IsDir() {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Available reports whether a Chromium binary was found.
func Available() bool { return Binary() != "" }

// Require skips the test (fails it under CI, see package ci) when there is no Chromium.
func Require(t testing.TB) string {
	t.Helper()
	bin := Binary()
	if bin != "" {
		return bin
	}
	if ci.Enabled() {
		t.Fatalf("browser: no Chromium under CI (set %s or install chromium; scripts/test does)", EnvChromium)
	}
	t.Skipf("browser: no Chromium found (set %s or install chromium); run scripts/test", EnvChromium)
	return ""
}

// New starts a headless Chromium with a fresh profile and returns a chromedp context
// for one tab in it, bounded by DefaultTimeout. The browser is stopped and its
// profile removed when the test finishes.
func New(t testing.TB) context.Context {
	t.Helper()
	return NewTimeout(t, DefaultTimeout)
}

// NewTimeout is New with another timeout.
func NewTimeout(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	bin := Require(t)
	profile, err := os.MkdirTemp("", "triage-chromium-")
	if err != nil {
		t.Fatalf("browser: %v", err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(1280, 800),
	}

	// chromedp logs from its own goroutines; t.Logf must not be called once the test
	// has finished, so logging stops when cleanup starts.
	var mu sync.Mutex
	done := false
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			t.Logf("chromedp: "+format, args...)
		}
	}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	timeoutCtx, cancelTimeout := context.WithTimeout(allocCtx, timeout)
	ctx, cancelTab := chromedp.NewContext(timeoutCtx, chromedp.WithErrorf(logf))
	t.Cleanup(func() {
		mu.Lock()
		done = true
		mu.Unlock()
		cancelTab()
		cancelTimeout()
		cancelAlloc() // waits for the browser process to exit
		os.RemoveAll(profile)
	})

	// Start the browser now, so a broken Chromium fails here with a clear message.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browser: start %s: %v", bin, err)
	}
	return ctx
}
