package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var fixedNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func mustNormalize(t testing.TB, payload string) *Event {
	t.Helper()
	ev, err := Normalize([]byte(payload), NormalizeOptions{Received: fixedNow})
	if err != nil {
		t.Fatalf("Normalize(%s): %v", payload, err)
	}
	return ev
}

func TestNormalizeFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload string
		want    Event
	}{
		{name: "empty object", payload: `{}`, want: Event{Level: LevelError}},
		{
			name: "scalars",
			payload: `{"level":"warn","platform":"python","release":"web@2.0.1","environment":"staging",
				"server_name":"db-3","transaction":"GET /users/{id}","sdk":{"name":"sentry.python","version":"2.19.0"}}`,
			want: Event{Level: LevelWarning, Platform: "python", Release: "web@2.0.1", Environment: "staging",
				ServerName: "db-3", Transaction: "GET /users/{id}", SDK: SDK{Name: "sentry.python", Version: "2.19.0"}},
		},
		{
			name:    "message string",
			payload: `{"message":"disk full on /dev/sda1"}`,
			want:    Event{Level: LevelError, Message: "disk full on /dev/sda1"},
		},
		{
			name:    "logentry formatted wins",
			payload: `{"message":"ignored","logentry":{"message":"user %s not found","params":["ada"],"formatted":"user ada not found"}}`,
			want:    Event{Level: LevelError, Message: "user ada not found", MessageTemplate: "user %s not found"},
		},
		{
			name:    "logentry formatted from params",
			payload: `{"logentry":{"message":"user %s has %d items (%.2f%%)","params":["ada",3,12.5]}}`,
			want:    Event{Level: LevelError, Message: "user ada has 3 items (12.5%)", MessageTemplate: "user %s has %d items (%.2f%%)"},
		},
		{
			name:    "logentry named params",
			payload: `{"logentry":{"message":"%(user)s bought %(n)d","params":{"user":"bob","n":2}}}`,
			want:    Event{Level: LevelError, Message: "bob bought 2", MessageTemplate: "%(user)s bought %(n)d"},
		},
		{
			name:    "message object",
			payload: `{"message":{"message":"retry {} of {}","params":[1,5]}}`,
			want:    Event{Level: LevelError, Message: "retry 1 of 5", MessageTemplate: "retry {} of {}"},
		},
		{
			name:    "legacy message interface",
			payload: `{"sentry.interfaces.Message":{"message":"x=%s","params":["1"]}}`,
			want:    Event{Level: LevelError, Message: "x=1", MessageTemplate: "x=%s"},
		},
		{
			name: "exception values",
			payload: `{"exception":{"values":[{"type":"KeyError","value":"'id'","module":"builtins",
				"mechanism":{"type":"django","handled":false},
				"stacktrace":{"frames":[{"module":"app.views","function":"show","filename":"app/views.py",
				"abs_path":"/srv/app/views.py","lineno":12,"colno":4,"in_app":true,
				"pre_context":["a","b","c","d","e","f"],"context_line":"x = d['id']","post_context":["g","h","i","j","k","l"]}]}}]}}`,
			want: Event{Level: LevelError, Exceptions: []Exception{{
				Type: "KeyError", Value: "'id'", Module: "builtins", Mechanism: "django", Handled: ptr(false),
				Frames: []Frame{{Module: "app.views", Function: "show", Filename: "app/views.py", AbsPath: "/srv/app/views.py",
					Lineno: 12, Colno: 4, InApp: ptr(true), ContextLine: "x = d['id']",
					PreContext: []string{"b", "c", "d", "e", "f"}, PostContext: []string{"g", "h", "i", "j", "k"}}},
			}}},
		},
		{
			name: "exception bare list, empty entries dropped",
			payload: `{"exception":[null,{},{"type":"*errors.errorString","value":"boom"},
				{"type":"*fmt.wrapError","value":"load: boom","stacktrace":{"frames":[{},{"function":"main","module":"main"}]}}]}`,
			want: Event{Level: LevelError, Exceptions: []Exception{
				{Type: "*errors.errorString", Value: "boom"},
				{Type: "*fmt.wrapError", Value: "load: boom", Frames: []Frame{{Module: "main", Function: "main"}}},
			}},
		},
		{
			name:    "legacy exception interface",
			payload: `{"sentry.interfaces.Exception":{"values":[{"type":"E","value":"v"}]}}`,
			want:    Event{Level: LevelError, Exceptions: []Exception{{Type: "E", Value: "v"}}},
		},
		{
			name:    "tags object sorted",
			payload: `{"tags":{"b":"2","a":"1","n":3,"t":true,"gone":null,"":"x"}}`,
			want:    Event{Level: LevelError, Tags: []Tag{{"a", "1"}, {"b", "2"}, {"n", "3"}, {"t", "true"}}},
		},
		{
			name:    "tags pairs, last repeat wins",
			payload: `{"tags":[["os","linux"],["os","darwin"],["build",42],["bad"],null,[" ","x"],["lang","go","extra"]]}`,
			want:    Event{Level: LevelError, Tags: []Tag{{"build", "42"}, {"lang", "go"}, {"os", "darwin"}}},
		},
		{
			name:    "user with numeric id",
			payload: `{"user":{"id":12345,"email":"ada@example.com","username":"ada","ip_address":"10.1.2.3","data":{"x":1}}}`,
			want:    Event{Level: LevelError, User: &User{ID: "12345", Email: "ada@example.com", Username: "ada", IPAddress: "10.1.2.3"}},
		},
		{
			name:    "empty user dropped",
			payload: `{"user":{"data":{}}}`,
			want:    Event{Level: LevelError},
		},
		{
			name:    "contexts kept raw",
			payload: `{"contexts":{"os":{"name":"linux"},"runtime":{"name":"go"}}}`,
			want:    Event{Level: LevelError, Contexts: json.RawMessage(`{"os":{"name":"linux"},"runtime":{"name":"go"}}`)},
		},
		{
			name:    "fingerprint list of scalars",
			payload: `{"fingerprint":["{{ default }}",404,"db"]}`,
			want:    Event{Level: LevelError, Fingerprint: []string{"{{ default }}", "404", "db"}},
		},
		{
			name:    "fingerprint single string",
			payload: `{"fingerprint":"payments"}`,
			want:    Event{Level: LevelError, Fingerprint: []string{"payments"}},
		},
		{
			name: "wrong types are dropped, not fatal",
			payload: `{"level":3,"platform":{"x":1},"release":1.2,"environment":["prod"],"exception":"boom",
				"tags":"a=b","user":"ada","contexts":[1],"sdk":"go","fingerprint":{"a":1},"message":42,
				"logentry":"x","timestamp":{"t":1}}`,
			want: Event{Level: LevelError, Release: "1.2"},
		},
		{
			name:    "frame numbers of the wrong type",
			payload: `{"exception":[{"type":"E","stacktrace":{"frames":[{"function":"f","lineno":"12","colno":-3,"in_app":"yes"}]}}]}`,
			want:    Event{Level: LevelError, Exceptions: []Exception{{Type: "E", Frames: []Frame{{Function: "f"}}}}},
		},
		{
			name:    "invalid UTF-8 replaced",
			payload: "{\"message\":\"caf\xe9\"}",
			want:    Event{Level: LevelError, Message: "caf\uFFFD"},
		},
		{
			name:    "NUL characters dropped",
			payload: `{"message":"a\u0000b","tags":{"k\u0000":"v\u0000"}}`,
			want:    Event{Level: LevelError, Message: "ab", Tags: []Tag{{"k", "v"}}},
		},
		{
			name:    "escaped strings",
			payload: `{"message":"line1\nline2 \u00e9 \"q\""}`,
			want:    Event{Level: LevelError, Message: "line1\nline2 é \"q\""},
		},
	}
	ignore := cmpopts.IgnoreFields(Event{}, "EventID", "Timestamp", "Received", "Raw")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := mustNormalize(t, tt.payload)
			if diff := cmp.Diff(&tt.want, got, ignore, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Normalize mismatch (-want +got):\n%s", diff)
			}
			if string(got.Raw) != strings.ToValidUTF8(strings.TrimSpace(tt.payload), "\uFFFD") {
				t.Errorf("Raw = %s, want the payload", got.Raw)
			}
		})
	}
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestNormalizeEventID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header, own, want string
	}{
		{own: "5a5c1b92345d47a58240d641b3be583c", want: "5a5c1b92345d47a58240d641b3be583c"},
		{own: "5A5C1B92345D47A58240D641B3BE583C", want: "5a5c1b92345d47a58240d641b3be583c"},
		{own: "5a5c1b92-345d-47a5-8240-d641b3be583c", want: "5a5c1b92345d47a58240d641b3be583c"},
		{header: "11111111111111111111111111111111", own: "22222222222222222222222222222222", want: "11111111111111111111111111111111"},
		{header: "not-an-id", own: "22222222222222222222222222222222", want: "22222222222222222222222222222222"},
		{own: "00000000000000000000000000000000"},
		{own: "5a5c1b92345d47a58240d641b3be583"},
		{own: "5a5c1b92345d47a58240d641b3be583g"},
		{own: "5a5c1b92+345d-47a5-8240-d641b3be583c"},
	}
	for _, tt := range tests {
		payload := `{}`
		if tt.own != "" {
			payload = fmt.Sprintf(`{"event_id":%q}`, tt.own)
		}
		ev, err := Normalize([]byte(payload), NormalizeOptions{EventID: tt.header, Received: fixedNow})
		if err != nil {
			t.Fatal(err)
		}
		if tt.want != "" && ev.EventID != tt.want {
			t.Errorf("header %q own %q: EventID = %q, want %q", tt.header, tt.own, ev.EventID, tt.want)
		}
		if tt.want == "" && !hex32.MatchString(ev.EventID) {
			t.Errorf("own %q: generated EventID %q is not 32 hex digits", tt.own, ev.EventID)
		}
	}
	a, b := mustNormalize(t, `{}`), mustNormalize(t, `{}`)
	if a.EventID == b.EventID {
		t.Errorf("generated ids repeat: %s", a.EventID)
	}
}

