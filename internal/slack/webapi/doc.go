// Package webapi is Triage's side of Slack's Web API: the HTTP client
// every call to Slack goes through, the workspaces' tokens (opened from
// their sealed form, renewed before they expire when Slack rotates them,
// marked as needing a reinstall when Slack says they are dead), response
// URLs, and the one table of Slack error codes.
//
// That table (verdicts in errors.go, read by Decide) is the one place
// that decides what a Slack error code means: retry it, wait for
// Retry-After, give up on this call, or give up on the whole workspace
// and mark it for a reinstall. Card rebuilds, alerts (through
// internal/slack's Alerts), unfurls, clicks' replies and Socket Mode all
// decide through it; TestDecide pins every code.
//
// Nothing here renders a message or knows about issues, and nothing here
// logs a token or a response URL.
package webapi
