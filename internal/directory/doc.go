// Package directory is who is in an organization and what they own, as
// people change it from the browser and the command line: members and
// their roles, teams and their members, projects with their owning teams
// and DSN keys, a project's deletion, and each person's own account (name,
// password, API tokens).
//
// Every method takes the acting user and checks, through internal/access,
// that they may: any member may look (a member sees who else is there), only
// an owner or admin may change (EFORBIDDEN for a member), and an object of
// another organization is not found (ENOTFOUND), exactly as for a stranger.
// Bad input is EINVALID with a message that starts with the field's name
// ("slug: …", "role: …"), so pages and the API can say which field is wrong.
//
// Rules kept here:
//
//   - An organization never loses its last owner (by a role change or a
//     removal), and only an owner may make or unmake owners.
//   - A removed member's browser sessions end in the same transaction, so
//     their next request, in any process, is a visitor's; their API tokens
//     are refused for the organization from the next request on, because
//     every request checks the membership in the database.
//   - A password change ends the user's sessions (the caller starts a fresh
//     one for the browser that asked).
//   - A disabled or rotated key, or a project being deleted, is refused by
//     ingestion from the next event on in this process (Deps.KeysChanged)
//     and within seconds in the others (internal/eventwriter's key cache).
//   - Deleting a project hides it at once (access ignores it, its slug is
//     free again); a River job (DeleteProjectWorker) then removes its events
//     in short transactions, counting its progress, and finally the row.
//
// The command line's token list, token revoke and user set-password call
// the same methods as the account page.
package directory
