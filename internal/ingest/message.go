package ingest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// formatMessage fills a logentry template with its params, for SDKs that
// send the template without the formatted message. It understands the
// placeholders logging libraries use: printf-style "%s" (any conversion
// letter, with flags and width), Python's "%(name)s" with object params,
// "{}" or "{0}" with list params, and "{name}" with object params (Python's
// str.format, which sentry-python's Django message events use). Placeholders without a param are kept.
//
// Every placeholder is read within a few bytes of its start, so the time is
// linear in the length of the template.
func formatMessage(template string, params json.RawMessage) string {
	list, named := decodeParams(params)
	if list == nil && named == nil {
		return template
	}
	var b strings.Builder
	next := 0 // the next positional param
	for i := 0; i < len(template); {
		if b.Len() > maxMessage*4 { // truncated later; stop a runaway expansion
			break
		}
		c := template[i]
		switch {
		case c == '%' && i+1 < len(template) && template[i+1] == '%':
			b.WriteByte('%')
			i += 2
		case c == '%':
			n, s, ok := percentPlaceholder(template[i:], list, named, &next)
			if !ok {
				b.WriteByte(c)
				i++
				continue
			}
			b.WriteString(s)
			i += n
		case c == '{':
			n, s, ok := bracePlaceholder(template[i:], list, named, &next)
			if !ok {
				b.WriteByte(c)
				i++
				continue
			}
			b.WriteString(s)
			i += n
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func decodeParams(params json.RawMessage) (list []string, named map[string]string) {
	params = bytes.TrimSpace(params)
	if len(params) == 0 {
		return nil, nil
	}
	switch params[0] {
	case '[':
		var raw []json.RawMessage
		if json.Unmarshal(params, &raw) != nil {
			return nil, nil
		}
		list = make([]string, len(raw))
		for i, r := range raw {
			list[i] = jsonScalarString(r)
		}
		return list, nil
	case '{':
		var raw map[string]json.RawMessage
		if json.Unmarshal(params, &raw) != nil {
			return nil, nil
		}
		named = make(map[string]string, len(raw))
		for k, r := range raw {
			named[k] = jsonScalarString(r)
		}
		return nil, named
	}
	return nil, nil
}

// maxParamName bounds the name in "%(name)s", with its parentheses.
const maxParamName = 66

// percentPlaceholder reads "%(name)s" or "%-5.2f"-style placeholders at the
// start of s, returning its length and replacement.
func percentPlaceholder(s string, list []string, named map[string]string, next *int) (int, string, bool) {
	i := 1
	name, hasName := "", false
	if i < len(s) && s[i] == '(' {
		end := strings.IndexByte(s[i:min(len(s), i+maxParamName)], ')')
		if end < 0 {
			return 0, "", false
		}
		name, hasName = s[i+1:i+end], true
		i += end + 1
	}
	for i < len(s) && strings.IndexByte("-+#0123456789.", s[i]) >= 0 {
		i++
	}
	if i >= len(s) || strings.IndexByte("sdifrxXeEgGuco", s[i]) < 0 {
		return 0, "", false
	}
	i++
	if hasName {
		v, ok := named[name]
		return i, v, ok
	}
	if *next >= len(list) {
		return 0, "", false
	}
	v := list[*next]
	*next++
	return i, v, true
}

// bracePlaceholder reads "{}" or "{N}" (list params) or "{name}" (named
// params) at the start of s.
func bracePlaceholder(s string, list []string, named map[string]string, next *int) (int, string, bool) {
	if named != nil {
		end := strings.IndexByte(s[:min(len(s), maxParamName)], '}')
		if end < 0 {
			return 0, "", false
		}
		v, ok := named[s[1:end]]
		return end + 1, v, ok
	}
	end := strings.IndexByte(s[:min(len(s), 5)], '}') // "{}" to "{999}"
	if end < 0 {
		return 0, "", false
	}
	if end == 1 {
		if *next >= len(list) {
			return 0, "", false
		}
		v := list[*next]
		*next++
		return 2, v, true
	}
	n, err := strconv.Atoi(s[1:end])
	if err != nil || n < 0 || n >= len(list) {
		return 0, "", false
	}
	return end + 1, list[n], true
}
