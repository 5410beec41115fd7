package slack

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"triage"
	"triage/internal/issues"
	"triage/internal/jobs"
	"triage/internal/slack/webapi"
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
	// List, when set, is the ephemeral list of issues (/triage issues)
	// the clicked row belongs to: the whole list is redrawn through the
	// response URL, each row in its current state, and ListQuery is the
	// search it showed.
	List      []int64 `json:"list,omitempty"`
	ListQuery string  `json:"list_query,omitempty"`
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
	// DM sends Text as a direct message to User when there is neither a
	// response URL nor a channel (a click on the Home tab).
	DM bool `json:"dm,omitempty"`
}

func (RespondArgs) Kind() string { return "slack.respond" }

// PruneEventsSeenArgs forgets old Events API deliveries.
type PruneEventsSeenArgs struct{}

func (PruneEventsSeenArgs) Kind() string { return "slack.prune_events_seen" }

// RefreshTokensArgs renews rotating tokens before they expire, so that a
// workspace nobody used for a day still works, and forgets expired install
// states.
type RefreshTokensArgs struct{}

func (RefreshTokensArgs) Kind() string { return "slack.refresh_tokens" }

// refreshInterval is how often the token job runs; tokens live 12 hours.
const refreshInterval = 30 * time.Minute

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
	if d, ok := webapi.RetryAfter(err); ok {
		return river.JobSnooze(d)
	}
	if hopeless(err) {
		return river.JobCancel(err)
	}
	return err
}

// hopeless tells whether retrying err cannot help: Slack's permanent
// errors, and a workspace, issue or message that is gone or unusable.
func hopeless(err error) bool {
	if _, ok := webapi.PermanentReason(err); ok {
		return true
	}
	switch triage.ErrorCode(err) {
	case triage.EINVALID, triage.ENOTFOUND:
		return true
	}
	return false
}

// RegisterWorkers adds the Slack job workers; call it before the jobs
// client is created, then hand the client to SetJobs.
func (i *Integration) RegisterWorkers(w *river.Workers) {
	river.AddWorker(w, &worker[RefreshCardArgs]{work: i.refreshCard})
	river.AddWorker(w, &worker[UpdateCardsArgs]{work: i.updateCards})
	river.AddWorker(w, &worker[UnfurlArgs]{work: i.unfurl})
	river.AddWorker(w, &worker[RespondArgs]{work: i.respond})
	river.AddWorker(w, &worker[PublishHomeArgs]{work: i.publishHome})
	river.AddWorker(w, &worker[DMArgs]{work: i.sendDM})
	river.AddWorker(w, &worker[HomeProjectArgs]{work: i.homeProject})
	river.AddWorker(w, &worker[HomeSweepArgs]{work: i.homeSweep})
	river.AddWorker(w, &worker[ThreadReplyArgs]{work: i.threadReply})
	river.AddWorker(w, &worker[PruneEventsSeenArgs]{work: func(ctx context.Context, _ PruneEventsSeenArgs) error {
		_, err := i.d.Store.DeleteSlackEventsSeenBefore(ctx, i.now().Add(-eventsSeenRetention))
		return err
	}})
	river.AddWorker(w, &worker[RefreshTokensArgs]{work: func(ctx context.Context, _ RefreshTokensArgs) error {
		if _, err := i.d.Store.DeleteOAuthStatesBefore(ctx, i.now()); err != nil {
			return err
		}
		// A refused refresh marks its integration for reinstall and is not
		// retried here; the next run tries the others again.
		if n, err := i.web.RefreshDue(ctx, refreshInterval); err != nil {
			i.log.Warn("refreshing Slack tokens", "refreshed", n, "err", err)
		}
		return nil
	}})
}

// PeriodicJobs are the Slack jobs to schedule with the jobs client.
func (i *Integration) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return PruneEventsSeenArgs{}, nil }, nil),
		river.NewPeriodicJob(river.PeriodicInterval(refreshInterval),
			func() (river.JobArgs, *river.InsertOpts) { return RefreshTokensArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
	}
}

// SetJobs gives the integration the jobs client its workers run on; call
// it once, before serving.
func (i *Integration) SetJobs(c *jobs.Client) { i.jobs = c }

