// Package passreset lets people who forgot their password set a new one
// through a link mailed to them.
//
// /auth/reset/ asks for an email address and always answers the same,
// whether or not an account has it, so the page tells nobody which
// addresses exist. For an address that has an account, an email (through
// internal/mail) carries /auth/reset/{token}/: signed for the purpose
// "reset", valid for an hour (Lifetime), carrying the user's id and a
// fingerprint of their current password hash. Setting a password changes
// the hash, so the link works once (and any older link stops working
// too); the change is conditional on the hash it read, so two tabs using
// one link set one password. Setting it ends every session of the user;
// the browser that used the link is logged in afresh.
//
// The same address gets at most one email per RequestEvery, so the form
// cannot be used to flood someone's inbox. Without email configured the
// page says so; an operator can make a link with
// `triage user reset-link --email E`.
package passreset
