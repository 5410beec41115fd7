// Command triage-load-actions measures Slack's action endpoint: it sends
// signed block_actions payloads (Resolve and Unresolve of one issue, by
// turns) at concurrency C to a running Triage and reports, apart, the
// requests answered 200, the requests that failed (refused or not
// answered), and, read from the issues' activity logs in the database
// (-db), the changes really made: concurrent clicks on one issue often
// resolve an issue that another click resolved a moment before, which is
// answered 200 and changes nothing (a no-op). The rate to quote is changes
// per second. In the same run it sends the same load to a verify-only
// handler (Slack's signature check answering 200, in this process) and
// prints the ratio of requests answered per second, so the figure says
// what acting costs over merely accepting a request.
//
// Set up once (writes the database directly: a workspace with the given
// team id attached to the organization, the Slack user linked to a Triage
// user, and an issue to act on; prints the -issue to use):
//
//	triage-load-actions -setup -db triage.db -org acme -project web -email owner@example.com -team T1 -user U1
//
// Then, against `triage serve` (with SLACK_SIGNING_SECRET set to -secret):
//
//	triage-load-actions -url http://127.0.0.1:9000 -db triage.db -secret S -team T1 -user U1 -issue 42 -n 20000 -c 50
//
// With -count N, -setup creates N issues; -issue 42,43,… spreads the
// actions over them (each issue's changes are serialized by its row lock,
// so one issue measures the worst case).
//
// Rebuilt messages go to the response URL in each payload; by default it
// points at a sink in this process that answers 200, so Triage's jobs
// have somewhere harmless to post. A card Triage sends again (the issue
// changed while it was on its way) is edited with chat.update: set up
// with Triage's TRIAGE_SECRET_KEY (-secret-key) and serve Triage with
// SLACK_API_URL=http://ADDR/api/ for -sink ADDR, and those calls reach
// the sink too, answered as Slack would.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("triage-load-actions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	var setup SetupConfig
	doSetup := fs.Bool("setup", false, "create the workspace, link the user and an issue in the database, then exit")
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:9000", "base URL of the running Triage")
	fs.IntVar(&cfg.N, "n", 20000, "actions to send (each run: Triage, then the baseline)")
	fs.IntVar(&cfg.C, "c", 50, "concurrent senders")
	fs.StringVar(&cfg.Secret, "secret", getenv("SLACK_SIGNING_SECRET"), "Slack signing secret Triage verifies with (default $SLACK_SIGNING_SECRET)")
	fs.StringVar(&cfg.Team, "team", "T1", "Slack team id of the installed workspace")
	fs.StringVar(&cfg.User, "user", "U1", "Slack user id linked to a Triage user with access to the issue")
	fs.Func("issue", "issue id to resolve and unresolve; a comma-separated list spreads the actions over several issues", func(v string) error {
		for _, f := range strings.Split(v, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("bad issue id %q", f)
			}
			cfg.Issues = append(cfg.Issues, id)
		}
		return nil
	})
	fs.StringVar(&cfg.ResponseURL, "response-url", "", "response_url to put in payloads (default: a sink in this process)")
	fs.StringVar(&cfg.Sink, "sink", "", "address for the sink to listen on, so that Triage's SLACK_API_URL can be http://ADDR/api/ (default: a free port)")
	fs.StringVar(&setup.SecretKey, "secret-key", getenv("TRIAGE_SECRET_KEY"), "-setup: Triage's secret key, to seal the workspace's token as Triage does (default $TRIAGE_SECRET_KEY)")
	fs.BoolVar(&cfg.Baseline, "baseline", true, "also run the same load against a verify-only handler and print the ratio")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Minute, "stop after this long")
	fs.StringVar(&setup.DB, "db", getenv("TRIAGE_DATABASE_URL"), "the database: -setup prepares it, a run counts its changes in it (default $TRIAGE_DATABASE_URL)")
	fs.StringVar(&setup.Org, "org", "", "-setup: organization slug")
	fs.StringVar(&setup.Project, "project", "", "-setup: project slug (the issue is created in it)")
	fs.StringVar(&setup.Email, "email", "", "-setup: the Triage user to link the Slack user to")
	fs.IntVar(&setup.Count, "count", 1, "-setup: how many issues to create")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "triage-load-actions: unexpected arguments %q\n", fs.Args())
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *doSetup {
		setup.Team, setup.User = cfg.Team, cfg.User
		ids, err := Setup(ctx, setup)
		if err != nil {
			fmt.Fprintln(stderr, "triage-load-actions:", err)
			return 1
		}
		list := make([]string, len(ids))
		for k, id := range ids {
			list[k] = strconv.FormatInt(id, 10)
		}
		fmt.Fprintf(stdout, "ready: -team %s -user %s -issue %s\n", setup.Team, setup.User, strings.Join(list, ","))
		return 0
	}
	cfg.DB = setup.DB
	res, err := Run(ctx, cfg)
	if res != nil {
		res.Print(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "triage-load-actions:", err)
		return 1
	}
	if res.Triage.Errors > 0 || res.Counted && res.Changes == 0 {
		return 1
	}
	return 0
}