func TestNormalizeTimestamp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
	}{
		{in: `"2026-03-14T15:00:00Z"`, want: time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)},
		{in: `"2026-03-14T16:00:00.123456+01:00"`, want: time.Date(2026, 3, 14, 15, 0, 0, 123456000, time.UTC)},
		{in: `"2026-03-14T15:00:00.5"`, want: time.Date(2026, 3, 14, 15, 0, 0, 500000000, time.UTC)},
		{in: `"2026-03-14 15:00:00"`, want: time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)},
		{in: fmt.Sprint(fixedNow.Add(-time.Hour).Unix()) + ".25", want: fixedNow.Add(-time.Hour + 250*time.Millisecond)},
		{in: fmt.Sprint(fixedNow.Add(-time.Hour).Unix()), want: fixedNow.Add(-time.Hour)},
		{in: fmt.Sprintf(`"%d.5"`, fixedNow.Add(-time.Hour).Unix()), want: fixedNow.Add(-time.Hour + 500*time.Millisecond)},
		{in: `null`, want: fixedNow},
		{in: `"yesterday"`, want: fixedNow},
		{in: `-5`, want: fixedNow},
		{in: `1e300`, want: fixedNow},
		{in: `"2026-03-14T15:10:00Z"`, want: time.Date(2026, 3, 14, 15, 10, 0, 0, time.UTC)}, // < 1 min ahead
		{in: `"2026-03-14T15:20:00Z"`, want: fixedNow},                                       // future
		{in: `"2025-01-01T00:00:00Z"`, want: fixedNow},                                       // older than 30 days
	}
	for _, tt := range tests {
		ev := mustNormalize(t, `{"timestamp":`+tt.in+`}`)
		if !ev.Timestamp.Equal(tt.want) || ev.Timestamp.Location() != time.UTC {
			t.Errorf("timestamp %s: got %v, want %v", tt.in, ev.Timestamp, tt.want)
		}
	}
	if ev := mustNormalize(t, `{}`); !ev.Timestamp.Equal(fixedNow) || !ev.Received.Equal(fixedNow) {
		t.Errorf("missing timestamp: got %v / %v", ev.Timestamp, ev.Received)
	}
}

