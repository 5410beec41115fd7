package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"triage"
	"triage/internal/access"
	"triage/internal/config"
	"triage/internal/directory"
	"triage/internal/password"
	"triage/internal/store"
)

const usage = `usage: triage <command> [flags]

commands:
  serve                       run the web server, Slack endpoints, ingestion and workers
  migrate                     apply database migrations and exit
  user create --email E --password P [--name N] [--superuser]
  user set-password --email E --password P
  user reset-link --email E   prints a one-time link to choose a new password
  org create --slug S [--name N] --owner E
  member add --org S --email E [--role member|admin|owner]
  member remove --org S --email E
  team create --org S --slug T [--member E]... [--admin E]...
  team role --org S --team T --email E --role admin|contributor
  project create --org S --slug P [--team T]
  token create --email E [--name N] [--expires 90d]
  token list --email E
  token revoke --id ID
  invite create --org S --email E [--role member|admin|owner] [--team T]...
  slack manifest [--socket-mode]

Configuration comes from the environment (TRIAGE_DATABASE_URL, TRIAGE_URL_PREFIX, …); see the README.`

// run is the composition root: it parses the command and wires everything.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return withStore(ctx, getenv, stderr, func(_ *config.Config, _ *store.Store) error {
			fmt.Fprintln(stdout, "migrations applied")
			return nil
		})
	case "slack":
		if len(rest) > 0 && rest[0] == "manifest" {
			return runSlackManifest(rest[1:], getenv, stdout, stderr)
		}
		return fmt.Errorf("unknown slack command %q: try `triage slack manifest`", strings.Join(rest, " "))
	case "user", "org", "member", "team", "project", "token", "invite":
		if len(rest) == 0 {
			return fmt.Errorf("%s needs a subcommand; run `triage help`", cmd)
		}
		key := cmd + " " + rest[0]
		fn, ok := adminCommands[key]
		if !ok {
			return fmt.Errorf("unknown command %q; run `triage help`", key)
		}
		return withStore(ctx, getenv, stderr, func(cfg *config.Config, s *store.Store) error {
			return fn(ctx, cfg, s, rest[1:], stdout, stderr)
		})
	}
	return fmt.Errorf("unknown command %q; run `triage help`", cmd)
}

// withStore loads the configuration, opens and migrates the database, and
// runs fn.
func withStore(ctx context.Context, getenv func(string) string, stderr io.Writer, fn func(*config.Config, *store.Store) error) error {
	cfg, _, err := config.Load(nil, getenv, stderr)
	if err != nil {
		return err
	}
	s, err := store.Open(ctx, cfg.DatabaseURL, time.Now)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return err
	}
	return fn(cfg, s)
}

type adminFunc func(ctx context.Context, cfg *config.Config, s *store.Store, args []string, stdout, stderr io.Writer) error

