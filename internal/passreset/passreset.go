package passreset

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"triage"
	mailer "triage/internal/mail"
	"triage/internal/password"
	"triage/internal/signing"
	"triage/internal/store"
)

// Lifetime is how long a reset link works.
const Lifetime = time.Hour

// RequestEvery is how often one address may be sent a reset email.
const RequestEvery = 2 * time.Minute

// MailKind is the kind of the reset emails (internal/mail).
const MailKind = "password_reset"

const purpose = "reset"

// Deps is what the service needs, built by cmd/triage.
type Deps struct {
	Store     *store.Store
	Signer    *signing.Signer
	Mailer    *mailer.Mailer // nil: email is not configured
	URLPrefix string
	Now       func() time.Time
	Logger    *slog.Logger
	// HashPassword hashes the new password; nil uses password.Hash.
	HashPassword func(string) (string, error)
}

// Service sends reset links and sets passwords through them.
type Service struct {
	store  *store.Store
	signer *signing.Signer
	mail   *mailer.Mailer
	prefix string
	now    func() time.Time
	log    *slog.Logger
	hash   func(string) (string, error)

	mu   sync.Mutex
	sent map[string]time.Time // address -> last reset email queued
}

// New builds the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.HashPassword == nil {
		d.HashPassword = password.Hash
	}
	return &Service{store: d.Store, signer: d.Signer, mail: d.Mailer, prefix: strings.TrimSuffix(d.URLPrefix, "/"),
		now: d.Now, log: d.Logger, hash: d.HashPassword, sent: map[string]time.Time{}}
}

// MailConfigured tells whether reset links can be emailed.
func (s *Service) MailConfigured() bool { return s.mail.Configured() }

// Request emails a reset link to the account with that address, if there
// is one and it was not sent one in the last RequestEvery. It answers the
// same (nil) in every case but a failure of Triage itself, so callers
// cannot tell which addresses exist; without email it returns EUNAVAILABLE.
func (s *Service) Request(ctx context.Context, email string) error {
	if !s.mail.Configured() {
		return triage.Errorf(triage.EUNAVAILABLE, "Email is not configured on this Triage, so no reset link can be sent. Ask an administrator to set your password.")
	}
	email = store.NormalizeEmail(email)
	if email == "" || len(email) > 254 {
		return nil
	}
	u, err := s.store.UserByEmail(ctx, email)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		s.log.Info("password reset asked for an unknown address")
		return nil
	} else if err != nil {
		return err
	}
	if !s.take(u.Email) {
		s.log.Info("password reset email not sent again so soon", "user_id", u.ID)
		return nil
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error { return s.mail.Send(ctx, tx, MailKind, u.ID, u.Email) })
	if err != nil {
		s.forget(u.Email)
		return err
	}
	s.log.Info("password reset email queued", "user_id", u.ID)
	return nil
}

// take reserves the address's next email; false when one went out within
// RequestEvery.
func (s *Service) take(email string) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sent) > 10000 {
		for k, t := range s.sent {
			if now.Sub(t) >= RequestEvery {
				delete(s.sent, k)
			}
		}
	}
	if t, ok := s.sent[email]; ok && now.Sub(t) < RequestEvery {
		return false
	}
	s.sent[email] = now
	return true
}

func (s *Service) forget(email string) {
	s.mu.Lock()
	delete(s.sent, email)
	s.mu.Unlock()
}

type tokenValue struct {
	UserID      int64  `json:"u"`
	Fingerprint string `json:"f"`
}

