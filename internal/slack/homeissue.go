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
// holds the one write lock: doing those reads there, and queueing a River
// job for each person, halved the clicks a second Slack could take. So a
// change only marks the issue (store.MarkHomeIssue: one small upsert while
// the issue is marked already, two for a new mark) and the first new mark
// queues one HomeSweepArgs job for the end of its Home window. The sweep,
// after those commits, takes every mark, does the reads and queues each
// person's paced republish for that window, so that a person's tab is
// still published at most once per window, after the window's changes.

// HomeSweepArgs takes the Home marks and queues the republish of the
// Home tabs they concern.
type HomeSweepArgs struct {
	// At is when the sweep was scheduled: the end of the window of the
	// change that queued it (plus homeSettle). The people's republishes
	// are scheduled then too, unique in its window.
	At time.Time `json:"at"`
}

func (HomeSweepArgs) Kind() string { return "slack.home_sweep" }

// markHome marks the issue for a Home tab look, inside its change's
// transaction (seers: also everyone who sees its project), and queues the
// sweep when none is queued. The sweep is not unique in River: a running
// one would hide the next one's insert, and the marks made meanwhile
// would wait for a sweep that may never come; slack_home_sweep keeps it
// to one at a time instead.
func (i *Integration) markHome(ctx context.Context, tx *store.Tx, issueID int64, seers bool) error {
	at := homeOpts(i.now()).ScheduledAt
	queue, err := tx.MarkHomeIssue(ctx, issueID, seers, at)
	if err != nil || !queue {
		return err
	}
	if err := i.jobs.Insert(ctx, tx, HomeSweepArgs{At: at}, &river.InsertOpts{ScheduledAt: at}); err != nil {
		return fmt.Errorf("queue home sweep: %w", err)
	}
	return nil
}

// homeSweep takes the marks and queues the republish of the Home tabs
// that show each marked issue, of its assignee's or its assignee team's,
// and, when the mark says so, of everyone linked who sees its project.
// Taking the marks is a short transaction of its own: it waits for the
// changes holding them, and while it holds them the next changes of those
// issues wait. Reading whose tabs to republish comes after, outside the
// write; should that fail, the marks are put back for the next sweep.
func (i *Integration) homeSweep(ctx context.Context, a HomeSweepArgs) error {
	var marks []store.HomeMark
	unlock := i.serializeWrites(0)
	err := i.d.Store.InTx(ctx, func(tx *store.Tx) error { return tx.EndHomeSweep(ctx) })
	if err == nil {
		err = i.d.Store.InTx(ctx, func(tx *store.Tx) (err error) {
			marks, err = tx.TakeHomeMarks(ctx)
			return err
		})
	}
	unlock()
	if err != nil || len(marks) == 0 {
		return err
	}
	var people []store.SlackPerson
	for _, m := range marks {
		more, err := homePeopleOf(ctx, i.d.Store.Queries, m)
		if err != nil {
			return i.remark(ctx, marks, err)
		}
		people = append(people, more...)
	}
	unlock = i.serializeWrites(0)
	defer unlock()
	err = i.d.Store.InTx(ctx, func(tx *store.Tx) error { return i.queueHomeAt(ctx, tx, people, homeOptsAt(a.At)) })
	if err != nil {
		return i.remark(ctx, marks, err)
	}
	return nil
}

// remark puts back the marks a sweep took and could not finish with
// (queueing the next sweep), and returns why it could not.
func (i *Integration) remark(ctx context.Context, marks []store.HomeMark, cause error) error {
	err := i.d.Store.InTx(ctx, func(tx *store.Tx) error {
		for _, m := range marks {
			if err := i.markHome(ctx, tx, m.IssueID, m.Seers); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		i.log.Warn("slack: put back home marks", "err", err)
	}
	return cause
}

// homePeopleOf lists whose Home tabs a marked issue's changes concern.
func homePeopleOf(ctx context.Context, tx *store.Queries, m store.HomeMark) ([]store.SlackPerson, error) {
	people, err := tx.HomeViewers(ctx, m.IssueID)
	if err != nil {
		return nil, err
	}
	is, err := tx.IssueByID(ctx, m.IssueID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, nil // deleted meanwhile: the deletion republished its tabs
	} else if err != nil {
		return nil, err
	}
	var users []int64
	if as := is.Assignee; as != nil && as.Type == "user" {
		users = append(users, as.ID)
	} else if as != nil && as.Type == "team" {
		members, err := tx.TeamMemberIDs(ctx, as.ID)
		if err != nil {
			return nil, err
		}
		users = append(users, members...)
	}
	if m.Seers {
		all, err := tx.UsersWithProjectAccess(ctx, is.ProjectID)
		if err != nil {
			return nil, err
		}
		for _, u := range all {
			users = append(users, u.ID)
		}
	}
	more, err := tx.OrgSlackPeople(ctx, is.OrgID, users)
	if err != nil {
		return nil, err
	}
	return append(people, more...), nil
}