// interactiveOpts bounds retries of work tied to a click: response URLs die
// after 30 minutes anyway.
func interactiveOpts() *river.InsertOpts { return &river.InsertOpts{MaxAttempts: 6} }

// Deliveries outside River run in dispatchLanes lanes, each at most
// laneQueue deep; a lane's goroutine exists only while it has work.
const (
	dispatchLanes = 16
	laneQueue     = 64
)

// dispatchLane runs its deliveries one after another, in the order they
// came. Refreshes of one issue share a lane, so the last one to run reads
// the issue's latest state: a card is never left showing an older state
// because two rebuilds crossed.
type dispatchLane struct {
	mu      sync.Mutex
	queue   []river.JobArgs
	running bool
}

// dispatch delivers what a click's answer needs (the rebuilt message, an
// ephemeral explanation) right away, in the background, and hands it to
// River only when that fails in a way a retry may fix, or when its lane's
// queue is full. A click thus costs the database no job row and the person
// sees the result without River's polling delay, while a slow or failing
// Slack still gets retries and never fails the action. (A crash between
// the change and the delivery leaves that one message stale until the
// issue's next change; the change itself is stored.)
func (i *Integration) dispatch(ctx context.Context, args river.JobArgs) {
	var key uint64
	switch a := args.(type) {
	case RefreshCardArgs:
		key = uint64(a.IssueID)
	case RespondArgs: // one person's messages, in order
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/%s", a.IntegrationID, a.User)
		key = h.Sum64()
	}
	l := &i.lanes[key%dispatchLanes]
	l.mu.Lock()
	if r, ok := args.(RefreshCardArgs); ok {
		// A rebuild of the same message still waiting would show the same
		// state as this one: keep one, with the newest response URL.
		for k, q := range l.queue {
			if o, ok := q.(RefreshCardArgs); ok && sameMessage(o, r) {
				l.queue[k] = r
				l.mu.Unlock()
				return
			}
		}
	}
	if len(l.queue) >= laneQueue {
		l.mu.Unlock()
		i.enqueue(ctx, args, interactiveOpts())
		return
	}
	l.queue = append(l.queue, args)
	start := !l.running
	l.running = true
	l.mu.Unlock()
	if start {
		i.lanesBusy.Add(1)
		go i.runLane(l)
	}
}

// Drain waits until the deliveries dispatched so far are done (those that
// fail are handed to River), or ctx ends. Call it on shutdown, after the
// last request and before the jobs and the database stop.
func (i *Integration) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		i.lanesBusy.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("slack deliveries still running: %w", ctx.Err())
	}
}

// sameMessage tells whether two rebuilds are of one message: the bot's
// message or unfurl at (channel, ts), or else one response URL.
func sameMessage(a, b RefreshCardArgs) bool {
	if a.IntegrationID != b.IntegrationID || a.IssueID != b.IssueID || a.Legacy != b.Legacy ||
		a.IsMessage != b.IsMessage || a.UnfurlURL != b.UnfurlURL {
		return false
	}
	if a.Channel != "" && a.TS != "" {
		return a.Channel == b.Channel && a.TS == b.TS
	}
	return a.ResponseURL == b.ResponseURL && b.Channel == "" && b.TS == ""
}

// refreshWaiting tells whether a rebuild of the same message as r waits
// in its lane: it runs after whatever rebuilds r now (a lane runs in
// order, and a River job's rebuild is not in any lane), so it will read
// the issue as it is then.
func (i *Integration) refreshWaiting(r RefreshCardArgs) bool {
	l := &i.lanes[uint64(r.IssueID)%dispatchLanes]
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, q := range l.queue {
		if o, ok := q.(RefreshCardArgs); ok && sameMessage(o, r) {
			return true
		}
	}
	return false
}

// runLane delivers a lane's queue until it is empty, then ends.
func (i *Integration) runLane(l *dispatchLane) {
	for {
		l.mu.Lock()
		if len(l.queue) == 0 {
			l.running = false
			l.mu.Unlock()
			i.lanesBusy.Done()
			return
		}
		args := l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
		l.mu.Unlock()
		i.deliver(args)
	}
}

