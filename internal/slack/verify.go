package slack

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Headers Slack sends with every signed request.
const (
	HeaderSignature = "X-Slack-Signature"
	HeaderTimestamp = "X-Slack-Request-Timestamp"
)

const (
	// DefaultMaxBodyBytes caps a request body when Verifier.MaxBodyBytes is
	// zero. Slack's largest payloads (block actions with a full message and
	// view state) stay well below it.
	DefaultMaxBodyBytes int64 = 1 << 20

	// MaxTimestampSkew is how far X-Slack-Request-Timestamp may be from now.
	// Slack asks for five minutes; anything older may be a replay.
	MaxTimestampSkew = 300 * time.Second
)

// Verification failures. Every one of them means "do not trust this
// request": callers answer 401, except ErrBodyTooLarge which is 413.
var (
	// ErrNotConfigured: neither a signing secret nor a verification token
	// is set, so nothing could prove the request came from Slack.
	ErrNotConfigured = errors.New("slack: request verification not configured")
	// ErrMissingSignature: a signing secret is set but the request lacks
	// the signature or the timestamp header.
	ErrMissingSignature = errors.New("slack: missing request signature")
	// ErrBadSignature: the signature does not match the body.
	ErrBadSignature = errors.New("slack: bad request signature")
	// ErrStaleTimestamp: the timestamp is malformed or more than
	// MaxTimestampSkew away from now.
	ErrStaleTimestamp = errors.New("slack: request timestamp out of range")
	// ErrBadToken: only a legacy verification token is configured, and the
	// request carries a different token or none.
	ErrBadToken = errors.New("slack: bad verification token")
	// ErrBodyTooLarge: the body exceeds the size limit.
	ErrBodyTooLarge = errors.New("slack: request body too large")
)

// Verifier checks that an incoming request really comes from Slack.
//
// With a SigningSecret it checks Slack's v0 signature and timestamp. The
// legacy VerificationToken is used only when there is no signing secret,
// because a token is replayable and travels in the clear inside every
// payload; once a secret is configured, a right token never rescues a wrong
// signature. With neither, every request is refused.
type Verifier struct {
	SigningSecret     string
	VerificationToken string
	// Now returns the current time; nil means time.Now. Tests pin it to
	// check Slack's published example, whose timestamp is from 2018.
	Now func() time.Time
	// MaxBodyBytes caps the body; zero or less means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger, when set, records why Middleware refused a request. Only the
	// reason and path are logged, never the body, token or signature.
	Logger *slog.Logger
}

// ComputeSignature returns the X-Slack-Signature value Slack would send for
// body at timestamp, signed with secret. Fake Slack servers in tests use it
// too.
func ComputeSignature(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:"))
	m.Write([]byte(timestamp))
	m.Write([]byte(":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reads the body of r and checks it came from Slack. It returns the
// raw body for the caller to parse; r.Body is consumed. Nothing in the body
// is trusted before the check passes.
func (v Verifier) Verify(r *http.Request) ([]byte, error) {
	if v.SigningSecret == "" && v.VerificationToken == "" {
		return nil, ErrNotConfigured
	}
	if v.SigningSecret == "" {
		body, err := v.readBody(r)
		if err != nil {
			return nil, err
		}
		if err := v.checkLegacyToken(r.Header.Get("Content-Type"), body); err != nil {
			return nil, err
		}
		return body, nil
	}

	// Headers and clock first: they are cheap and refuse most junk before
	// the body is read.
	sig, ts := r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp)
	if sig == "" || ts == "" {
		return nil, ErrMissingSignature
	}
	if err := v.checkTimestamp(ts); err != nil {
		return nil, err
	}
	body, err := v.readBody(r)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal([]byte(sig), []byte(ComputeSignature(v.SigningSecret, ts, body))) {
		return nil, ErrBadSignature
	}
	return body, nil
}

// Middleware verifies each request before next sees it, and hands next a
// body that reads the verified bytes. Refusals get a short plain-text
// answer: 413 for an oversized body, 400 when the body cannot be read, 401
// otherwise.
func (v Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := v.Verify(r)
		if err != nil {
			status, msg := http.StatusUnauthorized, "request verification failed"
			switch {
			case errors.Is(err, ErrBodyTooLarge):
				status, msg = http.StatusRequestEntityTooLarge, "request body too large"
			case !isVerificationError(err):
				status, msg = http.StatusBadRequest, "could not read request body"
			}
			if v.Logger != nil {
				v.Logger.LogAttrs(r.Context(), slog.LevelWarn, "slack request refused",
					slog.String("path", r.URL.Path), slog.Int("status", status),
					slog.String("reason", err.Error()))
			}
			http.Error(w, msg, status)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

func isVerificationError(err error) bool {
	for _, target := range []error{ErrNotConfigured, ErrMissingSignature, ErrBadSignature,
		ErrStaleTimestamp, ErrBadToken, ErrBodyTooLarge} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

func (v Verifier) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

func (v Verifier) checkTimestamp(ts string) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: not a number", ErrStaleTimestamp)
	}
	// time.Time.Sub saturates, so absurd timestamps cannot overflow.
	skew := v.now().Sub(time.Unix(sec, 0))
	if skew > MaxTimestampSkew || skew < -MaxTimestampSkew {
		return fmt.Errorf("%w: %s from now", ErrStaleTimestamp, skew.Round(time.Second))
	}
	return nil
}

func (v Verifier) readBody(r *http.Request) ([]byte, error) {
	limit := v.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	if r.ContentLength > limit {
		return nil, ErrBodyTooLarge
	}
	if r.Body == nil {
		return []byte{}, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("slack: read request body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, ErrBodyTooLarge
	}
	return body, nil
}

// checkLegacyToken compares the payload's token with the configured one.
// Both are hashed first so the comparison takes the same time whatever
// their lengths.
func (v Verifier) checkLegacyToken(contentType string, body []byte) error {
	got := legacyToken(contentType, body)
	if got == "" {
		return fmt.Errorf("%w: no token in payload", ErrBadToken)
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(v.VerificationToken))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return ErrBadToken
	}
	return nil
}

// legacyToken finds the token field where Slack puts it: top level of a
// JSON body (Events API), a form field (slash commands), or inside the JSON
// of a form's payload field (interactivity).
func legacyToken(contentType string, body []byte) string {
	var withToken struct {
		Token string `json:"token"`
	}
	mediaType, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimSpace(body)
	if mediaType == "application/json" || (mediaType == "" && bytes.HasPrefix(trimmed, []byte("{"))) {
		if json.Unmarshal(body, &withToken) != nil {
			return ""
		}
		return withToken.Token
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return ""
	}
	if token := form.Get("token"); token != "" {
		return token
	}
	if payload := form.Get("payload"); payload != "" && json.Unmarshal([]byte(payload), &withToken) == nil {
		return withToken.Token
	}
	return ""
}
