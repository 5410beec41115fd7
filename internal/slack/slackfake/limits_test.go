package slackfake_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"triage/internal/slack/slackfake"
)

func TestChannelRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.SetChannelRateLimit(1, 1)
	post := func(ch string) error {
		_, _, err := b.api.PostMessageContext(ctx(t), ch, slack.MsgOptionText("x", false))
		return err
	}
	if err := post(general); err != nil {
		t.Fatal(err)
	}
	err := post(general)
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Fatalf("second post: %v, want *slack.RateLimitedError with 1s", err)
	}
	if err := post(ops); err != nil {
		t.Errorf("another channel has its own bucket: %v", err)
	}
	if got := b.fake.RateLimitStats(); got != (slackfake.RateLimitStats{Limited: 1}) {
		t.Errorf("stats = %+v", got)
	}
	b.clock.Advance(500 * time.Millisecond)
	_ = post(general) // too early: not honoured
	if got := b.fake.RateLimitStats(); got.Unhonoured != 1 {
		t.Errorf("stats after an early retry = %+v", got)
	}
	b.clock.Advance(2 * time.Second)
	if err := post(general); err != nil {
		t.Errorf("after Retry-After: %v", err)
	}
	if got := b.fake.RateLimitStats(); got.Unhonoured != 1 {
		t.Errorf("an honoured retry was counted: %+v", got)
	}
	calls := b.fake.Calls("chat.postMessage")
	if calls[1].Status != http.StatusTooManyRequests || calls[1].Error != "ratelimited" {
		t.Errorf("recorded 429 = %+v", calls[1])
	}
}

func TestMethodRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.SetMethodRateLimit("conversations.list", 20.0/60, 2)
	for i := range 3 {
		_, _, err := b.api.GetConversationsContext(ctx(t), &slack.GetConversationsParameters{})
		var rl *slack.RateLimitedError
		if i < 2 && err != nil || i == 2 && (!errors.As(err, &rl) || rl.RetryAfter != 3*time.Second) {
			t.Errorf("call %d: %v", i, err)
		}
	}
}

func TestMessageLimitExceeded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.SetMessageLimitExceeded(team, true)
	_, _, err := b.api.PostMessageContext(ctx(t), general, slack.MsgOptionText("x", false))
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != http.StatusTooManyRequests {
		t.Fatalf("got %v, want a 429 StatusCodeError (no Retry-After)", err)
	}
	if c := b.fake.Calls("chat.postMessage"); c[0].Error != "message_limit_exceeded" {
		t.Errorf("recorded %+v", c[0])
	}
}

func TestFailureInjection(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.FailNext("chat.postMessage", "fatal_error")
	b.fake.FailNextHTTP("chat.postMessage", http.StatusServiceUnavailable)
	text := slack.MsgOptionText("x", false)
	_, _, err := b.api.PostMessageContext(ctx(t), general, text)
	if got := slackErr(t, err); got != "fatal_error" {
		t.Errorf("first: %q", got)
	}
	_, _, err = b.api.PostMessageContext(ctx(t), general, text)
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != http.StatusServiceUnavailable {
		t.Errorf("second: %v", err)
	}
	if _, _, err := b.api.PostMessageContext(ctx(t), general, text); err != nil {
		t.Errorf("third: %v", err)
	}

	b.fake.SetLatency("auth.test", 50*time.Millisecond)
	start := time.Now()
	if _, err := b.api.AuthTestContext(ctx(t)); err != nil || time.Since(start) < 50*time.Millisecond {
		t.Errorf("latency: %v after %v", err, time.Since(start))
	}
}

func TestWaitForCalls(t *testing.T) {
	t.Parallel()
	b := setup(t)
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _, _ = b.api.PostMessageContext(ctx(t), general, slack.MsgOptionText("later", false))
	}()
	calls, err := b.fake.WaitForCalls(ctx(t), "chat.postMessage", 1)
	if err != nil || len(calls) != 1 || calls[0].Params["text"] != "later" {
		t.Fatalf("calls %+v, %v", calls, err)
	}
	b.fake.Reset()
	if len(b.fake.Calls("")) != 0 || len(b.fake.Messages(general)) != 0 {
		t.Error("Reset kept calls or messages")
	}
	if _, _, err := b.api.PostMessageContext(ctx(t), general, slack.MsgOptionText("after reset", false)); err != nil {
		t.Errorf("setup lost by Reset: %v", err)
	}
}
