package ingest

import (
	"strings"
)

// Titles and culprits follow Sentry's rules, so that an issue reads the same
// in Triage as it did in Sentry:
//
//   - an event with exceptions is titled by the thrown one (the last of the
//     chain): "Type: first line of the value", the value cut at 100
//     characters ("..." included); "Type" alone without a value; a type
//     the SDK made up (mechanism.synthetic) is left out;
//   - any other event by its message's first line, cut the same way, else
//     "<unlabeled event>";
//   - the culprit is the culprit the SDK sent, else the transaction, else
//     the newest in-app frame of the last stack (the newest frame when none
//     is in-app) as "module in function" ("function(file)" for JavaScript,
//     the function alone for native code), else the request's URL.
//
// The writer updates an issue's title and culprit from its newest event, as
// Sentry does.

// titleValueLen is how much of a value or message a title keeps.
const titleValueLen = 100

// Title is the headline (see above).
func (e *Event) Title() string {
	if ex := e.thrown(); ex != nil {
		val := sentryTruncate(firstLine(ex.Value), titleValueLen)
		typ := strings.TrimSpace(ex.Type)
		if typ == "" {
			typ = "Error"
		}
		var t string
		switch {
		case ex.Synthetic && val != "":
			t = val
		case ex.Synthetic:
			if f := topFrame(e.stack()); f != nil && f.Function != "" {
				t = f.Function
			} else {
				t = "<unknown>"
			}
		case val != "":
			t = typ + ": " + val
		default:
			t = typ
		}
		return truncate(t, maxTitle)
	}
	if m := firstLine(e.Message); m != "" {
		return truncate(sentryTruncate(m, titleValueLen), maxTitle)
	}
	if m := firstLine(e.MessageTemplate); m != "" {
		return truncate(sentryTruncate(m, titleValueLen), maxTitle)
	}
	return unlabeled
}

// sentryTruncate cuts s to n characters, the last three of them "...".
func sentryTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

// Culprit says where the problem is (see above).
func (e *Event) Culprit() string {
	if c := strings.TrimSpace(e.SentCulprit); c != "" {
		return truncate(c, maxCulprit)
	}
	if e.Transaction != "" {
		return truncate(e.Transaction, maxCulprit)
	}
	frames := e.Stacktrace
	if len(e.Exceptions) > 0 {
		frames = e.stack()
	}
	if c := e.stackCulprit(frames); c != "" {
		return truncate(c, maxCulprit)
	}
	return truncate(e.RequestURL, maxCulprit)
}

// stackCulprit names the newest in-app frame that names anything, else the
// newest frame.
func (e *Event) stackCulprit(frames []Frame) string {
	fallback, seen := "", false
	for i := len(frames) - 1; i >= 0; i-- {
		f := &frames[i]
		if f.IsInApp() {
			if c := e.frameCulprit(f); c != "" {
				return c
			}
		} else if !seen {
			fallback, seen = e.frameCulprit(f), true
		}
	}
	return fallback
}

func (e *Event) frameCulprit(f *Frame) string {
	fn := f.Function
	if fn == "" {
		fn = "?"
	}
	switch e.Platform {
	case "objc", "cocoa", "native":
		return fn
	}
	where := f.Module
	if where == "" {
		where = f.Filename
	}
	if where == "" {
		return ""
	}
	if isJavaScript(e.Platform) {
		return fn + "(" + urlPath(where) + ")"
	}
	return where + " in " + fn
}

// isJavaScript tells the platforms whose frames are JavaScript's.
func isJavaScript(platform string) bool {
	return platform == "javascript" || platform == "node"
}

// urlPath returns the path of an absolute URL ("http://host/a.js?v=1" is
// "/a.js?v=1"), and anything else as it is.
func urlPath(s string) string {
	i := strings.Index(s, "://")
	if i <= 0 || strings.ContainsAny(s[:i], "/?#") {
		return s
	}
	rest := s[i+3:]
	j := strings.IndexByte(rest, '/')
	if j < 0 {
		return "/"
	}
	return rest[j:]
}
