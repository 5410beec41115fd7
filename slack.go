package triage

import (
	"context"
	"time"
)

// SlackChannel is a Slack conversation as alert rules need it: its id,
// name, and whether the bot can post there. The channel cache (the store)
// also fills in which workspace it belongs to and when it was last listed.
type SlackChannel struct {
	ID         string
	Name       string
	IsPrivate  bool
	IsArchived bool
	IsMember   bool

	IntegrationID int64
	SeenAt        time.Time
}

// SlackPost is a Slack message rendered ahead of its send slot, so that
// the post leaves the moment the slot comes.
type SlackPost interface {
	// Post sends it to the channel (in the thread of threadTS when set)
	// and returns its ts. It must be safe for concurrent use.
	Post(ctx context.Context, channelID, threadTS string) (string, error)
}

// Kinds of direct messages Triage sends a linked person (issue 17).
const (
	DMAssigned  = "assigned"  // someone else assigned them an issue
	DMRegressed = "regressed" // an issue they resolved came back
	DMComments  = "comments"  // someone commented on an issue assigned to them
)

// DMSettings are one person's direct-message settings: each kind on or
// off, and the projects they want them for (none: every project). A
// person who never changed them gets every kind for every project.
type DMSettings struct {
	Assigned   bool
	Regressed  bool
	Comments   bool
	ProjectIDs []int64
}

// DefaultDMSettings are the settings of a person who never changed them:
// DMs are on by default for a linked person (DESIGN 1.4).
func DefaultDMSettings() DMSettings {
	return DMSettings{Assigned: true, Regressed: true, Comments: true}
}

// Wants tells whether a DM of this kind about an issue of the project is
// wanted.
func (s DMSettings) Wants(kind string, projectID int64) bool {
	on := map[string]bool{DMAssigned: s.Assigned, DMRegressed: s.Regressed, DMComments: s.Comments}[kind]
	if !on || len(s.ProjectIDs) == 0 {
		return on
	}
	for _, id := range s.ProjectIDs {
		if id == projectID {
			return true
		}
	}
	return false
}

// Set turns one kind on or off; it returns EINVALID for an unknown kind.
func (s *DMSettings) Set(kind string, on bool) error {
	switch kind {
	case DMAssigned:
		s.Assigned = on
	case DMRegressed:
		s.Regressed = on
	case DMComments:
		s.Comments = on
	default:
		return Errorf(EINVALID, "unknown kind of direct message %q: use assigned, regressed or comments", kind)
	}
	return nil
}

// DMSettingsStore keeps each person's direct-message settings.
type DMSettingsStore interface {
	// DMSettings returns the user's settings, DefaultDMSettings when they
	// never changed them.
	DMSettings(ctx context.Context, userID int64) (DMSettings, error)
	// SetDMSettings replaces the user's settings.
	SetDMSettings(ctx context.Context, userID int64, s DMSettings) error
}
