// Command triage-seed fills an empty Triage database with the benchmark
// world of package seed: by default 1,000,000 events in 10,000 issues of
// three projects (web, api, mobile) with 200,000 distinct tag values,
// spread over the last 14 days, in a few minutes on either engine. It
// writes with bulk SQL, not through HTTP. Log in as owner@seed.test (sees
// everything) or member@seed.test (team backend: web and api) with the
// -password given:
//
//	triage-seed -db seed.db -password 'long secret'
//	triage-seed -db 'postgres://triage@127.0.0.1:5432/seed?sslmode=disable' -events 100000 -issues 1000
//
// The database is migrated first and must hold no users yet.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"triage/internal/password"
	"triage/internal/seed"
	"triage/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "triage-seed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("triage-seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	spec := seed.Default(time.Now(), "")
	db := fs.String("db", getenv("TRIAGE_DATABASE_URL"), "database to fill (default $TRIAGE_DATABASE_URL)")
	pw := fs.String("password", "", "password of owner@seed.test and member@seed.test (at least 8 characters)")
	fs.IntVar(&spec.Issues, "issues", spec.Issues, "issues")
	fs.IntVar(&spec.Events, "events", spec.Events, "events, shared among the issues by Zipf's law")
	fs.IntVar(&spec.Users, "users", spec.Users, "distinct users the events come from")
	fs.IntVar(&spec.URLs, "urls", spec.URLs, "distinct request URLs")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the build to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *db == "" {
		return fmt.Errorf("-db (or TRIAGE_DATABASE_URL) names the database to fill")
	}
	if len(*pw) < 8 {
		return fmt.Errorf("-password needs at least 8 characters")
	}
	hash, err := password.Hash(*pw)
	if err != nil {
		return err
	}
	spec.PasswordHash = hash
	s, err := store.Open(ctx, *db, nil, store.WithTimeout(10*time.Minute))
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	_, err = seed.Build(ctx, s, spec, stdout)
	return err
}
