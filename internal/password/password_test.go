package password_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"triage/internal/password"
)

// cheap keeps tests fast; the format and code paths are those of Hash.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashVerify(t *testing.T) {
	t.Parallel()
	const pw = "correct horse battery staple"
	encoded, err := password.HashWithParams(pw, cheap)
	if err != nil {
		t.Fatalf("HashWithParams: %v", err)
	}
	if !phc.MatchString(encoded) {
		t.Fatalf("hash %q is not in PHC format", encoded)
	}
	if strings.Contains(encoded, pw) {
		t.Fatal("hash contains the password")
	}
	again, _ := password.HashWithParams(pw, cheap)
	if again == encoded {
		t.Fatal("two hashes of one password are identical (salt not random)")
	}

	tests := []struct {
		name string
		pw   string
		want bool
	}{
		{"right", pw, true},
		{"wrong", "Correct horse battery staple", false},
		{"prefix", pw[:len(pw)-1], false},
		{"longer", pw + " ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, err := password.Verify(tt.pw, encoded)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if ok != tt.want {
				t.Fatalf("Verify = %v, want %v", ok, tt.want)
			}
		})
	}
}

func TestDefaultParams(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("hashes with 64 MiB")
	}
	encoded, err := password.Hash("hunter2")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if !strings.HasPrefix(encoded, "$argon2id$v=19$m=65536,t=2,p=2$") {
		t.Fatalf("Hash = %q, want default parameters", encoded)
	}
	if ok, err := password.Verify("hunter2", encoded); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
	if password.NeedsRehash(encoded, password.DefaultParams()) {
		t.Error("fresh hash needs rehash")
	}
}

func TestEmptyPassword(t *testing.T) {
	t.Parallel()
	if _, err := password.Hash(""); !errors.Is(err, password.ErrEmptyPassword) {
		t.Errorf("Hash(\"\") error = %v", err)
	}
	encoded, _ := password.HashWithParams("x", cheap)
	if ok, err := password.Verify("", encoded); ok || !errors.Is(err, password.ErrEmptyPassword) {
		t.Errorf("Verify(\"\") = %v, %v", ok, err)
	}
}

func TestBadParams(t *testing.T) {
	t.Parallel()
	for _, p := range []password.Params{
		{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 4, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 4},
	} {
		if _, err := password.HashWithParams("pw", p); err == nil {
			t.Errorf("HashWithParams(%+v) succeeded", p)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	good, _ := password.HashWithParams("pw", cheap)
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, hash
	with := func(i int, s string) string {
		p := append([]string(nil), parts...)
		p[i] = s
		return strings.Join(p, "$")
	}
	for name, encoded := range map[string]string{
		"empty":           "",
		"bcrypt":          "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":         with(1, "argon2i"),
		"version 16":      with(2, "v=16"),
		"params reorder":  with(3, "t=1,m=64,p=1"),
		"params missing":  with(3, "m=64,t=1"),
		"params extra":    with(3, "m=64,t=1,p=1,x=2"),
		"time zero":       with(3, "m=64,t=0,p=1"),
		"threads zero":    with(3, "m=64,t=1,p=0"),
		"threads 256":     with(3, "m=4096,t=1,p=256"),
		"memory huge":     with(3, "m=4194304,t=1,p=1"),
		"time huge":       with(3, "m=64,t=1000,p=1"),
		"memory negative": with(3, "m=-64,t=1,p=1"),
		"salt not b64":    with(4, "!!!!"),
		"salt short":      with(4, "AAAA"),
		"hash not b64":    with(5, "!!!!"),
		"hash short":      with(5, "AAAA"),
		"extra field":     good + "$x",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ok, err := password.Verify("pw", encoded)
			if ok || !errors.Is(err, password.ErrMalformedHash) {
				t.Fatalf("Verify = %v, %v; want false, ErrMalformedHash", ok, err)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	t.Parallel()
	encoded, _ := password.HashWithParams("pw", cheap)
	if password.NeedsRehash(encoded, cheap) {
		t.Error("hash made with p needs rehash for p")
	}
	if !password.NeedsRehash(encoded, password.DefaultParams()) {
		t.Error("cheap hash does not need rehash for the defaults")
	}
	if !password.NeedsRehash("garbage", cheap) {
		t.Error("malformed hash does not need rehash")
	}
}

func BenchmarkHashDefault(b *testing.B) {
	for b.Loop() {
		if _, err := password.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
