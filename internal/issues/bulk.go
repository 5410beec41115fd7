package issues

import (
	"context"
	"slices"

	"triage"
	"triage/internal/store"
)

// MaxBulk is the most issues one request may act on at once.
const MaxBulk = 100

// BulkResult is what UpdateMany did.
type BulkResult struct {
	// Issues are the issues the actor could act on, after the change,
	// by id; the ids that named nothing the actor may see are left out.
	Issues []*triage.Issue
	// Activities are the entries written, one per effective change of
	// each issue; an issue already in the asked-for state has none.
	Activities []*triage.Activity
}

// UpdateMany applies u to many issues of one organization in one
// transaction: either every issue changes or none does. Ids of issues
// that do not exist, belong to another organization or to a project the
// actor may not see are ignored, as Sentry's bulk update ignores them (it
// filters the ids by the projects the caller has access to); the result
// says which issues were acted on, none when no id matched. Each issue's
// changes are written and published as Update's are, so every changed
// issue gets its own activity and its messages rebuilt.
//
// It returns ENOTFOUND when the actor is not a member of the
// organization, EINVALID for more than MaxBulk ids, a bad u, or a change
// one of the issues refuses (an assignee without access to its project, a
// release option on a project without releases; the message names it).
func (s *Service) UpdateMany(ctx context.Context, origin Origin, orgID int64, ids []int64, u Update) (*BulkResult, error) {
	actor := origin.Actor
	if actor.UserID == 0 {
		return nil, triage.Errorf(triage.EUNAUTHORIZED, "an issue change needs a user")
	}
	ids, err := bulkIDs(ids)
	if err != nil {
		return nil, err
	}
	if err := validate(u); err != nil {
		return nil, err
	}
	if err := s.requireMember(ctx, orgID, actor.UserID); err != nil {
		return nil, err
	}
	var res BulkResult
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		res = BulkResult{}
		// Ascending ids: two bulk changes lock shared issues in the same
		// order and cannot deadlock on PostgreSQL.
		for _, id := range ids {
			issue, ok, err := s.visible(ctx, tx.Queries, orgID, actor.UserID, id, true)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			acts, err := s.apply(ctx, tx, origin, issue, u)
			if code := triage.ErrorCode(err); code == triage.EINVALID {
				// Say which issue refused, among many.
				return triage.Errorf(code, "%s: %s", issue.ShortID(), triage.ErrorMessage(err))
			} else if err != nil {
				return err
			}
			res.Issues = append(res.Issues, issue)
			res.Activities = append(res.Activities, acts...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// bulkIDs sorts and deduplicates the ids of a bulk request and checks
// their number.
func bulkIDs(ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, triage.Errorf(triage.EINVALID, "name the issues to change: ?id=1&id=2")
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) > MaxBulk {
		return nil, triage.Errorf(triage.EINVALID, "%d issues at once: at most %d", len(ids), MaxBulk)
	}
	return ids, nil
}

// requireMember returns ENOTFOUND unless the user is a member of the
// organization: the same answer whether or not it exists.
func (s *Service) requireMember(ctx context.Context, orgID, userID int64) error {
	_, err := s.store.Member(ctx, orgID, userID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return triage.Errorf(triage.ENOTFOUND, "organization not found")
	}
	return err
}

// visible reads (and with lock, locks) an issue of the organization that
// the user may see; ok is false, without an error, when there is no such
// issue or the user may not see it.
func (s *Service) visible(ctx context.Context, q *store.Queries, orgID, userID, issueID int64, lock bool) (*triage.Issue, bool, error) {
	issue, acc, err := q.IssueForUser(ctx, issueID, userID, lock)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	return issue, acc.Member && acc.Project && issue.OrgID == orgID, nil
}
