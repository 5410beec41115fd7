package slack

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"triage/internal/store"
)

// A new issue changes the Home tab of everyone linked who sees its
// project (its "new and regressed" section), but it is born in the event
// writer, not through the issue service's change path. The writer asks
// NewIssueJob, before each batch's transaction, for the job to insert
// when the batch creates issues in a project: one HomeProjectArgs per
// project per Home window (unique), which queues the paced republish of
// each of those people's tabs. Projects whose organization has nobody
// linked in an active workspace get no job; that answer is cached for
// homePeopleTTL, so that ingestion pays one map lookup per batch.

// HomeProjectArgs republishes the Home tabs of the people linked in Slack
// who may see the project.
type HomeProjectArgs struct {
	ProjectID int64 `json:"project_id"`
}

func (HomeProjectArgs) Kind() string { return "slack.home_project" }

// homePeopleTTL is how long whether a project's organization has people
// linked in Slack is trusted: someone who links later sees new issues on
// their Home tab from then on, and on opening it in any case.
const homePeopleTTL = 10 * time.Second

type homePeopleCache struct {
	mu sync.Mutex
	m  map[int64]homePeopleEntry
}

type homePeopleEntry struct {
	any bool
	at  time.Time
}

// NewIssueJob is the job a batch of events that creates issues in the
// project inserts (eventwriter.NewIssueJob); nil when nobody's Home tab
// can show the project's issues.
func (i *Integration) NewIssueJob(ctx context.Context, projectID int64) (*river.InsertManyParams, error) {
	if i.jobs == nil {
		return nil, nil
	}
	now := i.now()
	c := &i.homePeople
	c.mu.Lock()
	e, ok := c.m[projectID]
	c.mu.Unlock()
	if !ok || now.Sub(e.at) > homePeopleTTL {
		anyone, err := i.d.Store.ProjectHasSlackPeople(ctx, projectID)
		if err != nil {
			return nil, fmt.Errorf("slack people of project %d: %w", projectID, err)
		}
		e = homePeopleEntry{any: anyone, at: now}
		c.mu.Lock()
		if c.m == nil || len(c.m) > 10_000 {
			c.m = map[int64]homePeopleEntry{}
		}
		c.m[projectID] = e
		c.mu.Unlock()
	}
	if !e.any {
		return nil, nil
	}
	return &river.InsertManyParams{Args: HomeProjectArgs{ProjectID: projectID}, InsertOpts: homeOpts(now)}, nil
}

// homeOpts schedule a Home job at the end of now's window (plus
// homeSettle), unique among the window's jobs not done yet.
func homeOpts(now time.Time) *river.InsertOpts {
	return homeOptsAt(now.Truncate(homePace).Add(homePace + homeSettle))
}

// homeOptsAt schedule a Home job at at, unique among the jobs of at's
// window not done yet.
func homeOptsAt(at time.Time) *river.InsertOpts {
	return &river.InsertOpts{ScheduledAt: at,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: homePace,
			ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

// homeProject queues the paced republish of the Home tabs of the people
// linked in Slack who may see the project.
func (i *Integration) homeProject(ctx context.Context, a HomeProjectArgs) error {
	p, err := i.d.Store.ProjectByID(ctx, a.ProjectID)
	if err != nil {
		return err
	}
	return i.d.Store.InTx(ctx, func(tx *store.Tx) error {
		return i.queueProjectHomes(ctx, tx, p.OrgID, p.ID)
	})
}

// queueProjectHomes queues the republish of the Home tabs of everyone
// linked in the organization's workspaces who may see the project.
func (i *Integration) queueProjectHomes(ctx context.Context, tx *store.Tx, orgID, projectID int64) error {
	seers, err := tx.UsersWithProjectAccess(ctx, projectID)
	if err != nil {
		return err
	}
	ids := make([]int64, len(seers))
	for k, u := range seers {
		ids[k] = u.ID
	}
	people, err := tx.OrgSlackPeople(ctx, orgID, ids)
	if err != nil {
		return err
	}
	return i.queueHome(ctx, tx, people)
}
