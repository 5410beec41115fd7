package signing

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	// ErrInvalid reports a token that was not made by this Signer for this
	// purpose: altered, truncated, signed with another key, or not a token.
	ErrInvalid = errors.New("signing: invalid token")

	// ErrExpired reports a genuine token that is older than the caller's
	// maximum age, or claims to be issued further in the future than clock
	// skew can explain. Callers show "expired, ask for a new link" for it.
	ErrExpired = errors.New("signing: token expired")
)

const (
	// formatV1 is the first byte of every token, so the layout can change
	// later without old tokens being misread.
	formatV1 byte = 1

	macSize = sha256.Size

	// maxTokenLen bounds the work done on attacker-supplied input before the
	// MAC is checked. Real tokens carry a few ids and a response_url.
	maxTokenLen = 8 << 10

	// clockSkew tolerates servers whose clocks disagree slightly: a token
	// issued up to this far in the future is still accepted.
	clockSkew = time.Minute

	// kdfInfoPrefix separates these keys from every other key Triage derives
	// from the same secret.
	kdfInfoPrefix = "triage signing v1 purpose="
)

// Signer signs and verifies tokens with keys derived from one secret.
// It is safe for concurrent use.
type Signer struct {
	secret []byte
}

// New returns a Signer for the application secret. The secret is copied.
// An empty secret makes every Sign fail and every Verify return ErrInvalid,
// rather than silently producing forgeable tokens.
func New(secretKey []byte) *Signer {
	return &Signer{secret: append([]byte(nil), secretKey...)}
}

// envelope is what gets signed: the caller's value plus the issue time.
type envelope struct {
	IssuedAt int64           `json:"iat"`
	Value    json.RawMessage `json:"v"`
}

// Sign returns a token carrying v for the given purpose, issued at now.
// The token uses the URL-safe base64 alphabet without padding, so it can
// be used as a single path segment or query value without escaping.
func (s *Signer) Sign(purpose string, now time.Time, v any) (string, error) {
	value, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("signing: encode %s value: %w", purpose, err)
	}
	payload, err := json.Marshal(envelope{IssuedAt: now.Unix(), Value: value})
	if err != nil {
		return "", fmt.Errorf("signing: encode %s envelope: %w", purpose, err)
	}
	key, err := s.key(purpose)
	if err != nil {
		return "", err
	}
	msg := make([]byte, 0, 1+len(payload)+macSize)
	msg = append(msg, formatV1)
	msg = append(msg, payload...)
	msg = append(msg, sum(key, msg)...)
	return base64.RawURLEncoding.EncodeToString(msg), nil
}

// Verify checks that token was made by Sign for purpose, is at most maxAge
// old at now, and decodes its value into v (as json.Unmarshal would).
// The signature is checked before anything in the payload is looked at.
func (s *Signer) Verify(purpose, token string, now time.Time, maxAge time.Duration, v any) error {
	if maxAge <= 0 {
		return fmt.Errorf("signing: maxAge must be positive, got %s", maxAge)
	}
	key, err := s.key(purpose)
	if err != nil {
		if len(s.secret) == 0 {
			return fmt.Errorf("%w: no secret key configured", ErrInvalid)
		}
		return err
	}
	if len(token) == 0 || len(token) > maxTokenLen {
		return fmt.Errorf("%w: bad length", ErrInvalid)
	}
	// The decoder skips CR and LF; refusing them keeps exactly one spelling
	// per token, which the fuzz test relies on.
	msg, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || strings.ContainsAny(token, "\r\n") {
		return fmt.Errorf("%w: not base64url", ErrInvalid)
	}
	if len(msg) < 1+macSize || msg[0] != formatV1 {
		return fmt.Errorf("%w: unknown format", ErrInvalid)
	}
	body, tag := msg[:len(msg)-macSize], msg[len(msg)-macSize:]
	if !hmac.Equal(tag, sum(key, body)) {
		return fmt.Errorf("%w: signature mismatch", ErrInvalid)
	}

	var env envelope
	if err := json.Unmarshal(body[1:], &env); err != nil || env.Value == nil {
		return fmt.Errorf("%w: malformed payload", ErrInvalid)
	}
	issued := time.Unix(env.IssuedAt, 0)
	if issued.After(now.Add(clockSkew)) {
		return fmt.Errorf("%w: issued in the future", ErrExpired)
	}
	if now.Sub(issued) > maxAge {
		return fmt.Errorf("%w: older than %s", ErrExpired, maxAge)
	}
	if err := json.Unmarshal(env.Value, v); err != nil {
		return fmt.Errorf("%w: decode value: %v", ErrInvalid, err)
	}
	return nil
}

// key derives the HMAC key for one purpose. Deriving on every call costs a
// couple of hashes and keeps the Signer free of caches and locks.
func (s *Signer) key(purpose string) ([]byte, error) {
	if len(s.secret) == 0 {
		return nil, errors.New("signing: no secret key configured")
	}
	if purpose == "" {
		return nil, errors.New("signing: empty purpose")
	}
	key, err := hkdf.Key(sha256.New, s.secret, nil, kdfInfoPrefix+purpose, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("signing: derive key: %w", err)
	}
	return key, nil
}

// sum returns HMAC-SHA256(key, msg).
func sum(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}
