package search

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind says what a term filters on.
type Kind int

const (
	KindText      Kind = iota // free words: title or culprit contains Value
	KindIs                    // is:unresolved|resolved|ignored|assigned|unassigned|all
	KindAssigned              // assigned:me|my_teams|<email>|#<team slug>
	KindLevel                 // level: exactly
	KindProject               // project:<slug>
	KindFirstSeen             // firstSeen: compared with Time
	KindLastSeen              // lastSeen: compared with Time
	KindTimesSeen             // times_seen: compared with Number
	KindTag                   // any other key:value, counted per issue
)

// Op compares a time or a number.
type Op string

const (
	OpEq Op = "="
	OpGt Op = ">"
	OpGe Op = ">="
	OpLt Op = "<"
	OpLe Op = "<="
)

// Term is one condition; every term of a query must hold.
type Term struct {
	Kind Kind
	// Key is the tag key for KindTag ("browser", "user"); for built-in
	// kinds it is the canonical key ("level", "firstSeen").
	Key string
	// Value is the text, status, level, slug, assignee or tag value.
	// For times it is the value as written ("-24h", "2026-01-01").
	Value  string
	Negate bool
	Op     Op
	// Time and Until bound a time term: the matching times t hold
	// Time Op t, or for OpEq Time <= t < Until (a whole day).
	Time, Until time.Time
	Number      int64
}

// Query is a parsed search.
type Query struct {
	Terms []Term
}

// HasIs reports whether the query says which issues by an is: term; a
// query without one means is:unresolved, as in Sentry.
func (q Query) HasIs() bool {
	for _, t := range q.Terms {
		if t.Kind == KindIs {
			return true
		}
	}
	return false
}

// String is the query in canonical form; parsing it gives the same terms.
func (q Query) String() string {
	parts := make([]string, 0, len(q.Terms))
	for _, t := range q.Terms {
		parts = append(parts, t.String())
	}
	return strings.Join(parts, " ")
}

func (t Term) String() string {
	neg := ""
	if t.Negate {
		neg = "!"
	}
	switch t.Kind {
	case KindText:
		return neg + quote(t.Value, true)
	case KindFirstSeen, KindLastSeen, KindTimesSeen:
		op := string(t.Op)
		if op == "=" || strings.HasPrefix(t.Value, "-") || strings.HasPrefix(t.Value, "+") {
			op = ""
		}
		return t.Key + ":" + op + t.Value
	case KindTag:
		if k, v, ok := strings.Cut(t.Value, ":"); ok && t.Key == "user" && userFields[k] != "" {
			return neg + "user." + userFields[k] + ":" + quote(v, false)
		}
	}
	return neg + t.Key + ":" + quote(t.Value, false)
}

// userFields maps the prefixes of the user tag's values to the search
// keys that name them (user.email:a@b.c is the user tag "email:a@b.c").
var userFields = map[string]string{"id": "id", "email": "email", "username": "username", "ip": "ip"}

