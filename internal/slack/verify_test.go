package slack_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"triage/internal/slack"
)

// Slack's published example (SLACK.md §1).
const (
	vectorSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	vectorTS     = "1531420618"
	vectorToken  = "xyzz0WbapA4vBCDEFasx0q6G"
	vectorBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	vectorSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

var vectorTime = time.Unix(1531420618, 0)

func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

func request(body, contentType string, headers map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/extensions/slack/commands/", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
}

func signed(body, ts, sig string) *http.Request {
	return request(body, "application/x-www-form-urlencoded",
		map[string]string{slack.HeaderTimestamp: ts, slack.HeaderSignature: sig})
}

func TestComputeSignatureVector(t *testing.T) {
	t.Parallel()
	if got := slack.ComputeSignature(vectorSecret, vectorTS, []byte(vectorBody)); got != vectorSig {
		t.Fatalf("ComputeSignature = %s, want %s", got, vectorSig)
	}
}

func TestVerifySigned(t *testing.T) {
	t.Parallel()
	big := vectorBody + "&pad=" + strings.Repeat("x", 200)
	bigSig := slack.ComputeSignature(vectorSecret, vectorTS, []byte(big))

	tests := []struct {
		name    string
		v       slack.Verifier
		req     func() *http.Request
		wantErr error
	}{
		{"published vector", slack.Verifier{},
			func() *http.Request { return signed(vectorBody, vectorTS, vectorSig) }, nil},
		{"300 s late", slack.Verifier{Now: clock(vectorTime.Add(300 * time.Second))},
			func() *http.Request { return signed(vectorBody, vectorTS, vectorSig) }, nil},
		{"301 s late", slack.Verifier{Now: clock(vectorTime.Add(301 * time.Second))},
			func() *http.Request { return signed(vectorBody, vectorTS, vectorSig) }, slack.ErrStaleTimestamp},
		{"301 s early", slack.Verifier{Now: clock(vectorTime.Add(-301 * time.Second))},
			func() *http.Request { return signed(vectorBody, vectorTS, vectorSig) }, slack.ErrStaleTimestamp},
		{"timestamp not a number", slack.Verifier{},
			func() *http.Request { return signed(vectorBody, "soon", vectorSig) }, slack.ErrStaleTimestamp},
		{"timestamp absurd", slack.Verifier{},
			func() *http.Request { return signed(vectorBody, "-9223372036854775808", vectorSig) }, slack.ErrStaleTimestamp},
		{"missing signature", slack.Verifier{},
			func() *http.Request { return signed(vectorBody, vectorTS, "") }, slack.ErrMissingSignature},
		{"missing timestamp", slack.Verifier{},
			func() *http.Request { return signed(vectorBody, "", vectorSig) }, slack.ErrMissingSignature},
		{"no headers, right legacy token", slack.Verifier{VerificationToken: vectorToken},
			func() *http.Request { return request(vectorBody, "application/x-www-form-urlencoded", nil) }, slack.ErrMissingSignature},
		{"wrong signature, right legacy token", slack.Verifier{VerificationToken: vectorToken},
			func() *http.Request { return signed(vectorBody, vectorTS, "v0="+strings.Repeat("0", 64)) }, slack.ErrBadSignature},
		{"modified body", slack.Verifier{},
			func() *http.Request {
				return signed(strings.Replace(vectorBody, "text=", "text=x", 1), vectorTS, vectorSig)
			}, slack.ErrBadSignature},
		{"other timestamp, same signature", slack.Verifier{},
			func() *http.Request { return signed(vectorBody, "1531420619", vectorSig) }, slack.ErrBadSignature},
		{"uppercase hex", slack.Verifier{},
			func() *http.Request { return signed(vectorBody, vectorTS, "v0="+strings.ToUpper(vectorSig[3:])) }, slack.ErrBadSignature},
		{"wrong secret", slack.Verifier{SigningSecret: "another secret"},
			func() *http.Request { return signed(vectorBody, vectorTS, vectorSig) }, slack.ErrBadSignature},
		{"oversize body", slack.Verifier{MaxBodyBytes: int64(len(vectorBody))},
			func() *http.Request { return signed(big, vectorTS, bigSig) }, slack.ErrBodyTooLarge},
		{"oversize body, unknown length", slack.Verifier{MaxBodyBytes: int64(len(vectorBody))},
			func() *http.Request {
				r := signed(big, vectorTS, bigSig)
				r.ContentLength = -1
				return r
			}, slack.ErrBodyTooLarge},
		{"body at the limit", slack.Verifier{MaxBodyBytes: int64(len(vectorBody))},
			func() *http.Request { return signed(vectorBody, vectorTS, vectorSig) }, nil},
		{"nothing configured", slack.Verifier{SigningSecret: "-"},
			func() *http.Request { return signed(vectorBody, vectorTS, vectorSig) }, slack.ErrNotConfigured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := tt.v
			switch v.SigningSecret {
			case "":
				v.SigningSecret = vectorSecret
			case "-":
				v.SigningSecret = ""
			}
			if v.Now == nil {
				v.Now = clock(vectorTime)
			}
			r := tt.req()
			body, err := v.Verify(r)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && string(body) != vectorBody {
				t.Fatalf("Verify returned body %q, want the raw body", body)
			}
			if err != nil && body != nil {
				t.Fatal("Verify returned a body with an error")
			}
		})
	}
}

