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
	// GOGCSet and GOMEMLIMITSet say the Go runtime's own GOGC and
	// GOMEMLIMIT are set: they decide, and serve sets no garbage
	// collector target or memory ceiling of its own.
	GOGCSet, GOMEMLIMITSet bool

	// AlertChannelRate and AlertWorkspaceRate pace Slack alert messages
	// per channel and per workspace.
	AlertChannelRate, AlertWorkspaceRate Rate
	// JobTimeout bounds one background job; JobRescueAfter (longer) is
	// when a job still marked running is taken for a dead process's and
	// run again.
	JobTimeout, JobRescueAfter time.Duration

	// RequestTimeout is the deadline of every request's work: past it the
	// request answers 503 with Retry-After.
	RequestTimeout time.Duration
	// DatabaseTimeout bounds one statement and one wait for a lock
	// (PostgreSQL statement_timeout and lock_timeout, SQLite busy_timeout)
	// and each transaction of the background event writer.
	DatabaseTimeout time.Duration
	// IngestMemory is the byte budget shared by every ingestion request
	// for bodies and decompression.
	IngestMemory int64
	// SessionIdle ends a login session that has not been used for this long.
	SessionIdle time.Duration

	// SMTP is the mail server (TRIAGE_SMTP_URL); its Host is empty when
	// email is off (MailConfigured). EmailFrom is the sender
	// (TRIAGE_EMAIL_FROM).
	SMTP      SMTP
	EmailFrom string
}

// Rate is messages per second with a burst.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Defaults of the settings that have one.
var (
	// DefaultAlertChannelRate follows Slack's guidance of about one
	// message per second per channel.
	DefaultAlertChannelRate   = Rate{PerSecond: 1, Burst: 3}
	DefaultAlertWorkspaceRate = Rate{PerSecond: 10, Burst: 20}
)

const (
	DefaultJobTimeout      = 2 * time.Minute
	DefaultJobRescueAfter  = 3 * time.Minute
	DefaultRequestTimeout  = 8 * time.Second
	DefaultDatabaseTimeout = 5 * time.Second
	DefaultIngestMemory    = 128 << 20
	DefaultSessionIdle     = 7 * 24 * time.Hour
)

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

// Load builds the configuration from the environment for the admin
// commands. It names every problem at once in the returned error.
func Load(args []string, getenv Getenv, stderr io.Writer) (*Config, []string, error) {
	return load(args, getenv, stderr, false)
}

// LoadServe is Load for `serve`: flags in args override the environment,
// and the listen addresses must also be free to bind.
func LoadServe(args []string, getenv Getenv, stderr io.Writer) (*Config, []string, error) {
	return load(args, getenv, stderr, true)
}

