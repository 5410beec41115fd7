package triage

import "time"

// Invite asks someone to join an organization by email with a role and
// teams. Its link is signed and carries the id; accepting it once uses it
// up, and deleting it revokes it.
type Invite struct {
	ID         int64
	OrgID      int64
	Email      string
	Role       Role
	TeamIDs    []int64
	InvitedBy  int64 // 0: made with `triage invite create`
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt time.Time // zero while pending
	AcceptedBy int64
	// EmailStatus is "" (no email), "queued", or why the email could not
	// be sent ("failed: smtp_550").
	EmailStatus string
}
