package slack

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"triage"
	"triage/internal/store"
)

// A change of an issue may change the Home tabs that show it or should
// now. Working out whose tabs those are takes several reads (the tabs that
// show it, its assignee or the assignee team's members, everyone who sees
// its project when it comes back into "new and regressed"), and every
// issue change runs its hooks inside its transaction, which on SQLite
// holds the one write lock: doing those reads there halved the clicks a
// second Slack could make. So the change only marks the issue
// (store.MarkHomeIssue, one small upsert that does nothing while a mark is
// there) and, when the mark is new, queues one HomeIssueArgs for the end
// of the Home window; that job takes the mark after the commit, does the
// reads and queues each person's paced republish for its window, so that
// a person's tab is still published at most once per window.

// HomeIssueArgs works out whose Home tabs a marked issue's changes
// concern and queues their republish.
type HomeIssueArgs struct {
	IssueID int64 `json:"issue_id"`
	// At is when the job was scheduled: the end of the window of the
	// change that marked the issue (plus homeSettle). The people's
	// republishes are scheduled then too and are unique in its window.
	At time.Time `json:"at"`
}

func (HomeIssueArgs) Kind() string { return "slack.home_issue" }

// markHome marks the issue for a Home tab look, inside its change's
// transaction (seers: also everyone who sees its project), and queues the
// job that takes the mark when the mark is new. That job is not unique in
// River: a running one would hide a new mark's job, and the mark would
// wait for a change that may never come.
func (i *Integration) markHome(ctx context.Context, tx *store.Tx, issueID int64, seers bool) error {
	queue, err := tx.MarkHomeIssue(ctx, issueID, seers)
	if err != nil || !queue {
		return err
	}
	at := homeOpts(i.now()).ScheduledAt
	if err := i.jobs.Insert(ctx, tx, HomeIssueArgs{IssueID: issueID, At: at}, &river.InsertOpts{ScheduledAt: at}); err != nil {
		return fmt.Errorf("queue home look at issue %d: %w", issueID, err)
	}
	return nil
}

// homeIssue takes the issue's mark and queues the republish of the Home
// tabs that show the issue, of its assignee's or its assignee team's, and,
// when the mark says so, of everyone linked who sees its project.
func (i *Integration) homeIssue(ctx context.Context, a HomeIssueArgs) error {
	unlock := i.serializeWrites(0)
	defer unlock()
	return i.d.Store.InTx(ctx, func(tx *store.Tx) error {
		// Taken first: on PostgreSQL this waits for a change still
		// holding the mark, and the reads below, each with a fresh
		// snapshot, see it.
		seers, ok, err := tx.TakeHomeIssue(ctx, a.IssueID)
		if err != nil || !ok {
			return err
		}
		people, err := tx.HomeViewers(ctx, a.IssueID)
		if err != nil {
			return err
		}
		is, err := tx.IssueByID(ctx, a.IssueID)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			// Deleted meanwhile: the deletion republished its tabs.
			return nil
		} else if err != nil {
			return err
		}
		var users []int64
		if as := is.Assignee; as != nil && as.Type == "user" {
			users = append(users, as.ID)
		} else if as != nil && as.Type == "team" {
			members, err := tx.TeamMemberIDs(ctx, as.ID)
			if err != nil {
				return err
			}
			users = append(users, members...)
		}
		if seers {
			all, err := tx.UsersWithProjectAccess(ctx, is.ProjectID)
			if err != nil {
				return err
			}
			for _, u := range all {
				users = append(users, u.ID)
			}
		}
		more, err := tx.OrgSlackPeople(ctx, is.OrgID, users)
		if err != nil {
			return err
		}
		return i.queueHomeAt(ctx, tx, append(people, more...), homeOptsAt(a.At))
	})
}
