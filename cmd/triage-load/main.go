// Command triage-load sends Sentry envelopes to a running Triage and reports
// how fast they were accepted and, with -verify-api, how fast they were
// counted in their issues.
//
//	go run ./cmd/triage-load -dsn http://KEY@127.0.0.1:9000/1 -n 20000 -c 64 \
//	    -pid $(pgrep -n triage) -verify-api -token TOKEN -org acme
//
// Bodies are rendered before the clock starts (or, for very large -n, from
// per-error templates with the event id and timestamps substituted), so the
// generator costs little CPU next to the server on the same machine. With
// -ceiling it then sends the same load to a bare handler (it reads the body
// and parses the envelope header, nothing else) and prints Triage's rate as
// a ratio of that ceiling's, measured in the same run. It exits 0 only when
// every event was acknowledged (and counted, when verifying, and answered
// by the ceiling, when measuring it).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("triage-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	fs.StringVar(&cfg.DSN, "dsn", "", "the project's DSN, as `triage project create` prints it: http://<key>@host:port/<project id>")
	fs.IntVar(&cfg.N, "n", 20000, "envelopes to send (one event each)")
	fs.IntVar(&cfg.C, "c", 64, "concurrent senders")
	fs.IntVar(&cfg.Size, "size", 3072, "approximate event size in bytes")
	fs.Float64Var(&cfg.Unique, "unique", 0.05, "fraction of events that are new errors (new issues); the rest repeat ~20 errors")
	fs.BoolVar(&cfg.Gzip, "gzip", false, "gzip the bodies")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Minute, "stop everything after this long")
	fs.IntVar(&cfg.PID, "pid", 0, "the server's pid, to report its RSS and CPU from /proc")
	fs.BoolVar(&cfg.VerifyAPI, "verify-api", false, "after sending, poll the issues API until every acknowledged event is counted")
	fs.StringVar(&cfg.Token, "token", "", "API token for -verify-api (triage token create)")
	fs.StringVar(&cfg.Org, "org", "", "organization slug for -verify-api")
	fs.BoolVar(&cfg.Ceiling, "ceiling", false, "after the run, send the same load to a bare handler in this process (reads the body, parses the envelope header) and print Triage's rate as a ratio of its rate")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "triage-load: unexpected arguments %q\n", fs.Args())
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := Run(ctx, cfg)
	if res != nil && res.SendDur > 0 {
		res.Print(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "triage-load:", err)
		return 1
	}
	if !res.OK() {
		return 1
	}
	return 0
}
