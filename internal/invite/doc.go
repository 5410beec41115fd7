// Package invite brings people into an organization: an owner or admin
// (or the operator, with `triage invite create`) invites an email address
// with a role and teams, and the person opens the link to join.
//
// The link is /invites/{token}/, the token signed by internal/signing for
// the purpose "invite" and carrying only the invite's id. It lasts 7 days
// (Lifetime) and works once: the row in invites says whether it is still
// pending, and accepting marks it used in the same transaction that adds
// the membership, so two tabs accepting at once add one membership. A
// revoked invite is deleted; a newer invite for the same address replaces
// the older one.
//
// Opening the link as someone without an account shows a form (name,
// password) that creates the account with the invited address; an
// existing account logs in first and then confirms. Only the invited
// address may accept: a link forwarded to someone else who is logged in
// is refused with a clear message.
//
// Who may invite is internal/access's decision: owners and admins, and
// only owners may invite an owner. With email configured the invite is
// emailed (internal/mail, composed here when the job runs); the inviter
// always sees the link too, to copy.
package invite
