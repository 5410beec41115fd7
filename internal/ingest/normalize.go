package ingest

import (
	"bytes"
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
	// SkipSource leaves out the frames' source lines (context_line,
	// pre_context, post_context), which only the event page shows.
	// Ingestion sets it: what is stored is the SDK's JSON, normalized
	// again, source included, when the event is read, and reading the
	// lines was about a third of the allocations of normalizing an event.
	SkipSource bool
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
	w, err := readEvent(raw, !opts.SkipSource)
	if err != nil {
		return nil, malformed("event: %v", err)
	}
	received := opts.Received
	if received.IsZero() {
		received = time.Now()
	}
	received = received.UTC()
	ev := &Event{
		EventID:     pickEventID(opts.EventID, w.EventID),
		Timestamp:   eventTimestamp(w.Timestamp, received),
		Received:    received,
		Level:       normalizeLevel(truncate(w.Level, maxLevel)),
		Platform:    truncate(w.Platform, maxPlatform),
		Release:     truncate(w.Release, maxRelease),
		Environment: truncate(w.Environment, maxEnvironment),
		ServerName:  truncate(w.ServerName, maxServerName),
		Transaction: truncate(w.Transaction, maxTransaction),
		Tags:        normalizeTags(w.Tags),
		User:        normalizeUser(w.User),
		Fingerprint: normalizeFingerprint(w.Fingerprint),
		SDK:         SDK{Name: truncate(w.SDK.Name, maxSDKField), Version: truncate(w.SDK.Version, maxSDKField)},
		Contexts:    validUTF8(w.Contexts),
		Raw:         validUTF8(bytes.Clone(raw)),
	}
	ev.Message, ev.MessageTemplate = eventMessage(w)
	excs := w.Exceptions
	if len(excs) == 0 {
		excs = w.LegacyExceptions
	}
	ev.Exceptions = normalizeExceptions(excs)
	ev.Stacktrace = normalizeFrames(eventStack(w))
	ev.SentCulprit = truncate(w.Culprit, maxCulprit)
	ev.RequestURL = truncate(w.RequestURL, maxFramePath)
	return ev, nil
}

// eventStack picks the stack outside the exceptions: the crashed thread's,
// else the current thread's, else the first thread's with frames, else the
// top-level stacktrace.
func eventStack(w *wireEvent) []wireFrame {
	var first []wireFrame
	for _, want := range []func(t *wireThread) bool{
		func(t *wireThread) bool { return t.Crashed },
		func(t *wireThread) bool { return t.Current },
	} {
		for i := range w.Threads {
			t := &w.Threads[i]
			if len(t.Frames) > 0 && want(t) {
				return t.Frames
			}
		}
	}
	for i := range w.Threads {
		if len(w.Threads[i].Frames) > 0 && first == nil {
			first = w.Threads[i].Frames
		}
	}
	if first != nil {
		return first
	}
	return w.Stacktrace
}

// validUTF8 returns JSON text with each invalid UTF-8 byte (which can only
// occur inside its strings) replaced by U+FFFD, as the decoder does for the
// strings it reads, so that Raw stays valid JSON that any database accepts
// and normalizes to the same Event. b itself is returned when it is valid.
func validUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b)+32)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
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
// (or its legacy name) wins over "message", which is a plain string or, from
// some SDKs, an object of the same shape.
func eventMessage(w *wireEvent) (formatted, template string) {
	le := w.LogEntry
	for _, alt := range []*wireLogEntry{w.LegacyLogEntry, w.MessageEntry} {
		if le == nil {
			le = alt
		}
	}
	if le != nil {
		template, formatted = truncate(le.Message, maxMessage), le.Formatted
		if formatted == "" && template != "" {
			formatted = formatMessage(template, le.Params)
		}
	}
	if formatted == "" {
		formatted = w.Message
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
			Type:      truncate(w.Type, maxExcType),
			Value:     truncate(w.Value, maxExcValue),
			Module:    truncate(w.Module, maxExcType),
			Mechanism: truncate(w.Mechanism, maxExcType),
			Handled:   w.Handled,
			Synthetic: w.Synthetic,
			Frames:    normalizeFrames(w.Frames),
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
			Module:      truncate(w.Module, maxFrameField),
			Function:    truncate(w.Function, maxFrameField),
			Filename:    truncate(w.Filename, maxFrameField),
			AbsPath:     truncate(w.AbsPath, maxFramePath),
			Lineno:      max(w.Lineno, 0),
			Colno:       max(w.Colno, 0),
			InApp:       w.InApp,
			ContextLine: truncate(w.ContextLine, maxFramePath),
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

func normalizeUser(w *User) *User {
	if w == nil {
		return nil
	}
	u := &User{
		ID:        truncate(w.ID, maxUserField),
		Email:     truncate(w.Email, maxUserField),
		Username:  truncate(w.Username, maxUserField),
		IPAddress: truncate(w.IPAddress, maxUserField),
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
