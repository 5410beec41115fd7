package invite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"triage"
	"triage/internal/access"
	mailer "triage/internal/mail"
	"triage/internal/password"
	"triage/internal/signing"
	"triage/internal/store"
)

// Lifetime is how long an invite's link works.
const Lifetime = 7 * 24 * time.Hour

// MailKind is the kind of the invite emails (internal/mail).
const MailKind = "invite"

const purpose = "invite"

// Deps is what the service needs, built by cmd/triage.
type Deps struct {
	Store  *store.Store
	Access *access.Service // nil builds one over Store
	Signer *signing.Signer
	// Mailer queues the invite emails; nil when email is not configured.
	Mailer    *mailer.Mailer
	URLPrefix string
	Now       func() time.Time
	Logger    *slog.Logger
	// HashPassword hashes a new account's password; nil uses
	// password.Hash (tests pass cheaper parameters).
	HashPassword func(string) (string, error)
}

// Service creates, lists, revokes and accepts invites.
type Service struct {
	store  *store.Store
	acc    *access.Service
	signer *signing.Signer
	mail   *mailer.Mailer
	prefix string
	now    func() time.Time
	log    *slog.Logger
	hash   func(string) (string, error)
}

// New builds the service.
func New(d Deps) *Service {
	if d.Access == nil {
		d.Access = access.New(d.Store)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.HashPassword == nil {
		d.HashPassword = password.Hash
	}
	return &Service{store: d.Store, acc: d.Access, signer: d.Signer, mail: d.Mailer,
		prefix: strings.TrimSuffix(d.URLPrefix, "/"), now: d.Now, log: d.Logger, hash: d.HashPassword}
}

// MailConfigured tells whether invites are emailed; without email the
// inviter passes the link on.
func (s *Service) MailConfigured() bool { return s.mail.Configured() }

// Input is an invite to make.
type Input struct {
	Email string
	Role  string   // member (the default), admin or owner
	Teams []string // team slugs of the organization
}

// Created is a new invite and its link.
type Created struct {
	Invite *triage.Invite
	Org    *triage.Organization
	// URL is the one-time link: shown to the inviter to copy, and the
	// one the email carries (signed again when it is sent).
	URL     string
	Emailed bool // an email was queued
}

// FieldError is invalid input: the form field at fault and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap lets callers read the code with triage.ErrorCode (EINVALID).
func (e *FieldError) Unwrap() error { return triage.Errorf(triage.EINVALID, "%s", e.Reason) }

func invalid(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Create invites in.Email to the organization on behalf of userID, an owner
// or admin (EFORBIDDEN otherwise; only an owner may invite an owner;
// ENOTFOUND for an organization they are not in). Bad input is a
// *FieldError; someone already a member is ECONFLICT.
func (s *Service) Create(ctx context.Context, userID int64, orgSlug string, in Input) (*Created, error) {
	org, m, err := s.acc.Org(ctx, userID, orgSlug)
	if err != nil {
		return nil, err
	}
	if err := access.RequireAdmin(org, m, "invite people"); err != nil {
		return nil, err
	}
	role, err := parseRole(in.Role)
	if err != nil {
		return nil, err
	}
	if err := access.RequireRoleChange(org, m, "", role); err != nil {
		return nil, err
	}
	return s.create(ctx, org, userID, role, in, false)
}

// CreateByOperator is Create for `triage invite create`: whoever runs the
// command runs the instance, so there is no inviter to check.
func (s *Service) CreateByOperator(ctx context.Context, orgSlug string, in Input) (*Created, error) {
	return s.byOperator(ctx, orgSlug, in, false)
}

// CheckByOperator says what CreateByOperator would refuse, and changes
// nothing: the command checks its input before it touches anything else.
func (s *Service) CheckByOperator(ctx context.Context, orgSlug string, in Input) error {
	_, err := s.byOperator(ctx, orgSlug, in, true)
	return err
}

// errDryRun rolls a checking transaction back.
var errDryRun = errors.New("dry run")

func (s *Service) byOperator(ctx context.Context, orgSlug string, in Input, dry bool) (*Created, error) {
	org, err := s.store.OrganizationBySlug(ctx, orgSlug)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, triage.Errorf(triage.ENOTFOUND, "no organization %q", orgSlug)
	} else if err != nil {
		return nil, err
	}
	role, err := parseRole(in.Role)
	if err != nil {
		return nil, err
	}
	return s.create(ctx, org, 0, role, in, dry)
}

func parseRole(s string) (triage.Role, error) {
	if strings.TrimSpace(s) == "" {
		return triage.RoleMember, nil
	}
	r, err := triage.ParseRole(strings.TrimSpace(s))
	if err != nil {
		return "", invalid("role", "must be member, admin or owner")
	}
	return r, nil
}

// checkEmail returns the address in its stored form.
func checkEmail(raw string) (string, error) {
	e := strings.TrimSpace(raw)
	switch {
	case e == "":
		return "", invalid("email", "is required")
	case len(e) > 254 || !utf8.ValidString(e):
		return "", invalid("email", "is too long")
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || !strings.Contains(e, "@") {
		return "", invalid("email", "%q is not an email address", e)
	}
	return store.NormalizeEmail(e), nil
}

func (s *Service) create(ctx context.Context, org *triage.Organization, by int64, role triage.Role, in Input, dry bool) (*Created, error) {
	email, err := checkEmail(in.Email)
	if err != nil {
		return nil, err
	}
	inv := &triage.Invite{OrgID: org.ID, Email: email, Role: role, InvitedBy: by, ExpiresAt: s.now().Add(Lifetime)}
	if s.mail.Configured() {
		inv.EmailStatus = "queued"
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		seen := map[int64]bool{}
		for _, slug := range in.Teams {
			slug = strings.TrimSpace(slug)
			if slug == "" {
				continue
			}
			t, err := tx.TeamBySlug(ctx, org.ID, slug)
			if triage.ErrorCode(err) == triage.ENOTFOUND {
				return invalid("team", "%s has no team %q", org.Name, slug)
			} else if err != nil {
				return err
			}
			if !seen[t.ID] {
				seen[t.ID] = true
				inv.TeamIDs = append(inv.TeamIDs, t.ID)
			}
		}
		if u, err := tx.UserByEmail(ctx, email); err == nil {
			if _, err := tx.Member(ctx, org.ID, u.ID); err == nil {
				return triage.Errorf(triage.ECONFLICT, "%s is already a member of %s.", email, org.Name)
			} else if triage.ErrorCode(err) != triage.ENOTFOUND {
				return err
			}
		} else if triage.ErrorCode(err) != triage.ENOTFOUND {
			return err
		}
		if dry {
			return errDryRun
		}
		if err := tx.CreateInvite(ctx, inv); err != nil {
			return err
		}
		if s.mail.Configured() {
			return s.mail.Send(ctx, tx, MailKind, inv.ID, inv.Email)
		}
		return nil
	})
	if dry && errors.Is(err, errDryRun) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	link, err := s.link(inv.ID)
	if err != nil {
		return nil, err
	}
	s.log.Info("invite created", "invite_id", inv.ID, "org", org.Slug, "role", string(role), "by_user_id", by, "emailed", s.mail.Configured())
	return &Created{Invite: inv, Org: org, URL: link, Emailed: s.mail.Configured()}, nil
}

type tokenValue struct {
	ID int64 `json:"i"`
}

// link signs a fresh link to the invite.
func (s *Service) link(id int64) (string, error) {
	tok, err := s.signer.Sign(purpose, s.now(), tokenValue{ID: id})
	if err != nil {
		return "", err
	}
	return s.prefix + "/invites/" + tok + "/", nil
}

// Pending is an invite as the settings page lists it.
type Pending struct {
	*triage.Invite
	Teams []string // slugs
}

// Pending lists the organization's pending invites for an owner or admin
// (EFORBIDDEN for a member, ENOTFOUND outside the organization).
func (s *Service) Pending(ctx context.Context, userID int64, orgSlug string) (*triage.Organization, *triage.Member, []*Pending, error) {
	org, m, err := s.acc.Org(ctx, userID, orgSlug)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := access.RequireAdmin(org, m, "see invites"); err != nil {
		return nil, nil, nil, err
	}
	rows, err := s.store.PendingInvites(ctx, org.ID, s.now())
	if err != nil {
		return nil, nil, nil, err
	}
	out := make([]*Pending, 0, len(rows))
	for _, inv := range rows {
		p := &Pending{Invite: inv}
		for _, id := range inv.TeamIDs {
			if t, err := s.store.TeamByID(ctx, id); err == nil {
				p.Teams = append(p.Teams, t.Slug)
			} else if triage.ErrorCode(err) != triage.ENOTFOUND {
				return nil, nil, nil, err
			}
		}
		out = append(out, p)
	}
	return org, m, out, nil
}

// Revoke deletes a pending invite: its link stops working at once. Owners
// and admins only; ENOTFOUND for an invite of another organization or one
// already used.
func (s *Service) Revoke(ctx context.Context, userID int64, orgSlug string, id int64) (*triage.Invite, error) {
	org, m, err := s.acc.Org(ctx, userID, orgSlug)
	if err != nil {
		return nil, err
	}
	if err := access.RequireAdmin(org, m, "revoke invites"); err != nil {
		return nil, err
	}
	inv, err := s.store.InviteByID(ctx, id)
	if err != nil || inv.OrgID != org.ID {
		return nil, triage.Errorf(triage.ENOTFOUND, "invite not found")
	}
	if err := s.store.DeleteInvite(ctx, org.ID, id); err != nil {
		return nil, err
	}
	s.log.Info("invite revoked", "invite_id", id, "org", org.Slug, "by_user_id", userID)
	return inv, nil
}

// Opened is a pending invite as its link shows it.
type Opened struct {
	Invite *triage.Invite
	Org    *triage.Organization
	// Account is the existing user with the invited address, nil when
	// accepting creates one.
	Account *triage.User
}

// ErrUsed and friends are what a link that no longer works says.
var (
	errBadLink = triage.Errorf(triage.ENOTFOUND, "This invite link is not valid. Check that it was copied whole, or ask for a new invite.")
	errExpired = triage.Errorf(triage.EINVALID, "This invite has expired. Ask an owner or admin of the organization for a new one.")
	errGone    = triage.Errorf(triage.ENOTFOUND, "This invite was revoked or replaced by a newer one. Ask an owner or admin of the organization for a new one.")
	errUsed    = triage.Errorf(triage.ECONFLICT, "This invite has already been used.")
)

// Open reads the invite behind a link: ENOTFOUND for a link that is not
// one or an invite revoked, EINVALID for an expired one, ECONFLICT for one
// already used, each with a message for the person holding it.
func (s *Service) Open(ctx context.Context, token string) (*Opened, error) {
	var v tokenValue
	now := s.now()
	if err := s.signer.Verify(purpose, token, now, Lifetime, &v); errors.Is(err, signing.ErrExpired) {
		return nil, errExpired
	} else if err != nil {
		return nil, errBadLink
	}
	inv, err := s.store.InviteByID(ctx, v.ID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, errGone
	} else if err != nil {
		return nil, err
	}
	switch {
	case !inv.AcceptedAt.IsZero():
		return nil, errUsed
	case !now.Before(inv.ExpiresAt):
		return nil, errExpired
	}
	org, err := s.store.OrganizationByID(ctx, inv.OrgID)
	if err != nil {
		return nil, err
	}
	o := &Opened{Invite: inv, Org: org}
	if u, err := s.store.UserByEmail(ctx, inv.Email); err == nil {
		o.Account = u
	} else if triage.ErrorCode(err) != triage.ENOTFOUND {
		return nil, err
	}
	return o, nil
}

// AcceptNew creates the invited account (name, password) and its
// membership, roles and teams as invited, and uses the invite up, all at
// once. An address that has an account by now is ECONFLICT (log in and
// accept); a bad password or name is a *FieldError.
func (s *Service) AcceptNew(ctx context.Context, token, name, pw string) (*triage.User, *triage.Organization, error) {
	o, err := s.Open(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	if o.Account != nil {
		return nil, nil, triage.Errorf(triage.ECONFLICT, "An account with %s exists: log in to accept the invite.", o.Invite.Email)
	}
	name = strings.TrimSpace(name)
	switch {
	case utf8.RuneCountInString(name) > 200:
		return nil, nil, invalid("name", "must be at most 200 characters")
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return nil, nil, invalid("name", "must not contain control characters")
	case len(pw) < 8:
		return nil, nil, invalid("password", "must have at least 8 characters")
	case len(pw) > 1024:
		return nil, nil, invalid("password", "is too long (at most 1024 bytes)")
	}
	hash, err := s.hash(pw)
	if err != nil {
		return nil, nil, err
	}
	var u *triage.User
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if u, err = tx.CreateUser(ctx, o.Invite.Email, name, hash, false); triage.ErrorCode(err) == triage.ECONFLICT {
			return triage.Errorf(triage.ECONFLICT, "An account with %s exists: log in to accept the invite.", o.Invite.Email)
		} else if err != nil {
			return err
		}
		return s.join(ctx, tx, o.Invite, u.ID)
	})
	if err != nil {
		return nil, nil, err
	}
	s.log.Info("invite accepted", "invite_id", o.Invite.ID, "org", o.Org.Slug, "user_id", u.ID, "new_account", true)
	return u, o.Org, nil
}

