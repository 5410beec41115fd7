package triage

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// User is a person who logs in to Triage.
type User struct {
	ID          int64
	Email       string
	Name        string
	IsSuperuser bool
	CreatedAt   time.Time
}

// DisplayName is the name when there is one, else the email.
func (u *User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// Organization is the unit of tenancy: members, teams, projects and Slack
// workspaces all hang off one.
type Organization struct {
	ID        int64
	Slug      string
	Name      string
	CreatedAt time.Time
}

// Role is a member's role in an organization.
type Role string

const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// ParseRole validates a role name; it returns EINVALID for anything else.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleOwner, RoleAdmin, RoleMember:
		return r, nil
	}
	return "", Errorf(EINVALID, "unknown role %q: use member, admin or owner", s)
}

// CanAdmin reports whether the role may manage the organization (integrations,
// members) and sees every project.
func (r Role) CanAdmin() bool { return r == RoleOwner || r == RoleAdmin }

// Member is a user's membership in an organization.
type Member struct {
	ID    int64
	OrgID int64
	Role  Role
	User  User
}

// TeamRole is a member's role on a team (as in Sentry): an admin of the
// team may send its notifications to a Slack channel; a contributor is on
// the team and sees its projects.
type TeamRole string

const (
	TeamRoleContributor TeamRole = "contributor"
	TeamRoleAdmin       TeamRole = "admin"
)

// ParseTeamRole reads a team role; EINVALID names the field "role".
func ParseTeamRole(s string) (TeamRole, error) {
	switch r := TeamRole(strings.ToLower(strings.TrimSpace(s))); r {
	case TeamRoleContributor, TeamRoleAdmin:
		return r, nil
	}
	return "", Errorf(EINVALID, "role: a team role is admin or contributor, not %q", s)
}

// Team groups members; teams own projects.
type Team struct {
	ID    int64
	OrgID int64
	Slug  string
	Name  string
}

// Project receives events through its DSN and owns issues.
type Project struct {
	ID        int64
	OrgID     int64
	Slug      string
	Name      string
	PublicKey string
	CreatedAt time.Time
}

// DSN is what an SDK is configured with: the public key as the user part and
// the project id as the last path element.
func (p *Project) DSN(urlPrefix string) string {
	scheme, host, ok := strings.Cut(urlPrefix, "://")
	if !ok {
		scheme, host = "http", urlPrefix
	}
	host = strings.TrimSuffix(host, "/")
	return fmt.Sprintf("%s://%s@%s/%d", scheme, p.PublicKey, host, p.ID)
}

// ProjectKey is one of a project's DSN keys. A project has several, so
// that a key can be replaced without a gap: create a new one, move the
// SDKs over, disable the old one.
type ProjectKey struct {
	ID        int64
	ProjectID int64
	PublicKey string
	Label     string
	CreatedAt time.Time
	// DisabledAt is when the key was disabled; zero: it is enabled.
	DisabledAt time.Time
}

// Enabled reports whether ingestion accepts the key.
func (k *ProjectKey) Enabled() bool { return k.DisabledAt.IsZero() }

// DSN is the DSN an SDK is configured with for this key.
func (k *ProjectKey) DSN(urlPrefix string) string {
	p := Project{ID: k.ProjectID, PublicKey: k.PublicKey}
	return p.DSN(urlPrefix)
}

