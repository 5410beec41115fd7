package ingest

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseAuthHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Auth
		wantErr string
	}{
		{
			in:   "Sentry sentry_key=abc123, sentry_version=7, sentry_client=sentry.go/0.46.2",
			want: Auth{PublicKey: "abc123", Version: "7", Client: "sentry.go/0.46.2"},
		},
		{
			in:   "Sentry sentry_version=7,sentry_client=raven-python/6.0,sentry_key=k,sentry_secret=s,sentry_timestamp=1",
			want: Auth{PublicKey: "k", Version: "7", Client: "raven-python/6.0"},
		},
		{in: "sentry sentry_key=\"quoted\"", want: Auth{PublicKey: "quoted"}},
		{in: "  SENTRY   Sentry_Key = spaced , sentry_version=7 ", want: Auth{PublicKey: "spaced", Version: "7"}},
		{in: "sentry_key=noscheme", want: Auth{PublicKey: "noscheme"}},
		{in: "Sentry sentry_version=7", wantErr: "no sentry_key"},
		{in: "Bearer abc", wantErr: "no sentry_key"},
		{in: "", wantErr: "no sentry_key"},
		{in: "Sentry sentry_key=" + strings.Repeat("k", 129), wantErr: "longer than"},
		{in: "Sentry sentry_key=a\x01b", wantErr: "unexpected character"},
	}
	for _, tt := range tests {
		got, err := ParseAuthHeader(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseAuthHeader(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseAuthHeader(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestAuthFromRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		url     string
		headers map[string]string
		want    string
		wantErr bool
	}{
		{name: "header", url: "/api/1/envelope/", headers: map[string]string{"X-Sentry-Auth": "Sentry sentry_key=h"}, want: "h"},
		{name: "header wins over query", url: "/api/1/envelope/?sentry_key=q", headers: map[string]string{"X-Sentry-Auth": "Sentry sentry_key=h"}, want: "h"},
		{name: "authorization header", url: "/api/1/store/", headers: map[string]string{"Authorization": "Sentry sentry_key=a"}, want: "a"},
		{name: "bearer ignored", url: "/api/1/store/?sentry_key=q", headers: map[string]string{"Authorization": "Bearer x"}, want: "q"},
		{name: "query", url: "/api/1/envelope/?sentry_key=q&sentry_version=7", want: "q"},
		{name: "none", url: "/api/1/envelope/", want: ""},
		{name: "bad header", url: "/api/1/envelope/", headers: map[string]string{"X-Sentry-Auth": "Sentry foo=bar"}, wantErr: true},
		{name: "bad query key", url: "/api/1/envelope/?sentry_key=a%20b", wantErr: true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", tt.url, nil)
		for k, v := range tt.headers {
			r.Header.Set(k, v)
		}
		got, err := AuthFromRequest(r)
		if (err != nil) != tt.wantErr || got.PublicKey != tt.want {
			t.Errorf("%s: AuthFromRequest = %+v, %v; want key %q, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseDSN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    DSN
		wantErr bool
	}{
		{in: "https://abc@triage.example.com/42", want: DSN{PublicKey: "abc", ProjectID: 42, Host: "triage.example.com"}},
		{in: "http://abc:secret@localhost:8080/7", want: DSN{PublicKey: "abc", ProjectID: 7, Host: "localhost:8080"}},
		{in: "https://abc@example.com/errors/triage/42/", want: DSN{PublicKey: "abc", ProjectID: 42, Host: "example.com"}},
		{in: "https://example.com/42", wantErr: true},
		{in: "https://abc@example.com/", wantErr: true},
		{in: "https://abc@example.com/project", wantErr: true},
		{in: "https://abc@example.com/0", wantErr: true},
		{in: "https://abc@example.com/-3", wantErr: true},
		{in: "::not a url", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseDSN(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseDSN(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
