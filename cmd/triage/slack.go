package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"triage/internal/config"
	"triage/internal/slack"
)

// runSlackManifest prints a Slack app manifest filled in with this
// instance's URLs: `triage slack manifest [--socket-mode]`.
func runSlackManifest(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("slack manifest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.Bool("socket-mode", false, "receive Slack's events, interactions and commands over Socket Mode (no public URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	cfg, _, err := config.Load(nil, getenv, stderr)
	if err != nil {
		return err
	}
	m, err := slack.Manifest(cfg.URLPrefix, *socket)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", m)
	return err
}
