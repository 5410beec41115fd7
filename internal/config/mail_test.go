package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSMTPURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  string
		want SMTP
		err  string
	}{
		{"smtp://mail.example.com", SMTP{Host: "mail.example.com", Port: 25, Security: SMTPPlain}, ""},
		{"smtp://u%40x:p%3Ass@127.0.0.1:2525", SMTP{Host: "127.0.0.1", Port: 2525, Username: "u@x", Password: "p:ss", Security: SMTPPlain}, ""},
		{"smtp://u:p@mail.example.com:587?starttls=1", SMTP{Host: "mail.example.com", Port: 587, Username: "u", Password: "p", Security: SMTPStartTLS}, ""},
		{"smtp://mail.example.com?starttls=0", SMTP{Host: "mail.example.com", Port: 25, Security: SMTPPlain}, ""},
		{"smtps://u:p@mail.example.com", SMTP{Host: "mail.example.com", Port: 465, Username: "u", Password: "p", Security: SMTPTLS}, ""},
		{"http://mail.example.com", SMTP{}, "scheme must be smtp:// or smtps://"},
		{"smtp://", SMTP{}, "names no host"},
		{"smtp://mail.example.com:99999", SMTP{}, "not a number from 1 to 65535"},
		{"smtp://mail.example.com?starttls=maybe", SMTP{}, "want 1 or 0"},
		{"smtps://mail.example.com?starttls=1", SMTP{}, "starttls=1 is for smtp://"},
		{"smtp://mail.example.com?tls=1", SMTP{}, `unknown parameter "tls"`},
		{"smtp://mail.example.com/path", SMTP{}, "must not have a path"},
	} {
		got, err := parseSMTPURL(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one containing %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.url, got, err, tc.want)
		}
	}
}

func TestMailConfiguration(t *testing.T) {
	t.Parallel()
	c, _, err := Load(nil, env(nil), io.Discard)
	if err != nil || c.MailConfigured() {
		t.Fatalf("without TRIAGE_SMTP_URL: configured %t, %v", c != nil && c.MailConfigured(), err)
	}
	c, _, err = Load(nil, env(map[string]string{"TRIAGE_SMTP_URL": "smtp://u:pw@127.0.0.1:2525", "TRIAGE_EMAIL_FROM": "Triage <triage@example.com>"}), io.Discard)
	if err != nil || !c.MailConfigured() || c.SMTP.Password != "pw" || c.EmailFrom != "Triage <triage@example.com>" {
		t.Fatalf("configured: %+v, %v", c, err)
	}

	// Every problem at once, and never the password.
	_, _, err = Load(nil, env(map[string]string{"TRIAGE_SMTP_URL": "smtp://u:hunter2secret@mail.example.com:0"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "TRIAGE_SMTP_URL") || strings.Contains(err.Error(), "hunter2secret") {
		t.Errorf("a bad URL: %v (must name the variable, never the password)", err)
	}
	_, _, err = Load(nil, env(map[string]string{"TRIAGE_SMTP_URL": "smtp://u:hunter2secret@mail.example.com"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "TRIAGE_EMAIL_FROM is missing") || strings.Contains(err.Error(), "hunter2secret") {
		t.Errorf("no sender: %v", err)
	}
	_, _, err = Load(nil, env(map[string]string{"TRIAGE_SMTP_URL": "smtp://mail.example.com", "TRIAGE_EMAIL_FROM": "nobody"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), `TRIAGE_EMAIL_FROM "nobody"`) {
		t.Errorf("a bad sender: %v", err)
	}

	// From a file, like every secret.
	p := filepath.Join(t.TempDir(), "smtp")
	if err := os.WriteFile(p, []byte("smtps://u:from-file@mail.example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err = Load(nil, env(map[string]string{"TRIAGE_SMTP_URL_FILE": p, "TRIAGE_EMAIL_FROM": "triage@example.com"}), io.Discard)
	if err != nil || c.SMTP.Password != "from-file" || c.SMTP.Security != SMTPTLS {
		t.Errorf("TRIAGE_SMTP_URL_FILE: %+v, %v", c, err)
	}
}
