package config

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) Getenv { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, warnings, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.DatabaseURL != "triage.db" || c.URLPrefix != "http://127.0.0.1:9000" ||
		c.SlackAPIURL != "https://slack.com/api/" || c.SlackAuthorizeURL != "https://slack.com/oauth/v2/authorize" ||
		c.SlackOAuthFlow != "v2" || c.EventRetention != 90*24*time.Hour || c.SlackConfigured() || len(warnings) != 0 {
		t.Errorf("defaults: %+v, warnings %v", c, warnings)
	}
}

func TestOverridesAndFlags(t *testing.T) {
	t.Parallel()
	c, _, err := Load([]string{"--addr", "127.0.0.1:9999", "--url-prefix", "https://triage.example.com/"}, env(map[string]string{
		"TRIAGE_ADDR": "127.0.0.1:1", "SLACK_OAUTH_FLOW": "workspace", "SLACK_API_URL": "http://127.0.0.1:5/api",
		"TRIAGE_EVENT_RETENTION": "30d", "TRIAGE_DATABASE_MAX_CONNS": "40",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.URLPrefix != "https://triage.example.com" || c.SlackAuthorizeURL != "https://slack.com/oauth/authorize" ||
		c.SlackAPIURL != "http://127.0.0.1:5/api/" || c.EventRetention != 30*24*time.Hour || c.DatabaseMaxConns != 40 {
		t.Errorf("overrides: %+v", c)
	}
}

func TestSecretsFromFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, _, err := Load(nil, env(map[string]string{
		"TRIAGE_SECRET_KEY_FILE":    write("key", strings.Repeat("k", 40)+"\n"),
		"SLACK_CLIENT_ID":           "1.2",
		"SLACK_CLIENT_SECRET_FILE":  write("secret", "s3cret\n"),
		"SLACK_SIGNING_SECRET_FILE": write("signing", "sign\n\n"),
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.SecretKey != strings.Repeat("k", 40) || c.SlackClientSecret != "s3cret" || c.SlackSigningSecret != "sign\n" || !c.SlackConfigured() {
		t.Errorf("secrets: key %q secret %q signing %q", c.SecretKey, c.SlackClientSecret, c.SlackSigningSecret)
	}
}

// TestEveryProblemNamed: a bad configuration names each problem at once.
func TestEveryProblemNamed(t *testing.T) {
	t.Parallel()
	_, _, err := Load(nil, env(map[string]string{
		"TRIAGE_ADDR": "nope", "TRIAGE_URL_PREFIX": "ftp://x", "TRIAGE_SECRET_KEY": "short",
		"SLACK_CLIENT_ID": "1.2", "SLACK_OAUTH_FLOW": "v9", "SLACK_APP_TOKEN": "xoxb-wrong",
		"SLACK_API_URL": "not a url", "TRIAGE_EVENT_RETENTION": "forever", "TRIAGE_INGEST_RATE_LIMIT": "-3",
		"TRIAGE_DATABASE_MAX_CONNS": "1", "SLACK_CLIENT_SECRET": "x", "SLACK_CLIENT_SECRET_FILE": "/nonexistent",
	}), io.Discard)
	if err == nil {
		t.Fatal("a bad configuration loaded")
	}
	for _, want := range []string{"TRIAGE_ADDR", "TRIAGE_URL_PREFIX", "TRIAGE_SECRET_KEY is too short", "SLACK_SIGNING_SECRET",
		"SLACK_OAUTH_FLOW", "SLACK_APP_TOKEN", "SLACK_API_URL", "TRIAGE_EVENT_RETENTION", "TRIAGE_INGEST_RATE_LIMIT",
		"TRIAGE_DATABASE_MAX_CONNS", "SLACK_CLIENT_SECRET and SLACK_CLIENT_SECRET_FILE are both set"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q:\n%v", want, err)
		}
	}
}

func TestLegacyTokenWarning(t *testing.T) {
	t.Parallel()
	_, warnings, err := Load(nil, env(map[string]string{
		"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "SLACK_SIGNING_SECRET": "x", "SLACK_VERIFICATION_TOKEN": "t",
	}), io.Discard)
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "SLACK_VERIFICATION_TOKEN is ignored") {
		t.Errorf("warnings %v, err %v", warnings, err)
	}
}

func TestEverySettingIsValidatedTogether(t *testing.T) {
	t.Parallel()
	_, _, err := Load(nil, env(map[string]string{
		"TRIAGE_ADDR":                 "127.0.0.1:notaport",
		"TRIAGE_ALERT_CHANNEL_RATE":   "fast",
		"TRIAGE_ALERT_WORKSPACE_RATE": "10/0",
		"TRIAGE_JOB_TIMEOUT":          "soon",
		"TRIAGE_SESSION_IDLE":         "10s",
		"TRIAGE_INGEST_MEMORY":        "1MiB",
		"TRIAGE_REQUEST_TIMEOUT":      "-3s",
	}), io.Discard)
	if err == nil {
		t.Fatal("bad settings accepted")
	}
	for _, want := range []string{`TRIAGE_ADDR "127.0.0.1:notaport"`, "TRIAGE_ALERT_CHANNEL_RATE", "TRIAGE_ALERT_WORKSPACE_RATE",
		"TRIAGE_JOB_TIMEOUT", "TRIAGE_SESSION_IDLE", "TRIAGE_INGEST_MEMORY", "TRIAGE_REQUEST_TIMEOUT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestSettingsParsed(t *testing.T) {
	t.Parallel()
	c, _, err := Load(nil, env(map[string]string{
		"TRIAGE_ALERT_CHANNEL_RATE": "20/1", "TRIAGE_ALERT_WORKSPACE_RATE": "50",
		"TRIAGE_JOB_TIMEOUT": "10s", "TRIAGE_JOB_RESCUE_AFTER": "15s",
		"TRIAGE_SESSION_IDLE": "1d", "TRIAGE_INGEST_MEMORY": "256MiB", "TRIAGE_DATABASE_TIMEOUT": "2s",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.AlertChannelRate != (Rate{20, 1}) || c.AlertWorkspaceRate != (Rate{50, 1}) || c.JobTimeout != 10*time.Second ||
		c.JobRescueAfter != 15*time.Second || c.SessionIdle != 24*time.Hour || c.IngestMemory != 256<<20 || c.DatabaseTimeout != 2*time.Second {
		t.Errorf("parsed: %+v", c)
	}
	if _, _, err := Load(nil, env(map[string]string{"TRIAGE_JOB_TIMEOUT": "5m"}), io.Discard); err == nil ||
		!strings.Contains(err.Error(), "must exceed TRIAGE_JOB_TIMEOUT") {
		t.Errorf("a rescue time under the timeout: %v", err)
	}
}

func TestServeNamesAnAddressItCannotBind(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	_, _, err = LoadServe(nil, env(map[string]string{"TRIAGE_ADDR": taken, "TRIAGE_EVENT_RETENTION": "forever"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), `TRIAGE_ADDR "`+taken+`": cannot listen`) || !strings.Contains(err.Error(), "TRIAGE_EVENT_RETENTION") {
		t.Errorf("a taken address: %v", err)
	}
	// Admin commands do not listen, so a running serve does not stop them.
	if _, _, err := Load(nil, env(map[string]string{"TRIAGE_ADDR": taken}), io.Discard); err != nil {
		t.Errorf("Load refused a taken address: %v", err)
	}
}
