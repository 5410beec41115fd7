package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// The seed corpora live in testdata/fuzz/<target>; the SDK fixtures are
// added here too, so a plain `go test` runs every target over all of them.

func addFixtureSeeds(f *testing.F, payloadOnly bool) {
	paths, err := filepath.Glob(filepath.Join("testdata", "sdk", "*.envelope"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, p := range paths {
		body, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if payloadOnly {
			lines := bytes.Split(body, []byte("\n"))
			body = lines[2] // header, item header, event
		}
		f.Add(body)
	}
}

func checkError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error %v is neither ErrMalformed nor ErrTooLarge", err)
	}
}

func FuzzParseEnvelope(f *testing.F) {
	addFixtureSeeds(f, false)
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseEnvelope(data)
		if err != nil {
			checkError(t, err)
			return
		}
		if len(env.Items) > MaxItems {
			t.Fatalf("%d items", len(env.Items))
		}
		total := 0
		for _, it := range env.Items {
			if it.Type == "" {
				t.Fatal("item without type")
			}
			if it.Type == ItemEvent && len(it.Payload) > MaxEventSize {
				t.Fatalf("event of %d bytes", len(it.Payload))
			}
			total += len(it.Payload)
		}
		if total > len(data) {
			t.Fatalf("payloads hold %d bytes of a %d-byte body", total, len(data))
		}
		events, err := env.Events(fixedNow)
		if err != nil {
			checkError(t, err)
			return
		}
		if len(events) > MaxEvents {
			t.Fatalf("%d events", len(events))
		}
		for _, ev := range events {
			checkEvent(t, ev)
		}
	})
}

func FuzzNormalize(f *testing.F) {
	addFixtureSeeds(f, true)
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := Normalize(data, NormalizeOptions{Received: fixedNow})
		if err != nil {
			checkError(t, err)
			return
		}
		checkEvent(t, ev)

		// Normalizing is deterministic and Raw holds everything it used.
		again, err := Normalize(ev.Raw, NormalizeOptions{EventID: ev.EventID, Received: fixedNow})
		if err != nil {
			t.Fatalf("Raw does not normalize: %v", err)
		}
		if diff := diffEvents(ev, again); diff != "" {
			t.Fatalf("normalizing Raw again differs (-first +again):\n%s", diff)
		}

		// The store saves Event as JSON and reads it back.
		stored, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var back Event
		if err := json.Unmarshal(stored, &back); err != nil {
			t.Fatal(err)
		}
		back.Raw = ev.Raw
		back.Contexts, ev.Contexts = compactJSON(t, back.Contexts), compactJSON(t, ev.Contexts)
		if diff := diffEvents(ev, &back); diff != "" {
			t.Fatalf("JSON round trip differs (-event +stored):\n%s", diff)
		}
		if back.GroupingHash() != ev.GroupingHash() || back.Title() != ev.Title() || back.Culprit() != ev.Culprit() {
			t.Fatal("grouping changed through storage")
		}
	})
}

// diffEvents is cmp.Diff behind a reflect.DeepEqual fast path: cmp is
// thorough but slow, and the fuzzer runs this for every input.
func diffEvents(a, b *Event) string {
	if reflect.DeepEqual(a, b) {
		return ""
	}
	return cmp.Diff(a, b)
}

func compactJSON(t *testing.T, b json.RawMessage) json.RawMessage {
	if b == nil {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("contexts are not valid JSON: %v", err)
	}
	var v any
	_ = json.Unmarshal(buf.Bytes(), &v)
	out, _ := json.Marshal(v) // canonical: sorted keys, one escaping
	return out
}

// checkEvent asserts what the store may rely on for any event.
func checkEvent(t *testing.T, ev *Event) {
	t.Helper()
	if !hex32.MatchString(ev.EventID) {
		t.Fatalf("EventID %q", ev.EventID)
	}
	if !slices.Contains([]string{LevelFatal, LevelError, LevelWarning, LevelInfo, LevelDebug}, ev.Level) {
		t.Fatalf("Level %q", ev.Level)
	}
	if ev.Timestamp.After(fixedNow.Add(maxFutureDrift)) || ev.Timestamp.Before(fixedNow.Add(-maxPastAge)) {
		t.Fatalf("Timestamp %v", ev.Timestamp)
	}
	limited := map[string][2]any{
		"platform": {ev.Platform, maxPlatform}, "release": {ev.Release, maxRelease},
		"environment": {ev.Environment, maxEnvironment}, "server_name": {ev.ServerName, maxServerName},
		"transaction": {ev.Transaction, maxTransaction}, "message": {ev.Message, maxMessage},
		"template": {ev.MessageTemplate, maxMessage}, "title": {ev.Title(), maxTitle},
		"culprit": {ev.Culprit(), maxCulprit}, "sdk": {ev.SDK.Name, maxSDKField},
	}
	for _, x := range ev.Exceptions {
		limited["type "+x.Type] = [2]any{x.Type, maxExcType}
		limited["value "+x.Value] = [2]any{x.Value, maxExcValue}
		if len(x.Frames) > maxFramesHead+maxFramesTail {
			t.Fatalf("%d frames", len(x.Frames))
		}
		for _, f := range x.Frames {
			limited["function "+f.Function] = [2]any{f.Function, maxFrameField}
			limited["path "+f.AbsPath] = [2]any{f.AbsPath, maxFramePath}
		}
	}
	for _, tag := range ev.Tags {
		limited["tag "+tag.Key] = [2]any{tag.Value, maxTagValue}
	}
	for name, v := range limited {
		s, limit := v[0].(string), v[1].(int)
		if utf8.RuneCountInString(s) > limit || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			t.Fatalf("%s: %q is over %d characters, invalid UTF-8 or has NUL", name, s, limit)
		}
	}
	if len(ev.Exceptions) > maxExceptions || len(ev.Tags) > maxTags || len(ev.Fingerprint) > maxFingerprint {
		t.Fatalf("%d exceptions, %d tags, %d fingerprint entries", len(ev.Exceptions), len(ev.Tags), len(ev.Fingerprint))
	}
	for i := 1; i < len(ev.Tags); i++ {
		if ev.Tags[i-1].Key >= ev.Tags[i].Key {
			t.Fatalf("tags not sorted and unique: %q", ev.Tags)
		}
	}
	if !utf8.Valid(ev.Raw) || (ev.Contexts != nil && !json.Valid(ev.Contexts)) {
		t.Fatal("Raw or Contexts invalid")
	}
	if h := ev.GroupingHash(); !hex32.MatchString(h) || h != ev.GroupingHash() {
		t.Fatalf("GroupingHash %q unstable or malformed", h)
	}
}
