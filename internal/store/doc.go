// Package store keeps Triage's data in SQLite or PostgreSQL through one
// database/sql layer. modernc's SQLite binds $1, $2, … by number, so one query
// text serves both engines; where DDL differs, the migrations are per engine.
// Errors are translated here: no rows become ENOTFOUND, unique violations
// ECONFLICT, so callers never see a driver's error type.
package store
