// Package mailpit lets tests send email to a real SMTP server, Mailpit
// (github.com/axllent/mailpit), and read what arrived through its HTTP API.
//
// scripts/test installs Mailpit with go install, starts it on loopback
// ports and sets TRIAGE_TEST_MAILPIT_SMTP (host:port) and
// TRIAGE_TEST_MAILPIT_API (its http:// base URL). Without them a test that
// asks for Mailpit is skipped, except under CI (see package ci), where it
// fails: an email test must not pass silently because nothing ran it.
//
// The tests of a run share one Mailpit, so each test sends to addresses of
// its own (Address) and looks for its messages by recipient.
package mailpit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"triage/internal/testutil/ci"
)

// The variables scripts/test sets.
const (
	EnvSMTP = "TRIAGE_TEST_MAILPIT_SMTP"
	EnvAPI  = "TRIAGE_TEST_MAILPIT_API"
)

// Server is the Mailpit of the test run.
type Server struct {
	SMTPHost string
	SMTPPort int
	API      string
	client   *http.Client
}

// New returns the run's Mailpit, or skips the test (fails it under CI)
// when there is none.
func New(t testing.TB) *Server {
	t.Helper()
	smtp, api := os.Getenv(EnvSMTP), os.Getenv(EnvAPI)
	if smtp == "" || api == "" {
		if ci.Enabled() {
			t.Fatalf("mailpit: %s and %s are not set under CI; run the tests with scripts/test", EnvSMTP, EnvAPI)
		}
		t.Skipf("mailpit: %s not set; run scripts/test for the email tests", EnvSMTP)
	}
	host, port, err := net.SplitHostPort(smtp)
	if err != nil {
		t.Fatalf("mailpit: %s=%q: %v", EnvSMTP, smtp, err)
	}
	p, _ := strconv.Atoi(port)
	return &Server{SMTPHost: host, SMTPPort: p, API: strings.TrimSuffix(api, "/"), client: &http.Client{Timeout: 10 * time.Second}}
}

// SMTPURL is a TRIAGE_SMTP_URL for this Mailpit (which accepts any
// credentials: these prove that Triage authenticates).
func (s *Server) SMTPURL() string {
	return fmt.Sprintf("smtp://triage:secret@%s:%d", s.SMTPHost, s.SMTPPort)
}

// Address returns a fresh address for one test: its messages are its own.
func Address(t testing.TB, name string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%s@example.test", name, hex.EncodeToString(b))
}

// Message is a received email as Mailpit parsed it.
type Message struct {
	ID      string
	From    Addr
	To      []Addr
	Subject string
	Text    string
	HTML    string
}

// Addr is one address of a message.
type Addr struct {
	Name    string
	Address string
}

// Recipients lists the To addresses.
func (m *Message) Recipients() []string {
	var out []string
	for _, a := range m.To {
		out = append(out, a.Address)
	}
	return out
}

var linkPattern = regexp.MustCompile(`https?://[^\s"<>]+`)

// Links lists the URLs in the plain-text part, in order.
func (m *Message) Links() []string { return linkPattern.FindAllString(m.Text, -1) }

// Messages lists the messages sent to address, newest first.
func (s *Server) Messages(ctx context.Context, address string) ([]Message, error) {
	q := url.Values{"query": {"to:" + strconv.Quote(address)}}
	var res struct {
		Messages []struct {
			ID string
		} `json:"messages"`
	}
	if err := s.get(ctx, "/api/v1/search?"+q.Encode(), &res); err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(res.Messages))
	for _, m := range res.Messages {
		var full Message
		if err := s.get(ctx, "/api/v1/message/"+url.PathEscape(m.ID), &full); err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	return out, nil
}

// Wait waits until n messages to address arrived, or fails the test at
// the deadline (30 s: sending goes through a River job).
func (s *Server) Wait(t testing.TB, address string, n int) []Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var last error
	for {
		msgs, err := s.Messages(ctx, address)
		if err == nil && len(msgs) >= n {
			return msgs
		}
		last = err
		if err == nil {
			last = fmt.Errorf("%d of %d messages arrived", len(msgs), n)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("mailpit: waiting for %d messages to %s: %v", n, address, last)
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.API+path, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit %s: %s: %s", path, resp.Status, body)
	}
	return json.Unmarshal(body, v)
}