func TestVerifyDefaultLimit(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("a", int(slack.DefaultMaxBodyBytes)+1)
	now := time.Unix(1700000000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	v := slack.Verifier{SigningSecret: vectorSecret, Now: clock(now)}
	r := signed(body, ts, slack.ComputeSignature(vectorSecret, ts, []byte(body)))
	r.ContentLength = -1
	if _, err := v.Verify(r); !errors.Is(err, slack.ErrBodyTooLarge) {
		t.Fatalf("Verify error = %v, want ErrBodyTooLarge", err)
	}
}

func TestVerifyWallClock(t *testing.T) {
	t.Parallel()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	v := slack.Verifier{SigningSecret: vectorSecret}
	if _, err := v.Verify(signed(vectorBody, ts, slack.ComputeSignature(vectorSecret, ts, []byte(vectorBody)))); err != nil {
		t.Fatalf("Verify with nil Now: %v", err)
	}
	if _, err := v.Verify(signed(vectorBody, vectorTS, vectorSig)); !errors.Is(err, slack.ErrStaleTimestamp) {
		t.Fatalf("2018 request with the wall clock: %v, want ErrStaleTimestamp", err)
	}
}

func TestVerifyLegacyToken(t *testing.T) {
	t.Parallel()
	const form = "application/x-www-form-urlencoded"
	payload := func(token string) string {
		return "payload=" + url.QueryEscape(`{"type":"block_actions","token":"`+token+`","team":{"id":"T1"}}`)
	}
	tests := []struct {
		name        string
		body        string
		contentType string
		headers     map[string]string
		wantErr     error
	}{
		{"form field", vectorBody, form, nil, nil},
		{"form payload JSON", payload(vectorToken), form, nil, nil},
		{"JSON body", `{"token":"` + vectorToken + `","type":"url_verification","challenge":"c"}`, "application/json; charset=utf-8", nil, nil},
		{"JSON body, no content type", ` {"token":"` + vectorToken + `"}`, "", nil, nil},
		{"ignores signature headers", vectorBody, form,
			map[string]string{slack.HeaderTimestamp: "1", slack.HeaderSignature: "v0=00"}, nil},
		{"wrong form token", strings.Replace(vectorBody, vectorToken, "nope", 1), form, nil, slack.ErrBadToken},
		{"token prefix", strings.Replace(vectorBody, vectorToken, vectorToken[:10], 1), form, nil, slack.ErrBadToken},
		{"wrong payload token", payload("nope"), form, nil, slack.ErrBadToken},
		{"wrong JSON token", `{"token":"nope"}`, "application/json", nil, slack.ErrBadToken},
		{"no token", "team_id=T1&text=hi", form, nil, slack.ErrBadToken},
		{"payload not JSON", "payload=%7Bnope", form, nil, slack.ErrBadToken},
		{"JSON not an object", `["` + vectorToken + `"]`, "application/json", nil, slack.ErrBadToken},
		{"empty body", "", form, nil, slack.ErrBadToken},
		{"bad form encoding", "token=" + vectorToken + "&x=%zz", form, nil, slack.ErrBadToken},
	}
	v := slack.Verifier{VerificationToken: vectorToken, Now: clock(vectorTime)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, err := v.Verify(request(tt.body, tt.contentType, tt.headers))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && string(body) != tt.body {
				t.Fatalf("Verify body = %q, want %q", body, tt.body)
			}
		})
	}
}

func TestVerifyNotConfigured(t *testing.T) {
	t.Parallel()
	var v slack.Verifier
	if _, err := v.Verify(request(vectorBody, "application/x-www-form-urlencoded", nil)); !errors.Is(err, slack.ErrNotConfigured) {
		t.Fatalf("Verify error = %v, want ErrNotConfigured", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestMiddleware(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	v := slack.Verifier{
		SigningSecret: vectorSecret,
		Now:           clock(vectorTime),
		MaxBodyBytes:  int64(len(vectorBody)),
		Logger:        slog.New(slog.NewTextHandler(&logs, nil)),
	}
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("ParseForm: %v", err)
		}
		io.WriteString(w, r.PostForm.Get("user_name"))
	}))

	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantBody   string
	}{
		{"verified", signed(vectorBody, vectorTS, vectorSig), http.StatusOK, "roadrunner"},
		{"bad signature", signed(vectorBody, vectorTS, "v0=bad"), http.StatusUnauthorized, "request verification failed\n"},
		{"missing signature", signed(vectorBody, vectorTS, ""), http.StatusUnauthorized, "request verification failed\n"},
		{"stale", signed(vectorBody, "1531420000", vectorSig), http.StatusUnauthorized, "request verification failed\n"},
		{"too large", signed(vectorBody+"&more=1", vectorTS, vectorSig), http.StatusRequestEntityTooLarge, "request body too large\n"},
		{"unreadable body", func() *http.Request {
			r := signed("", vectorTS, vectorSig)
			r.Body = io.NopCloser(failingReader{})
			r.ContentLength = -1
			return r
		}(), http.StatusBadRequest, "could not read request body\n"},
	}
	for _, tt := range tests {
		// Not parallel: the cases share the log buffer.
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tt.req)
			if w.Code != tt.wantStatus || w.Body.String() != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Body.String(), tt.wantStatus, tt.wantBody)
			}
			if tt.wantStatus != http.StatusOK && !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
				t.Fatalf("refusal Content-Type = %q, want text/plain", w.Header().Get("Content-Type"))
			}
		})
	}
	for _, secret := range []string{vectorSig, vectorSecret, vectorToken, "roadrunner", "v0=bad"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log mentions %q:\n%s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "slack request refused") {
		t.Errorf("refusals were not logged:\n%s", logs.String())
	}
}