func TestNormalizeLevel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"fatal": LevelFatal, "critical": LevelFatal, "ERROR": LevelError, "warning": LevelWarning,
		"warn": LevelWarning, " Warn ": LevelWarning, "info": LevelInfo, "log": LevelInfo,
		"debug": LevelDebug, "trace": LevelDebug, "": LevelError, "panic!": LevelError,
	} {
		if got := normalizeLevel(in); got != want {
			t.Errorf("normalizeLevel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tmpl, params, want string
	}{
		{"%s and %s", `["a","b"]`, "a and b"},
		{"%s and %s", `["a"]`, "a and %s"},
		{"%d%% done, %5.1f left", `[50, 2.5]`, "50% done, 2.5 left"},
		{"%r %x", `[null, {"k":1}]`, `null {"k":1}`},
		{"%(a)s/%(b)s/%(c)s", `{"a":"x","b":2}`, "x/2/%(c)s"},
		{"{} + {} = {2}", `[1, 2, 3]`, "1 + 2 = 3"},
		{"{9} {x} {", `["a"]`, "{9} {x} {"},
		{"100% sure %", `["a"]`, "100% sure %"},
		{"%(broken", `{"a":1}`, "%(broken"},
		{"no params %s", ``, "no params %s"},
		{"Here is a new {foo}", `{"foo":"error"}`, "Here is a new error"},
		{"{a} and {b} {", `{"a":1}`, "1 and {b} {"},
		{"%(a)s {a}", `{"a":"x"}`, "x x"},
		{"no params %s", `"scalar"`, "no params %s"},
	}
	for _, tt := range tests {
		if got := formatMessage(tt.tmpl, json.RawMessage(tt.params)); got != tt.want {
			t.Errorf("formatMessage(%q, %s) = %q, want %q", tt.tmpl, tt.params, got, tt.want)
		}
	}
}

func TestNormalizeLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 5000)
	frames := make([]string, 300)
	for i := range frames {
		frames[i] = fmt.Sprintf(`{"function":"f%d"}`, i)
	}
	excs := make([]string, 30)
	for i := range excs {
		excs[i] = fmt.Sprintf(`{"type":"E%d"}`, i)
	}
	tags := make([]string, 150)
	for i := range tags {
		tags[i] = fmt.Sprintf(`"k%03d":%q`, i, long[:600])
	}
	payload := fmt.Sprintf(`{"release":%q,"message":%q,"environment":%q,"tags":{%s},"user":{"email":%q},
		"fingerprint":[%s],"exception":[%s,{"type":%q,"value":%q,"stacktrace":{"frames":[%s]}}]}`,
		long, long+long, long, strings.Join(tags, ","), long, strings.Repeat(`"x",`, 40)+`"y"`,
		strings.Join(excs, ","), long, long, strings.Join(frames, ","))
	ev := mustNormalize(t, payload)
	checks := []struct {
		name string
		s    string
		max  int
	}{
		{"release", ev.Release, maxRelease}, {"message", ev.Message, maxMessage},
		{"environment", ev.Environment, maxEnvironment}, {"tag value", ev.Tags[0].Value, maxTagValue},
		{"user email", ev.User.Email, maxUserField}, {"exception type", ev.Exceptions[24].Type, maxExcType},
		{"exception value", ev.Exceptions[24].Value, maxExcValue}, {"title", ev.Title(), maxTitle},
	}
	for _, c := range checks {
		if n := utf8.RuneCountInString(c.s); n != c.max || !strings.HasSuffix(c.s, "…") {
			t.Errorf("%s: %d characters, want %d ending in …", c.name, n, c.max)
		}
	}
	if len(ev.Tags) != maxTags || len(ev.Fingerprint) != maxFingerprint || len(ev.Exceptions) != maxExceptions {
		t.Errorf("tags %d, fingerprint %d, exceptions %d", len(ev.Tags), len(ev.Fingerprint), len(ev.Exceptions))
	}
	if ev.Exceptions[0].Type != "E6" {
		t.Errorf("kept exceptions start at %s, want E6 (the newest 25)", ev.Exceptions[0].Type)
	}
	fr := ev.Exceptions[24].Frames
	if len(fr) != 250 || fr[49].Function != "f49" || fr[50].Function != "f100" || fr[249].Function != "f299" {
		t.Errorf("frames: %d, [49]=%s [50]=%s [249]=%s", len(fr), fr[49].Function, fr[50].Function, fr[249].Function)
	}
}

func TestNormalizeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		payload string
		want    error
	}{
		{``, ErrMalformed}, {`   `, ErrMalformed}, {`null`, ErrMalformed}, {`[]`, ErrMalformed},
		{`"event"`, ErrMalformed}, {`{"message":`, ErrMalformed}, {`{"a":1}}`, ErrMalformed},
		{`{"a":1} {"b":2}`, ErrMalformed},
		{`{"message":"` + strings.Repeat("x", MaxEventSize) + `"}`, ErrTooLarge},
	}
	for _, tt := range tests {
		_, err := Normalize([]byte(tt.payload), NormalizeOptions{Received: fixedNow})
		if !errors.Is(err, tt.want) {
			t.Errorf("Normalize(%.40q) error = %v, want %v", tt.payload, err, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"}, {"abcd", 3, "ab…"}, {"héllo", 5, "héllo"}, {"héllo!", 5, "héll…"},
		{"日本語テキスト", 4, "日本語…"}, {"日本語テ", 4, "日本語テ"}, {"", 3, ""},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// TestFormatMessageAdversarial feeds templates made only of placeholder
// starts that never complete: they come back unchanged, and the expansion
// stops just past its cap instead of running through half a megabyte.
// Normalize cuts the template to its limit before it is formatted at all.
// How long formatting takes is BenchmarkFormatMessageAdversarial's to say:
// a pass/fail test carries no timing.
func TestFormatMessageAdversarial(t *testing.T) {
	t.Parallel()
	for _, unit := range []string{"%(", "{", "{1", "%-"} {
		tmpl := strings.Repeat(unit, (512<<10)/len(unit))
		for _, params := range []string{`{"a":"b"}`, `["a","b"]`} {
			got := formatMessage(tmpl, json.RawMessage(params))
			if !strings.HasPrefix(tmpl, got) || len(got) != 4*maxMessage+1 {
				t.Errorf("%q with %s: %d bytes, a prefix of the template: %v; want the template cut at %d bytes",
					unit, params, len(got), strings.HasPrefix(tmpl, got), 4*maxMessage+1)
			}
		}
	}
	payload := `{"logentry":{"message":"` + strings.Repeat("%(", 400<<10) + `","params":{"x":1}}}`
	ev := mustNormalize(t, payload)
	if len(ev.MessageTemplate) > 3*maxMessage || !strings.HasPrefix(ev.MessageTemplate, "%(%(") {
		t.Errorf("Normalize kept a template of %d bytes (%.8q...), want at most %d", len(ev.MessageTemplate), ev.MessageTemplate, 3*maxMessage)
	}
}

// BenchmarkFormatMessageAdversarial formats templates whose placeholders all
// expand to nothing, so that the expansion cap never stops the scan: the
// time per template byte (ns/B) stays flat from 64 KiB to 512 KiB while each
// placeholder is read within a few bytes of its start, and grows with the
// size if a change makes the scan quadratic.
//
//	scripts/test -run '^$' -bench FormatMessageAdversarial ./internal/ingest/
func BenchmarkFormatMessageAdversarial(b *testing.B) {
	cases := []struct {
		name, unit, params string
	}{
		{"named_empty", "%(a)s", `{"a":""}`},
		{"positional_empty", "{0}", `[""]`},
	}
	for _, c := range cases {
		for _, size := range []int{64 << 10, 512 << 10} {
			tmpl := strings.Repeat(c.unit, size/len(c.unit))
			b.Run(fmt.Sprintf("%s/%dKiB", c.name, size>>10), func(b *testing.B) {
				for b.Loop() {
					_ = formatMessage(tmpl, json.RawMessage(c.params))
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(tmpl)), "ns/B")
			})
		}
	}
}

// TestSkipSource: with SkipSource the frames come without their source
// lines and are otherwise the same.
func TestSkipSource(t *testing.T) {
	t.Parallel()
	raw := []byte(`{"exception":{"values":[{"type":"E","stacktrace":{"frames":[{"module":"m","function":"f","lineno":3,"in_app":true,
		"pre_context":["a"],"context_line":"b","post_context":["c"]}]}}]},
		"threads":[{"crashed":true,"stacktrace":{"frames":[{"function":"g","context_line":"x","pre_context":[1,{"y":2}]}]}}]}`)
	full, err := Normalize(raw, NormalizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lean, err := Normalize(raw, NormalizeOptions{SkipSource: true})
	if err != nil {
		t.Fatal(err)
	}
	f, l := full.Exceptions[0].Frames[0], lean.Exceptions[0].Frames[0]
	if f.ContextLine != "b" || len(f.PreContext) != 1 || len(f.PostContext) != 1 {
		t.Fatalf("full frame %+v", f)
	}
	if l.ContextLine != "" || l.PreContext != nil || l.PostContext != nil {
		t.Errorf("lean frame keeps its source: %+v", l)
	}
	f.ContextLine, f.PreContext, f.PostContext = "", nil, nil
	if !reflect.DeepEqual(f, l) {
		t.Errorf("lean frame %+v, want %+v", l, f)
	}
	if full.GroupingHash() != lean.GroupingHash() || full.Title() != lean.Title() || full.Culprit() != lean.Culprit() {
		t.Error("grouping, title or culprit differ without the source lines")
	}
}
