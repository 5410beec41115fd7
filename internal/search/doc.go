// Package search is Triage's one issue search syntax, shared by the issue
// list page, the JSON API and (later) alert rules and Slack
// subscriptions: Parse reads a query into terms every one of which must
// hold, and the store turns the terms into SQL. It is pure: no database,
// no HTTP, only Triage's domain types.
//
// The syntax is a subset of Sentry's (see README, "Search"): free words
// match title and culprit; is:, assigned:, level:, project:, firstSeen:,
// lastSeen: and times_seen: are built in; any other key:value is a tag
// counted per issue (environment and release are tags too, and
// user.email:x is the user tag "email:x"); "!" negates; double quotes
// hold spaces. A term Parse cannot read is an *Error naming it: never a
// term silently ignored.
//
// The list's sorts (date, new, freq, user) break ties by issue id, and
// a Cursor is a place in that order (sort value and id) rather than an
// offset, so that pages stay put while events arrive.
package search