// fingerprint names a password hash without revealing it (the hash is
// salted; this is a digest of that).
func fingerprint(hash string) string {
	sum := sha256.Sum256([]byte("triage reset v1\x00" + hash))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// Link makes a reset link for the account with that address (ENOTFOUND
// when there is none): for the email, and for `triage user reset-link`.
func (s *Service) Link(ctx context.Context, email string) (string, error) {
	u, hash, err := s.store.PasswordHash(ctx, email)
	if err != nil {
		return "", err
	}
	tok, err := s.signer.Sign(purpose, s.now(), tokenValue{UserID: u.ID, Fingerprint: fingerprint(hash)})
	if err != nil {
		return "", err
	}
	return s.prefix + "/auth/reset/" + tok + "/", nil
}

var (
	errBadLink = triage.Errorf(triage.ENOTFOUND, "This reset link is not valid. Check that it was copied whole, or ask for a new one.")
	errExpired = triage.Errorf(triage.EINVALID, "This reset link has expired (links work for an hour). Ask for a new one.")
	errUsed    = triage.Errorf(triage.EINVALID, "This reset link has been used, or the password was changed since. Ask for a new one if you need it.")
)

// Open reads the account behind a link: ENOTFOUND for a link that is not
// one, EINVALID for one expired or used, with a message for its holder.
func (s *Service) Open(ctx context.Context, token string) (*triage.User, string, error) {
	var v tokenValue
	if err := s.signer.Verify(purpose, token, s.now(), Lifetime, &v); errors.Is(err, signing.ErrExpired) {
		return nil, "", errExpired
	} else if err != nil {
		return nil, "", errBadLink
	}
	u, err := s.store.UserByID(ctx, v.UserID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, "", errBadLink
	} else if err != nil {
		return nil, "", err
	}
	_, hash, err := s.store.PasswordHash(ctx, u.Email)
	if err != nil {
		return nil, "", err
	}
	if fingerprint(hash) != v.Fingerprint {
		return nil, "", errUsed
	}
	return u, hash, nil
}

// FieldError is invalid input: the form field at fault and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap lets callers read the code with triage.ErrorCode (EINVALID).
func (e *FieldError) Unwrap() error { return triage.Errorf(triage.EINVALID, "%s", e.Reason) }

// Reset sets the password through a link and ends every session of the
// user; the link is used up. A password too short or long is a
// *FieldError (field "password"); link errors as Open.
func (s *Service) Reset(ctx context.Context, token, pw string) (*triage.User, error) {
	u, oldHash, err := s.Open(ctx, token)
	if err != nil {
		return nil, err
	}
	switch {
	case len(pw) < 8:
		return nil, &FieldError{Field: "password", Reason: "must have at least 8 characters"}
	case len(pw) > 1024:
		return nil, &FieldError{Field: "password", Reason: "is too long (at most 1024 bytes)"}
	}
	hash, err := s.hash(pw)
	if err != nil {
		return nil, err
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error { return tx.ReplacePassword(ctx, u.ID, oldHash, hash) })
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, errUsed
	} else if err != nil {
		return nil, err
	}
	s.log.Info("password reset through a link; sessions ended", "user_id", u.ID)
	return u, nil
}

var resetEmail = mailer.MustTemplate(
	`Reset your Triage password`,
	`Someone (we hope you) asked to reset the password of your Triage account {{.Email}}.

Choose a new password:
{{.URL}}

The link works once and for an hour. Setting a password logs you out
everywhere else. If you did not ask for this, ignore this email: your
password stays as it is.
`,
	`<p>Someone (we hope you) asked to reset the password of your Triage account <strong>{{.Email}}</strong>.</p>
<p><a href="{{.URL}}" id="reset" style="display: inline-block; padding: 8px 16px; background: #1f6feb; color: #fff; border-radius: 6px; text-decoration: none">Choose a new password</a></p>
<p style="color: #59636e">Or open this link: {{.URL}}<br>It works once and for an hour. Setting a password logs you out everywhere else. If you did not ask for this, ignore this email: your password stays as it is.</p>`)

var _ mailer.Composer = (*Service)(nil)

// Compose writes the reset email with a fresh link: the hour starts when
// it is sent. An account deleted or readdressed since is ENOTFOUND.
func (s *Service) Compose(ctx context.Context, ref int64, to string) (mailer.Message, error) {
	u, err := s.store.UserByID(ctx, ref)
	if err != nil {
		return mailer.Message{}, err
	}
	if u.Email != to {
		return mailer.Message{}, triage.Errorf(triage.ENOTFOUND, "the account's address changed")
	}
	link, err := s.Link(ctx, u.Email)
	if err != nil {
		return mailer.Message{}, err
	}
	return resetEmail.Render(to, map[string]any{"Email": u.Email, "URL": link})
}

// Failed has nothing to record: the person asks again. (The mail worker
// logs and counts the failure.)
func (s *Service) Failed(context.Context, int64, string, string) error { return nil }

// Sent has nothing to record.
func (s *Service) Sent(context.Context, int64, string) error { return nil }
