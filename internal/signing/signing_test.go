package signing_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"triage/internal/signing"
)

type linkParams struct {
	IntegrationID int64  `json:"integration_id"`
	SlackUserID   string `json:"slack_user_id"`
	ChannelID     string `json:"channel_id"`
	ResponseURL   string `json:"response_url,omitempty"`
}

var (
	secret   = []byte("0123456789abcdef0123456789abcdef")
	issuedAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	twoDays  = 48 * time.Hour
	params   = linkParams{
		IntegrationID: 7,
		SlackUserID:   "U2CERLKJA",
		ChannelID:     "C0123",
		ResponseURL:   "https://hooks.slack.com/commands/T1/2/abc",
	}
)

// flip returns token with one decoded byte changed at index i (negative
// counts from the end), re-encoded so only the signed content differs.
func flip(t *testing.T, token string, i int) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		t.Fatal(err)
	}
	if i < 0 {
		i += len(b)
	}
	b[i] ^= 0x01
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	s := signing.New(secret)
	token, err := s.Sign("link", issuedAt, params)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if strings.ContainsAny(token, "/+=.%?#") {
		t.Fatalf("token %q is not path-safe", token)
	}

	tests := []struct {
		name    string
		signer  *signing.Signer
		purpose string
		token   string
		now     time.Time
		want    error
	}{
		{"round trip", s, "link", token, issuedAt.Add(time.Hour), nil},
		{"exactly max age", s, "link", token, issuedAt.Add(twoDays), nil},
		{"small clock skew", s, "link", token, issuedAt.Add(-30 * time.Second), nil},
		{"tampered payload", s, "link", flip(t, token, 10), issuedAt, signing.ErrInvalid},
		{"tampered signature", s, "link", flip(t, token, -1), issuedAt, signing.ErrInvalid},
		{"tampered version", s, "link", flip(t, token, 0), issuedAt, signing.ErrInvalid},
		{"truncated", s, "link", token[:len(token)-4], issuedAt, signing.ErrInvalid},
		{"wrong purpose", s, "unlink", token, issuedAt, signing.ErrInvalid},
		{"expired after 2 days", s, "link", token, issuedAt.Add(twoDays + time.Second), signing.ErrExpired},
		{"issued in the future", s, "link", token, issuedAt.Add(-2 * time.Minute), signing.ErrExpired},
		{"different secret", signing.New([]byte("another secret entirely, 32 byte")), "link", token, issuedAt, signing.ErrInvalid},
		{"empty secret", signing.New(nil), "link", token, issuedAt, signing.ErrInvalid},
		{"empty token", s, "link", "", issuedAt, signing.ErrInvalid},
		{"junk", s, "link", "not a token at all!", issuedAt, signing.ErrInvalid},
		{"base64 junk", s, "link", base64.RawURLEncoding.EncodeToString([]byte("hello world, this is long enough to hold a mac")), issuedAt, signing.ErrInvalid},
		{"padded", s, "link", token + "=", issuedAt, signing.ErrInvalid},
		{"huge", s, "link", strings.Repeat("A", 1<<20), issuedAt, signing.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got linkParams
			err := tt.signer.Verify(tt.purpose, tt.token, tt.now, twoDays, &got)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got != params {
					t.Fatalf("Verify decoded %+v, want %+v", got, params)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			other := signing.ErrExpired
			if tt.want == signing.ErrExpired {
				other = signing.ErrInvalid
			}
			if errors.Is(err, other) {
				t.Fatalf("Verify error %v matches both ErrInvalid and ErrExpired", err)
			}
			if got != (linkParams{}) {
				t.Fatalf("Verify filled %+v on failure", got)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	t.Parallel()
	s := signing.New(secret)
	if _, err := signing.New(nil).Sign("link", issuedAt, params); err == nil {
		t.Error("Sign with empty secret succeeded")
	}
	if _, err := s.Sign("", issuedAt, params); err == nil {
		t.Error("Sign with empty purpose succeeded")
	}
	if _, err := s.Sign("link", issuedAt, make(chan int)); err == nil {
		t.Error("Sign of an unencodable value succeeded")
	}
	token, err := s.Sign("link", issuedAt, params)
	if err != nil {
		t.Fatal(err)
	}
	var got linkParams
	if err := s.Verify("link", token, issuedAt, 0, &got); err == nil {
		t.Error("Verify with zero maxAge succeeded")
	}
}

func TestSignIsDeterministicPerPurpose(t *testing.T) {
	t.Parallel()
	s := signing.New(secret)
	a, _ := s.Sign("link", issuedAt, params)
	b, _ := s.Sign("link", issuedAt, params)
	c, _ := s.Sign("unlink", issuedAt, params)
	if a != b {
		t.Error("same input signed twice gave different tokens")
	}
	if a == c {
		t.Error("link and unlink tokens are identical")
	}
}

func TestVerifyWrongType(t *testing.T) {
	t.Parallel()
	s := signing.New(secret)
	token, err := s.Sign("state", issuedAt, "just a string")
	if err != nil {
		t.Fatal(err)
	}
	var got linkParams
	if err := s.Verify("state", token, issuedAt, time.Hour, &got); !errors.Is(err, signing.ErrInvalid) {
		t.Fatalf("Verify into wrong type: %v, want ErrInvalid", err)
	}
}

func FuzzVerify(f *testing.F) {
	s := signing.New(secret)
	token, err := s.Sign("link", issuedAt, params)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(token)
	f.Add("")
	f.Add("AQ")
	f.Add(token[:len(token)/2])
	f.Add("AXsiaWF0IjowLCJ2IjpudWxsfQ")
	f.Fuzz(func(t *testing.T, in string) {
		var got linkParams
		err := s.Verify("link", in, issuedAt, twoDays, &got)
		if err == nil && in != token {
			// A different string decoding to the same bytes is impossible
			// with strict base64, so any other success is a forgery.
			t.Fatalf("Verify accepted %q", in)
		}
		if err != nil && !errors.Is(err, signing.ErrInvalid) && !errors.Is(err, signing.ErrExpired) {
			t.Fatalf("Verify returned an unclassified error: %v", err)
		}
	})
}
