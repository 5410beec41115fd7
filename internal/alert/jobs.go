package alert

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"triage/internal/jobs"
)

// NotifyArgs delivers one notification (a row of alert_notifications).
type NotifyArgs struct {
	NotificationID int64 `json:"notification_id"`
}

func (NotifyArgs) Kind() string { return "alert.notify" }

// InsertOpts puts notifications on the alert queue.
func (NotifyArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// Queue is the River queue of the jobs that post to Slack: they wait for
// their send slots, so they get workers of their own (Service.Queues).
const Queue = "alerts"

// CardsArgs rebuilds every card of an issue after it changed.
type CardsArgs struct {
	IssueID int64 `json:"issue_id"`
}

func (CardsArgs) Kind() string { return "alert.cards" }

// ReplyArgs posts one line in a card's thread: who did what to the issue.
// Key makes two replies about different changes distinct (the activity
// or event id), so that a re-run of the job that queued them does not
// post one twice.
// A reply about a card still on its way names the notification that
// posts it (AfterNotification) instead of the thread.
type ReplyArgs struct {
	IssueID           int64  `json:"issue_id"`
	IntegrationID     int64  `json:"integration_id"`
	ChannelID         string `json:"channel_id"`
	ThreadTS          string `json:"thread_ts,omitempty"`
	AfterNotification int64  `json:"after_notification,omitempty"`
	Text              string `json:"text"`
	Key               string `json:"key"`
}

func (ReplyArgs) Kind() string { return "alert.reply" }

// InsertOpts puts thread replies on the alert queue.
func (ReplyArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// ChannelSyncArgs lists one workspace's channels into the cache, a page
// per run.
type ChannelSyncArgs struct {
	IntegrationID int64 `json:"integration_id"`
}

func (ChannelSyncArgs) Kind() string { return "alert.channel_sync" }

// ChannelSyncAllArgs queues a ChannelSync for every active workspace.
type ChannelSyncAllArgs struct{}

func (ChannelSyncAllArgs) Kind() string { return "alert.channel_sync_all" }

// pendingStates are the states in which a unique job blocks another.
var pendingStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

// uniqueWhilePending makes an identical job a no-op while one is queued.
var uniqueWhilePending = river.UniqueOpts{ByArgs: true, ByState: pendingStates}

// Queues are the queues the jobs client must work besides the default
// one: jobs.Options{Queues: s.Queues()}. Without them no alert is posted.
func (s *Service) Queues() map[string]int { return map[string]int{Queue: s.opts.Workers} }

// Register adds the alert workers to workers: the ingestion jobs' handlers
// (rule evaluation), the delivery, card, reply and channel jobs, and the
// forwarding of issue.unignored jobs an older version left (legacy.go).
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &jobs.IssueEventWorker[jobs.IssueCreated]{Handle: s.HandleCreated})
	river.AddWorker(workers, &jobs.IssueEventWorker[jobs.IssueRegressed]{Handle: s.HandleRegressed})
	river.AddWorker(workers, &jobs.IssueEventWorker[jobs.EventReceived]{Handle: s.HandleEvent})
	river.AddWorker(workers, &notifyWorker{s: s})
	river.AddWorker(workers, &deliverWorker{s: s})
	river.AddWorker(workers, &cardsWorker{s: s})
	river.AddWorker(workers, &replyWorker{s: s})
	river.AddWorker(workers, &channelSyncWorker{s: s})
	river.AddWorker(workers, &channelSyncAllWorker{s: s})
	river.AddWorker(workers, &unignoredWorker{s: s}) // jobs an older version queued
}

// Periodic is the periodic channel-list refresh, for the River client.
func (s *Service) Periodic() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(s.opts.ChannelSyncEvery),
		func() (river.JobArgs, *river.InsertOpts) { return ChannelSyncAllArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
