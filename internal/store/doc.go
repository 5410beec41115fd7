// Package store keeps Triage's data in SQLite or PostgreSQL through one
// database/sql layer, and holds SQL and nothing else: the domain types it
// reads and writes live in the root package (triage), and callers outside
// the composition root see it through the root package's narrow interfaces
// (triage.AccessStore, AccountStore, DirectoryStore, HealthStore, asserted
// at compile time) and the web layer's SessionRows. The types declared
// here are query shapes: what one statement reads or writes at once.
//
// modernc's SQLite binds $1, $2, … by number, so one query text serves both
// engines; where DDL differs, the migrations are per engine. Errors are
// translated here: no rows become ENOTFOUND, unique violations ECONFLICT,
// so callers never see a driver's error type.
//
// What lives where: orgs.go (organizations, members, teams, and the one
// place an organization is created with its owner), access.go (the SQL
// form of the project access rule that internal/access decides, and the
// batched list of a user's projects), sessions.go (login sessions),
// users.go (users, API tokens, settings), people.go (roles, teams, team
// ownership of projects, DSN keys, project deletion, account changes),
// issues.go, events.go and
// ingest_batch.go (issues and events), alerts.go and alert_pacing.go
// (alert rules, notifications, send pacing), slack*.go (workspaces,
// identities, channels, remembered messages). The pool itself (Pool) is
// handed only to River and the pool metrics.
package store
