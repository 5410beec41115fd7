package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// dmChannel is the conversation conversations.open gave for user ("" if
// none yet).
func (w *channelsWorld) dmChannel(user string) string {
	for _, c := range w.fake.Calls("conversations.open") {
		var resp struct{ Channel struct{ ID string } }
		if c.Params["users"] == user && c.Error == "" && json.Unmarshal(c.Response, &resp) == nil {
			return resp.Channel.ID
		}
	}
	return ""
}

// TestDirectMessagesPacedAsAlerts (issue 17): direct messages go out on
// the pacing alerts use, and a 429 holds back every sender: a burst of
// assignments to Mel (six DMs queued at once, more than Slack's burst for
// one conversation) reaches her, each DM once, the injected 429 and any
// other Slack sends are waited out (no request to her conversation before
// its Retry-After), on both engines, through triage serve.
func TestDirectMessagesPacedAsAlerts(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := setupChannels(t, engine, nil)
			ctx := context.Background()
			s, err := store.Open(ctx, w.dbURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			mel, err := s.UserByEmail(ctx, "mel@acme.test")
			s.Close()
			if err != nil {
				t.Fatal(err)
			}
			words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"}
			for _, word := range words {
				w.hub.CaptureMessage(word + " went wrong")
			}
			w.hub.Flush(10 * time.Second)
			var ids []string
			w.waitFor("the six issues", func() bool {
				var list []struct{ ID, Title string }
				w.api("GET", "/api/0/organizations/acme/issues/?query=went+wrong", w.adaToken, "", &list)
				ids = ids[:0]
				for _, is := range list {
					ids = append(ids, is.ID)
				}
				return len(ids) == len(words)
			})
			w.settle()

			// Slack's limit for one conversation is 1 a second, bursts of 3
			// (the fake's default, as Slack's); the first DM gets a 429.
			w.fake.FailNextHTTP("chat.postMessage", http.StatusTooManyRequests)
			q := "id=" + strings.Join(ids, "&id=")
			if code := w.api("PUT", "/api/0/organizations/acme/issues/?"+q, w.adaToken, `{"assignedTo": "user:`+strconv.FormatInt(mel.ID, 10)+`"}`, nil); code != 200 {
				t.Fatalf("bulk assign: %d", code)
			}
			w.waitFor("six DMs to Mel", func() bool {
				ch := w.dmChannel("U2")
				return ch != "" && len(w.fake.Messages(ch)) >= len(words)
			})
			w.settle()
			msgs := w.fake.Messages(w.dmChannel("U2"))
			seen := map[string]int{}
			for _, m := range msgs {
				for _, word := range words {
					if strings.Contains(string(m.Blocks), word+" went wrong") {
						seen[word]++
					}
				}
			}
			for _, word := range words {
				if seen[word] != 1 {
					t.Errorf("the DM about %q arrived %d times, want once (%d DMs)", word, seen[word], len(msgs))
				}
			}
			if st := w.fake.RateLimitStats(); st.Limited < 1 || st.Unhonoured != 0 {
				t.Errorf("rate limits %+v: want the injected 429 seen and every Retry-After honoured", st)
			}
		})
	}
}