// quote writes a value so that the tokenizer reads it back whole.
func quote(s string, free bool) string {
	needs := s == "" || strings.ContainsAny(s, " \t\n\r\f\v\"\\") || strings.HasPrefix(s, "!") ||
		(free && strings.Contains(s, ":"))
	if !needs {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// Error is a query that does not parse: Term is the term as written.
type Error struct {
	Term   string
	Reason string
}

func (e *Error) Error() string {
	return `cannot search for "` + e.Term + `": ` + e.Reason
}

// Levels are the levels level: accepts, most severe first.
var Levels = []string{"fatal", "error", "warning", "info", "debug"}

// builtinKeys maps every spelling of a built-in key to its kind.
var builtinKeys = map[string]Kind{
	"is": KindIs, "assigned": KindAssigned, "level": KindLevel, "project": KindProject,
	"firstseen": KindFirstSeen, "first_seen": KindFirstSeen, "age": KindFirstSeen,
	"lastseen": KindLastSeen, "last_seen": KindLastSeen,
	"times_seen": KindTimesSeen, "timesseen": KindTimesSeen,
}

var canonicalKey = map[Kind]string{KindIs: "is", KindAssigned: "assigned", KindLevel: "level", KindProject: "project",
	KindFirstSeen: "firstSeen", KindLastSeen: "lastSeen", KindTimesSeen: "times_seen"}

var isValues = map[string]bool{"unresolved": true, "resolved": true, "ignored": true, "assigned": true, "unassigned": true, "all": true}

// Parse reads a search; now anchors relative times (-24h). A term it
// cannot read is an *Error naming it.
func Parse(raw string, now time.Time) (Query, error) {
	toks, err := tokenize(raw)
	if err != nil {
		return Query{}, err
	}
	var q Query
	for _, tk := range toks {
		t, err := parseTerm(tk, now)
		if err != nil {
			return Query{}, err
		}
		q.Terms = append(q.Terms, t)
	}
	return q, nil
}

// token is one term as split by the tokenizer: raw as written, key
// (without the "!") and value with quotes removed; hasKey when a colon
// outside quotes separated them.
type token struct {
	raw, key, value string
	negate, hasKey  bool
	quoted          bool
}

// tokenize splits on white space outside double quotes; `\"` and `\\`
// escape inside quotes.
func tokenize(s string) ([]token, error) {
	var out []token
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return out, nil
		}
		start := i
		var tk token
		var cur strings.Builder
		if s[i] == '!' {
			tk.negate = true
			i++
		}
		for i < len(s) && !isSpace(s[i]) {
			c := s[i]
			switch {
			case c == '"':
				end, text, ok := readQuoted(s, i)
				if !ok {
					return nil, &Error{Term: strings.TrimSpace(s[start:]), Reason: "the closing double quote is missing"}
				}
				cur.WriteString(text)
				tk.quoted = true
				i = end
			case c == ':' && !tk.hasKey && !tk.quoted:
				tk.hasKey = true
				tk.key = cur.String()
				cur.Reset()
				i++
			default:
				cur.WriteByte(c)
				i++
			}
		}
		tk.raw = s[start:i]
		tk.value = cur.String()
		out = append(out, tk)
	}
}

// readQuoted reads a quoted string starting at s[i] == '"': the index
// after its closing quote and its text.
func readQuoted(s string, i int) (int, string, bool) {
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
				b.WriteByte(s[j+1])
				j++
				continue
			}
			b.WriteByte('\\')
		case '"':
			return j + 1, b.String(), true
		default:
			b.WriteByte(s[j])
		}
	}
	return 0, "", false
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func parseTerm(tk token, now time.Time) (Term, error) {
	bad := func(format string, args ...any) (Term, error) {
		return Term{}, &Error{Term: tk.raw, Reason: fmt.Sprintf(format, args...)}
	}
	if !tk.hasKey {
		if tk.value == "" {
			return bad("there is nothing to search for")
		}
		return Term{Kind: KindText, Value: tk.value, Negate: tk.negate}, nil
	}
	if tk.key == "" {
		return bad("a search term needs a key before the colon")
	}
	if !validKey(tk.key) {
		return bad("%q is not a key: use letters, digits, '.', '_' and '-', or put text with a colon in double quotes", tk.key)
	}
	if tk.value == "" && !tk.quoted {
		return bad("%s: has no value; put text with a colon in double quotes", tk.key)
	}
	kind, builtin := builtinKeys[strings.ToLower(tk.key)]
	if !builtin {
		return tagTerm(tk)
	}
	t := Term{Kind: kind, Key: canonicalKey[kind], Value: tk.value, Negate: tk.negate}
	switch kind {
	case KindIs:
		v := strings.ToLower(tk.value)
		if v == "archived" {
			v = "ignored"
		}
		if !isValues[v] {
			return bad("is: takes unresolved, resolved, ignored, assigned, unassigned or all")
		}
		t.Value = v
	case KindAssigned:
		v, err := assignedValue(tk.value)
		if err != "" {
			return bad("%s", err)
		}
		t.Value = v
	case KindLevel:
		v := strings.ToLower(tk.value)
		if v == "warn" {
			v = "warning"
		}
		if !contains(Levels, v) {
			return bad("level: takes %s", strings.Join(Levels, ", "))
		}
		t.Value = v
	case KindFirstSeen, KindLastSeen:
		if tk.negate {
			return bad("%s: cannot be negated; use < or >", tk.key)
		}
		return timeTerm(t, tk, now)
	case KindTimesSeen:
		if tk.negate {
			return bad("times_seen: cannot be negated; use < or >")
		}
		op, rest := splitOp(tk.value)
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || n < 0 {
			return bad("times_seen: takes a whole number, as in times_seen:>100")
		}
		t.Op, t.Number, t.Value = op, n, rest
	}
	return t, nil
}

