// Package config reads Triage's configuration from the environment and the
// command line into one value that is validated at start and passed down;
// nothing reads the environment after that.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is Triage's whole configuration.
type Config struct {
	Addr        string
	DatabaseURL string
	URLPrefix   string
	SecretKey   string // empty: generated once and kept in the database

	SlackClientID          string
	SlackClientSecret      string
	SlackSigningSecret     string
	SlackVerificationToken string
	SlackAPIURL            string
	SlackAuthorizeURL      string
	SlackAppToken          string
	SlackOAuthFlow         string

	// IngestRateLimit is events per second per DSN key; 0 turns it off.
	IngestRateLimit float64
	// EventRetention is how long events are kept.
	EventRetention time.Duration
	// DatabaseMaxConns is the PostgreSQL connection pool's size per
	// process; 0 keeps store.DefaultPostgresConns.
	DatabaseMaxConns int
	// ShutdownTimeout bounds how long in-flight requests may finish.
	ShutdownTimeout time.Duration
	// DebugAddr, when set, serves Go's profiler (net/http/pprof) on a
	// separate listener; keep it on loopback.
	DebugAddr string
}

// SlackConfigured tells whether the Slack app's credentials are set.
func (c *Config) SlackConfigured() bool {
	return c.SlackClientID != "" && c.SlackClientSecret != "" &&
		(c.SlackSigningSecret != "" || c.SlackVerificationToken != "")
}

// Getenv reads one variable; tests pass a map's lookup instead of os.Getenv.
type Getenv func(string) string

// secret reads NAME, or the file named by NAME_FILE with one trailing
// newline trimmed.
func secret(getenv Getenv, name string, readFile func(string) ([]byte, error), problems *[]string) string {
	v := getenv(name)
	file := getenv(name + "_FILE")
	if file == "" {
		return v
	}
	if v != "" {
		*problems = append(*problems, fmt.Sprintf("%s and %s_FILE are both set: use one", name, name))
		return v
	}
	b, err := readFile(file)
	if err != nil {
		*problems = append(*problems, fmt.Sprintf("%s_FILE: cannot read %s: %v", name, file, errors.Unwrap(err)))
		return ""
	}
	s := string(b)
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	return s
}