// AcceptExisting adds the logged-in user u, who must have the invited
// address (EFORBIDDEN otherwise), to the organization as invited. Someone
// who is a member by now keeps their role; the invite is used up either
// way.
func (s *Service) AcceptExisting(ctx context.Context, token string, u *triage.User) (*triage.Organization, error) {
	o, err := s.Open(ctx, token)
	if err != nil {
		return nil, err
	}
	if store.NormalizeEmail(u.Email) != o.Invite.Email {
		return nil, triage.Errorf(triage.EFORBIDDEN, "This invite is for %s, and you are logged in as %s. Log out and open the link again.", o.Invite.Email, u.Email)
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error { return s.join(ctx, tx, o.Invite, u.ID) })
	if err != nil {
		return nil, err
	}
	s.log.Info("invite accepted", "invite_id", o.Invite.ID, "org", o.Org.Slug, "user_id", u.ID, "new_account", false)
	return o.Org, nil
}

// join uses the invite up and adds the membership and teams.
func (s *Service) join(ctx context.Context, tx *store.Tx, inv *triage.Invite, userID int64) error {
	if err := tx.UseInvite(ctx, inv.ID, userID, s.now()); triage.ErrorCode(err) == triage.ENOTFOUND {
		return errGone
	} else if err != nil {
		return err
	}
	if _, err := tx.Member(ctx, inv.OrgID, userID); triage.ErrorCode(err) == triage.ENOTFOUND {
		if _, err := tx.AddMember(ctx, inv.OrgID, userID, inv.Role); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	for _, id := range inv.TeamIDs {
		t, err := tx.TeamByID(ctx, id)
		if triage.ErrorCode(err) == triage.ENOTFOUND || (err == nil && t.OrgID != inv.OrgID) {
			continue // deleted since the invite was made
		} else if err != nil {
			return err
		}
		if err := tx.AddTeamMember(ctx, id, userID); err != nil {
			return err
		}
	}
	return nil
}

// Teams lists the organization's teams, for the invite form.
func (s *Service) Teams(ctx context.Context, org *triage.Organization) ([]*triage.Team, error) {
	return s.store.TeamsOfOrg(ctx, org.ID)
}

// Team returns a team by id (ENOTFOUND when deleted), to name an invite's
// teams.
func (s *Service) Team(ctx context.Context, id int64) (*triage.Team, error) {
	return s.store.TeamByID(ctx, id)
}
