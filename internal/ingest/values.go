package ingest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// jsonScalarString renders a JSON value for display: strings unquoted,
// anything else as its JSON text.
func jsonScalarString(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s) // raw is valid: it came from a decoder
		return s
	}
	return string(raw)
}

// normalizeEventID accepts 32 hex digits or a dashed UUID and returns 32
// lowercase hex digits, or "" when id is not one (or is all zeros).
func normalizeEventID(id string) string {
	if len(id) == 36 && id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-' {
		id = id[:8] + id[9:13] + id[14:18] + id[19:23] + id[24:]
	}
	if len(id) != 32 {
		return ""
	}
	var buf [32]byte
	zero := true
	for i := 0; i < 32; i++ {
		c := id[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			c += 'a' - 'A'
		default:
			return ""
		}
		if c != '0' {
			zero = false
		}
		buf[i] = c
	}
	if zero {
		return ""
	}
	return string(buf[:])
}

// newEventID returns a random version 4 UUID as 32 hex digits.
func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// normalizeLevel maps what SDKs send onto the five levels.
func normalizeLevel(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "fatal", "critical":
		return LevelFatal
	case "warning", "warn":
		return LevelWarning
	case "info", "log", "notice":
		return LevelInfo
	case "debug", "trace":
		return LevelDebug
	default:
		return LevelError
	}
}

const (
	maxFutureDrift = time.Minute
	maxPastAge     = 30 * 24 * time.Hour
)

// eventTimestamp parses the event's timestamp, falling back to received
// when it is missing, unparsable or implausible (see doc.go).
func eventTimestamp(raw []byte, received time.Time) time.Time {
	t, ok := parseTimestamp(raw)
	if !ok || t.After(received.Add(maxFutureDrift)) || t.Before(received.Add(-maxPastAge)) {
		return received
	}
	return t
}

// parseTimestamp reads an RFC 3339 string (a missing zone means UTC) or a
// Unix time in seconds, as a number or a numeric string.
func parseTimestamp(raw []byte) (time.Time, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' {
		return time.Time{}, false
	}
	if raw[0] != '"' {
		return unixSeconds(string(raw))
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return time.Time{}, false
	}
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return unixSeconds(s)
}

// unixSeconds parses fractional Unix seconds, rounded to the microsecond
// (a float64 holds no more precision than that for current dates).
func unixSeconds(s string) (time.Time, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f <= 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	t := time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3)
	return t.UTC(), true
}
