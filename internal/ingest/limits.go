package ingest

import (
	"strings"
	"unicode/utf8"
)

// Request limits; doc.go explains them.
const (
	MaxCompressedBodySize = 20 << 20
	MaxEnvelopeSize       = 20 << 20
	MaxEventSize          = 1 << 20
	MaxItems              = 1000
	MaxEvents             = 100
)

// Field limits, in characters; doc.go lists them.
const (
	maxTitle         = 200
	maxCulprit       = 200
	maxTransaction   = 200
	maxRelease       = 200
	maxServerName    = 200
	maxEnvironment   = 64
	maxPlatform      = 64
	maxSDKField      = 64
	maxMessage       = 8192
	maxExcType       = 256
	maxExcValue      = 4096
	maxExceptions    = 25
	maxFramesHead    = 50
	maxFramesTail    = 200
	maxFrameField    = 256
	maxFramePath     = 1024
	maxContextLines  = 5
	maxTags          = 100
	maxTagKey        = 64
	maxTagValue      = 200
	maxUserField     = 256
	maxFingerprint   = 32
	maxFingerprintEl = 256
	maxLevel         = 16
)

const ellipsis = "…"

// truncate cuts s to at most n characters, the last of them "…" when
// something was cut, and never splits a UTF-8 sequence. It also drops NUL
// characters, which PostgreSQL text columns refuse.
func truncate(s string, n int) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if len(s) <= n { // bytes ≥ runes, so no rune count needed
		return s
	}
	count := 0
	for i := range s {
		if count == n-1 {
			// s has at least n-1 runes before i; cut only if more than one follows.
			if utf8.RuneCountInString(s[i:]) > 1 {
				return s[:i] + ellipsis
			}
			return s
		}
		count++
	}
	return s
}

// firstLine returns the first non-blank line of s, trimmed.
func firstLine(s string) string {
	for s != "" {
		var line string
		line, s, _ = strings.Cut(s, "\n")
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}
