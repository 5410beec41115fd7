// Package triage holds Triage's domain: the types every other package talks
// about, the one Error type with its codes, and the service interfaces that
// the subpackages implement. It imports only the standard library so that
// the domain never depends on how it is stored or served.
package triage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
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
	EUNAVAILABLE    = "unavailable"     // the database did not answer in time: try again later
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

// ErrorCode returns the code of the first *Error in err's chain,
// EUNAVAILABLE for a database that did not answer in time or could not be
// reached (see Unavailable), EINTERNAL for any other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	} else if Unavailable(err) {
		return EUNAVAILABLE
	}
	return EINTERNAL
}

// Unavailable reports whether err means "the database (or another
// dependency) is not answering now", a condition that passes by itself and
// that clients should meet with a retry later, not a bug: a deadline that
// ran out, a network failure, or a PostgreSQL error of the classes that say
// so (statement or lock timeout, connection failure, server shutting down,
// too many connections). It knows PostgreSQL errors by their SQLSTATE
// method, so this package needs no driver.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var netErr *net.OpError
	if errors.As(err, &netErr) {
		return true
	}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		state := pg.SQLState()
		switch {
		case state == "57014", state == "55P03", strings.HasPrefix(state, "57P"),
			strings.HasPrefix(state, "08"), strings.HasPrefix(state, "53"):
			return true
		}
	}
	return false
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