// deliver does one dispatched delivery, leaving a retry to River when one
// may help.
func (i *Integration) deliver(args river.JobArgs) {
	wctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := i.work(wctx, args)
	if err == nil {
		return
	}
	opts := interactiveOpts()
	if d, ok := webapi.RetryAfter(err); ok {
		opts.ScheduledAt = i.now().Add(d)
	} else if hopeless(err) {
		i.log.Info("slack delivery given up", "kind", args.Kind(), "err", err)
		return // will not heal
	}
	if i.jobs == nil {
		i.log.Warn("slack delivery failed", "kind", args.Kind(), "err", err)
		return
	}
	if a, ok := args.(RefreshCardArgs); ok && !a.Legacy && len(a.List) == 0 && a.Channel != "" && a.TS != "" {
		// The retries edit the bot's own message with chat.update: the
		// response URL, good for five posts, may be spent already.
		a.ResponseURL = ""
		args = a
	}
	i.enqueue(wctx, args, opts)
}

// enqueue inserts a job in a transaction of its own. Without a jobs client
// (tests, tools) the work runs in the background right away instead.
func (i *Integration) enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) {
	if i.jobs == nil {
		go func() {
			wctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := i.work(wctx, args); err != nil {
				i.log.Warn("slack work failed", "kind", args.Kind(), "err", err)
			}
		}()
		return
	}
	unlock := i.serializeWrites(0)
	err := i.d.Store.InTx(ctx, func(tx *store.Tx) error { return i.jobs.Insert(ctx, tx, args, opts) })
	unlock()
	if err != nil {
		i.log.Error("queue slack job", "kind", args.Kind(), "err", err)
	}
}

// work does one job's work in process.
func (i *Integration) work(ctx context.Context, args river.JobArgs) error {
	switch a := args.(type) {
	case RefreshCardArgs:
		return i.refreshCard(ctx, a)
	case UpdateCardsArgs:
		return i.updateCards(ctx, a)
	case UnfurlArgs:
		return i.unfurl(ctx, a)
	case RespondArgs:
		return i.respond(ctx, a)
	case PublishHomeArgs:
		return i.publishHome(ctx, a)
	case DMArgs:
		return i.sendDM(ctx, a)
	case HomeProjectArgs:
		return i.homeProject(ctx, a)
	case HomeSweepArgs:
		return i.homeSweep(ctx, a)
	case ThreadReplyArgs:
		return i.threadReply(ctx, a)
	}
	return fmt.Errorf("no in-process runner for %s", args.Kind())
}

// origin is the Slack message an action came from and how to rebuild it.
// The change names the message (issues.Origin.SlackMessage) so that the
// rebuild of every other message about the issue, queued in the change's
// transaction, skips this one: the action rebuilds it itself.
type origin struct {
	integrationID int64
	channel, ts   string
	// refresh rebuilds the clicked message; nil when the reply itself
	// carries the rebuilt message (legacy clicks).
	refresh *RefreshCardArgs
}

// onIssueChange runs inside every issue change's transaction, whatever
// caused it (a person anywhere, a regression, the end of an ignore), and
// queues the rebuild of every remembered message about the issue but the
// one a click came from.
func (i *Integration) onIssueChange(ctx context.Context, tx *store.Tx, c issues.Change) error {
	if i.jobs == nil {
		return nil
	}
	if _, note := c.Note(); note || c.Deleted {
		// A note changes nothing a message shows; a deleted issue's
		// messages are forgotten with it.
		return nil
	}
	args := UpdateCardsArgs{IssueID: c.Issue.ID}
	if m := c.Origin.SlackMessage; m != nil {
		args.SkipIntegration, args.SkipChannel, args.SkipTS = m.IntegrationID, m.Channel, m.TS
	}
	others, err := tx.HasOtherSlackMessages(ctx, c.Issue.ID, args.SkipIntegration, args.SkipChannel, args.SkipTS)
	if err != nil || !others {
		return err
	}
	if err := i.jobs.Insert(ctx, tx, args, nil); err != nil {
		return err
	}
	// The alert integration's hook rebuilds a card this look missed.
	tx.MarkCardsQueued(c.Issue.ID)
	return nil
}
