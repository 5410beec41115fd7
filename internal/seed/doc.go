// Package seed builds a large, realistic database for benchmarks of the
// issue list and the API: by default 1,000,000 events in 10,000 issues of
// three projects, with 200,000 distinct tag values, on SQLite or
// PostgreSQL, in a few minutes.
//
// It writes with bulk SQL straight into the tables (not through HTTP or
// the event writer, which would take an hour), and keeps what the event
// writer keeps consistent with the events it writes: each issue's times
// seen, first and last seen and users affected, its tag values with their
// counts and first and last seen, its hourly counts, the projects'
// environments and releases. Events follow a Zipf law over the issues
// (the busiest has about a tenth of them), spread over the last 14 days;
// every event carries the built-in tags (level, environment, release,
// browser, os, server_name, transaction, url, user) and customer_tier,
// and url and user take most of the distinct values. A random source
// with a fixed seed makes two builds of one Spec the same database but
// for ids.
//
// cmd/triage-seed runs it against TRIAGE_DATABASE_URL; the benchmarks of
// internal/web run it once per engine and keep the database for the next
// run (see BenchmarkIssueList).
package seed
