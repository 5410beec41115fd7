package password

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// TokenPrefix starts every API token, so that secret scanners and people
// can recognise a leaked one, and so that a token is never mistaken for a
// password or a Slack token.
const TokenPrefix = "triage_"

// NewToken returns a fresh API token to show once to its owner, and the
// hash to store. The plain token is never stored.
func NewToken() (plain, hash string) {
	b := make([]byte, 32)
	rand.Read(b) // never returns an error; crashes the program instead
	plain = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return plain, HashToken(plain)
}

// HashToken returns the hex SHA-256 of a token, the form tokens are stored
// and looked up in.
//
// A fast, unsalted hash is right here and wrong for passwords: a token
// carries 256 random bits, so there is no dictionary to try and brute force
// is out of reach however fast the hash is. Being deterministic, the hash
// can be a unique indexed column that each API request looks up directly,
// and being cheap, it spends no CPU an attacker could make us waste.
func HashToken(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}
