// Command triage is the whole of Triage: the web server, Slack endpoints,
// ingestion, background workers, and the admin commands.
//
// main only calls run, the composition root: it picks the command, and
// each command reads its configuration once (config.Load or LoadServe,
// nothing else reads the environment) and builds what it needs. runServe
// (serve.go) reads top to bottom, one small function per part in the
// order they depend on each other: the configuration and the runtime's
// memory targets, the logger, the database, the secret key, the metrics
// registry, the services (access, issues, Slack, alerts), the River
// client with every worker, the background work (jobs, the event writer,
// Socket Mode), the web server; then it serves, and stops the background
// work in order. Constructors take their dependencies; the setters left
// close real cycles, and say which.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "triage: %s\n", oneLine(err))
		os.Exit(1)
	}
}
