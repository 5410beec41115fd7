package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// NormalizeOptions carries what the event payload itself cannot say.
type NormalizeOptions struct {
	// EventID is the envelope header's event_id; when valid it wins over
	// the event's own.
	EventID string
	// Received is when the request arrived, the fallback timestamp. The
	// zero value means time.Now().
	Received time.Time
}

// wireEvent is the subset of the Sentry event payload Triage reads.
// Polymorphic fields have their own decoders; fields of the wrong type
// are ignored (see unmarshalObject).
type wireEvent struct {
	EventID         string          `json:"event_id"`
	Timestamp       json.RawMessage `json:"timestamp"`
	Level           string          `json:"level"`
	Platform        string          `json:"platform"`
	Release         looseString     `json:"release"`
	Environment     string          `json:"environment"`
	ServerName      string          `json:"server_name"`
	Transaction     string          `json:"transaction"`
	Message         json.RawMessage `json:"message"`
	LogEntry        *wireLogEntry   `json:"logentry"`
	LegacyMessage   *wireLogEntry   `json:"sentry.interfaces.Message"`
	Exception       wireExceptions  `json:"exception"`
	LegacyException wireExceptions  `json:"sentry.interfaces.Exception"`
	Tags            wireTags        `json:"tags"`
	User            *wireUser       `json:"user"`
	Contexts        json.RawMessage `json:"contexts"`
	SDK             *wireSDK        `json:"sdk"`
	Fingerprint     wireStrings     `json:"fingerprint"`
}

type wireLogEntry struct {
	Formatted looseString     `json:"formatted"`
	Message   looseString     `json:"message"`
	Params    json.RawMessage `json:"params"`
}

// Fields where SDKs are known to send numbers are looseString; elsewhere a
// plain string is faster, and a wrong type leaves it empty all the same.
type wireException struct {
	Type       string          `json:"type"`
	Value      looseString     `json:"value"`
	Module     string          `json:"module"`
	Mechanism  *wireMechanism  `json:"mechanism"`
	Stacktrace *wireStacktrace `json:"stacktrace"`
}

type wireMechanism struct {
	Type    string    `json:"type"`
	Handled looseBool `json:"handled"`
}

type wireStacktrace struct {
	Frames []wireFrame `json:"frames"`
}

type wireFrame struct {
	Module      string    `json:"module"`
	Function    string    `json:"function"`
	Filename    string    `json:"filename"`
	AbsPath     string    `json:"abs_path"`
	Lineno      int       `json:"lineno"`
	Colno       int       `json:"colno"`
	InApp       looseBool `json:"in_app"`
	ContextLine string    `json:"context_line"`
	PreContext  []string  `json:"pre_context"`
	PostContext []string  `json:"post_context"`
}

type wireUser struct {
	ID        looseString `json:"id"`
	Email     looseString `json:"email"`
	Username  looseString `json:"username"`
	IPAddress looseString `json:"ip_address"`
}

type wireSDK struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// wireExceptions accepts {"values": […]} and the bare list sentry-go sends.
type wireExceptions []wireException

func (w *wireExceptions) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case '[':
		return ignoreTypeErrors(json.Unmarshal(b, (*[]wireException)(w)))
	case '{':
		var obj struct {
			Values []wireException `json:"values"`
		}
		err := json.Unmarshal(b, &obj)
		*w = obj.Values
		return ignoreTypeErrors(err)
	}
	return nil
}

// wireTags accepts an object or a list of [key, value] pairs.
type wireTags []Tag

func (w *wireTags) UnmarshalJSON(b []byte) error {
	var tags []Tag
	switch b[0] {
	case '{':
		var m map[string]*looseString
		if err := ignoreTypeErrors(json.Unmarshal(b, &m)); err != nil {
			return err
		}
		for k, v := range m {
			if v != nil {
				tags = append(tags, Tag{Key: k, Value: string(*v)})
			}
		}
	case '[':
		var pairs []*[2]*looseString
		if err := ignoreTypeErrors(json.Unmarshal(b, &pairs)); err != nil {
			return err
		}
		for _, p := range pairs {
			if p != nil && p[0] != nil && p[1] != nil {
				tags = append(tags, Tag{Key: string(*p[0]), Value: string(*p[1])})
			}
		}
	}
	*w = tags
	return nil
}

