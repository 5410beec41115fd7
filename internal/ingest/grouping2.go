package ingest

import (
	"strings"
)

// GroupingVersion is the grouping new issues are created under. Version 1
// hashed only the thrown exception and read no thread or top-level stack;
// version 2 (below) is what GroupingHash computes. An issue records the
// version it was created under, and events still find version 1 issues
// through GroupingHashV1.
const GroupingVersion = 2

// GroupingHash returns the key of the issue the event belongs to: 32 hex
// digits, equal for events that are the same problem. A fingerprint sent
// by the SDK wins; otherwise:
//
//   - with exceptions: every exception of the chain counts, each by its type
//     (unless synthetic) and its frames; only in-app frames when any frame of
//     the event is in-app, else all of them. When no exception has frames,
//     the event's thread or top-level stack stands in; with no frames at all
//     each exception's value counts, its variable parts masked;
//   - without exceptions: the crashed (else current) thread's stack or the
//     top-level stacktrace, the same way;
//   - else the message template, or the masked message.
//
// A frame counts by its module (else its file name) and function, never its
// line. JavaScript frames are normalized first (see jsFrameKey), so that one
// error thrown in four browsers is one issue. Consecutive identical frames
// (recursion) count once.
func (e *Event) GroupingHash() string {
	return e.hashWith(func() []string { c, _ := e.componentsV2(); return c })
}

// GroupingReason says in words what grouped the event, for its page.
func (e *Event) GroupingReason() string {
	if len(e.Fingerprint) > 0 {
		return "grouped by the fingerprint the SDK sent: " + strings.Join(e.Fingerprint, ", ")
	}
	comps, reason := e.componentsV2()
	parts := make([]string, 0, len(comps))
	for _, c := range comps {
		_, v, _ := strings.Cut(c, ":")
		parts = append(parts, strings.Replace(v, "|", " in ", 1))
	}
	if len(parts) == 0 {
		return "grouped by " + reason
	}
	return "grouped by " + reason + ": " + strings.Join(parts, ", ")
}

// componentsV2 lists what version 2 hashes and names it.
func (e *Event) componentsV2() ([]string, string) {
	if len(e.Exceptions) > 0 {
		var comps []string
		withFrames := false
		for i := range e.Exceptions {
			if len(e.Exceptions[i].Frames) > 0 {
				withFrames = true
			}
		}
		inApp := anyInApp(e.Stacktrace)
		for i := range e.Exceptions {
			inApp = inApp || anyInApp(e.Exceptions[i].Frames)
		}
		nframes := 0
		for i := range e.Exceptions {
			ex := &e.Exceptions[i]
			if !ex.Synthetic {
				comps = append(comps, "type:"+ex.Type)
			}
			before := len(comps)
			comps = e.appendFrames(comps, ex.Frames, inApp)
			nframes += len(comps) - before
		}
		if !withFrames {
			before := len(comps)
			comps = e.appendFrames(comps, e.Stacktrace, inApp)
			nframes += len(comps) - before
		}
		if nframes > 0 {
			if inApp {
				return comps, "exception type and in-app frames"
			}
			return comps, "exception type and frames"
		}
		for i := range e.Exceptions {
			comps = append(comps, "value:"+maskVariables(e.Exceptions[i].Value))
		}
		return comps, "exception type and value"
	}
	if len(e.Stacktrace) > 0 {
		inApp := anyInApp(e.Stacktrace)
		if comps := e.appendFrames(nil, e.Stacktrace, inApp); len(comps) > 0 {
			if inApp {
				return comps, "the in-app frames of its stack"
			}
			return comps, "the frames of its stack"
		}
	}
	if e.MessageTemplate != "" {
		return []string{"message:" + e.MessageTemplate}, "message template"
	}
	if e.Message != "" {
		return []string{"message:" + maskVariables(e.Message)}, "message, its numbers and ids masked"
	}
	return []string{"empty"}, "nothing: the event has no exception, stack or message"
}

func anyInApp(frames []Frame) bool {
	for i := range frames {
		if frames[i].IsInApp() {
			return true
		}
	}
	return false
}

// appendFrames adds a component per counted frame.
func (e *Event) appendFrames(comps []string, frames []Frame, inAppOnly bool) []string {
	prev := ""
	for i := range frames {
		f := &frames[i]
		if inAppOnly && !f.IsInApp() {
			continue
		}
		var key string
		if e.isJSFrame(f) {
			var ok bool
			if key, ok = jsFrameKey(f); !ok {
				continue
			}
		} else {
			key = frameKey(f)
		}
		c := "frame:" + key
		if c == prev {
			continue // recursion counts once
		}
		comps = append(comps, c)
		prev = c
	}
	return comps
}

// isJSFrame tells a JavaScript frame: the event's platform says so, or
// the frame's file is a script or a URL.
func (e *Event) isJSFrame(f *Frame) bool {
	if isJavaScript(e.Platform) {
		return true
	}
	file := f.Filename
	if file == "" {
		file = f.AbsPath
	}
	for _, suffix := range []string{".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx"} {
		if strings.HasSuffix(file, suffix) {
			return true
		}
	}
	return strings.HasPrefix(file, "http://") || strings.HasPrefix(file, "https://")
}

