// Package slack is Triage's Slack integration: the flows. It installs
// workspaces into organizations (OAuth v2, or the legacy workspace-token
// flow the seed used), links each person's Slack identity to their Triage
// account through signed, purpose-bound, expiring links, and answers
// Slack's signed callbacks: the /triage command, interactivity (actions.go
// applies clicks, dialogs and modals through the issue service as the
// linked person), events (link unfurls, uninstalls), menu option loads,
// and the same over Socket Mode (socket*.go). A click that changes an
// issue is one transaction whose first statement reads the workspace, the
// person's link, the issue (locked) and their access
// (issues.Service.UpdateLocated); only a click that may not change it
// reads those apart, to say why. On PostgreSQL the clicks' transactions
// reach the connection pool through a gate, oldest click first, and the
// card rebuilds' reads queue behind them there (internal/gate): database/sql
// hands a freed connection to a random waiter, and that draw was most of
// the clicks' p99. The web layer owns the URLs
// and the login requirement; this package owns what happens behind them,
// and takes the few web helpers it needs (page rendering, login URL) as
// function values so that the two packages do not import each other.
//
// The integration is three rooms; only they import slack-go:
//
//   - internal/slack/message builds cards, legacy attachments, dialogs and
//     modals, and parses payloads, with no I/O.
//   - internal/slack/webapi calls Slack: the HTTP client, the workspaces'
//     tokens and their refresh, response URLs, and the one table of Slack
//     error codes (webapi.Decide) that every caller here, alerts included,
//     decides through.
//   - this package, the flows, which use both. Alerts reach it through
//     Integration.Alerts(), which satisfies internal/alert's Slack
//     interface in root-package types.
//
// Slack for each person (home.go, homeissue.go, personal.go, issuescmd.go): the Home
// tab published on app_home_opened and republished, paced per person,
// when an issue it shows changes; direct messages (assigned to them by
// someone else, an issue they resolved regressed, a comment on an issue
// assigned to them), each a live card, within the person's
// triage.DMSettings; and /triage issues. All of them learn of changes
// from the issue service's one change path (issues.Change), inside the
// change's transaction, and their issue controls are the card's. That
// hook runs inside every change's write, so for Home tabs it only marks
// the issue (homeissue.go); whose tabs to republish is read by a job
// after the commit.
//
// Channels (channel_commands.go, threads.go): /triage subscribe,
// unsubscribe, subscriptions, link team and unlink team are answered here
// for the linked person and carried out by internal/alert (SetChannels),
// whose delivery posts what they route. A person's reply in the thread of
// a card (message.channels, message.groups; never a bot's message or one
// with a subtype) becomes a comment through the issue service, as the
// linked person or as "Slack user <name>" with a one-time link prompt.
// MissingFeatures tells a workspace installed with older scopes what a
// reinstall adds; the settings row shows it.
//
// What can wait (rebuilding messages, unfurling, ephemeral replies) runs
// in the background. Rebuilds caused by changes, unfurls, token refresh
// and pruning are River jobs (jobs.go), inserted in the transaction of
// their cause. The rebuild of the message a person just clicked, and the
// ephemeral reply to them, first go through dispatch: a small in-process
// queue of 16 ordered lanes, one per issue (or per person), that hands a
// delivery to River only when it fails in a way a retry may fix or when
// its lane is full. It stays beside River because of a measurement: with
// dispatch handing every click's rebuild to River instead (a job row
// inserted in a write transaction of its own, then River's fetch poll),
// `go run ./cmd/triage-load-actions -n 10000 -c 50` against one issue on
// SQLite fell from 950–1,580 actions/s (p99 140–310 ms) to 440–500
// actions/s (p99 460–620 ms) on the shared 2-core machine: SQLite has one
// writer, and a second write per click halves what the clicks get. The
// lanes cost no row and no poll; what fails is still retried by River.
//
// Socket Mode is written here on gorilla/websocket rather than with
// slack-go's socketmode package, because socketmode's Client.RunContext
// (v0.35) handles Slack's disconnect message (refresh_requested, warning)
// by cancelling the running connection, waiting for its goroutines and
// closing it before it dials the next one. Envelopes received on it whose
// handlers have not answered yet lose their connection, so their acks are
// dropped and Slack redelivers them, and for the length of the reconnect
// nothing is connected. Triage dials the new connection first and keeps
// the old one open (socketRetireWait) until its envelopes are acked on
// it; TestSocketModeBurstWithDisconnects pins that no envelope is lost or
// handled twice across refresh_requested. socketmode also returns from
// RunContext on the first failed dial (Triage retries with backoff and
// stops only on what webapi.Decide calls permanent, or link_disabled),
// and has no place for the redelivery dedupe (envelopeSeen) or the ack
// latency metric between reading an envelope and acking it.
//
// Nothing here logs a token, a client secret, a signed link or a raw
// payload.
package slack
