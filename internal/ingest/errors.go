package ingest

import (
	"errors"
	"fmt"
)

// Errors that decide the HTTP status of a rejected request. Match them with
// errors.Is; the concrete errors carry the reason shown to the client.
var (
	// ErrTooLarge means a size limit was exceeded (HTTP 413).
	ErrTooLarge = errors.New("payload too large")
	// ErrMalformed means the body cannot be decoded or parsed (HTTP 400).
	ErrMalformed = errors.New("malformed payload")
	// ErrUnknownProject is what a Projects implementation wraps when the
	// project does not exist (HTTP 401).
	ErrUnknownProject = errors.New("unknown project")
	// ErrBadKey is what a Projects implementation wraps when the key exists
	// nowhere, belongs to another project or is disabled (HTTP 403).
	ErrBadKey = errors.New("invalid or disabled key")
	// ErrUnavailable is what a Projects or Sink implementation wraps when
	// the database does not answer in time (HTTP 503 with Retry-After, which
	// SDKs back off from and retry, where a 500 makes them drop the event).
	ErrUnavailable = errors.New("temporarily unavailable")
)

// IsUnknownProject reports whether err says the project does not exist.
func IsUnknownProject(err error) bool { return errors.Is(err, ErrUnknownProject) }

// IsBadKey reports whether err says the key is not valid for the project.
func IsBadKey(err error) bool { return errors.Is(err, ErrBadKey) }

// MalformedError explains why a body was rejected; it matches ErrMalformed.
type MalformedError struct {
	Reason string
}

func (e *MalformedError) Error() string { return "malformed payload: " + e.Reason }

// Is makes errors.Is(err, ErrMalformed) true.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

func malformed(format string, args ...any) error {
	return &MalformedError{Reason: fmt.Sprintf(format, args...)}
}

// TooLargeError names the limit that was exceeded; it matches ErrTooLarge.
type TooLargeError struct {
	What  string // "request body", "decompressed body", "event", …
	Limit int64  // the limit, in bytes or items
	Unit  string // "bytes" or "items"
}

func (e *TooLargeError) Error() string {
	if e.Unit == "items" {
		return fmt.Sprintf("%s exceeds the limit of %d", e.What, e.Limit)
	}
	return fmt.Sprintf("%s exceeds the limit of %s", e.What, formatSize(e.Limit))
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

func tooLarge(what string, limit int64) error {
	return &TooLargeError{What: what, Limit: limit, Unit: "bytes"}
}

func tooMany(what string, limit int64) error {
	return &TooLargeError{What: what, Limit: limit, Unit: "items"}
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
