package ingest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Auth is what a client presented to identify its project key. The secret
// key of old DSNs is ignored: Sentry deprecated it and so does Triage.
type Auth struct {
	PublicKey string
	Version   string // protocol version, "7" for every current SDK
	Client    string // "sentry.go/0.46.2"
}

// maxKeyLen bounds a public key so that garbage never reaches the database.
const maxKeyLen = 128

// errNoAuth means the request carried no key at all.
var errNoAuth = errors.New("missing sentry_key: send the X-Sentry-Auth header, the sentry_key query parameter or a dsn in the envelope header")

// ParseAuthHeader parses an X-Sentry-Auth value such as
// "Sentry sentry_key=abc, sentry_version=7, sentry_client=sentry.go/0.46.2".
// The "Sentry" scheme is optional; values may be quoted.
func ParseAuthHeader(v string) (Auth, error) {
	v = strings.TrimSpace(v)
	if scheme, rest, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "sentry") {
		v = rest
	}
	var a Auth
	for part := range strings.SplitSeq(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		val = strings.Trim(strings.TrimSpace(val), `"`)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "sentry_key":
			a.PublicKey = val
		case "sentry_version":
			a.Version = val
		case "sentry_client":
			a.Client = val
		}
	}
	if a.PublicKey == "" {
		return Auth{}, errors.New("invalid X-Sentry-Auth header: no sentry_key")
	}
	if err := checkKey(a.PublicKey); err != nil {
		return Auth{}, err
	}
	return a, nil
}

// AuthFromRequest reads the key from the X-Sentry-Auth header, an
// "Authorization: Sentry …" header, or the sentry_key query parameter, in
// that order. It returns a zero Auth and no error when the request has none
// of them: an envelope may still carry its DSN.
func AuthFromRequest(r *http.Request) (Auth, error) {
	if h := r.Header.Get("X-Sentry-Auth"); h != "" {
		return ParseAuthHeader(h)
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "sentry ") {
		return ParseAuthHeader(h)
	}
	q := r.URL.Query()
	key := q.Get("sentry_key")
	if key == "" {
		return Auth{}, nil
	}
	if err := checkKey(key); err != nil {
		return Auth{}, err
	}
	return Auth{PublicKey: key, Version: q.Get("sentry_version"), Client: q.Get("sentry_client")}, nil
}

func checkKey(key string) error {
	if len(key) > maxKeyLen {
		return fmt.Errorf("invalid sentry_key: longer than %d characters", maxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c >= 0x7f {
			return errors.New("invalid sentry_key: unexpected character")
		}
	}
	return nil
}

// DSN is the part of a client DSN that identifies a project:
// http(s)://<public key>[:<secret>]@<host>[/<path prefix>]/<project id>.
type DSN struct {
	PublicKey string
	ProjectID int64
	Host      string // host[:port]
}

// ParseDSN parses a DSN; any path before the project id is accepted, so
// Triage can live under a prefix.
func ParseDSN(s string) (DSN, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return DSN{}, fmt.Errorf("invalid dsn: %w", err)
	}
	if u.User == nil || u.User.Username() == "" {
		return DSN{}, errors.New("invalid dsn: no public key")
	}
	key := u.User.Username()
	if err := checkKey(key); err != nil {
		return DSN{}, fmt.Errorf("invalid dsn: %w", err)
	}
	path := strings.TrimRight(u.Path, "/")
	last := path[strings.LastIndexByte(path, '/')+1:]
	id, err := strconv.ParseInt(last, 10, 64)
	if err != nil || id <= 0 {
		return DSN{}, errors.New("invalid dsn: the path does not end in a project id")
	}
	return DSN{PublicKey: key, ProjectID: id, Host: u.Host}, nil
}

// parseProjectID parses the {project_id} path segment.
func parseProjectID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, malformed("invalid project id %q in the URL", truncate(s, 32))
	}
	return id, nil
}
