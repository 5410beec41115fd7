package eventview

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The sections of the page beyond the exceptions are read from the event
// JSON as the SDK sent it (masked first, see maskTree): the normalized
// event keeps only what ingestion and grouping use. Every reader here
// takes what it finds and skips what has the wrong shape, as ingestion
// does.

// row is one key and its value as text.
type row struct{ Key, Value string }

// text renders a JSON value for a table cell: strings as they are,
// anything else as compact JSON.
func text(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1e15 {
			return strconv.FormatInt(int64(t), 10)
		}
		return strconv.FormatFloat(t, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// rows lists an object's members sorted by key, or a list of [key, value]
// pairs in its order.
func rows(v any) []row {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]row, 0, len(keys))
		for _, k := range keys {
			out = append(out, row{k, text(t[k])})
		}
		return out
	case []any:
		var out []row
		for _, el := range t {
			if pair, ok := el.([]any); ok && len(pair) == 2 {
				out = append(out, row{text(pair[0]), text(pair[1])})
			}
		}
		return out
	}
	return nil
}

// values returns the list of {"values": [...]} or a bare list.
func values(v any) []any {
	switch t := v.(type) {
	case []any:
		return t
	case map[string]any:
		if l, ok := t["values"].([]any); ok {
			return l
		}
	}
	return nil
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

type breadcrumb struct {
	Time, Type, Category, Level, Message string
	Data                                 []row
}

func readBreadcrumbs(v any) []breadcrumb {
	var out []breadcrumb
	for _, el := range values(v) {
		m, ok := el.(map[string]any)
		if !ok {
			continue
		}
		out = append(out, breadcrumb{Time: crumbTime(m["timestamp"]), Type: str(m, "type"), Category: str(m, "category"),
			Level: str(m, "level"), Message: text(m["message"]), Data: rows(m["data"])})
	}
	return out
}

// crumbTime shows an RFC 3339 or Unix timestamp as UTC time of day, with
// the date.
func crumbTime(v any) string {
	var t time.Time
	switch x := v.(type) {
	case float64:
		sec, frac := math.Modf(x)
		t = time.Unix(int64(sec), int64(frac*1e9))
	case string:
		var err error
		if t, err = time.Parse(time.RFC3339Nano, x); err != nil {
			if t, err = time.Parse("2006-01-02T15:04:05.999999999", x); err != nil {
				return x
			}
		}
	default:
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05.000")
}

type request struct {
	Method, URL, Body string
	Query, Headers    []row
	Cookies, Env      []row
	BodyRows          []row
}

func readRequest(v any) *request {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	r := &request{Method: str(m, "method"), URL: str(m, "url"), Headers: rows(m["headers"]), Env: rows(m["env"])}
	switch q := m["query_string"].(type) {
	case string:
		for _, p := range strings.Split(q, "&") {
			if p == "" {
				continue
			}
			k, val, _ := strings.Cut(p, "=")
			r.Query = append(r.Query, row{k, val})
		}
	default:
		r.Query = rows(q)
	}
	switch c := m["cookies"].(type) {
	case string:
		for _, p := range strings.Split(c, ";") {
			if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok {
				r.Cookies = append(r.Cookies, row{k, val})
			}
		}
	default:
		r.Cookies = rows(c)
	}
	switch d := m["data"].(type) {
	case nil:
	case map[string]any:
		r.BodyRows = rows(d)
	default:
		r.Body = text(d)
	}
	return r
}

// named is a titled table: a context, the user.
type named struct {
	Name string
	Rows []row
}

func readContexts(v any) []named {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []named
	for _, k := range keys {
		rs := rows(m[k])
		if len(rs) == 0 {
			if s := text(m[k]); s != "" && s != "{}" {
				rs = []row{{"value", s}}
			}
		}
		if len(rs) > 0 {
			out = append(out, named{Name: k, Rows: rs})
		}
	}
	return out
}

type thread struct {
	Name             string
	Crashed, Current bool
	Frames           template.HTML // newest call first
	N                int
}

// readThreads lists the threads, the crashed one first, then the current
// one.
func readThreads(v any) []thread {
	var out []thread
	for _, el := range values(v) {
		m, ok := el.(map[string]any)
		if !ok {
			continue
		}
		st, _ := m["stacktrace"].(map[string]any)
		frames := readFrames(st)
		name := str(m, "name")
		if id := text(m["id"]); id != "" {
			name = strings.TrimSpace(name + " (" + id + ")")
		}
		crashed, _ := m["crashed"].(bool)
		current, _ := m["current"].(bool)
		th := thread{Name: name, Crashed: crashed, Current: current, N: len(frames)}
		if len(frames) > 0 {
			th.Frames = framesHTML(frames)
		}
		out = append(out, th)
	}
	rank := func(t thread) int {
		switch {
		case t.Crashed:
			return 0
		case t.Current:
			return 1
		}
		return 2
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

// readFrames reads a stacktrace object's frames, newest call first.
func readFrames(st map[string]any) []frameView {
	list, _ := st["frames"].([]any)
	out := make([]frameView, 0, len(list))
	for i := len(list) - 1; i >= 0; i-- {
		m, ok := list[i].(map[string]any)
		if !ok {
			continue
		}
		inApp, _ := m["in_app"].(bool)
		f := frameView{File: firstOf(str(m, "filename"), str(m, "abs_path"), str(m, "module"), str(m, "package")),
			Module: str(m, "module"), Function: str(m, "function"), InApp: inApp}
		line, _ := m["lineno"].(float64)
		col, _ := m["colno"].(float64)
		f.Line, f.Col = int(line), int(col)
		f.setContext(strs(m["pre_context"]), str(m, "context_line"), strs(m["post_context"]))
		out = append(out, f)
	}
	return out
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, el := range l {
		s, _ := el.(string)
		out = append(out, s)
	}
	return out
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
