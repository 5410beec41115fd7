// Package slack is Triage's Slack integration and the only package that
// imports slack-go.
//
// It installs workspaces into organizations (OAuth v2, or the legacy
// workspace-token flow the seed used), keeps their tokens sealed at rest and
// refreshed before they expire, links each person's Slack identity to their
// Triage account through signed, purpose-bound, expiring links, and answers
// Slack's signed callbacks: the /triage command, interactivity (card.go
// renders the issue card, Block Kit and legacy; actions.go applies clicks,
// dialogs and modals through the issue service as the linked person),
// events (link unfurls, uninstalls) and menu option loads. What can wait
// (rebuilding messages, unfurling) runs in the background, as River jobs
// when it needs retries (jobs.go). The web layer owns the URLs and the login requirement;
// this package owns what happens behind them, and takes the few web helpers
// it needs (page rendering, login URL) as function values so that the two
// packages do not import each other. Who may install a workspace into an
// organization, or link through it, is internal/access's answer.
//
// Nothing here logs a token, a client secret, a signed link or a raw
// payload.
package slack
