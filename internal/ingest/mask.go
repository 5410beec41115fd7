package ingest

import (
	"strings"
)

// maskVariables replaces the parts of an error message that change from
// one occurrence of a problem to the next with placeholders, so that "user
// 42 not found" and "user 7 not found" group together:
//
//	<url>    scheme://anything-up-to-a-space-quote-or-bracket
//	<email>  local@domain.tld
//	<uuid>   8-4-4-4-12 hex digits
//	<date>   2026-03-14, with an optional time and zone
//	<ip>     IPv4 (with an optional port) and IPv6 with a digit in it
//	<time>   15:09 or 15:09:26.5
//	<hex>    0x1f, or 8 or more hex digits mixing letters and digits
//	<num>    42, 1.5, or a number with a unit of up to 3 letters (250ms)
//
// Matches start at a word boundary (as \b in a regular expression) and the
// kinds are tried in the order above at each position. Strings without a
// digit, "@" or "://" are returned as they are. A hand-written scanner,
// because Go's regexp took 16µs for a 45-character message.
func maskVariables(s string) string {
	if !strings.ContainsAny(s, "0123456789@") && !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	var m masker
	last := 0
	for i := 0; i < len(s); {
		if !isWord(s[i]) || (i > 0 && isWord(s[i-1])) {
			i++
			continue
		}
		end, repl := m.match(s, i)
		if end < 0 {
			for i < len(s) && isWord(s[i]) { // no word boundary inside a word
				i++
			}
			continue
		}
		if repl == "" { // matched, but keeps its text
			i = end
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:i])
		b.WriteString(repl)
		last, i = end, end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// masker remembers where URL and email matches failed. Their first parts
// (a scheme, a local part) run across word boundaries, and every start
// inside a run that failed fails the same way; skipping those starts keeps
// the scan linear in the length of the message.
type masker struct {
	urlFailedTo, emailFailedTo int
}

// match tries each kind at s[i:], which starts a word. It returns the end
// of the match and its placeholder ("" to keep the text), or -1.
func (m *masker) match(s string, i int) (int, string) {
	if i >= m.urlFailedTo {
		end, scanned := matchURL(s, i)
		if end >= 0 {
			return end, "<url>"
		}
		m.urlFailedTo = scanned
	}
	if i >= m.emailFailedTo {
		end, scanned := matchEmail(s, i)
		if end >= 0 {
			return end, "<email>"
		}
		m.emailFailedTo = scanned
	}
	if end := matchUUID(s, i); end >= 0 {
		return end, "<uuid>"
	}
	if end := matchDate(s, i); end >= 0 {
		return end, "<date>"
	}
	if end := matchIPv4(s, i); end >= 0 {
		return end, "<ip>"
	}
	if end := matchTime(s, i); end >= 0 {
		return end, "<time>"
	}
	if end := matchIPv6(s, i); end >= 0 {
		return end, "<ip>"
	}
	if end, repl := matchHex(s, i); end >= 0 {
		return end, repl
	}
	if end := matchNumber(s, i); end >= 0 {
		return end, "<num>"
	}
	return -1, ""
}

func isWord(c byte) bool {
	return c == '_' || isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'z'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// boundaryAfter reports whether a match ending in a word character may end
// at j.
func boundaryAfter(s string, j int) bool { return j == len(s) || !isWord(s[j]) }

// run returns the end of the run of bytes matching class from i.
func run(s string, i int, class func(byte) bool) int {
	for i < len(s) && class(s[i]) {
		i++
	}
	return i
}

// digitsAt returns the end of a run of min to max digits at i, which must
// not be followed by another digit, or -1.
func digitsAt(s string, i, minN, maxN int) int {
	end := run(s, i, isDigit)
	if n := end - i; n < minN || n > maxN {
		return -1
	}
	return end
}

// matchURL matches scheme://…; when it fails, starts before scanned fail too.
func matchURL(s string, i int) (end, scanned int) {
	if !isLetter(s[i]) {
		return -1, i
	}
	j := run(s, i, func(c byte) bool { return isWord(c) && c != '_' || c == '+' || c == '.' || c == '-' })
	if !strings.HasPrefix(s[j:], "://") {
		return -1, j
	}
	j += 3
	end = run(s, j, func(c byte) bool { return c > ' ' && !strings.ContainsRune("\"'<>()[]{}\x7f", rune(c)) })
	if end == j {
		return -1, j
	}
	return end, end
}

// matchEmail matches local@domain.tld; when it fails, starts before scanned
// fail too.
func matchEmail(s string, i int) (end, scanned int) {
	j := run(s, i, func(c byte) bool { return isWord(c) && c != '_' || strings.IndexByte("._%+-", c) >= 0 })
	if j == i || j >= len(s) || s[j] != '@' {
		return -1, j
	}
	local := j
	label := func(c byte) bool { return isWord(c) && c != '_' || c == '-' }
	if j = run(s, j+1, label); s[j-1] == '@' {
		return -1, local
	}
	labels := 0
	for j+1 < len(s) && s[j] == '.' && label(s[j+1]) {
		j = run(s, j+1, label)
		labels++
	}
	if labels == 0 {
		return -1, local
	}
	return j, j
}

func matchUUID(s string, i int) int {
	j := i
	for g, n := range []int{8, 4, 4, 4, 12} {
		if g > 0 {
			if j >= len(s) || s[j] != '-' {
				return -1
			}
			j++
		}
		if end := run(s, j, isHex); end-j != n {
			return -1
		} else {
			j = end
		}
	}
	if !boundaryAfter(s, j) {
		return -1
	}
	return j
}

// matchDate matches 2026-03-14, then optionally T15:09, :26, .535, and Z
// or +01:00, each part only when complete.
func matchDate(s string, i int) int {
	j := digitsAt(s, i, 4, 4)
	for _, n := range []int{2, 2} {
		if j < 0 || j >= len(s) || s[j] != '-' {
			return -1
		}
		j = digitsAt(s, j+1, n, n)
	}
	if j < 0 {
		return -1
	}
	if j+1 < len(s) && (s[j] == 'T' || s[j] == ' ') {
		if k := clock(s, j+1); k >= 0 {
			j = k
			if j < len(s) && s[j] == 'Z' {
				j++
			} else if j < len(s) && (s[j] == '+' || s[j] == '-') {
				if k := digitsAt(s, j+1, 2, 2); k >= 0 {
					if k < len(s) && s[k] == ':' {
						k++
					}
					if k := digitsAt(s, k, 2, 2); k >= 0 {
						j = k
					}
				}
			}
		}
	}
	return j
}

// clock matches hh:mm with optional :ss and fraction (. or ,).
func clock(s string, i int) int {
	j := digitsAt(s, i, 2, 2)
	if j < 0 || j >= len(s) || s[j] != ':' {
		return -1
	}
	if j = digitsAt(s, j+1, 2, 2); j < 0 {
		return -1
	}
	if j < len(s) && s[j] == ':' {
		if k := digitsAt(s, j+1, 2, 2); k >= 0 {
			j = k
			if j+1 < len(s) && (s[j] == '.' || s[j] == ',') && isDigit(s[j+1]) {
				j = run(s, j+1, isDigit)
			}
		}
	}
	return j
}

func matchIPv4(s string, i int) int {
	j := digitsAt(s, i, 1, 3)
	for range 3 {
		if j < 0 || j >= len(s) || s[j] != '.' {
			return -1
		}
		j = digitsAt(s, j+1, 1, 3)
	}
	if j < 0 || !boundaryAfter(s, j) {
		return -1
	}
	if j < len(s) && s[j] == ':' {
		if k := digitsAt(s, j+1, 1, 5); k >= 0 && boundaryAfter(s, k) {
			return k
		}
	}
	return j
}

func matchTime(s string, i int) int {
	j := digitsAt(s, i, 1, 2)
	if j < 0 || j >= len(s) || s[j] != ':' {
		return -1
	}
	if j = digitsAt(s, j+1, 2, 2); j < 0 || !boundaryAfter(s, j) {
		return -1
	}
	if j < len(s) && s[j] == ':' {
		if k := digitsAt(s, j+1, 2, 2); k >= 0 && boundaryAfter(s, k) {
			j = k
			if j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
				if k := run(s, j+1, isDigit); boundaryAfter(s, k) {
					j = k
				}
			}
		}
	}
	return j
}

// matchIPv6 matches hex groups joined by 2 to 7 colons ("::" shortens),
// starting and ending with a non-empty group and holding a digit, so that
// "Abc::Def" stays a name.
func matchIPv6(s string, i int) int {
	j := run(s, i, isHex)
	if n := j - i; n < 1 || n > 4 {
		return -1
	}
	best, colons := -1, 0
	for colons < 7 && j < len(s) && s[j] == ':' {
		k := run(s, j+1, isHex)
		if k-(j+1) > 4 {
			break
		}
		colons++
		j = k
		if colons >= 2 && k > 0 && s[k-1] != ':' && boundaryAfter(s, k) {
			best = k
		}
	}
	if best < 0 || !strings.ContainsAny(s[i:best], "0123456789") {
		return -1
	}
	return best
}

// matchHex matches 0x… or a run of 8 or more hex digits with a letter; with
// no digit it is a word that happens to be hex ("deadbeef") and is kept.
func matchHex(s string, i int) (int, string) {
	if s[i] == '0' && i+2 < len(s) && s[i+1]|0x20 == 'x' && isHex(s[i+2]) {
		if end := run(s, i+2, isHex); boundaryAfter(s, end) {
			return end, "<hex>"
		}
	}
	end := run(s, i, isHex)
	if end-i < 8 || !boundaryAfter(s, end) {
		return -1, ""
	}
	switch digits := run(s, i, isDigit); {
	case digits == end:
		return -1, "" // a number, maybe with a fraction
	case !strings.ContainsAny(s[i:end], "0123456789"):
		return end, ""
	}
	return end, "<hex>"
}

// matchNumber matches 42, 1.5 and 250ms (a unit of up to 3 letters).
func matchNumber(s string, i int) int {
	whole := run(s, i, isDigit)
	if whole == i {
		return -1
	}
	ends := []int{whole} // with the fraction first, if any
	if whole+1 < len(s) && s[whole] == '.' && isDigit(s[whole+1]) {
		ends = []int{run(s, whole+1, isDigit), whole}
	}
	for _, j := range ends {
		if boundaryAfter(s, j) {
			return j
		}
		if k := run(s, j, isLetter); k-j <= 3 && boundaryAfter(s, k) {
			return k
		}
	}
	return -1
}
