package issues

import (
	"context"

	"triage"
	"triage/internal/store"
)

// deleteBatch is how many events one short transaction of a deletion
// removes: small enough that ingestion, which shares SQLite's one writer,
// never waits long behind it.
const deleteBatch = 500

// Delete deletes an issue with its events, activity, remembered Slack
// messages and alert notifications. Only an owner or admin of the issue's
// organization may. The events go first, a batch per transaction, then the
// issue in one last transaction that also publishes the change
// (Change.Deleted); when Delete returns, the issue is gone. The deletion
// goes on if ctx is canceled once it has started, so that a client that
// hangs up does not leave half an issue.
//
// It returns ENOTFOUND when the issue does not exist or belongs to an
// organization the actor is not in, EFORBIDDEN when the actor may not see
// its project or is a member but not an owner or admin.
func (s *Service) Delete(ctx context.Context, origin Origin, issueID int64) error {
	if origin.Actor.UserID == 0 {
		return triage.Errorf(triage.EUNAUTHORIZED, "deleting an issue needs a user")
	}
	issue, err := s.authorize(ctx, s.store.Queries, origin.Actor.UserID, issueID, false)
	if err != nil {
		return err
	}
	if err := s.requireAdmin(ctx, s.store.Queries, issue.OrgID, origin.Actor.UserID); err != nil {
		return err
	}
	return s.delete(context.WithoutCancel(ctx), origin, issue.ID)
}

// DeleteMany deletes the issues of the organization among ids that the
// actor may see, each as Delete does, and returns those it deleted. Ids
// that name nothing the actor may see are ignored, as UpdateMany ignores
// them. It returns ENOTFOUND when the actor is not a member of the
// organization, EFORBIDDEN when they are not an owner or admin, and
// EINVALID for more than MaxBulk ids.
func (s *Service) DeleteMany(ctx context.Context, origin Origin, orgID int64, ids []int64) ([]*triage.Issue, error) {
	actor := origin.Actor
	if actor.UserID == 0 {
		return nil, triage.Errorf(triage.EUNAUTHORIZED, "deleting an issue needs a user")
	}
	ids, err := bulkIDs(ids)
	if err != nil {
		return nil, err
	}
	if err := s.requireMember(ctx, orgID, actor.UserID); err != nil {
		return nil, err
	}
	if err := s.requireAdmin(ctx, s.store.Queries, orgID, actor.UserID); err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	var deleted []*triage.Issue
	for _, id := range ids {
		issue, ok, err := s.visible(ctx, s.store.Queries, orgID, actor.UserID, id, false)
		if err != nil {
			return deleted, err
		}
		if !ok {
			continue
		}
		switch err := s.delete(ctx, origin, id); triage.ErrorCode(err) {
		case "":
			deleted = append(deleted, issue)
		case triage.ENOTFOUND: // someone else deleted it meanwhile
		default:
			return deleted, err
		}
	}
	return deleted, nil
}

// requireAdmin returns EFORBIDDEN unless the user is an owner or admin of
// the organization.
func (s *Service) requireAdmin(ctx context.Context, q *store.Queries, orgID, userID int64) error {
	m, err := q.Member(ctx, orgID, userID)
	if err != nil && triage.ErrorCode(err) != triage.ENOTFOUND {
		return err
	}
	if m == nil || !m.Role.CanAdmin() {
		return triage.Errorf(triage.EFORBIDDEN, "only an owner or admin of the organization can delete issues")
	}
	return nil
}

// delete removes the issue's events in batches, then the issue, checking
// again under the row lock that the actor may still delete it.
func (s *Service) delete(ctx context.Context, origin Origin, issueID int64) error {
	for {
		var n int64
		err := s.store.InTx(ctx, func(tx *store.Tx) error {
			var err error
			n, err = tx.DeleteIssueEvents(ctx, issueID, deleteBatch)
			return err
		})
		if err != nil {
			return err
		}
		if n < deleteBatch {
			break
		}
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		issue, err := s.authorize(ctx, tx.Queries, origin.Actor.UserID, issueID, true)
		if err != nil {
			return err
		}
		if err := s.requireAdmin(ctx, tx.Queries, issue.OrgID, origin.Actor.UserID); err != nil {
			return err
		}
		if err := tx.DeleteIssue(ctx, issue.ID); err != nil {
			return err
		}
		return s.publish(ctx, tx, Change{Issue: issue, Origin: origin, Deleted: true})
	})
}
