package ingest

import (
	"regexp"
	"strings"
)

// variablePart matches the parts of an error message that change from one
// occurrence of the same problem to the next. The alternatives are tried
// left to right at each position, so the more specific come first: an IP
// address is not four numbers, a UUID not five hex runs.
var variablePart = regexp.MustCompile(strings.Join([]string{
	`(?P<url>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s"'<>()\[\]{}]+)`,
	`(?P<email>\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)`,
	`(?P<uuid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)`,
	`(?P<date>\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+\-]\d{2}:?\d{2})?)?)`,
	`(?P<ip>\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?::\d{1,5})?\b)`,
	`(?P<time>\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\b)`,
	`(?P<ip6>\b[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{0,4}){1,6}:[0-9a-fA-F]{1,4}\b)`,
	`(?P<hex>\b0[xX][0-9a-fA-F]+\b|\b[0-9a-fA-F]{8,}\b)`,
	`(?P<num>\b\d+(?:\.\d+)?(?:[a-zA-Z]{1,3})?\b)`,
}, "|"))

// maskVariables replaces the variable parts of s (see variablePart) with
// placeholders such as "<num>", so "user 42 not found" and "user 7 not
// found" group together. Strings without a digit, "@" or "://" cannot
// hold one and are returned as they are.
func maskVariables(s string) string {
	if !strings.ContainsAny(s, "0123456789@") && !strings.Contains(s, "://") {
		return s
	}
	names := variablePart.SubexpNames()
	matches := variablePart.FindAllStringSubmatchIndex(s, -1)
	if len(matches) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, m := range matches {
		b.WriteString(s[last:m[0]])
		last = m[1]
		b.WriteString(placeholder(s[m[0]:m[1]], names, m))
	}
	b.WriteString(s[last:])
	return b.String()
}

// placeholder names the alternative that matched.
func placeholder(match string, names []string, m []int) string {
	for g := 1; g < len(names); g++ {
		if m[2*g] < 0 {
			continue
		}
		switch names[g] {
		case "ip6":
			return "<ip>"
		case "hex":
			if strings.HasPrefix(match, "0x") || strings.HasPrefix(match, "0X") {
				return "<hex>"
			}
			if strings.Trim(match, "0123456789") == "" {
				return "<num>"
			}
			if !strings.ContainsAny(match, "0123456789") {
				return match // a word that happens to be hex, like "deadbeef"
			}
			return "<hex>"
		default:
			return "<" + names[g] + ">"
		}
	}
	return match
}
