package webapi

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"
)

// Verdict is what a caller does after Slack (or a response URL) refused a
// call.
type Verdict int

const (
	// Retry: the failure may heal (a network error, Slack's internal_error,
	// a 5xx); try again with backoff.
	Retry Verdict = iota
	// Wait: Slack rate-limited the call (HTTP 429 with Retry-After); try
	// again after Decision.Wait, without counting it as a failure.
	Wait
	// GiveUp: retrying this call will not help (the channel is gone or
	// archived, the message cannot be edited any more, the payload is
	// refused); record the code, show it to admins, stop.
	GiveUp
	// Disable: the workspace's token is dead; give up on every call to that
	// workspace and mark it as needing a reinstall (Tokens.Failed does).
	Disable
)

func (v Verdict) String() string {
	switch v {
	case Retry:
		return "retry"
	case Wait:
		return "wait"
	case GiveUp:
		return "give up"
	case Disable:
		return "disable the workspace"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Codes Triage itself gives a failure that Slack did not name.
const (
	// CodeInactive: Triage no longer uses the workspace's token (it was
	// uninstalled, or a refresh or a call found the token dead).
	CodeInactive = "integration_inactive"
	// CodeMessageLimit: HTTP 429 without Retry-After, which is how Slack
	// refuses a free workspace over its message limit.
	CodeMessageLimit = "message_limit_exceeded"
	// CodeExpiredURL: a response URL answered 404 (Slack's "Expired url",
	// after 30 minutes or 5 uses).
	CodeExpiredURL = "expired_url"
	// CodeURLRefused: a response URL answered another 4xx.
	CodeURLRefused = "response_url_refused"
)

// verdicts is the one table of what Slack's error codes mean to Triage.
// A code not listed is retried: Slack documents internal_error,
// fatal_error, service_unavailable, request_timeout and the like as
// transient. Meanings, from Slack's method documentation:
//   - invalid_auth ("the provided token is invalid"), account_inactive
//     ("token is for a deleted user or workspace"), token_revoked,
//     token_expired and not_authed ("no authentication token provided":
//     Triage holds no usable token) all mean that no call to the
//     workspace will work until someone reinstalls Triage;
//     integration_inactive is Triage's own word for a workspace already
//     in that state.
//   - The others name one channel, message, URL or payload that will not
//     become acceptable by asking again.
var verdicts = map[string]Verdict{
	// The workspace's token is dead.
	"invalid_auth": Disable, "account_inactive": Disable, "token_revoked": Disable,
	"token_expired": Disable, "not_authed": Disable, CodeInactive: Disable,
	// The channel.
	"channel_not_found": GiveUp, "is_archived": GiveUp, "not_in_channel": GiveUp,
	"cannot_find_channel": GiveUp, "user_not_in_channel": GiveUp,
	// The workspace or app refuses, but the token still works.
	CodeMessageLimit: GiveUp, "missing_scope": GiveUp, "no_permission": GiveUp,
	"team_access_not_granted": GiveUp, "ekm_access_denied": GiveUp, "restricted_action": GiveUp,
	"not_allowed_token_type": GiveUp,
	// The message or unfurl.
	"message_not_found": GiveUp, "cant_update_message": GiveUp, "cannot_find_message": GiveUp,
	"cannot_unfurl_url": GiveUp, "invalid_unfurl_id": GiveUp,
	// The payload.
	"invalid_blocks": GiveUp, "invalid_blocks_format": GiveUp, "invalid_attachments": GiveUp,
	"msg_too_long": GiveUp, "no_text": GiveUp,
	// A response URL.
	CodeExpiredURL: GiveUp, CodeURLRefused: GiveUp,
}

// Decision is what one failed call means: Slack's code (or one of
// Triage's Code… constants; "" when none applies), the verdict, and for
// Wait how long.
type Decision struct {
	Code    string
	Verdict Verdict
	Wait    time.Duration
}

// Decide reads a failed call's error. Every Slack caller in Triage (card
// rebuilds, alerts, unfurls, Socket Mode, token refresh) decides through
// it, so that a code means the same everywhere.
func Decide(err error) Decision {
	if err == nil {
		return Decision{}
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return Decision{Verdict: Wait, Wait: rl.RetryAfter}
	}
	code := Code(err)
	return Decision{Code: code, Verdict: verdicts[code]}
}

// Permanent tells whether the call should not be tried again.
func (d Decision) Permanent() bool { return d.Verdict == GiveUp || d.Verdict == Disable }

// Code is Slack's error code in err, or the Code… constant Triage uses
// for a failure Slack did not name; "" otherwise.
func Code(err error) string {
	var se *Error
	if errors.As(err, &se) {
		return se.Code
	}
	var sr slack.SlackErrorResponse
	if errors.As(err, &sr) {
		return sr.Err
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) && sc.Code == http.StatusTooManyRequests {
		return CodeMessageLimit
	}
	var ie *InactiveError
	if errors.As(err, &ie) {
		return CodeInactive
	}
	var re *ResponseURLError
	if errors.As(err, &re) && re.Status >= 400 && re.Status < 500 && re.Status != http.StatusTooManyRequests {
		if re.Status == http.StatusNotFound {
			return CodeExpiredURL
		}
		return CodeURLRefused
	}
	return ""
}

// PermanentReason returns the code of an error that retrying will not
// heal (Decide's GiveUp or Disable).
func PermanentReason(err error) (string, bool) {
	d := Decide(err)
	return d.Code, d.Permanent()
}

// RetryAfter tells how long Slack asked to wait when it rate-limited a
// call.
func RetryAfter(err error) (time.Duration, bool) {
	d := Decide(err)
	return d.Wait, d.Verdict == Wait
}

// DeadWorkspace tells whether err means that the workspace's token no
// longer works (Decide's Disable).
func DeadWorkspace(err error) bool { return Decide(err).Verdict == Disable }

// Error is Slack answering ok:false; Code is Slack's error code.
type Error struct{ Code string }

func (e *Error) Error() string { return "slack error: " + e.Code }

// AsError turns slack-go's ok:false error into *Error, and wraps any
// other error with the method's name.
func AsError(method string, err error) error {
	var sr slack.SlackErrorResponse
	if errors.As(err, &sr) {
		return &Error{Code: sr.Err}
	}
	return fmt.Errorf("%s: %w", method, err)
}

// InactiveError is a workspace whose integration is disabled or needs a
// reinstall: Triage no longer uses its token. It wraps the EINVALID error
// that tells admins why.
type InactiveError struct{ Err error }

func (e *InactiveError) Error() string { return e.Err.Error() }
func (e *InactiveError) Unwrap() error { return e.Err }

// ResponseURLError is a response URL answering anything but 200.
type ResponseURLError struct {
	Status int
	Answer string
}

func (e *ResponseURLError) Error() string {
	return fmt.Sprintf("response url answered %d %q", e.Status, e.Answer)
}