// Load builds the configuration from the environment, then lets flags in
// args override it (only `serve` passes flags). It names every problem at
// once in the returned error.
func Load(args []string, getenv Getenv, stderr io.Writer) (*Config, []string, error) {
	var problems []string
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	c := &Config{
		Addr:              env("TRIAGE_ADDR", "127.0.0.1:9000"),
		DatabaseURL:       env("TRIAGE_DATABASE_URL", "triage.db"),
		URLPrefix:         getenv("TRIAGE_URL_PREFIX"),
		SlackClientID:     getenv("SLACK_CLIENT_ID"),
		SlackAPIURL:       env("SLACK_API_URL", "https://slack.com/api/"),
		SlackAuthorizeURL: getenv("SLACK_AUTHORIZE_URL"),
		SlackOAuthFlow:    env("SLACK_OAUTH_FLOW", "v2"),
		EventRetention:    90 * 24 * time.Hour,
		ShutdownTimeout:   15 * time.Second,
		DebugAddr:         getenv("TRIAGE_DEBUG_ADDR"),
	}
	c.SecretKey = secret(getenv, "TRIAGE_SECRET_KEY", os.ReadFile, &problems)
	c.SlackClientSecret = secret(getenv, "SLACK_CLIENT_SECRET", os.ReadFile, &problems)
	c.SlackSigningSecret = secret(getenv, "SLACK_SIGNING_SECRET", os.ReadFile, &problems)
	c.SlackVerificationToken = secret(getenv, "SLACK_VERIFICATION_TOKEN", os.ReadFile, &problems)
	c.SlackAppToken = secret(getenv, "SLACK_APP_TOKEN", os.ReadFile, &problems)
	if v := getenv("TRIAGE_INGEST_RATE_LIMIT"); v != "" {
		if _, err := fmt.Sscanf(v, "%g", &c.IngestRateLimit); err != nil || c.IngestRateLimit < 0 {
			problems = append(problems, fmt.Sprintf("TRIAGE_INGEST_RATE_LIMIT %q: want events per second, 0 for no limit", v))
		}
	}
	if v := getenv("TRIAGE_DATABASE_MAX_CONNS"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 2 || n > 1000 {
			problems = append(problems, fmt.Sprintf("TRIAGE_DATABASE_MAX_CONNS %q: want a number of connections from 2 to 1000", v))
		} else {
			c.DatabaseMaxConns = n
		}
	}
	if v := getenv("TRIAGE_EVENT_RETENTION"); v != "" {
		d, err := parseDays(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("TRIAGE_EVENT_RETENTION %q: %v", v, err))
		}
		c.EventRetention = d
	}

	if len(args) > 0 {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(stderr)
		fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (TRIAGE_ADDR)")
		fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "SQLite path or postgres:// URL (TRIAGE_DATABASE_URL)")
		fs.StringVar(&c.URLPrefix, "url-prefix", c.URLPrefix, "public base URL (TRIAGE_URL_PREFIX)")
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		if fs.NArg() > 0 {
			problems = append(problems, fmt.Sprintf("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
		}
	}
	if c.URLPrefix == "" {
		c.URLPrefix = "http://" + c.Addr
	}
	c.URLPrefix = strings.TrimSuffix(c.URLPrefix, "/")
	if c.SlackAuthorizeURL == "" {
		c.SlackAuthorizeURL = "https://slack.com/oauth/v2/authorize"
		if c.SlackOAuthFlow == "workspace" {
			c.SlackAuthorizeURL = "https://slack.com/oauth/authorize"
		}
	}
	var warnings []string
	problems = append(problems, c.validate(&warnings)...)
	if len(problems) > 0 {
		return nil, warnings, fmt.Errorf("invalid configuration:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return c, warnings, nil
}

func parseDays(v string) (time.Duration, error) {
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	var days int
	if _, err := fmt.Sscanf(v, "%dd", &days); err == nil && days > 0 {
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return 0, errors.New("want a duration such as 90d or 720h")
}

func (c *Config) validate(warnings *[]string) []string {
	var p []string
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		p = append(p, fmt.Sprintf("TRIAGE_ADDR %q: want host:port", c.Addr))
	}
	if u, err := url.Parse(c.URLPrefix); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p = append(p, fmt.Sprintf("TRIAGE_URL_PREFIX %q: want an absolute http(s) URL", c.URLPrefix))
	}
	if c.DebugAddr != "" {
		if _, _, err := net.SplitHostPort(c.DebugAddr); err != nil {
			p = append(p, fmt.Sprintf("TRIAGE_DEBUG_ADDR %q: want host:port", c.DebugAddr))
		}
	}
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		p = append(p, "TRIAGE_SECRET_KEY is too short: use at least 32 characters (e.g. `openssl rand -hex 32`)")
	}
	for name, raw := range map[string]string{"SLACK_API_URL": c.SlackAPIURL, "SLACK_AUTHORIZE_URL": c.SlackAuthorizeURL} {
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p = append(p, fmt.Sprintf("%s %q: want an absolute http(s) URL", name, raw))
		}
	}
	if !strings.HasSuffix(c.SlackAPIURL, "/") {
		c.SlackAPIURL += "/"
	}
	if c.SlackOAuthFlow != "v2" && c.SlackOAuthFlow != "workspace" {
		p = append(p, fmt.Sprintf("SLACK_OAUTH_FLOW %q: want v2 or workspace", c.SlackOAuthFlow))
	}
	some := c.SlackClientID != "" || c.SlackClientSecret != "" || c.SlackSigningSecret != ""
	if some {
		if c.SlackClientID == "" {
			p = append(p, "SLACK_CLIENT_ID is missing while other Slack credentials are set")
		}
		if c.SlackClientSecret == "" {
			p = append(p, "SLACK_CLIENT_SECRET is missing while other Slack credentials are set")
		}
		if c.SlackSigningSecret == "" && c.SlackVerificationToken == "" {
			p = append(p, "SLACK_SIGNING_SECRET is missing: Slack requests could not be verified")
		}
	}
	if c.SlackSigningSecret != "" && c.SlackVerificationToken != "" {
		*warnings = append(*warnings, "SLACK_VERIFICATION_TOKEN is ignored because SLACK_SIGNING_SECRET is set")
	}
	if c.SlackAppToken != "" && !strings.HasPrefix(c.SlackAppToken, "xapp-") {
		p = append(p, "SLACK_APP_TOKEN must be an app-level token starting with xapp-")
	}
	return p
}
