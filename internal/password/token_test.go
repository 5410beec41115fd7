package password_test

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"

	"triage/internal/password"
)

var tokenShape = regexp.MustCompile(`^triage_[A-Za-z0-9_-]{43}$`)

func TestNewToken(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		plain, hash := password.NewToken()
		if !tokenShape.MatchString(plain) {
			t.Fatalf("token %q has the wrong shape", plain)
		}
		if seen[plain] {
			t.Fatalf("token %q repeated", plain)
		}
		seen[plain] = true
		if hash != password.HashToken(plain) {
			t.Fatalf("NewToken hash %q != HashToken %q", hash, password.HashToken(plain))
		}
	}
}

func TestHashToken(t *testing.T) {
	t.Parallel()
	const plain = "triage_abc"
	sum := sha256.Sum256([]byte(plain))
	if got, want := password.HashToken(plain), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("HashToken = %q, want %q", got, want)
	}
	if password.HashToken(plain) == password.HashToken(plain+"d") {
		t.Fatal("different tokens hash alike")
	}
	if len(password.HashToken("")) != 64 {
		t.Fatal("hash is not 64 hex characters")
	}
}
