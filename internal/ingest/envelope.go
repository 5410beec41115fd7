package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// Envelope is a parsed Sentry envelope: a JSON header line followed by items,
// each a JSON header line and a payload.
type Envelope struct {
	Header EnvelopeHeader
	Items  []Item
}

// EnvelopeHeader holds the envelope header fields Triage uses.
type EnvelopeHeader struct {
	EventID string    // as sent; Normalize validates it
	DSN     string    // lets browser SDKs behind a tunnel authenticate
	SentAt  time.Time // zero when absent or unparsable
}

// Item is one envelope item. Payload aliases the envelope body.
type Item struct {
	Type    string
	Payload []byte
}

// ItemEvent is the only item type that Triage stores; every other type is
// accepted and skipped.
const ItemEvent = "event"

// ParseEnvelope splits an envelope into its header and items. An item with
// a length header has exactly that many payload bytes, then a newline (or
// the end of the body); without one, the payload runs to the next newline.
// Blank lines between items are tolerated. An event item over MaxEventSize,
// or more than MaxItems items or MaxEvents events, is ErrTooLarge; anything
// that does not follow the format is ErrMalformed.
func ParseEnvelope(body []byte) (*Envelope, error) {
	line, rest := cutLine(body)
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, malformed("missing envelope header")
	}
	header, err := readEnvelopeHeader(line)
	if err != nil {
		return nil, malformed("envelope header: %v", err)
	}
	env := &Envelope{Header: header}
	events := 0
	for len(rest) > 0 {
		line, rest = cutLine(rest)
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(env.Items) == MaxItems {
			return nil, tooMany("number of envelope items", MaxItems)
		}
		var item Item
		var err error
		item, rest, err = parseItem(line, rest, len(env.Items)+1)
		if err != nil {
			return nil, err
		}
		if item.Type == ItemEvent {
			if events++; events > MaxEvents {
				return nil, tooMany("number of events in the envelope", MaxEvents)
			}
			if len(item.Payload) > MaxEventSize {
				return nil, tooLarge("event", MaxEventSize)
			}
		}
		env.Items = append(env.Items, item)
	}
	return env, nil
}

// parseItem reads one item whose header line is header; n numbers items
// from 1 for error messages.
func parseItem(header, rest []byte, n int) (Item, []byte, error) {
	h, err := readItemHeader(header)
	if err != nil {
		return Item{}, nil, malformed("item %d header: %v", n, err)
	}
	if h.Type == "" {
		return Item{}, nil, malformed("item %d header has no type", n)
	}
	item := Item{Type: h.Type}
	if h.Length < 0 {
		item.Payload, rest = cutLine(rest)
		return item, rest, nil
	}
	length := h.Length
	if length < 0 || length > int64(len(rest)) {
		return Item{}, nil, malformed("item %d length %d exceeds the %d bytes left", n, length, len(rest))
	}
	item.Payload, rest = rest[:length], rest[length:]
	switch {
	case len(rest) == 0:
	case rest[0] == '\n':
		rest = rest[1:]
	case len(rest) > 1 && rest[0] == '\r' && rest[1] == '\n':
		rest = rest[2:]
	default:
		return Item{}, nil, malformed("item %d: no newline after its %d-byte payload", n, length)
	}
	return item, rest, nil
}

// cutLine splits b after the first newline; the line excludes "\n" and a
// "\r" before it.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	line, rest = b[:i], b[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// readEnvelopeHeader reads the fields of the envelope header Triage uses;
// like event fields, those of the wrong type are ignored.
func readEnvelopeHeader(line []byte) (EnvelopeHeader, error) {
	var h EnvelopeHeader
	d := jsontext.NewDecoder(bytes.NewBuffer(bytes.TrimSpace(line)), decoderOptions...)
	if d.PeekKind() != '{' {
		return h, errors.New("not a JSON object")
	}
	err := readObject(d, func(name string) (err error) {
		switch name {
		case "event_id":
			h.EventID, err = readString(d)
		case "dsn":
			h.DSN, err = readString(d)
		case "sent_at":
			var v jsontext.Value
			if v, err = d.ReadValue(); err == nil {
				h.SentAt, _ = parseTimestamp(v)
			}
		default:
			err = d.SkipValue()
		}
		return err
	})
	if err == nil {
		err = expectEnd(d)
	}
	return h, err
}

type itemHeader struct {
	Type   string
	Length int64 // -1 when absent: the payload ends at a newline
}

// readItemHeader reads an item header strictly: an item whose type or
// length cannot be read cannot be skipped either.
func readItemHeader(line []byte) (itemHeader, error) {
	h := itemHeader{Length: -1}
	d := jsontext.NewDecoder(bytes.NewBuffer(bytes.TrimSpace(line)), decoderOptions...)
	if d.PeekKind() != '{' {
		return h, errors.New("not a JSON object")
	}
	err := readObject(d, func(name string) error {
		switch name {
		case "type":
			if d.PeekKind() != '"' {
				return errors.New("type is not a string")
			}
			tok, err := d.ReadToken()
			h.Type = tok.String()
			return err
		case "length":
			switch d.PeekKind() {
			case 'n':
				h.Length = -1
				return d.SkipValue()
			case '0':
				tok, err := d.ReadToken()
				if err != nil {
					return err
				}
				if h.Length, err = strconv.ParseInt(tok.String(), 10, 64); err != nil || h.Length < 0 {
					return fmt.Errorf("length %s is not a byte count", tok.String())
				}
				return nil
			}
			return errors.New("length is not a number")
		}
		return d.SkipValue()
	})
	if err == nil {
		err = expectEnd(d)
	}
	return h, err
}

// Events normalizes the envelope's event items. The envelope header's
// event_id wins over the event's own when the envelope holds one event.
func (env *Envelope) Events(received time.Time) ([]*Event, error) {
	return env.events(NormalizeOptions{Received: received})
}

// events is Events with base's options for every event (the handler's
// skip the frames' source lines).
func (env *Envelope) events(base NormalizeOptions) ([]*Event, error) {
	var events []*Event
	count := 0
	for _, it := range env.Items {
		if it.Type == ItemEvent {
			count++
		}
	}
	for i, it := range env.Items {
		if it.Type != ItemEvent {
			continue
		}
		opts := base
		opts.EventID = ""
		if count == 1 {
			opts.EventID = env.Header.EventID
		}
		ev, err := Normalize(it.Payload, opts)
		if err != nil {
			var m *MalformedError
			if errors.As(err, &m) {
				return nil, malformed("item %d: %s", i+1, m.Reason)
			}
			return nil, err
		}
		events = append(events, ev)
	}
	return events, nil
}

// ParseStore parses the body of the legacy /store/ endpoint: one event as
// JSON, or (from very old SDKs) that JSON zlib-compressed and base64-encoded.
func ParseStore(body []byte, received time.Time) (*Event, error) {
	return parseStore(body, NormalizeOptions{Received: received})
}

func parseStore(body []byte, opts NormalizeOptions) (*Event, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] != '{' {
		decoded, err := decodeLegacyStore(trimmed)
		if err != nil {
			return nil, err
		}
		body = decoded
	}
	if len(body) > MaxEventSize {
		return nil, tooLarge("event", MaxEventSize)
	}
	return Normalize(body, opts)
}
