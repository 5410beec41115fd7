package slack

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
	"triage/internal/slack/message"
)

// TestEnvelopeSeen: a redelivered envelope gets the first answer; a failed
// one is handled afresh; answered ones are forgotten after a while.
func TestEnvelopeSeen(t *testing.T) {
	t.Parallel()
	var s envelopeSeen
	now := time.Now()
	e, first := s.begin("E1", now)
	if !first {
		t.Fatal("first delivery not first")
	}
	if p, ok := s.result(e); p != nil || !ok {
		t.Errorf("in progress: %s %v, want an empty ack", p, ok)
	}
	again, first := s.begin("E1", now)
	if first || again != e {
		t.Fatal("a redelivery while in progress is handled again")
	}
	s.finish("E1", e, json.RawMessage(`{"text":"hi"}`), true, now)
	if _, first := s.begin("E1", now); first {
		t.Fatal("a redelivery after the answer is handled again")
	}
	if p, ok := s.result(again); string(p) != `{"text":"hi"}` || !ok {
		t.Errorf("redelivery answer %s %v", p, ok)
	}

	f, _ := s.begin("E2", now)
	s.finish("E2", f, nil, false, now)
	if p, ok := s.result(f); p != nil || ok {
		t.Errorf("failed: %s %v", p, ok)
	}
	if _, first := s.begin("E2", now); !first {
		t.Error("a failed envelope is not handled again")
	}

	later := now.Add(seenRetention + 2*time.Minute)
	if _, first := s.begin("E3", later); !first {
		t.Fatal("E3")
	}
	if _, first := s.begin("E1", later); !first {
		t.Error("E1 remembered past the retention")
	}
}

func TestAckPayload(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		r    reply
		want string
		ok   bool
	}{
		"empty":     {replyOK, "", true},
		"body":      {reply{http.StatusOK, map[string]string{"response_action": "errors"}}, `{"response_action":"errors"}`, true},
		"forbidden": {forbidden("no"), "", true},
		"bad":       {badRequest(message.BadPayload("x")), "", true},
		"internal":  {internalReply, "", false},
	} {
		p, ok := ackPayload(c.r)
		if string(p) != c.want || ok != c.ok {
			t.Errorf("%s: %s %v", name, p, ok)
		}
	}
}

func TestIsOptionsLoad(t *testing.T) {
	t.Parallel()
	for payload, want := range map[string]bool{
		`{"type":"block_suggestion"}`:                    true,
		`{"type":"dialog_suggestion"}`:                   true,
		`{"type":"interactive_message","name":"assign"}`: true,
		`{"type":"interactive_message","actions":[]}`:    false,
		`{"type":"block_actions"}`:                       false,
		`{"type":"view_submission"}`:                     false,
		`nope`:                                           false,
	} {
		if got := isOptionsLoad([]byte(payload)); got != want {
			t.Errorf("%s: %v", payload, got)
		}
	}
}

func TestSocketBackoff(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]time.Duration{0: socketBackoffBase, 3: 8 * socketBackoffBase, 10: socketBackoffMax, 100: socketBackoffMax} {
		for range 50 {
			if d := socketBackoff(n); d < want/2 || d > want {
				t.Errorf("backoff(%d) = %s, want in [%s, %s]", n, d, want/2, want)
			}
		}
	}
}
