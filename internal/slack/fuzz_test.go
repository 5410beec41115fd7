package slack

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"triage/internal/config"
	"triage/internal/issues"
	"triage/internal/secretbox"
	"triage/internal/signing"
	"triage/internal/slack/message"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// FuzzActionPayload: whatever arrives signed at the action endpoint, as a
// payload field or as a raw body, never panics and, with no workspace
// installed, never gets anything but a 4xx (400 malformed, 403 unknown
// workspace).
func FuzzActionPayload(f *testing.F) {
	s := dbtest.Open(f, store.SQLite, nil)
	key := []byte("0123456789abcdef0123456789abcdef")
	i := New(Deps{
		Store: s, Signer: signing.New(key), Box: secretbox.New(key), Issues: issues.New(s, nil),
		Config: &config.Config{URLPrefix: "https://triage.example.com", SlackSigningSecret: "secret", SlackAPIURL: "http://127.0.0.1:1/api/"},
	})
	h := i.Action()
	for _, seed := range []string{
		`{"type":"interactive_message","callback_id":"{\"issue\":1}","team":{"id":"T1"},"user":{"id":"U1"},"actions":[{"name":"status","type":"button","value":"resolved"}],"original_message":{"type":"message"}}`,
		`{"type":"interactive_message","callback_id":"{\"issue\":1}","team":{"id":"T1"},"user":{"id":"U1"},"actions":[{"name":"assign","type":"select","selected_options":[{"value":"team:2"}]}]}`,
		`{"type":"interactive_message","callback_id":"{\"issue\":1}","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"1.2.3","actions":[{"name":"resolve_dialog","value":"resolve"}]}`,
		`{"type":"dialog_submission","callback_id":"{\"issue\":1,\"orig_response_url\":\"https://hooks.slack.com/x\",\"is_message\":true}","team":{"id":"T1"},"user":{"id":"U1"},"submission":{"resolve_type":"resolved:inNextRelease"}}`,
		`{"type":"block_actions","team":null,"user":{"id":"U1","team_id":"T1"},"container":{"type":"message_attachment","is_app_unfurl":true,"app_unfurl_url":"https://x/"},"actions":[{"action_id":"status:resolve","block_id":"issue:1","value":"resolved"}]}`,
		`{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"t","actions":[{"action_id":"ignore_dialog","block_id":"issue:1"}]}`,
		`{"type":"view_submission","team":{"id":"T1"},"user":{"id":"U1"},"view":{"callback_id":"ignore","private_metadata":"{\"issue\":1}","state":{"values":{"ignore_type":{"ignore_type":{"selected_option":{"value":"ignored:count:10"}}}}}}}`,
		`{"type":"view_submission","team":{"id":"T1"},"user":{"id":"U1"},"view":{"callback_id":"resolve","private_metadata":"[]"}}`,
		`{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"actions":[]}`,
		`{"type":"interactive_message","team":"T1"}`, `null`, `[]`, `"x"`, `{}`, ``, `{"type":1}`,
		`{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"actions":[{"action_id":"status","block_id":"issue:99999999999999999999","value":"ignored:until:2026-13-01T00:00:00Z"}]}`,
	} {
		f.Add([]byte(seed), false)
	}
	f.Add([]byte("payload=%7B%7D&payload=x"), true)
	f.Add([]byte("%zz"), true)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		body := string(data)
		if !raw {
			body = url.Values{"payload": {body}}.Encode()
		}
		r := httptest.NewRequest("POST", "/extensions/slack/action/", strings.NewReader(body))
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set(HeaderTimestamp, ts)
		r.Header.Set(HeaderSignature, ComputeSignature("secret", ts, []byte(body)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest && w.Code != http.StatusForbidden && w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		// The parser alone, on the raw bytes too.
		if p, err := message.ParseInteraction(data, message.TypeInteractiveMessage, message.TypeDialogSubmission, message.TypeBlockActions, message.TypeViewSubmission, message.TypeBlockSuggestion); err == nil {
			_, _ = p.Request()
		}
	})
}
