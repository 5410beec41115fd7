package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrDecrypt reports a value that cannot be opened: altered, truncated,
	// of an unknown version, or sealed under a different secret key. The
	// cases are deliberately not told apart.
	ErrDecrypt = errors.New("secretbox: cannot decrypt value")

	// ErrNoKey reports a Box built from an empty secret. Sealing with a key
	// everybody knows would only look like protection.
	ErrNoKey = errors.New("secretbox: no secret key configured")
)

const (
	prefixV1 = "v1:"
	kdfInfo  = "triage token encryption v1"
	// additionalData binds ciphertexts to this format, so bytes sealed by
	// some other AES-GCM user of the same derived key could not pass here.
	additionalData = "triage secretbox v1"
)

// Box seals and opens values with one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD // nil when the secret was empty
}

// New returns a Box whose key is derived from the application secret.
func New(secretKey []byte) *Box {
	if len(secretKey) == 0 {
		return &Box{}
	}
	key, err := hkdf.Key(sha256.New, secretKey, nil, kdfInfo, 32)
	if err != nil {
		// Only possible for absurd key lengths; 32 bytes of SHA-256 is fine.
		panic(fmt.Sprintf("secretbox: derive key: %v", err))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(fmt.Sprintf("secretbox: aes: %v", err)) // key is always 32 bytes
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		panic(fmt.Sprintf("secretbox: gcm: %v", err)) // block is always AES
	}
	return &Box{aead: aead}
}

// Seal encrypts plaintext under a fresh random nonce, so sealing the same
// value twice gives different strings.
func (b *Box) Seal(plaintext string) (string, error) {
	if b.aead == nil {
		return "", ErrNoKey
	}
	sealed := b.aead.Seal(nil, nil, []byte(plaintext), []byte(additionalData))
	return prefixV1 + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Open decrypts a string made by Seal with the same secret key.
func (b *Box) Open(s string) (string, error) {
	if b.aead == nil {
		return "", ErrNoKey
	}
	encoded, ok := strings.CutPrefix(s, prefixV1)
	if !ok {
		return "", fmt.Errorf("%w: unknown format", ErrDecrypt)
	}
	sealed, err := base64.RawURLEncoding.Strict().DecodeString(encoded)
	if err != nil {
		return "", fmt.Errorf("%w: not base64url", ErrDecrypt)
	}
	plain, err := b.aead.Open(nil, nil, sealed, []byte(additionalData))
	if err != nil {
		return "", fmt.Errorf("%w: authentication failed", ErrDecrypt)
	}
	return string(plain), nil
}
