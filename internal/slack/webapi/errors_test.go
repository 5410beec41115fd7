package webapi

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"triage"
)

// TestDecide pins what every Slack error code means to Triage. A change
// here changes what alerts, card rebuilds, unfurls and Socket Mode do.
func TestDecide(t *testing.T) {
	t.Parallel()
	codes := map[string]Verdict{
		// A dead token: give up on the workspace and mark it for reinstall.
		"invalid_auth": Disable, "account_inactive": Disable, "token_revoked": Disable,
		"token_expired": Disable, "not_authed": Disable, "integration_inactive": Disable,
		// One channel, message, URL or payload: give up on this call.
		"channel_not_found": GiveUp, "is_archived": GiveUp, "not_in_channel": GiveUp,
		"cannot_find_channel": GiveUp, "user_not_in_channel": GiveUp,
		"message_limit_exceeded": GiveUp, "missing_scope": GiveUp, "no_permission": GiveUp,
		"team_access_not_granted": GiveUp, "ekm_access_denied": GiveUp, "restricted_action": GiveUp,
		"not_allowed_token_type": GiveUp,
		"message_not_found":      GiveUp, "cant_update_message": GiveUp, "cannot_find_message": GiveUp,
		"cannot_unfurl_url": GiveUp, "invalid_unfurl_id": GiveUp,
		"invalid_blocks": GiveUp, "invalid_blocks_format": GiveUp, "invalid_attachments": GiveUp,
		"msg_too_long": GiveUp, "no_text": GiveUp,
		"expired_url": GiveUp, "response_url_refused": GiveUp,
		// Transient, or unknown: retry.
		"internal_error": Retry, "fatal_error": Retry, "service_unavailable": Retry,
		"request_timeout": Retry, "ratelimited": Retry, "some_new_code": Retry,
	}
	if len(verdicts) != len(codes)-6 {
		t.Errorf("the table has %d codes, the test pins %d: pin every code here", len(verdicts), len(codes)-6)
	}
	for code, want := range codes {
		err := fmt.Errorf("chat.postMessage: %w", slack.SlackErrorResponse{Err: code})
		d := Decide(err)
		if d.Code != code || d.Verdict != want || d.Wait != 0 {
			t.Errorf("Decide(%s) = %+v; want %v", code, d, want)
		}
		if reason, ok := PermanentReason(err); ok != (want == GiveUp || want == Disable) || reason != code {
			t.Errorf("PermanentReason(%s) = %q, %v", code, reason, ok)
		}
		if DeadWorkspace(err) != (want == Disable) {
			t.Errorf("DeadWorkspace(%s) = %v", code, !(want == Disable))
		}
	}
}

// TestDecideErrorForms pins how each kind of failure is read: slack-go's
// errors, Triage's own, and response URLs' answers.
func TestDecideErrorForms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want Decision
	}{
		{nil, Decision{}},
		{&Error{Code: "is_archived"}, Decision{Code: "is_archived", Verdict: GiveUp}},
		{AsError("team.info", slack.SlackErrorResponse{Err: "token_revoked"}), Decision{Code: "token_revoked", Verdict: Disable}},
		{fmt.Errorf("x: %w", &slack.RateLimitedError{RetryAfter: 3 * time.Second}), Decision{Verdict: Wait, Wait: 3 * time.Second}},
		{slack.StatusCodeError{Code: http.StatusTooManyRequests, Status: "429"}, Decision{Code: "message_limit_exceeded", Verdict: GiveUp}},
		{slack.StatusCodeError{Code: http.StatusBadGateway, Status: "502"}, Decision{Verdict: Retry}},
		{&ResponseURLError{Status: http.StatusNotFound, Answer: "Expired url"}, Decision{Code: "expired_url", Verdict: GiveUp}},
		{&ResponseURLError{Status: http.StatusForbidden}, Decision{Code: "response_url_refused", Verdict: GiveUp}},
		{&ResponseURLError{Status: http.StatusTooManyRequests}, Decision{Verdict: Retry}},
		{&ResponseURLError{Status: http.StatusInternalServerError}, Decision{Verdict: Retry}},
		{&InactiveError{triage.Errorf(triage.EINVALID, "disabled")}, Decision{Code: "integration_inactive", Verdict: Disable}},
		{errors.New("connection reset"), Decision{Verdict: Retry}},
	} {
		if got := Decide(tc.err); got != tc.want {
			t.Errorf("Decide(%v) = %+v; want %+v", tc.err, got, tc.want)
		}
	}
	if d, ok := RetryAfter(slack.SlackErrorResponse{Err: "ratelimited"}); ok {
		t.Errorf("RetryAfter without a rate limit error = %v", d)
	}
	if triage.ErrorCode(&InactiveError{triage.Errorf(triage.EINVALID, "disabled")}) != triage.EINVALID {
		t.Error("an inactive workspace's error lost its EINVALID")
	}
}
