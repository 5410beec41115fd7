package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The fixtures in testdata/sdk are envelopes the real sentry-go SDK sent,
// captured by testdata/sentrygen: v1_* from one version of a small shop
// program, v2_* from a later version of it (other line numbers, other
// values, the same functions).

func loadFixture(t testing.TB, name string) (*Envelope, *Event) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "sdk", name+".envelope"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := ParseEnvelope(body)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	// Received when sent, so the fixtures' timestamps are never clamped.
	events, err := env.Events(env.Header.SentAt)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(events) != 1 {
		t.Fatalf("%s: %d events, want 1", name, len(events))
	}
	return env, events[0]
}

func TestSDKFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, title, culprit, level, release, message string
	}{
		{"v1_checkout_1", "*fmt.wrapError: charge order 1001 (ada@example.com): card declined", "main in checkout", LevelError, "shop@1.4.2", ""},
		{"v1_checkout_2", "*fmt.wrapError: charge order 1002 (bob@example.org): card declined", "main in checkout", LevelError, "shop@1.4.2", ""},
		{"v1_billing", "*fmt.wrapError: charge order 2001 (eve@example.net): card declined", "main in nightlyBilling", LevelError, "shop@1.4.2", ""},
		{"v1_quantity", `*strconv.NumError: strconv.Atoi: parsing "12x": invalid syntax`, "main in parseQuantity", LevelError, "shop@1.4.2", ""},
		{"v1_panic", "runtime.boundsError: runtime error: index out of range [5] with length 3", "main in func1", LevelFatal, "shop@1.4.2", ""},
		{"v1_latency", "payment provider slow: 2300ms for order 1001", "main in reportLatency", LevelInfo, "shop@1.4.2", "payment provider slow: 2300ms for order 1001"},
		{"v2_checkout_1", "*fmt.wrapError: charge order 73105 (zoe@example.com): card declined", "main in checkout", LevelError, "shop@1.5.0", ""},
		{"v2_billing", "*fmt.wrapError: charge order 89 (kim@example.com): card declined", "main in nightlyBilling", LevelError, "shop@1.5.0", ""},
		{"v2_quantity", `*strconv.NumError: strconv.Atoi: parsing "three": invalid syntax`, "main in parseQuantity", LevelError, "shop@1.5.0", ""},
		{"v2_panic", "runtime.boundsError: runtime error: index out of range [7] with length 2", "main in func1", LevelFatal, "shop@1.5.0", ""},
		{"v2_latency", "payment provider slow: 18450ms for order 73105", "main in reportLatency", LevelInfo, "shop@1.5.0", "payment provider slow: 18450ms for order 73105"},
	}
	for _, tt := range tests {
		env, ev := loadFixture(t, tt.name)
		if got := ev.Title(); got != tt.title {
			t.Errorf("%s: Title() = %q, want %q", tt.name, got, tt.title)
		}
		if got := ev.Culprit(); got != tt.culprit {
			t.Errorf("%s: Culprit() = %q, want %q", tt.name, got, tt.culprit)
		}
		if ev.Level != tt.level || ev.Release != tt.release || ev.Message != tt.message {
			t.Errorf("%s: level %q release %q message %q", tt.name, ev.Level, ev.Release, ev.Message)
		}
		if ev.EventID != env.Header.EventID || !hex32.MatchString(ev.EventID) {
			t.Errorf("%s: EventID %q, header %q", tt.name, ev.EventID, env.Header.EventID)
		}
		if d := env.Header.SentAt.Sub(ev.Timestamp); d < 0 || d > time.Second {
			t.Errorf("%s: timestamp %v, sent at %v", tt.name, ev.Timestamp, env.Header.SentAt)
		}
		if ev.Platform != "go" || ev.Environment != "production" || ev.ServerName != "web-1" ||
			ev.SDK.Name != "sentry.go" || ev.SDK.Version == "" {
			t.Errorf("%s: platform %q environment %q server %q sdk %+v", tt.name, ev.Platform, ev.Environment, ev.ServerName, ev.SDK)
		}
		if ev.User == nil || ev.User.ID != "42" || ev.User.Email != "ada@example.com" {
			t.Errorf("%s: user %+v", tt.name, ev.User)
		}
		if len(ev.Tags) != 1 || ev.Tags[0] != (Tag{"region", "eu-west-1"}) {
			t.Errorf("%s: tags %+v", tt.name, ev.Tags)
		}
		if !strings.Contains(string(ev.Contexts), `"runtime"`) || len(ev.Raw) < 1000 {
			t.Errorf("%s: contexts %s, raw %d bytes", tt.name, ev.Contexts, len(ev.Raw))
		}
		for _, ex := range ev.Exceptions {
			for _, f := range ex.Frames {
				if f.Module != "main" || f.Function == "" || f.Lineno == 0 || !f.IsInApp() || f.ContextLine == "" {
					t.Errorf("%s: frame %+v", tt.name, f)
				}
			}
		}
	}
}

func TestSDKFixturesGrouping(t *testing.T) {
	t.Parallel()
	// Each line is one issue: the fixtures on it must share a hash, and no
	// two lines may.
	groups := [][]string{
		{"v1_checkout_1", "v1_checkout_2", "v2_checkout_1"}, // same site: twice in one run, and after a deploy
		{"v1_billing", "v2_billing"},                        // the same error from another call site
		{"v1_quantity", "v2_quantity"},
		{"v1_panic", "v2_panic"},
		{"v1_latency", "v2_latency"},
	}
	seen := map[string]int{}
	for i, group := range groups {
		var first string
		for _, name := range group {
			_, ev := loadFixture(t, name)
			h := ev.GroupingHash()
			if first == "" {
				first = h
				if j, dup := seen[h]; dup {
					t.Errorf("%s groups with line %d (%v)", name, j, groups[j])
				}
				seen[h] = i
			} else if h != first {
				t.Errorf("%s: hash %s, want %s like %s", name, h, first, group[0])
			}
		}
	}
}
