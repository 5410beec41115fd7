package slack

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"triage"
)

func TestPermanentReasonAndRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err       error
		reason    string
		permanent bool
	}{
		{fmt.Errorf("post: %w", slack.SlackErrorResponse{Err: "channel_not_found"}), "channel_not_found", true},
		{&slackError{Code: "is_archived"}, "is_archived", true},
		{slack.SlackErrorResponse{Err: "not_in_channel"}, "not_in_channel", true},
		{slack.SlackErrorResponse{Err: "token_revoked"}, "token_revoked", true},
		{slack.SlackErrorResponse{Err: "internal_error"}, "internal_error", false},
		{slack.StatusCodeError{Code: http.StatusTooManyRequests, Status: "429"}, "message_limit_exceeded", true},
		{slack.StatusCodeError{Code: http.StatusBadGateway, Status: "502"}, "", false},
		{&responseURLError{Status: http.StatusNotFound, Answer: "Expired url"}, "expired_url", true},
		{&responseURLError{Status: http.StatusInternalServerError}, "", false},
		{&inactiveError{triage.Errorf(triage.EINVALID, "disabled")}, "integration_inactive", true},
		{&slack.RateLimitedError{RetryAfter: 3 * time.Second}, "", false},
		{errors.New("connection reset"), "", false},
	} {
		reason, ok := PermanentReason(tc.err)
		if reason != tc.reason || ok != tc.permanent {
			t.Errorf("PermanentReason(%v) = %q, %v; want %q, %v", tc.err, reason, ok, tc.reason, tc.permanent)
		}
	}
	if d, ok := RetryAfter(fmt.Errorf("x: %w", &slack.RateLimitedError{RetryAfter: 3 * time.Second})); !ok || d != 3*time.Second {
		t.Errorf("RetryAfter = %v, %v", d, ok)
	}
	if _, ok := RetryAfter(slack.SlackErrorResponse{Err: "ratelimited"}); ok {
		t.Error("RetryAfter without a rate limit error")
	}
}