// wireStrings accepts a list of scalars or a single string.
type wireStrings []string

func (w *wireStrings) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case '[':
		var list []*looseString
		if err := ignoreTypeErrors(json.Unmarshal(b, &list)); err != nil {
			return err
		}
		out := make([]string, 0, len(list))
		for _, s := range list {
			if s != nil {
				out = append(out, string(*s))
			}
		}
		*w = out
	case '"':
		var s looseString
		_ = s.UnmarshalJSON(b)
		*w = []string{string(s)}
	}
	return nil
}

func ignoreTypeErrors(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return nil
	}
	return err
}

// Normalize turns one event payload into an Event. Only JSON that is not an
// object is ErrMalformed and only a payload over MaxEventSize ErrTooLarge;
// everything else is repaired: missing ids and timestamps are filled in,
// wrong-typed fields dropped, long ones truncated.
func Normalize(raw []byte, opts NormalizeOptions) (*Event, error) {
	if len(raw) > MaxEventSize {
		return nil, tooLarge("event", MaxEventSize)
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, malformed("empty event")
	}
	var w wireEvent
	if err := unmarshalObject(raw, &w); err != nil {
		return nil, malformed("event: %v", err)
	}
	received := opts.Received
	if received.IsZero() {
		received = time.Now()
	}
	received = received.UTC()
	ev := &Event{
		EventID:     pickEventID(opts.EventID, string(w.EventID)),
		Timestamp:   eventTimestamp(w.Timestamp, received),
		Received:    received,
		Level:       normalizeLevel(truncate(string(w.Level), maxLevel)),
		Platform:    truncate(string(w.Platform), maxPlatform),
		Release:     truncate(string(w.Release), maxRelease),
		Environment: truncate(string(w.Environment), maxEnvironment),
		ServerName:  truncate(string(w.ServerName), maxServerName),
		Transaction: truncate(string(w.Transaction), maxTransaction),
		Tags:        normalizeTags(w.Tags),
		User:        normalizeUser(w.User),
		Fingerprint: normalizeFingerprint(w.Fingerprint),
		Raw:         validUTF8(bytes.Clone(raw)),
	}
	ev.Message, ev.MessageTemplate = eventMessage(&w)
	exc := w.Exception
	if len(exc) == 0 {
		exc = w.LegacyException
	}
	ev.Exceptions = normalizeExceptions(exc)
	if c := bytes.TrimSpace(w.Contexts); len(c) > 0 && c[0] == '{' {
		ev.Contexts = validUTF8(w.Contexts)
	}
	if w.SDK != nil {
		ev.SDK = SDK{Name: truncate(string(w.SDK.Name), maxSDKField), Version: truncate(string(w.SDK.Version), maxSDKField)}
	}
	return ev, nil
}

// validUTF8 returns JSON text with invalid UTF-8 (which can only occur
// inside its strings) replaced by U+FFFD, so it stays valid JSON that any
// database accepts. b itself is returned when it is valid.
func validUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	return bytes.ToValidUTF8(b, []byte("\uFFFD"))
}

func pickEventID(header, own string) string {
	if id := normalizeEventID(header); id != "" {
		return id
	}
	if id := normalizeEventID(own); id != "" {
		return id
	}
	return newEventID()
}

// eventMessage returns the displayed message and its template. logentry
// (or the legacy interface name) wins over a plain message string, which
// some SDKs also send as an object of the same shape.
func eventMessage(w *wireEvent) (formatted, template string) {
	le := w.LogEntry
	if le == nil {
		le = w.LegacyMessage
	}
	var plain string
	if m := bytes.TrimSpace(w.Message); len(m) > 0 {
		if m[0] == '{' && le == nil {
			le = new(wireLogEntry)
			_ = ignoreTypeErrors(json.Unmarshal(m, le))
		} else if m[0] == '"' {
			plain = jsonScalarString(m)
		}
	}
	if le != nil {
		template = string(le.Message)
		formatted = string(le.Formatted)
		if formatted == "" && template != "" {
			formatted = formatMessage(template, le.Params)
		}
	}
	if formatted == "" {
		formatted = plain
	}
	return truncate(formatted, maxMessage), truncate(template, maxMessage)
}