// assignedValue reads what assigned: takes: me, my_teams, none, an email,
// #team, or a list of them in brackets without spaces, as in
// assigned:[me,my_teams]. It returns the canonical value or the reason it
// cannot be read.
func assignedValue(v string) (string, string) {
	const takes = "assigned: takes me, my_teams, none, an email or #team, or a list as in assigned:[me,my_teams]"
	list, isList := strings.CutPrefix(v, "[")
	if !isList {
		if strings.HasSuffix(v, "]") {
			return "", takes
		}
		return assignee(v)
	}
	list, closed := strings.CutSuffix(list, "]")
	if !closed {
		return "", "a list closes with ], and has no spaces: assigned:[me,my_teams]"
	}
	var out []string
	for _, one := range strings.Split(list, ",") {
		a, err := assignee(one)
		if err != "" {
			return "", err
		}
		out = append(out, a)
	}
	return "[" + strings.Join(out, ",") + "]", ""
}

// assignee is one value of assigned:.
func assignee(v string) (string, string) {
	switch l := strings.ToLower(v); {
	case l == "me" || l == "my_teams" || l == "none":
		return l, ""
	case v == "#":
		return "", "assigned:# needs a team slug"
	case strings.HasPrefix(v, "#") && validKey(v[1:]):
		return v, ""
	case strings.Contains(v, "@") && !strings.ContainsAny(v, "[],"):
		return v, ""
	}
	return "", "assigned: takes me, my_teams, none, an email or #team, or a list as in assigned:[me,my_teams]"
}

// Assignees is an assigned: term's values: one, or each of a list.
func (t Term) Assignees() []string {
	if list, ok := strings.CutPrefix(t.Value, "["); ok {
		return strings.Split(strings.TrimSuffix(list, "]"), ",")
	}
	return []string{t.Value}
}

// tagTerm is a key:value that is not built in: a tag. user.email:x is the
// user tag "email:x"; environment and release are tags too.
func tagTerm(tk token) (Term, error) {
	t := Term{Kind: KindTag, Key: tk.key, Value: tk.value, Negate: tk.negate}
	if f, ok := strings.CutPrefix(strings.ToLower(tk.key), "user."); ok {
		if f == "ip_address" {
			f = "ip"
		}
		if userFields[f] == "" {
			return Term{}, &Error{Term: tk.raw, Reason: "user. takes id, email, username or ip"}
		}
		t.Key, t.Value = "user", f+":"+tk.value
	}
	switch strings.ToLower(t.Key) {
	case "environment", "release", "user":
		t.Key = strings.ToLower(t.Key)
	}
	return t, nil
}

func timeTerm(t Term, tk token, now time.Time) (Term, error) {
	bad := func(reason string) (Term, error) { return Term{}, &Error{Term: tk.raw, Reason: reason} }
	op, rest := splitOp(tk.value)
	t.Value = rest
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		if op != OpEq {
			return bad(t.Key + ": takes -24h (within the last 24 hours) or +7d (longer ago), without < or >")
		}
		d, ok := relative(rest[1:])
		if !ok {
			return bad(t.Key + ": a relative time is a number and m, h, d or w, as in -24h or -7d")
		}
		t.Time = now.Add(-d)
		t.Op = OpGe
		if rest[0] == '+' {
			t.Op = OpLe
		}
		return t, nil
	}
	t.Op = op
	if day, err := time.Parse("2006-01-02", rest); err == nil {
		t.Time = day
		if op == OpEq {
			t.Until = day.AddDate(0, 0, 1)
		}
		return t, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if at, err := time.Parse(layout, rest); err == nil {
			if op == OpEq {
				return bad(t.Key + ": compare a time with < or >, or give a day (2026-01-01)")
			}
			t.Time = at.UTC()
			return t, nil
		}
	}
	return bad(t.Key + ": takes -24h, -7d, a day (>2026-01-01) or a UTC time (>2026-01-01T10:00:00)")
}

// relative reads 30m, 24h, 7d or 2w.
func relative(s string) (time.Duration, bool) {
	if len(s) < 2 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n < 0 || n > 100*365*24 {
		return 0, false
	}
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

func splitOp(v string) (Op, string) {
	for _, op := range []Op{OpGe, OpLe, OpGt, OpLt} {
		if rest, ok := strings.CutPrefix(v, string(op)); ok {
			return op, rest
		}
	}
	return OpEq, v
}

func validKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return len(k) <= 64
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
