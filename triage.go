// Package triage holds Triage's domain: the types every other package talks
// about, the one Error type with its codes, and the service interfaces that
// the subpackages implement. It imports only the standard library so that
// the domain never depends on how it is stored or served.
package triage

import (
	"errors"
	"fmt"
)

// Error codes. Every package returns these so that the edge (HTTP, CLI,
// Slack) can decide the status without knowing where the error came from.
const (
	ECONFLICT       = "conflict"        // the resource exists already, or changed underneath
	EINTERNAL       = "internal"        // a bug or an outage: log it, show a generic message
	EINVALID        = "invalid"         // bad input; Message says which and why
	ENOTFOUND       = "not_found"       // does not exist, or the caller may not see it
	EUNAUTHORIZED   = "unauthorized"    // not logged in or bad credentials
	EFORBIDDEN      = "forbidden"       // can see it, may not do it
	ENOTIMPLEMENTED = "not_implemented" // a feature that is not configured here
)

// Error is an error a user may see. Message is safe to show; internal details
// belong in a wrapped error that is logged, not in Message.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("triage error: code=%s message=%s", e.Code, e.Message)
}

// Errorf builds an *Error with a formatted, user-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err: the Message of an *Error
// in its chain, or a generic sentence for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
