package mail

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"triage/internal/config"
)

// Message is one email to one recipient.
type Message struct {
	To      string
	Subject string
	Text    string // the plain-text part, always present
	HTML    string // the HTML part; "" sends plain text only
}

// Sender delivers a message; SMTP is the real one.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SMTP sends through the configured server, one connection per message.
type SMTP struct {
	cfg     config.SMTP
	from    string
	timeout time.Duration
}

// NewSMTP returns a sender for the server and sender address of the
// configuration (config.Config.SMTP and EmailFrom).
func NewSMTP(cfg config.SMTP, from string) *SMTP {
	return &SMTP{cfg: cfg, from: from, timeout: 30 * time.Second}
}

// Send delivers m. Its errors say what failed (dial, authentication, a
// refused recipient) and carry the server's answer; Permanent tells whether
// trying again can help.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return permanentError{reason: "bad_sender", err: fmt.Errorf("sender address: %w", err)}
	}
	if err := msg.To(m.To); err != nil {
		return permanentError{reason: "bad_recipient", err: fmt.Errorf("recipient address: %w", err)}
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.timeout)}
	switch s.cfg.Security {
	case config.SMTPTLS:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.TLSMandatory))
	case config.SMTPStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if s.cfg.Security == config.SMTPPlain {
			// smtp:// without starttls=1 was chosen on purpose (a relay
			// on the same host or network): PLAIN is what such relays
			// take, and go-mail refuses it unencrypted unless asked.
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return permanentError{reason: "bad_configuration", err: fmt.Errorf("mail client: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return classify(err)
	}
	return nil
}

// permanentError is a failure that retrying will not heal.
type permanentError struct {
	reason string
	err    error
}

func (e permanentError) Error() string { return e.reason + ": " + e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// classify marks the server's 5xx answers permanent: the address does not
// exist, the sender is refused, the credentials are wrong. Everything else
// (cannot connect, a 4xx "try later", a timeout) may heal.
func classify(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code >= 500 && code < 600 {
			return permanentError{reason: "smtp_" + strconv.Itoa(code), err: err}
		}
	}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		return permanentError{reason: "smtp_" + strconv.Itoa(te.Code), err: err}
	}
	return err
}

// Permanent tells whether err will not heal by trying again, and why, in a
// short reason for pages and metrics ("smtp_550", "bad_recipient").
func Permanent(err error) (string, bool) {
	var pe permanentError
	if errors.As(err, &pe) {
		return pe.reason, true
	}
	return "", false
}

// Permanently marks err as one that trying again will not heal (a
// composer's, such as an address that is no longer valid).
func Permanently(reason string, err error) error { return permanentError{reason: reason, err: err} }
