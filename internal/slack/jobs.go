package slack

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"triage"
	"triage/internal/issues"
	"triage/internal/jobs"
	"triage/internal/store"
)

// Slack's work that can wait runs as River jobs: an action answers Slack
// as soon as the issue has changed, and a slow or failing Slack only delays
// the rebuilt message. Jobs are inserted in the transaction of the change
// that causes them, so a rolled-back change never touches Slack.

// RefreshCardArgs rebuilds the message a person clicked: through its
// response URL, chat.update, or chat.unfurl for an unfurl.
type RefreshCardArgs struct {
	IntegrationID int64  `json:"integration_id"`
	IssueID       int64  `json:"issue_id"`
	Channel       string `json:"channel,omitempty"`
	TS            string `json:"ts,omitempty"`
	ResponseURL   string `json:"response_url,omitempty"`
	UnfurlURL     string `json:"unfurl_url,omitempty"`
	// Legacy sends the legacy attachment (a dialog's orig_response_url);
	// IsMessage then says whether the original was the bot's own message.
	Legacy    bool `json:"legacy,omitempty"`
	IsMessage bool `json:"is_message,omitempty"`
}

func (RefreshCardArgs) Kind() string { return "slack.refresh_card" }

// UpdateCardsArgs rebuilds every remembered message about an issue but
// the one named by the Skip fields (already rebuilt by its own job).
type UpdateCardsArgs struct {
	IssueID         int64  `json:"issue_id"`
	SkipIntegration int64  `json:"skip_integration,omitempty"`
	SkipChannel     string `json:"skip_channel,omitempty"`
	SkipTS          string `json:"skip_ts,omitempty"`
}

func (UpdateCardsArgs) Kind() string { return "slack.update_cards" }

// UnfurlArgs unfurls the issue links of one link_shared event.
type UnfurlArgs struct {
	IntegrationID int64    `json:"integration_id"`
	Channel       string   `json:"channel,omitempty"`
	TS            string   `json:"ts,omitempty"`
	UnfurlID      string   `json:"unfurl_id,omitempty"`
	Source        string   `json:"source,omitempty"`
	URLs          []string `json:"urls"`
}

func (UnfurlArgs) Kind() string { return "slack.unfurl" }

// RespondArgs tells one person something only they see: through the
// response URL when there is one, else chat.postEphemeral.
type RespondArgs struct {
	IntegrationID int64  `json:"integration_id"`
	ResponseURL   string `json:"response_url,omitempty"`
	Channel       string `json:"channel,omitempty"`
	User          string `json:"user,omitempty"`
	Text          string `json:"text"`
}

func (RespondArgs) Kind() string { return "slack.respond" }

// PruneEventsSeenArgs forgets old Events API deliveries.
type PruneEventsSeenArgs struct{}

func (PruneEventsSeenArgs) Kind() string { return "slack.prune_events_seen" }

// eventsSeenRetention outlives Slack's retries (a few over about an hour).
const eventsSeenRetention = 24 * time.Hour

// worker hands a job's args to a function and turns Slack's answers into
// River's: wait on a rate limit, give up on what will not heal, retry the
// rest.
type worker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	work func(ctx context.Context, args T) error
}

func (w *worker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	return jobError(w.work(ctx, job.Args))
}

func jobError(err error) error {
	if err == nil {
		return nil
	}
	if d, ok := RetryAfter(err); ok {
		return river.JobSnooze(d)
	}
	if _, ok := PermanentReason(err); ok {
		return river.JobCancel(err)
	}
	switch triage.ErrorCode(err) {
	case triage.EINVALID, triage.ENOTFOUND:
		return river.JobCancel(err)
	}
	return err
}