var adminCommands = map[string]adminFunc{
	"user create":       userCreate,
	"org create":        orgCreate,
	"member add":        memberAdd,
	"member remove":     memberRemove,
	"team create":       teamCreate,
	"team role":         teamRole,
	"project create":    projectCreate,
	"token create":      tokenCreate,
	"token list":        tokenList,
	"token revoke":      tokenRevoke,
	"user set-password": userSetPassword,
	"user reset-link":   userResetLink,
	"invite create":     inviteCreate,
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// parse parses flags quietly: a flag error becomes the command's one-line error.
func parse(fs *flag.FlagSet, args []string, required ...string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	for _, name := range required {
		if strings.TrimSpace(fs.Lookup(name).Value.String()) == "" {
			return fmt.Errorf("%s: --%s is required", fs.Name(), name)
		}
	}
	return nil
}

func userCreate(ctx context.Context, cfg *config.Config, s *store.Store, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	email := fs.String("email", "", "email")
	pw := fs.String("password", "", "password")
	name := fs.String("name", "", "display name")
	super := fs.Bool("superuser", false, "make a superuser")
	if err := parse(fs, args, "email", "password"); err != nil {
		return err
	}
	if len(*pw) < 8 {
		return errors.New("user create: --password must have at least 8 characters")
	}
	hash, err := password.Hash(*pw)
	if err != nil {
		return err
	}
	u, err := s.CreateUser(ctx, *email, *name, hash, *super)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %s\n%d\n", u.Email, u.ID)
	return nil
}

func orgCreate(ctx context.Context, cfg *config.Config, s *store.Store, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("org create", flag.ContinueOnError)
	slug := fs.String("slug", "", "slug")
	name := fs.String("name", "", "name")
	owner := fs.String("owner", "", "owner's email")
	if err := parse(fs, args, "slug", "owner"); err != nil {
		return err
	}
	u, err := s.UserByEmail(ctx, *owner)
	if err != nil {
		return err
	}
	o, err := s.CreateOrganization(ctx, *slug, *name, u.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created organization %s owned by %s\n%d\n", o.Slug, u.Email, o.ID)
	return nil
}

func memberAdd(ctx context.Context, cfg *config.Config, s *store.Store, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("member add", flag.ContinueOnError)
	org := fs.String("org", "", "organization slug")
	email := fs.String("email", "", "user's email")
	roleName := fs.String("role", "member", "member, admin or owner")
	if err := parse(fs, args, "org", "email"); err != nil {
		return err
	}
	role, err := triage.ParseRole(*roleName)
	if err != nil {
		return err
	}
	return s.InTx(ctx, func(tx *store.Tx) error {
		o, err := tx.OrganizationBySlug(ctx, *org)
		if err != nil {
			return err
		}
		u, err := tx.UserByEmail(ctx, *email)
		if err != nil {
			return err
		}
		m, err := tx.AddMember(ctx, o.ID, u.ID, role)
		if triage.ErrorCode(err) == triage.ECONFLICT {
			return triage.Errorf(triage.ECONFLICT, "%s is already a member of %s", u.Email, o.Slug)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added %s to %s as %s\n%d\n", u.Email, o.Slug, m.Role, m.ID)
		return nil
	})
}

func memberRemove(ctx context.Context, cfg *config.Config, s *store.Store, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("member remove", flag.ContinueOnError)
	org := fs.String("org", "", "organization slug")
	email := fs.String("email", "", "user's email")
	if err := parse(fs, args, "org", "email"); err != nil {
		return err
	}
	return s.InTx(ctx, func(tx *store.Tx) error {
		o, err := tx.OrganizationBySlug(ctx, *org)
		if err != nil {
			return err
		}
		u, err := tx.UserByEmail(ctx, *email)
		if err != nil {
			return err
		}
		if err := tx.RemoveMember(ctx, o.ID, u.ID); triage.ErrorCode(err) == triage.ENOTFOUND {
			return triage.Errorf(triage.ENOTFOUND, "%s is not a member of %s", u.Email, o.Slug)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s from %s\n", u.Email, o.Slug)
		return nil
	})
}

func teamCreate(ctx context.Context, cfg *config.Config, s *store.Store, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("team create", flag.ContinueOnError)
	org := fs.String("org", "", "organization slug")
	slug := fs.String("slug", "", "team slug")
	name := fs.String("name", "", "team name")
	var members, admins stringList
	fs.Var(&members, "member", "member's email (repeatable)")
	fs.Var(&admins, "admin", "email of a member who is the team's admin (repeatable)")
	if err := parse(fs, args, "org", "slug"); err != nil {
		return err
	}
	isAdmin := map[string]bool{}
	for _, e := range admins {
		isAdmin[e] = true
		if !slices.Contains(members, e) {
			members = append(members, e)
		}
	}
	return s.InTx(ctx, func(tx *store.Tx) error {
		o, err := tx.OrganizationBySlug(ctx, *org)
		if err != nil {
			return err
		}
		t, err := tx.CreateTeam(ctx, o.ID, *slug, *name)
		if err != nil {
			return err
		}
		for _, email := range members {
			u, err := tx.UserByEmail(ctx, email)
			if err != nil {
				return err
			}
			if _, err := access.New(tx).Member(ctx, o, u.ID); triage.ErrorCode(err) == triage.ENOTFOUND {
				return triage.Errorf(triage.EINVALID, "%s is not a member of %s: add them with `triage member add` first", u.Email, o.Slug)
			} else if err != nil {
				return err
			}
			if err := tx.AddTeamMember(ctx, t.ID, u.ID); err != nil {
				return err
			}
			if isAdmin[email] {
				if err := tx.SetTeamRole(ctx, t.ID, u.ID, triage.TeamRoleAdmin); err != nil {
					return err
				}
			}
		}
		fmt.Fprintf(stdout, "created team %s in %s with %d members\n%d\n", t.Slug, o.Slug, len(members), t.ID)
		return nil
	})
}

// teamRole makes a team member the team's admin (who may link the team to
// a Slack channel) or a contributor.
func teamRole(ctx context.Context, cfg *config.Config, s *store.Store, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("team role", flag.ContinueOnError)
	org := fs.String("org", "", "organization slug")
	team := fs.String("team", "", "team slug")
	email := fs.String("email", "", "the team member's email")
	role := fs.String("role", "", "admin or contributor")
	if err := parse(fs, args, "org", "team", "email", "role"); err != nil {
		return err
	}
	r, err := triage.ParseTeamRole(*role)
	if err != nil {
		return err
	}
	return s.InTx(ctx, func(tx *store.Tx) error {
		o, err := tx.OrganizationBySlug(ctx, *org)
		if err != nil {
			return err
		}
		t, err := tx.TeamBySlug(ctx, o.ID, *team)
		if err != nil {
			return err
		}
		u, err := tx.UserByEmail(ctx, *email)
		if err != nil {
			return err
		}
		if err := tx.SetTeamRole(ctx, t.ID, u.ID, r); triage.ErrorCode(err) == triage.ENOTFOUND {
			return triage.Errorf(triage.EINVALID, "%s is not on team %s: add them on the team's page first", u.Email, t.Slug)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is now %s of team %s in %s\n", u.Email, map[triage.TeamRole]string{triage.TeamRoleAdmin: "an admin", triage.TeamRoleContributor: "a contributor"}[r], t.Slug, o.Slug)
		return nil
	})
}

func projectCreate(ctx context.Context, cfg *config.Config, s *store.Store, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("project create", flag.ContinueOnError)
	org := fs.String("org", "", "organization slug")
	slug := fs.String("slug", "", "project slug")
	name := fs.String("name", "", "project name")
	team := fs.String("team", "", "owning team's slug")
	if err := parse(fs, args, "org", "slug"); err != nil {
		return err
	}
	return s.InTx(ctx, func(tx *store.Tx) error {
		o, err := tx.OrganizationBySlug(ctx, *org)
		if err != nil {
			return err
		}
		var teamIDs []int64
		if *team != "" {
			t, err := tx.TeamBySlug(ctx, o.ID, *team)
			if err != nil {
				return err
			}
			teamIDs = append(teamIDs, t.ID)
		}
		p, err := tx.CreateProject(ctx, o.ID, *slug, *name, teamIDs...)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created project %s in %s\n%s\n", p.Slug, o.Slug, p.DSN(cfg.URLPrefix))
		return nil
	})
}

func tokenCreate(ctx context.Context, cfg *config.Config, s *store.Store, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	email := fs.String("email", "", "user's email")
	name := fs.String("name", "cli", "a name to recognise the token by")
	expires := fs.String("expires", "", "lifetime (90d, 720h); never expires when unset")
	if err := parse(fs, args, "email"); err != nil {
		return err
	}
	var expiresAt time.Time
	if *expires != "" {
		d, err := parseLifetime(*expires)
		if err != nil {
			return fmt.Errorf("token create: --expires %q: %v", *expires, err)
		}
		expiresAt = time.Now().Add(d)
	}
	u, err := s.UserByEmail(ctx, *email)
	if err != nil {
		return err
	}
	plain, t, err := directory.New(directory.Deps{Store: s}).CreateToken(ctx, u.ID, *name, expiresAt)
	if err != nil {
		return err
	}
	until := "never expires"
	if !expiresAt.IsZero() {
		until = "expires " + expiresAt.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(stdout, "created API token %d for %s, %s (shown once)\n%s\n", t.ID, u.Email, until, plain)
	return nil
}

// parseLifetime reads 90d or a Go duration such as 720h.
func parseLifetime(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	return 0, errors.New("want a lifetime such as 90d or 720h")
}

// tokenList prints one line per token: id, name, created, last used (and
// the expiry when there is one).
func tokenList(ctx context.Context, _ *config.Config, s *store.Store, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("token list", flag.ContinueOnError)
	email := fs.String("email", "", "user's email")
	if err := parse(fs, args, "email"); err != nil {
		return err
	}
	u, err := s.UserByEmail(ctx, *email)
	if err != nil {
		return err
	}
	tokens, err := directory.New(directory.Deps{Store: s}).Tokens(ctx, u.ID)
	if err != nil {
		return err
	}
	stamp := func(t time.Time, zero string) string {
		if t.IsZero() {
			return zero
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, t := range tokens {
		line := fmt.Sprintf("%d\t%s\tcreated %s\tlast used %s", t.ID, t.Name, stamp(t.CreatedAt, ""), stamp(t.LastUsedAt, "never"))
		if !t.ExpiresAt.IsZero() {
			line += "\texpires " + stamp(t.ExpiresAt, "")
		}
		fmt.Fprintln(stdout, line)
	}
	return nil
}

// tokenRevoke deletes a token: the next request with it is refused, by
// every process (they look tokens up in the database on each request).
func tokenRevoke(ctx context.Context, _ *config.Config, s *store.Store, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("token revoke", flag.ContinueOnError)
	id := fs.Int64("id", 0, "the token's id (from token list)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *id <= 0 {
		return errors.New("token revoke: --id is required")
	}
	if err := directory.New(directory.Deps{Store: s}).RevokeAnyToken(ctx, *id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked API token %d\n", *id)
	return nil
}

// userSetPassword sets a password and ends the user's sessions.
func userSetPassword(ctx context.Context, _ *config.Config, s *store.Store, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("user set-password", flag.ContinueOnError)
	email := fs.String("email", "", "user's email")
	pw := fs.String("password", "", "the new password")
	if err := parse(fs, args, "email", "password"); err != nil {
		return err
	}
	if len(*pw) < directory.MinPassword {
		return fmt.Errorf("user set-password: --password must have at least %d characters", directory.MinPassword)
	}
	u, err := s.UserByEmail(ctx, *email)
	if err != nil {
		return err
	}
	if err := directory.New(directory.Deps{Store: s}).SetPassword(ctx, u.ID, *pw); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "set the password of %s and ended their sessions\n", u.Email)
	return nil
}

// oneLine makes an error fit the one-line reason the CLI promises.
func oneLine(err error) string {
	msg := triage.ErrorMessage(err)
	if triage.ErrorCode(err) == triage.EINTERNAL {
		msg = err.Error()
	}
	return strings.Join(strings.Fields(msg), " ")
}
