package triage

import (
	"context"
)

// The interfaces below are the narrow views of the database that packages
// outside internal/store talk to. internal/store implements each one and
// asserts it at compile time; a caller names only the one it needs, so a
// test can hand it a fake and a reader sees what it may touch.

// AccessStore is what internal/access reads to decide who may see or change
// what. It holds facts, not decisions: the decisions are internal/access's.
type AccessStore interface {
	// OrganizationBySlug returns ENOTFOUND if there is none.
	OrganizationBySlug(ctx context.Context, slug string) (*Organization, error)
	// OrganizationByID returns ENOTFOUND if there is none.
	OrganizationByID(ctx context.Context, id int64) (*Organization, error)
	// OrganizationsForUser lists the organizations the user is a member of,
	// by slug; none is an empty list, not an error.
	OrganizationsForUser(ctx context.Context, userID int64) ([]*Organization, error)
	// Member returns the user's membership; ENOTFOUND if not a member.
	Member(ctx context.Context, orgID, userID int64) (*Member, error)
	// ProjectBySlug returns ENOTFOUND if the organization has no such project.
	ProjectBySlug(ctx context.Context, orgID int64, slug string) (*Project, error)
	// ProjectByID returns ENOTFOUND if there is none.
	ProjectByID(ctx context.Context, id int64) (*Project, error)
	// HasProjectAccess reports whether the user may see the project; an
	// unknown user or project is false, not an error.
	HasProjectAccess(ctx context.Context, userID, projectID int64) (bool, error)
	// ProjectsForUser lists the organization's projects the user may see,
	// by slug, in one query; none is an empty list.
	ProjectsForUser(ctx context.Context, orgID, userID int64) ([]*Project, error)
	// IntegrationAttached reports whether the workspace serves the
	// organization; unknown ids are false, not an error.
	IntegrationAttached(ctx context.Context, orgID, integrationID int64) (bool, error)
	// AlertRuleByID returns ENOTFOUND if there is none.
	AlertRuleByID(ctx context.Context, id int64) (*AlertRule, error)
	// TeamRole returns the user's role on the team; ENOTFOUND if they
	// are not on it.
	TeamRole(ctx context.Context, teamID, userID int64) (TeamRole, error)
}

// AccountStore is what logging in, API tokens and the first-run setup read
// and write.
type AccountStore interface {
	// UserByID returns ENOTFOUND if there is no such user.
	UserByID(ctx context.Context, id int64) (*User, error)
	// UserByEmail returns ENOTFOUND if no user has that email.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// PasswordHash returns the user with that email and their stored
	// password hash; ENOTFOUND when there is none.
	PasswordHash(ctx context.Context, email string) (*User, string, error)
	// UserByTokenHash returns an API token's user; EUNAUTHORIZED when no
	// token has that hash.
	UserByTokenHash(ctx context.Context, tokenHash string) (*User, error)
	// CountUsers tells whether the instance has been set up.
	CountUsers(ctx context.Context) (int64, error)
	// CreateFirstOwner creates the first user, a superuser, and an
	// organization they own, all or nothing. It returns ENOTFOUND once any
	// user exists (setup is over), EINVALID for a bad email or slug and
	// ECONFLICT for a taken one.
	CreateFirstOwner(ctx context.Context, email, name, passwordHash, orgSlug string) (*User, *Organization, error)
}

// DirectoryStore is what pages and the API list about an organization.
type DirectoryStore interface {
	// Members lists an organization's members by email.
	Members(ctx context.Context, orgID int64) ([]*Member, error)
	// TeamsForProject lists the teams that own the project, by slug.
	TeamsForProject(ctx context.Context, projectID int64) ([]*Team, error)
	// UsersWithProjectAccess lists who may be assigned the project's
	// issues, by email.
	UsersWithProjectAccess(ctx context.Context, projectID int64) ([]*User, error)
	// IntegrationsForOrg lists the workspaces attached to the organization.
	IntegrationsForOrg(ctx context.Context, orgID int64) ([]*Integration, error)
	// CurrentRelease is the project's release first seen most recently;
	// ENOTFOUND when the project has none.
	CurrentRelease(ctx context.Context, projectID int64) (string, error)
}

// HealthStore answers readiness checks.
type HealthStore interface {
	// Ping reaches the database; any error means it is not reachable.
	Ping(ctx context.Context) error
	// Pending counts the migrations not applied yet.
	Pending(ctx context.Context) (int, error)
}
