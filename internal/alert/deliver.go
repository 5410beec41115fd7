package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"triage"
	"triage/internal/store"
)

type notifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	s *Service
}

func (w *notifyWorker) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	return w.s.deliver(ctx, job)
}

// paceKeys are the schedules a message to the channel books a slot on:
// the channel's (always: a Retry-After is recorded there), and the
// workspace's when it has a limit.
func (s *Service) paceKeys(integrationID int64, channelID string) []PaceKey {
	keys := []PaceKey{channelKey(s.opts.Limits, integrationID, channelID)}
	if s.opts.Limits.Workspace.PerSecond > 0 {
		keys = append(keys, workspaceKey(s.opts.Limits, integrationID))
	}
	return keys
}

// deliver posts one notification: a card at the top of the channel, or a
// reply in the thread of the issue's card there when the rule threads.
//
// Exactly-once as far as Slack allows: the notification row says whether
// it went out, so a job that runs again after delivery does nothing. The
// one window left is between Slack's answer and the commit that records
// it (a few milliseconds; a crash there posts the message twice).
func (s *Service) deliver(ctx context.Context, job *river.Job[NotifyArgs]) error {
	d, err := s.store.AlertDelivery(ctx, job.Args.NotificationID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil // its issue or workspace was deleted
	} else if err != nil {
		return err
	}
	return s.deliverRead(ctx, job, d, time.Time{})
}

// deliverRead is deliver once the delivery is read; booked, when not
// zero, is a send slot its batch booked for it.
func (s *Service) deliverRead(ctx context.Context, job *river.Job[NotifyArgs], d *store.AlertDelivery, booked time.Time) error {
	n, rule := d.Notification, d.Rule
	if n.Status != triage.NotificationPending {
		return nil // delivered (or given up) by an earlier run
	}
	if rule == nil && strings.HasPrefix(n.Cause, CauseTeamAssigned) {
		// A team's assignment to its channel: delivered like a rule's
		// card; failures are logged and counted (there is no rule to mark).
		rule = &triage.AlertRule{Name: "assigned to the team", Thread: true, ActionStatus: triage.AlertActionOK}
		d.Rule = rule
	}
	if rule == nil {
		err := s.store.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.FinishNotification(ctx, n.ID, triage.NotificationCancelled, "rule_deleted", "", "")
			return err
		})
		s.metrics.result(resultCancelled)
		return err
	}
	if s.slack == nil {
		return s.fail(ctx, n, rule, "slack_not_configured", errors.New("slack is not configured"))
	}
	if !d.Attached {
		return s.fail(ctx, n, rule, "integration_detached", errors.New("the workspace is no longer attached to the organization"))
	}
	threadTS, err := s.cardThread(ctx, job, d)
	if err != nil {
		return err
	}
	var msg Message
	var seen int64
	prepare := func() error {
		if threadTS != "" {
			text, err := s.repeatText(ctx, rule, n)
			if err != nil {
				return err
			}
			msg, err = s.slack.PrepareReply(ctx, n.IntegrationID, text)
			return err
		}
		var err error
		msg, seen, err = s.card(ctx, n.IntegrationID, n.IssueID)
		return err
	}
	keys := s.paceKeys(n.IntegrationID, n.ChannelID)
	persist := func(slot time.Time) error { return s.store.ReserveNotification(ctx, n.ID, slot) }
	var prepErr error
	reserved := n.ReservedAt
	if !booked.IsZero() {
		reserved = booked
	}
	slot, release, err := s.reserveSlot(ctx, keys, reserved, persist, func() error {
		prepErr = prepare()
		return prepErr
	})
	if prepErr != nil {
		return s.failed(ctx, job, n, rule, prepErr)
	} else if err != nil {
		return err
	}
	defer release()

	ts, err := s.sendAt(ctx, keys, slot, msg, n.ChannelID, threadTS)
	if err == nil {
		answered := time.Now()
		if err := s.record(ctx, n.ID, func(ctx context.Context) error { return s.delivered(ctx, n, rule, ts, threadTS) }); err != nil {
			return err
		}
		s.metrics.unrecorded(time.Since(answered))
		if threadTS == "" {
			return s.refreshIfChanged(ctx, n.IssueID, seen)
		}
		return nil
	}
	if d, ok := s.waitFor(err); ok {
		s.metrics.result(resultRateLimited)
		if err := s.pacer.Block(ctx, keys[0], s.now().Add(d)); err != nil {
			return err
		}
		if err := persist(time.Time{}); err != nil {
			return err
		}
		return river.JobSnooze(d)
	}
	return s.failed(ctx, job, n, rule, err)
}

