package eventview

import (
	"net/url"
	"strings"
)

// filtered replaces a secret, as Sentry's data scrubber writes it.
const filtered = "[Filtered]"

// secretWords are parts of a key whose value is a secret: a password, a
// token, a session, a card number. Matched without regard to case.
var secretWords = []string{"password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "api-key",
	"access_key", "private_key", "privatekey", "authorization", "auth", "session", "csrf", "xsrf",
	"credential", "card", "cvv", "ssn", "dsn", "signature", "x-api-key"}

// secretKey tells a key whose value is masked.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// maskTree masks, in place, every value in a decoded JSON document whose key
// names a secret, and the values of cookies and secret query parameters
// wherever they hide in strings. The stored event keeps what the SDK sent;
// what anyone reads of it (page, raw JSON, API) goes through here first.
func maskTree(v any, changed *bool) any {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			lk := strings.ToLower(k)
			switch {
			case lk == "cookies" || lk == "cookie" || lk == "set-cookie":
				t[k] = maskCookies(child, changed)
			case lk == "frames":
				// Only a frame's local variables may hold secrets; its
				// other members are code locations, and there are many.
				if list, ok := child.([]any); ok {
					for _, f := range list {
						if fm, ok := f.(map[string]any); ok && fm["vars"] != nil {
							fm["vars"] = maskTree(fm["vars"], changed)
						}
					}
				}
			case lk == "query_string" || lk == "url" || lk == "referer":
				t[k] = maskQuery(child, changed)
			case secretKey(k):
				if child != nil && child != "" && child != filtered {
					t[k], *changed = filtered, true
				}
			default:
				t[k] = maskTree(child, changed)
			}
		}
		return t
	case []any:
		// A list of [key, value] pairs (headers, query, cookies) masks by key.
		for i, child := range t {
			if pair, ok := child.([]any); ok && len(pair) == 2 {
				if k, ok := pair[0].(string); ok {
					lk := strings.ToLower(k)
					switch {
					case lk == "cookie" || lk == "set-cookie":
						pair[1] = maskCookies(pair[1], changed)
						continue
					case secretKey(k):
						pair[1], *changed = filtered, true
						continue
					}
				}
			}
			t[i] = maskTree(child, changed)
		}
		return t
	}
	return v
}

// maskCookies keeps cookie names and masks every value: a cookie is a
// session more often than not.
func maskCookies(v any, changed *bool) any {
	switch t := v.(type) {
	case string:
		parts := strings.Split(t, ";")
		for i, p := range parts {
			name, _, ok := strings.Cut(p, "=")
			if ok {
				parts[i], *changed = name+"="+filtered, true
			}
		}
		return strings.Join(parts, ";")
	case map[string]any:
		for k := range t {
			t[k], *changed = filtered, true
		}
		return t
	case []any:
		for _, child := range t {
			if pair, ok := child.([]any); ok && len(pair) == 2 {
				pair[1], *changed = filtered, true
			}
		}
		return t
	}
	return v
}

// maskQuery masks secret parameters in a query string or a URL's query.
func maskQuery(v any, changed *bool) any {
	switch t := v.(type) {
	case string:
		base, query, hasQuery := "", t, true
		if strings.Contains(t, "://") || strings.HasPrefix(t, "/") {
			base, query, hasQuery = strings.Cut(t, "?")
			if !hasQuery {
				return t
			}
			base += "?"
		}
		parts := strings.Split(query, "&")
		for i, p := range parts {
			k, _, ok := strings.Cut(p, "=")
			if name, err := url.QueryUnescape(k); ok && err == nil && secretKey(name) {
				parts[i], *changed = k+"="+url.QueryEscape(filtered), true
			}
		}
		return base + strings.Join(parts, "&")
	default:
		return maskTree(v, changed)
	}
}
