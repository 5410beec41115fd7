package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

var (
	// ErrEmptyPassword is returned for an empty password. An account must
	// never be protected by the empty string, and a login form submitted
	// empty should be refused before any hashing happens.
	ErrEmptyPassword = errors.New("password: empty password")

	// ErrMalformedHash reports a stored hash that is not an Argon2id PHC
	// string this package can check, or whose parameters are out of range.
	ErrMalformedHash = errors.New("password: malformed hash")
)

// Params are the Argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes; also the parallelism the hash is computed with
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams returns the parameters Hash uses: 64 MiB, 2 passes, 2 lanes.
//
// Why these: RFC 9106's second recommendation is 64 MiB with 3 passes for
// machines that cannot spare 2 GiB, and OWASP's floor is 19 MiB with 2
// passes. Triage targets a small 2-core server: two lanes use both cores for
// one login, and 2 passes keep it near 170 ms there (BenchmarkHashDefault),
// while 64 MiB per guess is what makes GPU cracking expensive. The memory is
// ours too: ten logins at once hold 640 MiB, so login must be rate-limited.
func DefaultParams() Params {
	return Params{Memory: 64 * 1024, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}
}

// Limits for parameters read back from a stored hash, so that a corrupted
// or planted row cannot make one login allocate gigabytes or spin for
// minutes.
const (
	maxMemory  = 1 << 20 // 1 GiB in KiB
	maxTime    = 16
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

func (p Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("time %d out of range", p.Time)
	case p.Threads < 1:
		return errors.New("threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("memory %d KiB out of range", p.Memory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length %d out of range", p.SaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key length %d out of range", p.KeyLen)
	}
	return nil
}

// Hash hashes pw with DefaultParams and a random salt.
func Hash(pw string) (string, error) {
	return HashWithParams(pw, DefaultParams())
}

// HashWithParams hashes pw with the given parameters. Tests use it with a
// few KiB of memory so that they stay fast; production code calls Hash.
func HashWithParams(pw string, p Params) (string, error) {
	if pw == "" {
		return "", ErrEmptyPassword
	}
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("password: %w", err)
	}
	salt := make([]byte, p.SaltLen)
	rand.Read(salt) // never returns an error; crashes the program instead
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pw matches a hash made by Hash or HashWithParams.
// A wrong password is (false, nil); an error means the stored hash is
// unusable (ErrMalformedHash) or pw is empty (ErrEmptyPassword), and the
// caller should treat the login as failed either way.
func Verify(pw, encoded string) (bool, error) {
	if pw == "" {
		return false, ErrEmptyPassword
	}
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether encoded was made with parameters other than
// p, so a successful login can store a fresh hash after the cost changes.
// A malformed hash needs rehashing too.
func NeedsRehash(encoded string, p Params) bool {
	got, _, _, err := decode(encoded)
	return err != nil || got != p
}

// decode parses "$argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>".
func decode(encoded string) (Params, []byte, []byte, error) {
	fail := func(why string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, why)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return fail("not a PHC string")
	}
	if parts[1] != "argon2id" {
		return fail("algorithm is not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return fail("unsupported version")
	}
	var p Params
	for i, field := range strings.Split(parts[3], ",") {
		name, value, ok := strings.Cut(field, "=")
		want := [...]string{"m", "t", "p"}
		if !ok || i >= len(want) || name != want[i] {
			return fail("parameters are not m,t,p")
		}
		bits := 32
		if name == "p" {
			bits = 8
		}
		n, err := strconv.ParseUint(value, 10, bits)
		if err != nil {
			return fail("parameter " + name + " is not a number in range")
		}
		switch name {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			p.Threads = uint8(n)
		}
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return fail("salt is not base64")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return fail("hash is not base64")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.validate(); err != nil {
		return fail(err.Error())
	}
	return p, salt, key, nil
}