// cardThread decides where a notification goes: "" for a card at the top
// of the channel, or the ts of the thread of the issue's card there.
//
// One card per issue and channel: the notification that holds the card
// (see store.CreateNotificationsAndClaim) posts it, and every other one of a threading
// rule replies in its thread, waiting (snoozed) while the card is on its
// way. A card whose holder ended without posting it (failed, cancelled),
// or that nobody holds, is taken over here. A rule that does not thread
// posts a card of its own each time.
func (s *Service) cardThread(ctx context.Context, job *river.Job[NotifyArgs], d *store.AlertDelivery) (string, error) {
	n := d.Notification
	switch {
	case d.CardHolder == n.ID:
		return "", nil
	case d.CardTS != "" && d.Rule.Thread:
		return d.CardTS, nil
	case d.CardTS != "":
		return "", nil
	case d.CardHolder != 0 && d.HolderStatus == triage.NotificationPending:
		if !d.Rule.Thread {
			return "", nil
		}
		return "", waitForCard(job)
	}
	took, err := s.store.TakeCard(ctx, n.ID, d.CardHolder)
	if err != nil {
		return "", err
	}
	if took || !d.Rule.Thread {
		return "", nil
	}
	// Another notification took it first: its card is on its way.
	return "", waitForCard(job)
}

// waitForCard snoozes a notification whose thread is not there yet: 200
// ms, then longer each time, up to 10 s (the card may wait for its own
// send slot, or be retried after an error).
func waitForCard(job *river.Job[NotifyArgs]) error {
	var meta struct {
		Snoozes int `json:"snoozes"`
	}
	_ = json.Unmarshal(job.Metadata, &meta)
	d := 10 * time.Second
	if meta.Snoozes < 6 {
		d = min(d, 200*time.Millisecond<<meta.Snoozes)
	}
	return river.JobSnooze(d)
}

// refreshIfChanged queues a rebuild of the issue's cards when the issue
// changed after the card just posted was rendered (its newest activity
// then was seen): the change's own rebuild may have run before the card
// was remembered.
func (s *Service) refreshIfChanged(ctx context.Context, issueID, seen int64) error {
	newest, err := s.newestActivity(ctx, issueID)
	if err != nil || newest == seen {
		return err
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		return s.jobs.InsertMany(ctx, tx, []river.InsertManyParams{{Args: CardsArgs{IssueID: issueID}}})
	})
}

// failed handles an error that is not a rate limit: a permanent one, or
// the last attempt, stops the notification; any other is retried.
func (s *Service) failed(ctx context.Context, job *river.Job[NotifyArgs], n *triage.AlertNotification, rule *triage.AlertRule, err error) error {
	if reason, ok := s.slack.PermanentReason(err); ok {
		return s.fail(ctx, n, rule, reason, err)
	}
	if job.Attempt >= job.MaxAttempts {
		return s.fail(ctx, n, rule, "retries_exhausted", err)
	}
	s.metrics.result(resultRetried)
	s.log.Info("alert delivery will be retried", "notification_id", n.ID, "attempt", job.Attempt, "err", err)
	return fmt.Errorf("deliver notification %d: %w", n.ID, err)
}

