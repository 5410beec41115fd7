package directory

import (
	"context"
	"errors"
	"time"

	"triage"
	"triage/internal/password"
	"triage/internal/store"
)

// Password lengths: long enough to mean something, short enough that
// hashing one costs what it should.
const (
	MinPassword = 8
	MaxPassword = 1024
)

// CheckPassword returns EINVALID naming field unless pw has an acceptable length.
func CheckPassword(field, pw string) error {
	if len(pw) < MinPassword {
		return invalid(field, "choose at least %d characters", MinPassword)
	}
	if len(pw) > MaxPassword {
		return invalid(field, "use at most %d characters", MaxPassword)
	}
	return nil
}

// SetName changes the user's display name ("" shows the email instead).
func (s *Service) SetName(ctx context.Context, userID int64, name string) (*triage.User, error) {
	name, err := checkName("name", name)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetUserName(ctx, userID, name); err != nil {
		return nil, err
	}
	return s.store.UserByID(ctx, userID)
}

// ChangePassword sets a new password for a user who knows the old one
// (EINVALID naming "old_password" otherwise) and ends all their sessions;
// the caller starts a fresh one for the browser that asked. Checking a
// password takes 64 MiB for a moment: the caller bounds how many run at
// once (the web server's login slots).
func (s *Service) ChangePassword(ctx context.Context, userID int64, old, pw string) error {
	if err := CheckPassword("password", pw); err != nil {
		return err
	}
	hash, err := s.store.PasswordHashByID(ctx, userID)
	if err != nil {
		return err
	}
	ok, err := password.Verify(old, hash)
	if err != nil && !errors.Is(err, password.ErrEmptyPassword) {
		s.log.Error("stored password hash unusable", "user_id", userID, "err", err)
	}
	if !ok {
		return invalid("old_password", "that is not your current password")
	}
	if err := s.SetPassword(ctx, userID, pw); err != nil {
		return err
	}
	s.log.Info("password changed", "user_id", userID)
	return nil
}

// SetPassword sets a user's password and ends every session of theirs, in
// one transaction (`triage user set-password`, and ChangePassword).
func (s *Service) SetPassword(ctx context.Context, userID int64, pw string) error {
	if err := CheckPassword("password", pw); err != nil {
		return err
	}
	hash, err := s.hash(pw)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error { return tx.SetPassword(ctx, userID, hash) })
}

// Tokens lists the user's API tokens, oldest first; never the tokens
// themselves, which are not stored.
func (s *Service) Tokens(ctx context.Context, userID int64) ([]*triage.APIToken, error) {
	return s.store.APITokens(ctx, userID)
}

// CreateToken makes an API token for the user and returns it in plain
// text, the only time it is ever shown, with its stored record. A zero
// expiresAt never expires. EINVALID naming "name" for a bad name.
func (s *Service) CreateToken(ctx context.Context, userID int64, name string, expiresAt time.Time) (string, *triage.APIToken, error) {
	name, err := checkName("name", name)
	if err != nil {
		return "", nil, err
	}
	if name == "" {
		return "", nil, invalid("name", "give the token a name to recognise it by")
	}
	plain, hash := password.NewToken()
	t, err := s.store.CreateAPIToken(ctx, userID, name, hash, expiresAt)
	if err != nil {
		return "", nil, err
	}
	s.log.Info("api token created", "user_id", userID, "token_id", t.ID)
	return plain, t, nil
}

// RevokeToken deletes one of the user's own tokens: every process refuses
// it from the next request on. ENOTFOUND when the user has no such token.
func (s *Service) RevokeToken(ctx context.Context, userID, tokenID int64) error {
	if err := s.store.RevokeUserAPIToken(ctx, userID, tokenID); err != nil {
		return err
	}
	s.log.Info("api token revoked", "user_id", userID, "token_id", tokenID)
	return nil
}

// RevokeAnyToken deletes a token whoever owns it: the operator's `triage
// token revoke`. ENOTFOUND when there is none with that id.
func (s *Service) RevokeAnyToken(ctx context.Context, tokenID int64) error {
	return s.store.RevokeAPIToken(ctx, tokenID)
}
