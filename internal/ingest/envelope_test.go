package ingest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseEnvelope(t *testing.T) {
	t.Parallel()
	const header = `{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","dsn":"https://k@h/42","sent_at":"2026-03-14T15:00:00Z"}`
	tests := []struct {
		name  string
		body  string
		items []Item
	}{
		{
			name:  "length given",
			body:  header + "\n" + `{"type":"event","length":13}` + "\n" + `{"message":1}` + "\n",
			items: []Item{{Type: "event", Payload: []byte(`{"message":1}`)}},
		},
		{
			name:  "newline delimited",
			body:  header + "\n" + `{"type":"event"}` + "\n" + `{"message":1}` + "\n",
			items: []Item{{Type: "event", Payload: []byte(`{"message":1}`)}},
		},
		{
			name:  "last item without trailing newline",
			body:  header + "\n" + `{"type":"session"}` + "\n" + `{"sid":"x"}` + "\n" + `{"type":"event"}` + "\n" + `{}`,
			items: []Item{{Type: "session", Payload: []byte(`{"sid":"x"}`)}, {Type: "event", Payload: []byte(`{}`)}},
		},
		{
			name:  "length without trailing newline",
			body:  header + "\n" + `{"type":"event","length":2}` + "\n" + `{}`,
			items: []Item{{Type: "event", Payload: []byte(`{}`)}},
		},
		{
			name: "binary attachment with newlines",
			body: header + "\n" + `{"type":"attachment","length":6,"filename":"a.txt"}` + "\n" + "a\nb\n\x00c" + "\n" +
				`{"type":"event","length":2}` + "\n" + `{}` + "\n",
			items: []Item{{Type: "attachment", Payload: []byte("a\nb\n\x00c")}, {Type: "event", Payload: []byte(`{}`)}},
		},
		{
			name:  "zero length",
			body:  header + "\n" + `{"type":"attachment","length":0}` + "\n\n" + `{"type":"client_report"}` + "\n" + `{"discarded_events":[]}` + "\n",
			items: []Item{{Type: "attachment", Payload: []byte{}}, {Type: "client_report", Payload: []byte(`{"discarded_events":[]}`)}},
		},
		{
			name:  "CRLF line ends",
			body:  header + "\r\n" + `{"type":"event","length":2}` + "\r\n" + `{}` + "\r\n" + `{"type":"event"}` + "\r\n" + `{}` + "\r\n",
			items: []Item{{Type: "event", Payload: []byte(`{}`)}, {Type: "event", Payload: []byte(`{}`)}},
		},
		{
			name:  "blank lines between items",
			body:  header + "\n\n" + `{"type":"event"}` + "\n" + `{}` + "\n\n\n",
			items: []Item{{Type: "event", Payload: []byte(`{}`)}},
		},
		{
			name:  "implicit empty payload at the end",
			body:  header + "\n" + `{"type":"sessions"}`,
			items: []Item{{Type: "sessions", Payload: nil}},
		},
		{name: "empty header, no items", body: "{}"},
		{name: "empty header, newline", body: "{}\n"},
		{
			name: "every skipped type",
			body: header + "\n" + strings.Join([]string{
				`{"type":"transaction"}`, `{}`, `{"type":"session"}`, `{}`, `{"type":"sessions"}`, `{}`,
				`{"type":"attachment","length":3}`, `abc`, `{"type":"client_report"}`, `{}`, `{"type":"check_in"}`, `{}`,
				`{"type":"profile"}`, `{}`, `{"type":"replay_event"}`, `{}`, `{"type":"replay_recording","length":4}`, "\x00\x01\x02\x03",
				`{"type":"log","item_count":2}`, `{}`, `{"type":"something_new"}`, `not even json`,
			}, "\n") + "\n",
			items: []Item{
				{"transaction", []byte(`{}`)}, {"session", []byte(`{}`)}, {"sessions", []byte(`{}`)},
				{"attachment", []byte(`abc`)}, {"client_report", []byte(`{}`)}, {"check_in", []byte(`{}`)},
				{"profile", []byte(`{}`)}, {"replay_event", []byte(`{}`)}, {"replay_recording", []byte("\x00\x01\x02\x03")},
				{"log", []byte(`{}`)}, {"something_new", []byte(`not even json`)},
			},
		},
	}
	for _, tt := range tests {
		env, err := ParseEnvelope([]byte(tt.body))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.items, env.Items); diff != "" {
			t.Errorf("%s: items (-want +got):\n%s", tt.name, diff)
		}
	}
	env, err := ParseEnvelope([]byte(header + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := EnvelopeHeader{EventID: "9ec79c33ec9942ab8353589fcb2e04dc", DSN: "https://k@h/42", SentAt: time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)}
	if env.Header != want {
		t.Errorf("header = %+v, want %+v", env.Header, want)
	}
}

