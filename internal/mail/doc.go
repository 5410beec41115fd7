// Package mail sends Triage's email: invites, password resets and alert
// emails, each with a plain-text and an HTML part, through the SMTP server
// that TRIAGE_SMTP_URL names (github.com/wneessen/go-mail speaks SMTP,
// STARTTLS and TLS; Triage writes none of it by hand).
//
// Every email is a River job (kind mail.send, on its own queue), inserted in
// the transaction of its cause, so a rolled-back invite sends nothing and a
// committed one is sent even across a crash. The job carries only what to
// send (a kind, an id and the recipient), never the message: the message is
// composed when the job runs by the Composer registered for its kind, so
// signed links are made at the last moment and never rest in the database,
// and a revoked invite or a deleted rule sends nothing.
//
// Delivery is at least once. A transient failure (the server is down, a
// 4xx answer) is retried with River's backoff; a permanent one (a 5xx
// answer: unknown mailbox, refused sender, failed authentication), or the
// last attempt, stops the job and tells the composer (an alert rule is
// then marked broken with the reason, as for Slack), is logged with the
// reason and counted in triage_mail_failures_total{reason}. No log line
// holds a message body, a link or the SMTP password.
//
// Without TRIAGE_SMTP_URL there is no Mailer (nil): callers check
// Configured and show the link to pass on instead.
package mail
