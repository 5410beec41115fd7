package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
)

// SMTP security modes: how the connection to the mail server is protected.
const (
	SMTPPlain    = "plain"    // smtp://: no encryption
	SMTPStartTLS = "starttls" // smtp://…?starttls=1: upgraded with STARTTLS, required
	SMTPTLS      = "tls"      // smtps://: TLS from the first byte
)

// SMTP is where Triage sends email, read from TRIAGE_SMTP_URL. Password is
// a secret: never log it, nor the URL it came from.
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	Security string
}

// MailConfigured tells whether Triage can send email: TRIAGE_SMTP_URL is
// set. Without it every page that would send mail says so and shows the
// link to pass on instead.
func (c *Config) MailConfigured() bool { return c.SMTP.Host != "" }

// parseSMTPURL reads smtp://user:pass@host:port, smtps://… and
// smtp://…?starttls=1. Its errors never repeat the URL, which may hold a
// password.
func parseSMTPURL(raw string) (SMTP, error) {
	var s SMTP
	u, err := url.Parse(raw)
	if err != nil {
		return s, fmt.Errorf("not a URL: want smtp://user:password@host:port or smtps://…")
	}
	switch u.Scheme {
	case "smtp":
		s.Security, s.Port = SMTPPlain, 25
	case "smtps":
		s.Security, s.Port = SMTPTLS, 465
	default:
		return s, fmt.Errorf("the scheme must be smtp:// or smtps://, not %q", u.Scheme)
	}
	s.Host = u.Hostname()
	if s.Host == "" {
		return s, fmt.Errorf("names no host: want %s://host:port", u.Scheme)
	}
	if strings.ContainsAny(s.Host, " /\\@") || (strings.Contains(s.Host, ":") && net.ParseIP(s.Host) == nil) {
		return s, fmt.Errorf("the host %q is not a host name or IP address", s.Host)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return s, fmt.Errorf("the port %q is not a number from 1 to 65535", p)
		}
		s.Port = n
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	if u.Path != "" && u.Path != "/" {
		return s, fmt.Errorf("must not have a path (%q)", u.Path)
	}
	for k, v := range u.Query() {
		switch k {
		case "starttls":
			on, err := strconv.ParseBool(v[len(v)-1])
			if err != nil {
				return s, fmt.Errorf("starttls=%q: want 1 or 0", v[len(v)-1])
			}
			if on && s.Security == SMTPTLS {
				return s, fmt.Errorf("smtps:// is TLS from the start: starttls=1 is for smtp://")
			}
			if on {
				s.Security = SMTPStartTLS
			}
		default:
			return s, fmt.Errorf("unknown parameter %q: the only one is starttls=1", k)
		}
	}
	return s, nil
}

// loadMail reads TRIAGE_SMTP_URL (or its _FILE) and TRIAGE_EMAIL_FROM.
func (c *Config) loadMail(raw, from string, problems *[]string) {
	c.EmailFrom = strings.TrimSpace(from)
	if raw == "" {
		return
	}
	s, err := parseSMTPURL(raw)
	if err != nil {
		*problems = append(*problems, "TRIAGE_SMTP_URL "+err.Error())
		return
	}
	c.SMTP = s
}

// validateMail names what keeps email from working.
func (c *Config) validateMail() []string {
	var p []string
	if c.EmailFrom != "" {
		if _, err := mail.ParseAddress(c.EmailFrom); err != nil {
			p = append(p, fmt.Sprintf("TRIAGE_EMAIL_FROM %q: want an address such as triage@example.com or \"Triage <triage@example.com>\"", c.EmailFrom))
		}
	}
	if c.MailConfigured() && c.EmailFrom == "" {
		p = append(p, "TRIAGE_EMAIL_FROM is missing: email needs a sender address (TRIAGE_SMTP_URL is set)")
	}
	return p
}
