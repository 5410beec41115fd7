package secretbox_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"triage/internal/secretbox"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

const token = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	box := secretbox.New(secret)
	for _, plain := range []string{token, "", "ünïcödé ✓", strings.Repeat("x", 10000)} {
		sealed, err := box.Seal(plain)
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if !strings.HasPrefix(sealed, "v1:") {
			t.Errorf("sealed value %q lacks the v1: prefix", sealed)
		}
		// A second Box from the same secret stands for a restarted server.
		got, err := secretbox.New(secret).Open(sealed)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if got != plain {
			t.Errorf("Open = %q, want %q", got, plain)
		}
	}
}

func TestSealHidesPlaintext(t *testing.T) {
	t.Parallel()
	box := secretbox.New(secret)
	a, err := box.Seal(token)
	if err != nil {
		t.Fatal(err)
	}
	b, err := box.Seal(token)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two seals of the same value are identical")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(a, "v1:"))
	if err != nil {
		t.Fatal(err)
	}
	for _, hay := range []string{a, string(raw)} {
		if strings.Contains(hay, token) || strings.Contains(hay, "xoxb-") {
			t.Errorf("sealed value contains the plaintext")
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	box := secretbox.New(secret)
	sealed, err := box.Seal(token)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
	tamper := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x80
		return "v1:" + base64.RawURLEncoding.EncodeToString(b)
	}

	tests := []struct {
		name string
		box  *secretbox.Box
		in   string
	}{
		{"wrong key", secretbox.New([]byte("a different secret of some length")), sealed},
		{"tampered nonce", box, tamper(0)},
		{"tampered ciphertext", box, tamper(15)},
		{"tampered tag", box, tamper(len(raw) - 1)},
		{"truncated", box, sealed[:len(sealed)-3]},
		{"no prefix", box, strings.TrimPrefix(sealed, "v1:")},
		{"unknown version", box, "v2:" + strings.TrimPrefix(sealed, "v1:")},
		{"not base64", box, "v1:!!!!"},
		{"empty", box, ""},
		{"plaintext", box, token},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.box.Open(tt.in)
			if !errors.Is(err, secretbox.ErrDecrypt) {
				t.Fatalf("Open error = %v, want ErrDecrypt", err)
			}
			if got != "" {
				t.Fatalf("Open returned %q on failure", got)
			}
		})
	}
}

func TestEmptyKey(t *testing.T) {
	t.Parallel()
	box := secretbox.New(nil)
	if _, err := box.Seal(token); !errors.Is(err, secretbox.ErrNoKey) {
		t.Errorf("Seal with empty key: %v, want ErrNoKey", err)
	}
	sealed, _ := secretbox.New(secret).Seal(token)
	if _, err := box.Open(sealed); !errors.Is(err, secretbox.ErrNoKey) {
		t.Errorf("Open with empty key: %v, want ErrNoKey", err)
	}
}
