package ingest

import (
	"fmt"
	"strings"
	"testing"
)

// fr builds an in-app (or not) frame.
func fr(module, function string, line int, inApp bool) Frame {
	return Frame{Module: module, Function: function, Lineno: line, InApp: &inApp}
}

func exc(typ, value string, frames ...Frame) Exception {
	return Exception{Type: typ, Value: value, Frames: frames}
}

func excEvent(excs ...Exception) *Event { return &Event{Level: LevelError, Exceptions: excs} }

func TestGroupingHash(t *testing.T) {
	t.Parallel()
	appStack := func(line int) []Frame {
		return []Frame{
			fr("runtime", "goexit", 1, false),
			fr("main", "main", 10+line, true),
			fr("shop/billing", "Charge", 20+line, true),
			fr("net/http", "(*Client).Do", 30+line, false),
		}
	}
	base := excEvent(exc("*fmt.wrapError", "charge order 1001: card declined", appStack(0)...))
	tests := []struct {
		name string
		a, b *Event
		same bool
	}{
		{
			name: "same error, other lines and values",
			a:    base,
			b:    excEvent(exc("*fmt.wrapError", "charge order 77: card declined", appStack(5)...)),
			same: true,
		},
		{
			name: "other thrown type",
			a:    base,
			b:    excEvent(exc("*url.Error", "charge order 1001: card declined", appStack(0)...)),
		},
		{
			name: "other in-app function",
			a:    base,
			b: excEvent(exc("*fmt.wrapError", "charge order 1001: card declined",
				fr("main", "main", 10, true), fr("shop/billing", "Refund", 20, true))),
		},
		{
			name: "other in-app module",
			a:    base,
			b: excEvent(exc("*fmt.wrapError", "x",
				fr("main", "main", 10, true), fr("shop/payments", "Charge", 20, true), fr("net/http", "(*Client).Do", 30, false))),
		},
		{
			name: "library frames differ, in-app frames the same",
			a:    base,
			b: excEvent(exc("*fmt.wrapError", "x",
				fr("main", "main", 1, true), fr("shop/billing", "Charge", 2, true), fr("net/http", "send", 3, false), fr("crypto/tls", "Dial", 4, false))),
			same: true,
		},
		{
			name: "recursion collapsed",
			a:    excEvent(exc("RecursionError", "", fr("m", "walk", 1, true), fr("m", "visit", 2, true), fr("m", "done", 3, true))),
			b: excEvent(exc("RecursionError", "",
				fr("m", "walk", 1, true), fr("m", "visit", 2, true), fr("m", "visit", 2, true), fr("m", "visit", 5, true), fr("m", "done", 3, true))),
			same: true,
		},
		{
			name: "recursion is collapsed, not reordered",
			a:    excEvent(exc("E", "", fr("m", "a", 1, true), fr("m", "b", 2, true), fr("m", "a", 3, true))),
			b:    excEvent(exc("E", "", fr("m", "a", 1, true), fr("m", "b", 2, true))),
		},
		{
			name: "no in-app frames: all frames count",
			a:    excEvent(exc("E", "v", fr("lib", "f", 1, false), fr("lib", "g", 2, false))),
			b:    excEvent(exc("E", "v", fr("lib", "f", 9, false), fr("lib", "h", 2, false))),
		},
		{
			name: "no in-app frames, same frames other lines",
			a:    excEvent(exc("E", "a", fr("lib", "f", 1, false), fr("lib", "g", 2, false))),
			b:    excEvent(exc("E", "b", fr("lib", "f", 9, false), fr("lib", "g", 7, false))),
			same: true,
		},
		{
			name: "in_app unset counts as not in-app",
			a:    excEvent(exc("E", "", Frame{Module: "a", Function: "f"}, fr("b", "g", 1, true))),
			b:    excEvent(exc("E", "", Frame{Module: "z", Function: "f"}, fr("b", "g", 1, true))),
			same: true,
		},
		{
			name: "frames without module group by filename, cache busters and bundle hashes masked",
			a:    excEvent(exc("TypeError", "x is undefined", Frame{Filename: "https://cdn.example.com/app.3f2a1c9b.js?v=12", Function: "render", Lineno: 1, InApp: ptr(true)})),
			b:    excEvent(exc("TypeError", "y is undefined", Frame{Filename: "https://cdn.example.com/app.77aa88bb.js", Function: "render", Lineno: 9, InApp: ptr(true)})),
			same: true,
		},
		{
			name: "without frames: value with variable parts masked",
			a:    excEvent(exc("NotFound", "user 42 (ada@example.com) not found at 2026-03-14T10:00:00Z")),
			b:    excEvent(exc("NotFound", "user 7 (bob@example.org) not found at 2025-01-01T23:59:59Z")),
			same: true,
		},
		{
			name: "without frames: other words",
			a:    excEvent(exc("NotFound", "user 42 not found")),
			b:    excEvent(exc("NotFound", "order 42 not found")),
		},
		{
			name: "every exception of the chain counts, causes too",
			a:    excEvent(exc("*errors.errorString", "card declined"), exc("*fmt.wrapError", "charge: card declined", appStack(0)...)),
			b:    excEvent(exc("*net.OpError", "dial tcp"), exc("*fmt.wrapError", "charge: dial tcp", appStack(3)...)),
			same: false,
		},
		{
			name: "the stack may hang on a cause",
			a:    excEvent(exc("Inner", "x", appStack(0)...), exc("Outer", "wrapped 1")),
			b:    excEvent(exc("Inner", "y", appStack(2)...), exc("Outer", "wrapped 2")),
			same: true,
		},
		{
			name: "message template beats parameters",
			a:    &Event{Message: "user ada not found", MessageTemplate: "user %s not found"},
			b:    &Event{Message: "user bob not found", MessageTemplate: "user %s not found"},
			same: true,
		},
		{
			name: "different templates",
			a:    &Event{Message: "user ada not found", MessageTemplate: "user %s not found"},
			b:    &Event{Message: "user ada not found", MessageTemplate: "user %s not found!"},
		},
		{
			name: "plain messages masked",
			a:    &Event{Message: "payment provider slow: 2300ms for order 1001"},
			b:    &Event{Message: "payment provider slow: 18450ms for order 73105"},
			same: true,
		},
		{
			name: "plain messages differ",
			a:    &Event{Message: "payment provider slow"},
			b:    &Event{Message: "payment provider down"},
		},
		{
			name: "message and exception with the same text",
			a:    &Event{Message: "boom"},
			b:    excEvent(exc("", "boom")),
		},
		{
			name: "level, release, tags and user do not count",
			a:    &Event{Message: "x", Level: LevelError, Release: "1", Tags: []Tag{{"a", "b"}}, User: &User{ID: "1"}},
			b:    &Event{Message: "x", Level: LevelWarning, Release: "2", Environment: "prod"},
			same: true,
		},
		{
			name: "empty events",
			a:    &Event{},
			b:    &Event{Level: LevelInfo, Platform: "go"},
			same: true,
		},
		{
			name: "fingerprint wins",
			a:    &Event{Message: "a", Fingerprint: []string{"payments", "timeout"}},
			b:    excEvent(exc("E", "b", appStack(0)...)),
			same: false,
		},
		{
			name: "same fingerprint, different errors",
			a:    &Event{Message: "a", Fingerprint: []string{"payments", "timeout"}},
			b:    &Event{Exceptions: []Exception{exc("E", "b", appStack(0)...)}, Fingerprint: []string{"payments", "timeout"}},
			same: true,
		},
		{
			name: "fingerprint order matters",
			a:    &Event{Fingerprint: []string{"a", "b"}},
			b:    &Event{Fingerprint: []string{"b", "a"}},
		},
		{
			name: "fingerprint entries are not concatenated",
			a:    &Event{Fingerprint: []string{"ab", "c"}},
			b:    &Event{Fingerprint: []string{"a", "bc"}},
		},
		{
			name: "{{ default }} alone is the default",
			a:    &Event{Exceptions: base.Exceptions, Fingerprint: []string{"{{ default }}"}},
			b:    base,
			same: true,
		},
		{
			name: "{{default}} without spaces",
			a:    &Event{Exceptions: base.Exceptions, Fingerprint: []string{"{{default}}"}},
			b:    base,
			same: true,
		},
		{
			name: "{{ default }} plus more splits the default group",
			a:    &Event{Exceptions: base.Exceptions, Fingerprint: []string{"{{ default }}", "eu"}},
			b:    base,
		},
		{
			name: "{{ default }} plus more, same default",
			a:    &Event{Exceptions: base.Exceptions, Fingerprint: []string{"{{ default }}", "eu"}},
			b:    &Event{Exceptions: []Exception{exc("*fmt.wrapError", "other value", appStack(9)...)}, Fingerprint: []string{" {{ DEFAULT }} ", "eu"}},
			same: true,
		},
		{
			name: "a literal fingerprint never equals a default",
			a:    &Event{Fingerprint: []string{"message:x"}},
			b:    &Event{Message: "x"},
		},
		{
			name: "{{ transaction }}",
			a:    &Event{Message: "a", Transaction: "GET /a", Fingerprint: []string{"{{ transaction }}"}},
			b:    &Event{Message: "b", Transaction: "GET /a", Fingerprint: []string{"{{ transaction }}"}},
			same: true,
		},
		{
			name: "{{ tags.region }}",
			a:    &Event{Tags: []Tag{{"region", "eu"}}, Fingerprint: []string{"{{ tags.region }}"}},
			b:    &Event{Tags: []Tag{{"region", "us"}}, Fingerprint: []string{"{{ tags.region }}"}},
		},
		{
			name: "unknown variables are literals",
			a:    &Event{Message: "a", Fingerprint: []string{"{{ nope }}"}},
			b:    &Event{Message: "b", Fingerprint: []string{"{{ nope }}"}},
			same: true,
		},
	}
	for _, tt := range tests {
		ha, hb := tt.a.GroupingHash(), tt.b.GroupingHash()
		if !hex32.MatchString(ha) {
			t.Errorf("%s: hash %q is not 32 hex digits", tt.name, ha)
		}
		if (ha == hb) != tt.same {
			t.Errorf("%s: same group = %v, want %v\n a: %q\n b: %q", tt.name, ha == hb, tt.same,
				tt.a.defaultComponents(), tt.b.defaultComponents())
		}
		if again := tt.a.GroupingHash(); again != ha {
			t.Errorf("%s: hash not stable: %s then %s", tt.name, ha, again)
		}
	}
}

