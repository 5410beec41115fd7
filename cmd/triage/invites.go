package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"triage/internal/config"
	"triage/internal/invite"
	"triage/internal/jobs"
	"triage/internal/mail"
	"triage/internal/passreset"
	"triage/internal/signing"
	"triage/internal/store"
)

// cliMailer is the mailer of an admin command: it queues email on an
// insert-only jobs client, for a running `triage serve` to send. Without
// email configured it is nil, and close does nothing.
func cliMailer(ctx context.Context, cfg *config.Config, s *store.Store, stderr io.Writer) (*mail.Mailer, func(), error) {
	if !cfg.MailConfigured() {
		return nil, func() {}, nil
	}
	workers := river.NewWorkers()
	mail.NewWorker(nil, nil, nil).Register(workers)
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	jc, err := jobs.New(ctx, s, cfg.DatabaseURL, logger, workers, jobs.Options{})
	if err != nil {
		return nil, nil, err
	}
	return mail.NewMailer(jc), func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = jc.Stop(stopCtx)
	}, nil
}

// cliSigner signs links with the same key serve uses.
func cliSigner(ctx context.Context, cfg *config.Config, s *store.Store, stderr io.Writer) (*signing.Signer, error) {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	key, err := secretKey(ctx, cfg, s, logger)
	if err != nil {
		return nil, err
	}
	return signing.New(key), nil
}

// inviteCreate invites an address to an organization and prints the
// one-time link last; with email configured it is also emailed (by a
// running serve).
func inviteCreate(ctx context.Context, cfg *config.Config, s *store.Store, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("invite create", flag.ContinueOnError)
	org := fs.String("org", "", "organization slug")
	email := fs.String("email", "", "the address to invite")
	role := fs.String("role", "member", "member, admin or owner")
	var teams stringList
	fs.Var(&teams, "team", "team slug (repeatable)")
	if err := parse(fs, args, "org", "email"); err != nil {
		return err
	}
	in := invite.Input{Email: *email, Role: *role, Teams: teams}
	fieldErr := func(err error) error {
		var fe *invite.FieldError
		if errors.As(err, &fe) {
			return fmt.Errorf("invite create: --%s: %s", fe.Field, fe.Reason)
		}
		return err
	}
	// Bad input changes nothing, not even the stored secret key.
	if err := invite.New(invite.Deps{Store: s}).CheckByOperator(ctx, *org, in); err != nil {
		return fieldErr(err)
	}
	signer, err := cliSigner(ctx, cfg, s, stderr)
	if err != nil {
		return err
	}
	mailer, closeJobs, err := cliMailer(ctx, cfg, s, stderr)
	if err != nil {
		return err
	}
	defer closeJobs()
	svc := invite.New(invite.Deps{Store: s, Signer: signer, Mailer: mailer, URLPrefix: cfg.URLPrefix})
	c, err := svc.CreateByOperator(ctx, *org, in)
	if err != nil {
		return fieldErr(err)
	}
	how := "email is not configured (TRIAGE_SMTP_URL): pass the link on"
	if c.Emailed {
		how = "queued an email to them (a running triage serve sends it)"
	}
	fmt.Fprintf(stdout, "invited %s to %s as %s, valid for 7 days, once; %s\n%s\n", c.Invite.Email, c.Org.Slug, c.Invite.Role, how, c.URL)
	return nil
}

// userResetLink prints a password reset link for an account, for when
// email is not configured (or did not arrive).
func userResetLink(ctx context.Context, cfg *config.Config, s *store.Store, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user reset-link", flag.ContinueOnError)
	email := fs.String("email", "", "the account's email")
	if err := parse(fs, args, "email"); err != nil {
		return err
	}
	signer, err := cliSigner(ctx, cfg, s, stderr)
	if err != nil {
		return err
	}
	link, err := passreset.New(passreset.Deps{Store: s, Signer: signer, URLPrefix: cfg.URLPrefix}).Link(ctx, *email)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "a link to choose a new password for %s, valid for an hour, once:\n%s\n", store.NormalizeEmail(*email), link)
	return nil
}
