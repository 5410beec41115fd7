// Package realworld gives tests the event payloads real Sentry SDKs sent,
// as the GlitchTip project (MIT license) collected them in its test data,
// with the title (and where known the culprit) Sentry gave each. They are
// a copy of ../shared/realworld: Django, Python logging, .NET, Elixir, Go,
// Ruby, PHP, browser JavaScript and Angular, Android and sentry-cli.
package realworld

import (
	"bytes"
	"embed"
	"encoding/json"
	"path"
	"sort"
	"strings"
)

//go:embed testdata/*.json
var files embed.FS

// Payload is one event as an SDK sent it.
type Payload struct {
	Name string
	// Body is what the SDK posted: an envelope (Envelope true) or a store
	// endpoint's single event.
	Body     []byte
	Envelope bool
	// Title and Culprit are what Sentry showed for it; empty when unknown.
	Title, Culprit string
	// CulpritKnown is false where Sentry's culprit came from source maps
	// Triage does not apply, or was not recorded.
	CulpritKnown bool
}

// sourceMapped are the payloads whose Sentry culprit names source-mapped
// files that the payload itself does not carry.
var sourceMapped = map[string]bool{"js_error_with_context": true, "small_js_error_source": true}

// All returns every payload, sorted by name.
func All() ([]Payload, error) {
	var expected map[string]struct{ Title, Culprit string }
	b, err := files.ReadFile("testdata/glitchtip_expected.json")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &expected); err != nil {
		return nil, err
	}
	entries, err := files.ReadDir("testdata")
	if err != nil {
		return nil, err
	}
	var out []Payload
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".json")
		if name == "glitchtip_expected" {
			continue
		}
		raw, err := files.ReadFile(path.Join("testdata", e.Name()))
		if err != nil {
			return nil, err
		}
		p := Payload{Name: name, Body: raw}
		if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
			if p.Body, err = envelope(t); err != nil {
				return nil, err
			}
			p.Envelope = true
		}
		if want, ok := expected[name]; ok {
			p.Title, p.Culprit = want.Title, want.Culprit
			p.CulpritKnown = !sourceMapped[name]
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// envelope turns an envelope written as a JSON array of its lines into the
// newline-separated form SDKs send. Item lengths are dropped: the lines are
// re-encoded, so the recorded byte counts no longer hold.
func envelope(arr []byte) ([]byte, error) {
	var lines []map[string]any
	if err := json.Unmarshal(arr, &lines); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for _, l := range lines {
		if _, ok := l["type"]; ok {
			delete(l, "length")
		}
		b, err := json.Marshal(l)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}