func load(args []string, getenv Getenv, stderr io.Writer, serve bool) (*Config, []string, error) {
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
		GOGCSet:           getenv("GOGC") != "",
		GOMEMLIMITSet:     getenv("GOMEMLIMIT") != "",

		AlertChannelRate:   DefaultAlertChannelRate,
		AlertWorkspaceRate: DefaultAlertWorkspaceRate,
		JobTimeout:         DefaultJobTimeout,
		JobRescueAfter:     DefaultJobRescueAfter,
		RequestTimeout:     DefaultRequestTimeout,
		DatabaseTimeout:    DefaultDatabaseTimeout,
		IngestMemory:       DefaultIngestMemory,
		SessionIdle:        DefaultSessionIdle,
	}
	c.SecretKey = secret(getenv, "TRIAGE_SECRET_KEY", os.ReadFile, &problems)
	c.SlackClientSecret = secret(getenv, "SLACK_CLIENT_SECRET", os.ReadFile, &problems)
	c.SlackSigningSecret = secret(getenv, "SLACK_SIGNING_SECRET", os.ReadFile, &problems)
	c.SlackVerificationToken = secret(getenv, "SLACK_VERIFICATION_TOKEN", os.ReadFile, &problems)
	c.SlackAppToken = secret(getenv, "SLACK_APP_TOKEN", os.ReadFile, &problems)
	c.loadMail(secret(getenv, "TRIAGE_SMTP_URL", os.ReadFile, &problems), getenv("TRIAGE_EMAIL_FROM"), &problems)
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

	for _, v := range []struct {
		name string
		dst  *Rate
	}{{"TRIAGE_ALERT_CHANNEL_RATE", &c.AlertChannelRate}, {"TRIAGE_ALERT_WORKSPACE_RATE", &c.AlertWorkspaceRate}} {
		if raw := getenv(v.name); raw != "" {
			r, err := parseRate(raw)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s %q: %v", v.name, raw, err))
				continue
			}
			*v.dst = r
		}
	}
	for _, v := range []struct {
		name, example string
		min           time.Duration
		dst           *time.Duration
	}{
		{"TRIAGE_JOB_TIMEOUT", "2m", time.Second, &c.JobTimeout},
		{"TRIAGE_JOB_RESCUE_AFTER", "3m", time.Second, &c.JobRescueAfter},
		{"TRIAGE_REQUEST_TIMEOUT", "8s", time.Second, &c.RequestTimeout},
		{"TRIAGE_DATABASE_TIMEOUT", "5s", 100 * time.Millisecond, &c.DatabaseTimeout},
		{"TRIAGE_SESSION_IDLE", "7d", time.Minute, &c.SessionIdle},
	} {
		raw := getenv(v.name)
		if raw == "" {
			continue
		}
		d, err := parseDays(raw)
		if err != nil || d < v.min {
			problems = append(problems, fmt.Sprintf("%s %q: want a duration of at least %s, such as %s", v.name, raw, v.min, v.example))
			continue
		}
		*v.dst = d
	}
	if v := getenv("TRIAGE_INGEST_MEMORY"); v != "" {
		n, err := parseBytes(v)
		if err != nil || n < 32<<20 {
			problems = append(problems, fmt.Sprintf("TRIAGE_INGEST_MEMORY %q: want a size of at least 32MiB, such as 128MiB or 1GiB", v))
		} else {
			c.IngestMemory = n
		}
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
	if serve {
		problems = append(problems, checkListen("TRIAGE_ADDR", c.Addr)...)
		if c.DebugAddr != "" {
			problems = append(problems, checkListen("TRIAGE_DEBUG_ADDR", c.DebugAddr)...)
		}
	}
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

// parseRate reads "PER_SECOND/BURST" (or just PER_SECOND, burst 1).
func parseRate(s string) (Rate, error) {
	perS, burstS, hasBurst := strings.Cut(strings.TrimSpace(s), "/")
	per, err := strconv.ParseFloat(perS, 64)
	if err != nil || per <= 0 || per > 10000 {
		return Rate{}, errors.New("want messages per second (a number above 0), optionally /burst, such as 1/3")
	}
	burst := 1
	if hasBurst {
		if burst, err = strconv.Atoi(burstS); err != nil || burst < 1 || burst > 10000 {
			return Rate{}, errors.New("burst must be a whole number from 1 to 10000")
		}
	}
	return Rate{PerSecond: per, Burst: burst}, nil
}

// parseBytes reads a size: 134217728, 128MiB, 128MB (read as MiB), 1GiB.
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	upper := strings.ToUpper(s)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GIB", 1 << 30}, {"GB", 1 << 30}, {"G", 1 << 30}, {"MIB", 1 << 20}, {"MB", 1 << 20}, {"M", 1 << 20}, {"KIB", 1 << 10}, {"KB", 1 << 10}, {"K", 1 << 10}} {
		if strings.HasSuffix(upper, u.suffix) {
			s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<50)/mult {
		return 0, errors.New("want a size")
	}
	return n * mult, nil
}

// checkAddr names what is wrong with a host:port listen address.
func checkAddr(name, addr string) []string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return []string{fmt.Sprintf("%s %q: want host:port", name, addr)}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return []string{fmt.Sprintf("%s %q: the port %q is not a number from 0 to 65535", name, addr, port)}
	}
	if host != "" && host != "localhost" && net.ParseIP(strings.Trim(host, "[]")) == nil && strings.ContainsAny(host, " /\\@") {
		return []string{fmt.Sprintf("%s %q: %q is not a host name or IP address", name, addr, host)}
	}
	return nil
}

// checkListen names an address that serve could not bind (taken, not an
// address of this machine, a privileged port).
func checkListen(name, addr string) []string {
	if p := checkAddr(name, addr); p != nil {
		return nil // already named by validate
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			err = op.Err
		}
		return []string{fmt.Sprintf("%s %q: cannot listen: %v", name, addr, err)}
	}
	ln.Close()
	return nil
}

func (c *Config) validate(warnings *[]string) []string {
	var p []string
	p = append(p, checkAddr("TRIAGE_ADDR", c.Addr)...)
	if c.JobRescueAfter <= c.JobTimeout {
		p = append(p, fmt.Sprintf("TRIAGE_JOB_RESCUE_AFTER (%s) must exceed TRIAGE_JOB_TIMEOUT (%s)", c.JobRescueAfter, c.JobTimeout))
	}
	if u, err := url.Parse(c.URLPrefix); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p = append(p, fmt.Sprintf("TRIAGE_URL_PREFIX %q: want an absolute http(s) URL", c.URLPrefix))
	}
	if c.DebugAddr != "" {
		p = append(p, checkAddr("TRIAGE_DEBUG_ADDR", c.DebugAddr)...)
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
	p = append(p, c.validateMail()...)
	return p
}
