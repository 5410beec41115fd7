package store

import (
	"context"

	"triage"
)

var _ triage.AccessStore = (*Store)(nil)

// projectAccess is the SQL form of the rule internal/access states for who
// may see a project: member (the alias of the user's row in members, for
// the project's organization) is an owner or admin, or user (an SQL
// expression) is on a team that owns project (the alias of a projects
// row). Every query that filters by access uses it, so the rule has one
// SQL text; internal/access's tests pin it against the Go rule on both
// engines. A project being deleted is seen by nobody.
func projectAccess(member, project, user string) string {
	return `(` + project + `.deleted_at IS NULL AND (` + member + `.role IN ('owner', 'admin') OR EXISTS (SELECT 1 FROM project_teams pt
		JOIN team_members tm ON tm.team_id = pt.team_id WHERE pt.project_id = ` + project + `.id AND tm.user_id = ` + user + `)))`
}

// ProjectsForUser lists the organization's projects the user may see, by
// slug, in one query.
func (q *Queries) ProjectsForUser(ctx context.Context, orgID, userID int64) ([]*triage.Project, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+projectCols+` FROM projects p
		JOIN members m ON m.org_id = p.org_id AND m.user_id = $2
		WHERE p.org_id = $1 AND `+projectAccess("m", "p", "$2")+` ORDER BY p.slug`, orgID, userID)
	return collect(rows, err, "list projects for user", scanProject)
}
