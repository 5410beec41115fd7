package ingest

import (
	"regexp"
	"strings"
	"testing"
)

var oldVariablePart = regexp.MustCompile(strings.Join([]string{
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

func oldMask(s string) string {
	if !strings.ContainsAny(s, "0123456789@") && !strings.Contains(s, "://") {
		return s
	}
	names := oldVariablePart.SubexpNames()
	return oldVariablePart.ReplaceAllStringFunc(s, func(m string) string {
		sm := oldVariablePart.FindStringSubmatchIndex(m)
		for g := 1; g < len(names); g++ {
			if sm[2*g] < 0 {
				continue
			}
			switch names[g] {
			case "ip6":
				return "<ip>"
			case "hex":
				if strings.HasPrefix(m, "0x") || strings.HasPrefix(m, "0X") {
					return "<hex>"
				}
				if strings.Trim(m, "0123456789") == "" {
					return "<num>"
				}
				if !strings.ContainsAny(m, "0123456789") {
					return m
				}
				return "<hex>"
			default:
				return "<" + names[g] + ">"
			}
		}
		return m
	})
}

func FuzzMaskDiff(f *testing.F) {
	for _, s := range []string{"user 42 at 10.0.0.1:80 2026-03-14T10:00:00Z a@b.co http://x/y 550e8400-e29b-41d4-a716-446655440000 0xdead 12:30 fe80::1 5ms 1.5 deadbeef12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if regexp.MustCompile(`\d{4}-\d{2}-\d{2}`).MatchString(s) {
			return
		}
		if a, b := oldMask(s), maskVariables(s); a != b {
			t.Fatalf("%q: old %q new %q", s, a, b)
		}
	})
}

var protoMsg = "payment provider slow: 2300ms for order 1001"

func BenchmarkProtoMask(b *testing.B) {
	for b.Loop() {
		_ = maskVariables(protoMsg)
	}
}