// ShortPrefix is the uppercase project slug that starts each short id.
func (p *Project) ShortPrefix() string { return strings.ToUpper(p.Slug) }

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,49}$`)

// ValidateSlug returns EINVALID unless s is a lowercase slug: letters, digits,
// '-' and '_', starting with a letter or digit, at most 50 characters.
func ValidateSlug(what, s string) error {
	if !slugPattern.MatchString(s) {
		return Errorf(EINVALID, "invalid %s slug %q: use lowercase letters, digits, '-' and '_' (at most 50)", what, s)
	}
	return nil
}

// Status is an issue's state.
type Status string

const (
	StatusUnresolved Status = "unresolved"
	StatusResolved   Status = "resolved"
	StatusIgnored    Status = "ignored"
)

// StatusDetails qualifies a status, in Sentry's JSON shape.
type StatusDetails struct {
	InNextRelease bool   `json:"inNextRelease,omitempty"`
	InRelease     string `json:"inRelease,omitempty"`
	// ReleaseAtResolve is the release that was current when the issue was
	// resolved in the next release: events of it, or of older releases,
	// do not reopen the issue.
	ReleaseAtResolve string     `json:"releaseAtResolve,omitempty"`
	IgnoreCount      int64      `json:"ignoreCount,omitempty"`
	IgnoreWindow     int64      `json:"ignoreWindow,omitempty"`   // minutes, with IgnoreCount
	IgnoreMinutes    int64      `json:"ignoreDuration,omitempty"` // minutes
	IgnoreUntil      *time.Time `json:"ignoreUntil,omitempty"`
	// ActorID is who set the status, when known.
	ActorID int64 `json:"actor,omitempty"`
}

// Assignee is who an issue is assigned to: a user or a team, or nobody.
type Assignee struct {
	Type string // "user" or "team"
	ID   int64
	Name string // display name, filled on read
}

// String gives the API form, "user:7" or "team:3".
func (a Assignee) String() string { return fmt.Sprintf("%s:%d", a.Type, a.ID) }

// ParseAssignee reads "user:ID", "team:ID", a bare user id, or "" / "none"
// (nil: unassign). It returns EINVALID for anything else.
func ParseAssignee(s string) (*Assignee, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return nil, nil
	}
	kind, id, ok := strings.Cut(s, ":")
	if !ok {
		kind, id = "user", s
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || (kind != "user" && kind != "team") {
		return nil, Errorf(EINVALID, "invalid assignee %q: use user:ID or team:ID", s)
	}
	return &Assignee{Type: kind, ID: n}, nil
}

// Issue is a group of events with the same fingerprint. Sentry calls it a group.
type Issue struct {
	ID            int64
	ProjectID     int64
	OrgID         int64
	ProjectSlug   string
	OrgSlug       string
	ShortNum      int64
	Title         string
	Culprit       string
	Level         string
	Status        Status
	StatusDetails StatusDetails
	Assignee      *Assignee
	TimesSeen     int64
	FirstSeen     time.Time
	LastSeen      time.Time
	FirstRelease  string
	// IgnoreBase is TimesSeen when an "ignore until N more" began.
	IgnoreBase int64
	// UserCount is how many distinct users the issue's events named.
	UserCount int64
}

// ShortID is the human id, e.g. WEB-1A: the project slug and a base-36 counter.
func (i *Issue) ShortID() string {
	return strings.ToUpper(i.ProjectSlug) + "-" + strings.ToUpper(strconv.FormatInt(i.ShortNum, 36))
}

// Path is the issue page's path; prefix it with the URL prefix for a link.
func (i *Issue) Path() string {
	return fmt.Sprintf("/organizations/%s/issues/%d/", i.OrgSlug, i.ID)
}

// Source says where a change came from.
type Source string

const (
	SourceWeb    Source = "web"
	SourceAPI    Source = "api"
	SourceSlack  Source = "slack"
	SourceSystem Source = "system"
)

// Activity types, as Sentry names them.
const (
	ActivityFirstSeen        = "first_seen"
	ActivitySetResolved      = "set_resolved"
	ActivitySetResolvedInRel = "set_resolved_in_release"
	ActivitySetIgnored       = "set_ignored"
	ActivitySetUnresolved    = "set_unresolved"
	ActivitySetRegression    = "set_regression"
	ActivityAssigned         = "assigned"
	ActivityUnassigned       = "unassigned"
	// ActivityNote is a comment on an issue: Data["text"] is what its
	// author wrote. It changes nothing about the issue.
	ActivityNote = "note"
)

// Activity is one entry of an issue's log: who did what, from where.
type Activity struct {
	ID        int64
	IssueID   int64
	Type      string
	User      *User // nil for the system
	Source    Source
	Data      map[string]any
	CreatedAt time.Time
}

// Actor is who acts on an issue, and through what.
type Actor struct {
	UserID int64 // 0 for the system
	Source Source
	// SlackUserID is the acting Slack user, when the change came from Slack.
	SlackUserID string
}

// APIToken authenticates JSON API calls as its user.
type APIToken struct {
	ID        int64
	UserID    int64
	Name      string
	CreatedAt time.Time
	// ExpiresAt is when the token stops working; zero: never.
	ExpiresAt time.Time
	// LastUsedAt is when the token last authenticated a request (to the
	// minute); zero: never.
	LastUsedAt time.Time
}

// IssueFilter selects issues for a list.
type IssueFilter struct {
	OrgID      int64
	ProjectIDs []int64 // empty: every project of the organization
	// UserID, when set, limits the list to projects the user can access.
	UserID int64
	Status Status // "" for any
	Limit  int
	Offset int
}
