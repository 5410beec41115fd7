// Package access is the one place that decides who may see or change what
// in Triage: an organization, a project, an alert rule, a Slack workspace.
// Web pages, the JSON API, Slack's flows, the alert service and the CLI ask
// it instead of reading memberships themselves.
//
// The rules:
//
//   - An organization is visible to its members only; to anyone else it
//     does not exist (ENOTFOUND), so a stranger learns nothing about which
//     organizations there are.
//   - A project is visible to an owner or admin of its organization and to
//     a member of a team that owns it (CanSeeProject); another member gets
//     EFORBIDDEN. A project being deleted is seen by nobody (it is not
//     found), from the moment its deletion begins.
//   - Changing an organization's settings (Slack workspaces, alert rules,
//     channels) takes an owner or admin (triage.Role.CanAdmin).
//   - Changing roles, inviting and removing members takes an owner or
//     admin; making (by a role change or an invite), unmaking or removing
//     an owner takes an owner (RequireRoleChange, RequireRemoval). That
//     the last owner stays is the store's rule, kept in the transaction
//     that changes the role.
//   - Sending a team's notifications to a Slack channel (/triage link
//     team, unlink team) takes an owner or admin of the organization or
//     an admin of the team (triage.TeamRoleAdmin; RequireTeamAdmin).
//   - An alert rule is seen by whoever sees its project and changed by an
//     owner or admin who also sees it; a Slack workspace is reached only
//     through an organization it is attached to.
//
// The project rule needs SQL wherever a list is filtered by it (the issue
// list, the assignee menu, reading an issue with its access in one round
// trip): internal/store keeps that SQL as one fragment, projectAccess, and
// this package's tests hold the two to the same answers on SQLite and
// PostgreSQL. The issue service (internal/issues) reads an issue together
// with its access for speed; it applies the same rule through that fragment.
// Whether someone may be assigned an issue is CanSeeProject, asked by the
// issue service through its transaction (New over the transaction's
// queries).
//
// The package reads through triage.AccessStore and imports nothing of
// Triage's but the root package.
package access