// jsFrameKey identifies a JavaScript frame the same way whichever browser
// reported it; ok is false for frames that do not count: native code,
// eval'd code and anonymous functions, which browsers report differently
// or not at all.
func jsFrameKey(f *Frame) (string, bool) {
	if jsNative(f.Filename) || jsNative(f.AbsPath) {
		return "", false
	}
	file := f.Filename
	if file == "" || !strings.ContainsAny(file, "/.") {
		file = f.AbsPath
	}
	if f.Module != "" && file == "" {
		file = f.Module
	}
	fn := jsFunction(f.Function)
	if fn == "" {
		return "", false
	}
	return jsFile(file) + "|" + fn, true
}

// jsNative tells file names of code without a source file.
func jsNative(file string) bool {
	switch strings.ToLower(strings.TrimSpace(file)) {
	case "[native code]", "native", "(native)", "<anonymous>", "[wasm code]":
		return true
	}
	l := strings.ToLower(file)
	return strings.HasPrefix(l, "eval") || strings.Contains(l, " > eval") || strings.Contains(l, "eval at ") ||
		strings.Contains(l, "> function")
}

// jsFunction strips what differs between browsers from a function name:
// Chrome's receiver ("Object.", "HTMLButtonElement.") and alias
// (" [as x]"), "async " and "new ", Firefox's nesting ("outer/inner") and
// Safari's "@" suffix. Anonymous functions read as "".
func jsFunction(fn string) string {
	fn = strings.TrimSpace(fn)
	if i := strings.Index(fn, " [as "); i >= 0 {
		fn = fn[:i]
	}
	if i := strings.IndexByte(fn, '@'); i >= 0 {
		fn = fn[:i]
	}
	for _, p := range []string{"async ", "new ", "*"} {
		fn = strings.TrimPrefix(fn, p)
	}
	if strings.HasSuffix(fn, "<") || strings.HasSuffix(fn, "/") {
		return "" // Firefox's anonymous functions: "outer/<", "outer</"
	}
	if i := strings.LastIndexByte(fn, '/'); i >= 0 {
		fn = fn[i+1:]
	}
	if i := strings.LastIndexByte(fn, '.'); i >= 0 {
		fn = fn[i+1:]
	}
	switch strings.ToLower(fn) {
	case "", "?", "<anonymous>", "anonymous", "anonymous function", "global code", "eval code",
		"module code", "<global>", "eval", "<computed>":
		return ""
	}
	return fn
}

// jsFile reduces a script's URL or path to what stays the same across
// deployments and browsers: no scheme, host, query or hash, no
// version-like directories ("/v1.2.3/", "/20260101/") and no content hash
// in the name ("main.3f2a9c1e.js" is "main.js").
func jsFile(file string) string {
	file = urlPath(file)
	if i := strings.IndexAny(file, "?#"); i >= 0 {
		file = file[:i]
	}
	segs := strings.Split(file, "/")
	kept := segs[:0]
	for i, s := range segs {
		last := i == len(segs)-1
		if s == "." || s == "" || (!last && versionLike(s)) {
			continue
		}
		if last {
			s = stripNameHash(s)
		}
		kept = append(kept, s)
	}
	return strings.Join(kept, "/")
}

// versionLike tells a path segment that names a version or a build: it
// starts with a digit (or "v" and a digit) and holds only digits, dots,
// dashes and letters after them ("1.2.3", "v2", "2026-01-01", "1.0.0-rc1"),
// or it is a long hex string.
func versionLike(s string) bool {
	t := s
	if len(t) > 1 && (t[0] == 'v' || t[0] == 'V') && isDigit(t[1]) {
		t = t[1:]
	}
	if t != "" && isDigit(t[0]) {
		for i := 0; i < len(t); i++ {
			c := t[i]
			if !isDigit(c) && !isLetter(c) && c != '.' && c != '-' && c != '_' {
				return false
			}
		}
		return true
	}
	return hashLike(s)
}

// hashLike tells a content hash: 7 or more hex digits, at least one a digit.
func hashLike(s string) bool {
	if len(s) < 7 {
		return false
	}
	digit := false
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
		digit = digit || isDigit(s[i])
	}
	return digit
}

// stripNameHash drops the dot-separated parts of a file name that are
// content hashes or versions: "app.3f2a9c1e.min.js" is "app.min.js",
// "lib-1.2.3.js" keeps its name.
func stripNameHash(name string) string {
	parts := strings.Split(name, ".")
	if len(parts) < 3 {
		return name
	}
	kept := []string{parts[0]}
	for _, p := range parts[1 : len(parts)-1] {
		if !hashLike(p) {
			kept = append(kept, p)
		}
	}
	return strings.Join(append(kept, parts[len(parts)-1]), ".")
}