// record runs write, the record of a message Slack has accepted, until it
// commits: each attempt bounded by RecordTimeout, all of them by
// RecordPatience, and neither by the job's context (a shutdown). Slack has
// the message; a failed record that ended the job would have River run it
// again and post the message twice, so only the record is tried again (a
// database too busy to take it for a while, or a deadlock it broke).
func (s *Service) record(ctx context.Context, notificationID int64, write func(ctx context.Context) error) error {
	ctx = context.WithoutCancel(ctx)
	giveUp := time.Now().Add(s.opts.RecordPatience)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		attempt, cancel := context.WithTimeout(ctx, s.opts.RecordTimeout)
		err := write(attempt)
		cancel()
		if err == nil || time.Now().Add(wait).After(giveUp) {
			return err
		}
		s.metrics.recordRetried()
		s.log.Warn("alert delivery not recorded yet: the record is tried again, not the post",
			"notification_id", notificationID, "err", err)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// delivered records the message, in the ledger and (a card) among the
// Slack messages to keep up to date, in one commit (one statement on
// PostgreSQL), and marks the rule's action ok again.
func (s *Service) delivered(ctx context.Context, n *triage.AlertNotification, rule *triage.AlertRule, ts, threadTS string) error {
	d := store.Delivered{Notification: n, TS: ts, ThreadTS: threadTS}
	if rule.ActionStatus != triage.AlertActionOK {
		d.FixRule = rule.ID
	}
	// A card's record also locks its issue's row (PostgreSQL, in the same
	// statement): a change to the issue that is under way when its card is
	// recorded ends first, so that refreshIfChanged, after this commit,
	// sees it; a change that starts later sees the card (OnIssueChange
	// reads the cards after its lock).
	if _, err := s.store.RecordDelivery(ctx, d); err != nil {
		return fmt.Errorf("record delivery of notification %d: %w", n.ID, err)
	}
	if threadTS != "" {
		s.metrics.result(resultThreaded)
	} else {
		s.metrics.result(resultPosted)
	}
	return nil
}

// fail stops a notification for good: it records the reason on the
// notification and on the rule (broken), logs and counts it. Nothing is
// dropped without a trace. (A dead token also marks the workspace for a
// reinstall: the Slack integration does that where it sees the error.)
func (s *Service) fail(ctx context.Context, n *triage.AlertNotification, rule *triage.AlertRule, reason string, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.RecordTimeout)
	defer cancel()
	changed := false
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.FinishNotification(ctx, n.ID, triage.NotificationFailed, reason, "", ""); err != nil {
			return err
		}
		var err error
		if changed, err = tx.SetAlertActionStatus(ctx, rule.ID, triage.AlertActionBroken, reason); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record failure of notification %d: %w", n.ID, err)
	}
	s.metrics.result(resultFailed)
	s.metrics.failure(reason)
	level := s.log.Info
	if changed {
		level = s.log.Warn
	}
	level("alert not delivered", "notification_id", n.ID, "rule_id", rule.ID, "integration_id", n.IntegrationID,
		"channel", n.ChannelID, "reason", reason, "err", cause)
	return river.JobCancel(fmt.Errorf("notification %d: %s: %w", n.ID, reason, cause))
}

// repeatText is the thread reply for an alert about an issue that already
// has a card in the channel.
func (s *Service) repeatText(ctx context.Context, rule *triage.AlertRule, n *triage.AlertNotification) (string, error) {
	issue, err := s.store.IssueByID(ctx, n.IssueID)
	if err != nil {
		return "", err
	}
	what := "Seen again"
	if strings.HasPrefix(n.Cause, string(TriggerRegressed)+":") {
		what = "Regressed"
	}
	events := "events"
	if issue.TimesSeen == 1 {
		events = "event"
	}
	return fmt.Sprintf(":bell: *%s* (rule “%s”): %d %s in total, last seen <!date^%d^{date_short_pretty} at {time}|%s>",
		what, escapeMrkdwn(rule.Name), issue.TimesSeen, events, issue.LastSeen.Unix(),
		issue.LastSeen.UTC().Format("2006-01-02 15:04 UTC")), nil
}