func TestParseEnvelopeErrors(t *testing.T) {
	t.Parallel()
	manyItems := "{}\n" + strings.Repeat(`{"type":"session"}`+"\n{}\n", MaxItems+1)
	manyEvents := "{}\n" + strings.Repeat(`{"type":"event"}`+"\n{}\n", MaxEvents+1)
	bigEvent := "{}\n" + `{"type":"event"}` + "\n" + `{"m":"` + strings.Repeat("x", MaxEventSize) + `"}` + "\n"
	bigAttachment := "{}\n" + fmt.Sprintf(`{"type":"attachment","length":%d}`, 2*MaxEventSize) + "\n" + strings.Repeat("x", 2*MaxEventSize) + "\n"
	tests := []struct {
		name   string
		body   string
		want   error
		reason string
	}{
		{name: "empty", body: "", want: ErrMalformed, reason: "missing envelope header"},
		{name: "blank", body: "\n\n", want: ErrMalformed, reason: "missing envelope header"},
		{name: "header not json", body: "hello\n", want: ErrMalformed, reason: "envelope header"},
		{name: "header not object", body: "[1]\n", want: ErrMalformed, reason: "envelope header: not a JSON object"},
		{name: "store body sent as envelope", body: `{"message":"x","exception":{"values":[]}` + "\n", want: ErrMalformed},
		{name: "item header not json", body: "{}\n{type:event}\n{}\n", want: ErrMalformed, reason: "item 1 header"},
		{name: "item without type", body: "{}\n{\"length\":2}\n{}\n", want: ErrMalformed, reason: "item 1 header has no type"},
		{name: "item type not string", body: "{}\n{\"type\":5}\n{}\n", want: ErrMalformed, reason: "item 1 header"},
		{name: "length past the end", body: "{}\n{\"type\":\"event\",\"length\":50}\n{}\n", want: ErrMalformed, reason: "exceeds the 3 bytes left"},
		{name: "negative length", body: "{}\n{\"type\":\"event\",\"length\":-1}\n{}\n", want: ErrMalformed, reason: "length -1"},
		{name: "length not a number", body: "{}\n{\"type\":\"event\",\"length\":\"2\"}\n{}\n", want: ErrMalformed, reason: "item 1 header"},
		{name: "payload longer than length", body: "{}\n{\"type\":\"event\",\"length\":1}\n{}\n", want: ErrMalformed, reason: "no newline after its 1-byte payload"},
		{name: "second item bad", body: "{}\n{\"type\":\"event\"}\n{}\n{\"type\":\"event\",\"length\":9}\n{}\n", want: ErrMalformed, reason: "item 2"},
		{name: "too many items", body: manyItems, want: ErrTooLarge, reason: "items"},
		{name: "too many events", body: manyEvents, want: ErrTooLarge, reason: "events"},
		{name: "event too large", body: bigEvent, want: ErrTooLarge, reason: "event exceeds the limit of 1 MiB"},
	}
	for _, tt := range tests {
		_, err := ParseEnvelope([]byte(tt.body))
		if !errors.Is(err, tt.want) || !strings.Contains(errText(err), tt.reason) {
			t.Errorf("%s: error = %v, want %v containing %q", tt.name, err, tt.want, tt.reason)
		}
	}
	// Only events are held to the event limit.
	if _, err := ParseEnvelope([]byte(bigAttachment)); err != nil {
		t.Errorf("big attachment: %v", err)
	}
}

func TestEnvelopeEvents(t *testing.T) {
	t.Parallel()
	const headerID = "11111111111111111111111111111111"
	body := `{"event_id":"` + headerID + `"}` + "\n" +
		`{"type":"session"}` + "\n" + `{"broken json` + "\n" +
		`{"type":"event"}` + "\n" + `{"event_id":"22222222222222222222222222222222","message":"hi"}` + "\n"
	env, err := ParseEnvelope([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	events, err := env.Events(fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].EventID != headerID || events[0].Message != "hi" || !events[0].Received.Equal(fixedNow) {
		t.Fatalf("events = %+v", events)
	}

	// With several events each keeps its own id.
	two := `{"event_id":"` + headerID + `"}` + "\n" +
		`{"type":"event"}` + "\n" + `{"event_id":"22222222222222222222222222222222"}` + "\n" +
		`{"type":"event"}` + "\n" + `{"event_id":"33333333333333333333333333333333"}` + "\n"
	env, _ = ParseEnvelope([]byte(two))
	events, err = env.Events(fixedNow)
	if err != nil || len(events) != 2 || events[0].EventID != "22222222222222222222222222222222" || events[1].EventID != "33333333333333333333333333333333" {
		t.Fatalf("two events = %+v, %v", events, err)
	}

	bad := "{}\n" + `{"type":"session"}` + "\n{}\n" + `{"type":"event"}` + "\n" + `[1,2]` + "\n"
	env, _ = ParseEnvelope([]byte(bad))
	if _, err := env.Events(fixedNow); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "item 2: event: not a JSON object") {
		t.Fatalf("bad event: error = %v", err)
	}

	none, _ := ParseEnvelope([]byte("{}\n" + `{"type":"transaction"}` + "\n{}\n"))
	if events, err := none.Events(fixedNow); err != nil || len(events) != 0 {
		t.Fatalf("transaction only: %v, %v", events, err)
	}
}