func normalizeExceptions(ws []wireException) []Exception {
	if len(ws) > maxExceptions {
		ws = ws[len(ws)-maxExceptions:]
	}
	var out []Exception
	for i := range ws {
		w := &ws[i]
		e := Exception{
			Type:   truncate(string(w.Type), maxExcType),
			Value:  truncate(string(w.Value), maxExcValue),
			Module: truncate(string(w.Module), maxExcType),
		}
		if w.Mechanism != nil {
			e.Mechanism = truncate(string(w.Mechanism.Type), maxExcType)
			e.Handled = w.Mechanism.Handled.ptr()
		}
		if w.Stacktrace != nil {
			e.Frames = normalizeFrames(w.Stacktrace.Frames)
		}
		if e.Type == "" && e.Value == "" && len(e.Frames) == 0 {
			continue
		}
		out = append(out, e)
	}
	return out
}

// normalizeFrames keeps the oldest and newest frames of a very deep stack:
// the entry point and the crash site, not the middle of a recursion.
func normalizeFrames(ws []wireFrame) []Frame {
	if len(ws) > maxFramesHead+maxFramesTail {
		ws = append(ws[:maxFramesHead:maxFramesHead], ws[len(ws)-maxFramesTail:]...)
	}
	out := make([]Frame, 0, len(ws))
	for i := range ws {
		w := &ws[i]
		f := Frame{
			Module:      truncate(string(w.Module), maxFrameField),
			Function:    truncate(string(w.Function), maxFrameField),
			Filename:    truncate(string(w.Filename), maxFrameField),
			AbsPath:     truncate(string(w.AbsPath), maxFramePath),
			Lineno:      max(w.Lineno, 0),
			Colno:       max(w.Colno, 0),
			InApp:       w.InApp.ptr(),
			ContextLine: truncate(string(w.ContextLine), maxFramePath),
			PreContext:  contextLines(w.PreContext, true),
			PostContext: contextLines(w.PostContext, false),
		}
		if f.Module == "" && f.Function == "" && f.Filename == "" && f.AbsPath == "" {
			continue
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil // as stored Events read back
	}
	return out
}

// contextLines keeps the lines nearest the frame's line: the last ones
// before it, the first ones after it.
func contextLines(lines []string, before bool) []string {
	if len(lines) == 0 {
		return nil
	}
	if len(lines) > maxContextLines {
		if before {
			lines = lines[len(lines)-maxContextLines:]
		} else {
			lines = lines[:maxContextLines]
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = truncate(string(l), maxFramePath)
	}
	return out
}

// normalizeTags sorts tags by key, keeps the last value of a repeated key
// and drops empty keys and tags beyond the limit.
func normalizeTags(tags []Tag) []Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]Tag, 0, len(tags))
	for _, t := range tags {
		k := truncate(strings.TrimSpace(t.Key), maxTagKey)
		if k == "" {
			continue
		}
		out = append(out, Tag{Key: k, Value: truncate(t.Value, maxTagValue)})
	}
	slices.SortStableFunc(out, func(a, b Tag) int { return strings.Compare(a.Key, b.Key) })
	dedup := out[:0]
	for i, t := range out {
		if i+1 < len(out) && out[i+1].Key == t.Key {
			continue // a later value for the same key wins
		}
		dedup = append(dedup, t)
	}
	if len(dedup) > maxTags {
		dedup = dedup[:maxTags]
	}
	if len(dedup) == 0 {
		return nil
	}
	return dedup
}

func normalizeUser(w *wireUser) *User {
	if w == nil {
		return nil
	}
	u := &User{
		ID:        truncate(string(w.ID), maxUserField),
		Email:     truncate(string(w.Email), maxUserField),
		Username:  truncate(string(w.Username), maxUserField),
		IPAddress: truncate(string(w.IPAddress), maxUserField),
	}
	if *u == (User{}) {
		return nil
	}
	return u
}

func normalizeFingerprint(fp []string) []string {
	if len(fp) == 0 {
		return nil
	}
	if len(fp) > maxFingerprint {
		fp = fp[:maxFingerprint]
	}
	out := make([]string, len(fp))
	for i, s := range fp {
		out[i] = truncate(s, maxFingerprintEl)
	}
	return out
}