// RegisterWorkers adds the Slack job workers; call it before the jobs
// client is created, then hand the client to SetJobs.
func (i *Integration) RegisterWorkers(w *river.Workers) {
	river.AddWorker(w, &worker[RefreshCardArgs]{work: i.refreshCard})
	river.AddWorker(w, &worker[UpdateCardsArgs]{work: i.updateCards})
	river.AddWorker(w, &worker[UnfurlArgs]{work: i.unfurl})
	river.AddWorker(w, &worker[RespondArgs]{work: i.respond})
	river.AddWorker(w, &worker[PruneEventsSeenArgs]{work: func(ctx context.Context, _ PruneEventsSeenArgs) error {
		_, err := i.d.Store.DeleteSlackEventsSeenBefore(ctx, i.now().Add(-eventsSeenRetention))
		return err
	}})
}

// PeriodicJobs are the Slack jobs to schedule with the jobs client.
func (i *Integration) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return PruneEventsSeenArgs{}, nil }, nil)}
}

// SetJobs gives the integration the jobs client its workers run on; call
// it once, before serving.
func (i *Integration) SetJobs(c *jobs.Client) { i.jobs = c }

// interactiveOpts bounds retries of work tied to a click: response URLs die
// after 30 minutes anyway.
var interactiveOpts = &river.InsertOpts{MaxAttempts: 6}

// enqueue inserts a job in a transaction of its own. Without a jobs client
// (tests, tools) the work runs in the background right away instead.
func (i *Integration) enqueue(ctx context.Context, args river.JobArgs) {
	if i.jobs == nil {
		go i.runNow(args)
		return
	}
	err := i.d.Store.InTx(ctx, func(tx *store.Tx) error { return i.jobs.Insert(ctx, tx, args, interactiveOpts) })
	if err != nil {
		i.log.Error("queue slack job", "kind", args.Kind(), "err", err)
	}
}

func (i *Integration) runNow(args river.JobArgs) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	switch a := args.(type) {
	case RefreshCardArgs:
		err = i.refreshCard(ctx, a)
	case UpdateCardsArgs:
		err = i.updateCards(ctx, a)
	case UnfurlArgs:
		err = i.unfurl(ctx, a)
	case RespondArgs:
		err = i.respond(ctx, a)
	default:
		err = fmt.Errorf("no inline runner for %s", args.Kind())
	}
	if err != nil {
		i.log.Warn("slack work failed", "kind", args.Kind(), "err", err)
	}
}

// origin is the Slack message an action came from, handed to the change
// hook through the context so that the jobs it queues go in the change's
// transaction.
type origin struct {
	integrationID int64
	channel, ts   string
	// refresh rebuilds the clicked message; nil when the reply itself
	// carries the rebuilt message (legacy clicks).
	refresh *RefreshCardArgs
	// queued is set once the hook has queued the jobs, so that an update
	// with two activities queues them once, and so that the caller knows
	// whether it still has to queue the refresh (nothing changed).
	queued bool
}

type originKey struct{}

func withOrigin(ctx context.Context, o *origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// onIssueChange runs inside every issue change's transaction, whatever its
// source: it queues the rebuild of the clicked message (if the change came
// from one) and of every other remembered message about the issue.
func (i *Integration) onIssueChange(ctx context.Context, tx *store.Tx, c issues.Change) error {
	if i.jobs == nil {
		return nil
	}
	o, _ := ctx.Value(originKey{}).(*origin)
	skip := UpdateCardsArgs{IssueID: c.Issue.ID}
	if o != nil {
		if o.queued {
			return nil
		}
		o.queued = true
		if o.refresh != nil {
			if err := i.jobs.Insert(ctx, tx, *o.refresh, interactiveOpts); err != nil {
				return err
			}
		}
		skip.SkipIntegration, skip.SkipChannel, skip.SkipTS = o.integrationID, o.channel, o.ts
	}
	others, err := tx.HasOtherSlackMessages(ctx, c.Issue.ID, skip.SkipIntegration, skip.SkipChannel, skip.SkipTS)
	if err != nil || !others {
		return err
	}
	return i.jobs.Insert(ctx, tx, skip, nil)
}
