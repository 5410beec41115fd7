package search

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse: any input either parses into terms that print and parse back
// to the same terms, or is an *Error that names a term from the input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "is:unresolved level:error", `browser:"Chrome 1" !x`, "firstSeen:-24h times_seen:>=3",
		`a:"b\"c"`, "user.email:a@b.c", "!!a:b", `"x:y" :`, "lastSeen:2026-01-01 firstSeen:<2026-01-01T10:00:00Z", "\"\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		q, err := Parse(in, now)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) = %v, not a *search.Error", in, err)
			}
			if pe.Term == "" || !strings.Contains(in, pe.Term) {
				t.Fatalf("Parse(%q): error names %q, not a term of the input", in, pe.Term)
			}
			return
		}
		out := q.String()
		again, err := Parse(out, now)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", in, out, err)
		}
		if !cmp.Equal(q.Terms, again.Terms) {
			t.Fatalf("Parse(%q) = %+v; printed %q it reads %+v", in, q.Terms, out, again.Terms)
		}
	})
}
