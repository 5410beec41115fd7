// Package alert turns new and returning errors into Slack messages that
// keep showing the real state.
//
// Rules belong to a project: a name, conditions that must all hold (a new
// issue; a regression; seen more than N times in M minutes; level at least
// X; environment is Y), one action (post to a channel of an installed Slack
// workspace), a per-issue throttle (default once per 30 minutes) and a
// thread option (default on). Anyone with access to the project may read
// its rules; only the organization's owners and admins may change them, as
// only they may install Slack (internal/access decides both). A rule's channel is checked with
// conversations.info when it is saved and stored as an id; a private
// channel the bot is not in gets the "/invite @bot" hint.
//
// Delivery is a chain of River jobs, each inserted in the transaction of
// its cause, so nothing is lost to a crash and nothing is sent for a change
// that rolled back:
//
//	ingestion tx ─ issue.created / issue.regressed / event.received
//	  └ evaluation tx ─ throttles taken + alert_notifications rows + one job:
//	                    alert.notify for one notification, alert.deliver for several
//	      └ alert.notify ─ chat.postMessage (a card, or a reply in the card's thread)
//	                      then the row is marked delivered with the message's ts
//	      └ alert.deliver ─ the same for each of its notifications, at once; one
//	                      that does not end there (it waits for its card, a far
//	                      slot or a Retry-After, or is to be retried) goes on in
//	                      an alert.notify job of its own
//
// The row is the ledger: a job that runs again finds it delivered and stops,
// so the only way to post twice is a crash between Slack's answer and the
// commit that records it (triage_alert_unrecorded_seconds measures that
// window). A batch (alert.deliver) is one job because on PostgreSQL River's
// insert, fetch and completion of a job cost about as much as the delivery:
// an alert to twenty channels was twenty jobs. It reads its notifications
// in one statement and books their slots in one; a batch that runs again (a
// crash) posts nothing itself but hands every notification to an
// alert.notify job, unique while pending, so that no notification is ever
// in two jobs at once. Sends are paced per channel (about one a second, with short
// bursts) and per workspace by a Pacer shared by every worker: in memory on
// SQLite, in the database on PostgreSQL so that several processes share one
// schedule and one Retry-After. A job books a slot, sleeps until just
// before it (or snoozes, remembering the slot, when it is far), renders its
// message, and just before the slot books the send itself, for the slot,
// on a second schedule of actual sends, so that jobs that run late never
// bunch up (on PostgreSQL on the store's side connections: a booking that
// queued for the pool would push the channel's schedule back; the sends
// due at once, an alert's twenty channels, are booked in one statement). On
// PostgreSQL a delivery is read with its rule in one query and recorded in
// one statement. Posting jobs run
// on their own River queue (Queue; the jobs client must work Queues()), so
// that waiting for slots never holds the workers other jobs need. A 429
// snoozes the job for its
// Retry-After without spending an attempt; transient failures retry with
// River's backoff; a permanent failure (as internal/slack/webapi's one
// table of Slack error codes reads it: channel_not_found, is_archived,
// not_in_channel, invalid_auth, account_inactive, token_revoked,
// message_limit_exceeded, …) stops, marks the notification failed and the
// rule's action broken with the reason, shows it in settings and the API,
// and counts it in triage_alert_delivery_failures_total{reason}. The next
// successful delivery marks the action ok again.
//
// One card per issue and channel, whatever the concurrency and however
// many processes: the first notification about an issue in a channel
// claims its card (alert_cards, whose key is issue and channel) in the
// transaction that records it; every later one of a threading rule waits
// (snoozed) for the card's ts and replies in its thread. A holder that
// ends without posting (failed, cancelled) gives the claim up with its
// row, and the next notification takes it over; one that crashed while
// posting finds its own claim when River runs it again.
//
// Conditions judge the batch of events behind a job, not the issue when
// the job runs: the event writer puts the count, level and the
// batch's arrival time in the job, and "more than N in M minutes" fires on
// the batch whose events take the window from N or fewer to more than N,
// once per crossing (the count under the row lock orders the
// batches; see recentEvents).
//
// Every posted card is remembered (issue, workspace, channel, ts). Every
// issue change, whatever caused it (a person anywhere, or a regression or
// the end of an ignore, which internal/issues decides in the ingestion
// transaction), reaches OnIssueChange, issues.Service's hook, in the
// change's transaction: it queues a reply in each card's thread saying who
// or what did what, while the Slack integration's own hook rebuilds every
// message Triage remembers about the issue, cards included. A repeated
// alert for an issue that already has a card in the channel goes to that
// thread. Versions before that queued an issue.unignored job instead when
// an event ended an ignore; a worker forwards the ones an upgrade finds
// (legacy.go), so they neither wait forever nor lose their reply.
//
// Channels that follow projects and teams use the same delivery
// (subscriptions.go). A channel subscription (/triage subscribe) is an
// alert rule of kind subscription: it fires on new and regressed issues
// that its query (internal/search, read as its subscriber would see the
// issue list) matches, and is never shown among the rules. A rule with the
// team target posts to the channel linked (/triage link team) to each team
// that owns its project; each channel gets a notification of its own. An
// issue assigned to a team with a linked channel gets its card there
// through a notification that belongs to no rule (cause "assigned:…"),
// unless the channel has the card already. A comment (Change.Note) is
// posted into every card's thread, except the thread a Slack reply came
// from.
//
// Channel lists come from a cache filled in the background, one page of
// conversations.list every 3 seconds (Tier 2 allows 20 a minute), so
// picking a channel never waits on Slack.
package alert
