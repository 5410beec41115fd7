// Package message builds what Triage sends to Slack and reads what Slack
// sends back, as pure functions with no I/O: the issue card (Block Kit,
// and the legacy attachment the seed used, from one Card value so that a
// post, an unfurl and a click's reply always agree), the resolve dialog
// and the resolve and ignore modals, the assignee menus' options, and the
// parsing and checking of interactivity payloads (Interaction, Request,
// ParseStatus).
//
// It imports only the root package and slack-go (for Block Kit's types);
// cmd/triage's TestImportRules keeps it that way. Reading what a card
// shows from the database, and sending it, belong to internal/slack; the
// golden files in testdata/ pin the JSON Slack receives.
package message