// TestGroupingHashStable pins hashes: if it fails, grouping changed and every
// stored issue would split. Change it only with a migration.
func TestGroupingHashStable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ev   *Event
		want string
	}{
		{&Event{}, "3a6b76f7ed7d8304999a67c1cd60f76c"},
		{&Event{Message: "hello 42"}, "e08302e52c51cb76a8bc2c0981fdcf1f"},
		{excEvent(exc("E", "v", fr("m", "f", 1, true))), "753b06f97254247fc4df2cfb4400f6d4"},
	}
	for _, tt := range tests {
		if got := tt.ev.GroupingHashV1(); got != tt.want {
			t.Errorf("GroupingHashV1(%q) = %s, want %s", tt.ev.defaultComponents(), got, tt.want)
		}
	}
}

func TestMaskVariables(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"no variables here", "no variables here"},
		{"user 42 not found", "user <num> not found"},
		{"took 1.5s, limit 250ms", "took <num>, limit <num>"},
		{"ratio 0.75 of 3", "ratio <num> of <num>"},
		{"utf8 and sha256 stay", "utf8 and sha256 stay"},
		{"order_123 stays", "order_123 stays"},
		{"id 550e8400-e29b-41d4-a716-446655440000 gone", "id <uuid> gone"},
		{"id 550E8400-E29B-41D4-A716-446655440000", "id <uuid>"},
		{"object 5f1d7a3b9c2e4f60 missing", "object <hex> missing"},
		{"pointer 0xc000123456", "pointer <hex>"},
		{"deadbeefcafe is a word", "deadbeefcafe is a word"},
		{"mail ada.lovelace+x@example.co.uk bounced", "mail <email> bounced"},
		{"GET https://api.example.com/v1/users/42?x=1 failed", "GET <url> failed"},
		{`Get "http://10.0.0.1:8080/health": EOF`, `Get "<url>": EOF`},
		{"dial tcp 10.0.0.12:5432: connect: connection refused", "dial tcp <ip>: connect: connection refused"},
		{"read tcp 127.0.0.1:34567->127.0.0.1:5432: i/o timeout", "read tcp <ip>-><ip>: i/o timeout"},
		{"from 2001:db8::8a2e:370:7334 and fe80::1ff:fe23:4567:890a", "from <ip> and <ip>"},
		{"at 2026-03-14T15:09:26.535Z", "at <date>"},
		{"at 2026-03-14 15:09:26+01:00 and 2026-03-15", "at <date> and <date>"},
		{"at 15:09:26 today", "at <time> today"},
		{"index out of range [5] with length 3", "index out of range [<num>] with length <num>"},
		{`strconv.Atoi: parsing "12x": invalid syntax`, `strconv.Atoi: parsing "<num>": invalid syntax`},
		{"std::io::Error and Abc::Def", "std::io::Error and Abc::Def"},
		{"Abc::Def has 2 ::1 dead:beef:cafe", "Abc::Def has <num> ::<num> dead:beef:cafe"},
		{"user=42&page=3", "user=<num>&page=<num>"},
		{"v1.2.3 and 0.0A0 and 404NotFound", "v1.<num> and <num>.0A0 and 404NotFound"},
		{"2026-03-140 is no date", "<num>-<num>-<num> is no date"},
		{"x@.com 1 a@b", "x@.com <num> a@b"},
		{"ts 1773500000.123456 ok", "ts <num> ok"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := maskVariables(tt.in); got != tt.want {
			t.Errorf("maskVariables(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestTitle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   *Event
		want string
	}{
		{"type and value", excEvent(exc("ValueError", "bad input")), "ValueError: bad input"},
		{"thrown is last", excEvent(exc("Cause", "c"), exc("*fmt.wrapError", "load: c")), "*fmt.wrapError: load: c"},
		{"first line of value", excEvent(exc("E", "\n  line one\nline two")), "E: line one"},
		{"type only", excEvent(exc("KeyboardInterrupt", "")), "KeyboardInterrupt"},
		{"value only", excEvent(exc("", "something broke")), "Error: something broke"},
		{"synthetic type left out", excEvent(Exception{Type: "SIGSEGV", Value: "Segfault", Synthetic: true}), "Segfault"},
		{"message cut at 100", &Event{Message: strings.Repeat("y", 150)}, strings.Repeat("y", 97) + "..."},
		{"message", &Event{Message: "disk full\nmore detail"}, "disk full"},
		{"exception beats message", &Event{Message: "m", Exceptions: []Exception{exc("E", "v")}}, "E: v"},
		{"template when no message", &Event{MessageTemplate: "user %s"}, "user %s"},
		{"unlabeled", &Event{}, "<unlabeled event>"},
		{"truncated", excEvent(exc("E", strings.Repeat("x", 500))), "E: " + strings.Repeat("x", 97) + "..."},
	}
	for _, tt := range tests {
		if got := tt.ev.Title(); got != tt.want {
			t.Errorf("%s: Title() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCulprit(t *testing.T) {
	t.Parallel()
	stack := []Frame{fr("main", "main", 1, true), fr("shop/billing", "Charge", 2, true), fr("net/http", "Do", 3, false)}
	tests := []struct {
		name string
		ev   *Event
		want string
	}{
		{"transaction wins", &Event{Transaction: "GET /orders/{id}", Exceptions: []Exception{exc("E", "", stack...)}}, "GET /orders/{id}"},
		{"newest in-app frame", excEvent(exc("E", "", stack...)), "shop/billing in Charge"},
		{"filename without module", excEvent(exc("E", "", Frame{Filename: "app/views.py", Function: "show", InApp: ptr(true)})), "app/views.py in show"},
		{"no in-app frame: newest frame", excEvent(exc("E", "", fr("lib", "a", 1, false), fr("lib", "b", 2, false))), "lib in b"},
		{"function only", excEvent(exc("E", "", Frame{Function: "anonymous"})), ""},
		{"module only", excEvent(exc("E", "", Frame{Module: "m"})), "m in ?"},
		{"sent culprit wins", &Event{SentCulprit: "Mod.fun/0", Transaction: "t"}, "Mod.fun/0"},
		{"javascript: function(path)", &Event{Platform: "javascript", Exceptions: []Exception{exc("E", "", Frame{Filename: "http://h:8080/dist/bundle.js?v=2", Function: "?", InApp: ptr(true)})}}, "?(/dist/bundle.js?v=2)"},
		{"native: function", &Event{Platform: "native", Stacktrace: []Frame{{Function: "crash", Filename: "a.c"}}}, "crash"},
		{"top-level stack", &Event{Message: "m", Stacktrace: stack}, "shop/billing in Charge"},
		{"request URL last", &Event{Message: "m", RequestURL: "http://x/y"}, "http://x/y"},
		{"stack on a cause", excEvent(exc("C", "", stack...), exc("E", "")), "shop/billing in Charge"},
		{"no frames", excEvent(exc("E", "v")), ""},
		{"message", &Event{Message: "m"}, ""},
	}
	for _, tt := range tests {
		if got := tt.ev.Culprit(); got != tt.want {
			t.Errorf("%s: Culprit() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// BenchmarkMaskVariablesAdversarial feeds inputs on which a naive scanner
// goes quadratic (every word start would rescan the rest of the string): the
// time per input byte (ns/B) stays flat from 64 KiB to 512 KiB while the scan
// is linear, and grows with the size if a change makes it quadratic (about 8 s
// for 64 KiB then, 1 ms now).
//
//	scripts/test -run '^$' -bench MaskVariablesAdversarial ./internal/ingest/
func BenchmarkMaskVariablesAdversarial(b *testing.B) {
	for _, unit := range []string{"a.", "a-", "a+b.", "1.", "a:", "0:", "a@b", "a@b.", "1:1.", "x://y ", "a.b@"} {
		for _, size := range []int{64 << 10, 512 << 10} {
			s := strings.Repeat(unit, size/len(unit)) + "1"
			b.Run(fmt.Sprintf("%q/%dKiB", unit, size>>10), func(b *testing.B) {
				for b.Loop() {
					_ = maskVariables(s)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(s)), "ns/B")
			})
		}
	}
}
