package alert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"triage"
	"triage/internal/store"
)

// recordTimeout bounds the write that records a delivery. It runs even when
// the job's context is cancelled (shutdown): Slack has answered, and the
// record is what keeps a retry from posting the message twice.
const recordTimeout = 10 * time.Second

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
	n, err := s.store.AlertNotification(ctx, job.Args.NotificationID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil // its issue or workspace was deleted
	} else if err != nil {
		return err
	}
	if n.Status != store.NotificationPending {
		return nil // delivered (or given up) by an earlier run
	}
	var rule *store.AlertRule
	if n.RuleID != 0 {
		if rule, err = s.store.AlertRuleByID(ctx, n.RuleID); err != nil && triage.ErrorCode(err) != triage.ENOTFOUND {
			return err
		}
	}
	if rule == nil {
		_, err := s.store.FinishNotification(ctx, n.ID, store.NotificationCancelled, "rule_deleted", "", "")
		s.metrics.result(resultCancelled)
		return err
	}
	if s.slack == nil {
		return s.fail(ctx, n, rule, "slack_not_configured", errors.New("slack is not configured"))
	}
	threadTS := ""
	if rule.Thread {
		if threadTS, err = s.store.AlertCardIn(ctx, n.IssueID, n.IntegrationID, n.ChannelID); err != nil {
			return err
		}
	}
	keys := s.paceKeys(n.IntegrationID, n.ChannelID)
	persist := func(slot time.Time) error { return s.store.ReserveNotification(ctx, n.ID, slot) }
	if err := s.waitForSlot(ctx, keys, n.ReservedAt, persist); err != nil {
		return err
	}

	var ts string
	if threadTS != "" {
		var text string
		if text, err = s.repeatText(ctx, rule, n); err == nil {
			err = s.slack.PostThreadReply(ctx, n.IntegrationID, n.ChannelID, threadTS, text)
		}
	} else {
		ts, err = s.slack.PostCard(ctx, n.IntegrationID, n.ChannelID, "", n.IssueID)
	}
	if err == nil {
		return s.delivered(ctx, n, rule, ts, threadTS)
	}
	if d, ok := s.slack.RetryAfter(err); ok {
		s.metrics.result(resultRateLimited)
		if err := s.pacer.Block(ctx, keys[0], s.now().Add(d)); err != nil {
			return err
		}
		if err := persist(time.Time{}); err != nil {
			return err
		}
		return river.JobSnooze(d)
	}
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

// waitForSlot waits for the notification's send slot: the one it booked
// before a snooze, or a new one. A slot within MaxSleep is waited for in
// place (when a sleeper token is free); a later one is remembered and the
// job snoozes until MaxSleep/2 before it (River may start a job that
// snoozed for longer than its scheduler interval up to that interval
// late). It returns nil when it is time to send, else the snooze (or an
// error) for the worker to return.
func (s *Service) waitForSlot(ctx context.Context, keys []PaceKey, reserved time.Time, persist func(time.Time) error) error {
	now := s.now()
	slot := reserved
	// A slot that passed while the job waited to run again is void: sent
	// late, it would bunch up with the messages booked after it.
	if slot.IsZero() || slot.Before(now.Add(-s.slotGrace())) {
		var err error
		if slot, err = s.pacer.Reserve(ctx, keys, now); err != nil {
			return err
		}
	}
	if wait := slot.Sub(now); wait > 0 {
		snooze := time.Duration(-1)
		switch {
		case wait > s.opts.MaxSleep:
			snooze = wait - s.opts.MaxSleep/2
		case !s.takeSleeper():
			snooze = max(wait-250*time.Millisecond, 0)
		}
		if snooze >= 0 {
			if persist != nil {
				if err := persist(slot); err != nil {
					return err
				}
			}
			return river.JobSnooze(snooze)
		}
		err := sleep(ctx, wait)
		<-s.sleepers
		if err != nil {
			return err
		}
	}
	blocked, err := s.pacer.BlockedUntil(ctx, keys)
	if err != nil {
		return err
	}
	if d := blocked.Sub(s.now()); d > 0 {
		// A Retry-After arrived while this job waited: its slot is void.
		if persist != nil {
			if err := persist(time.Time{}); err != nil {
				return err
			}
		}
		return river.JobSnooze(d)
	}
	return nil
}

// slotGrace is how late a booked slot may still be used: half the
// channel's interval, at most half a second.
func (s *Service) slotGrace() time.Duration {
	return min(max(s.opts.Limits.Channel.interval()/2, 5*time.Millisecond), 500*time.Millisecond)
}

func (s *Service) takeSleeper() bool {
	select {
	case s.sleepers <- struct{}{}:
		return true
	default:
		return false
	}
}

// delivered records the message and marks the rule's action ok again.
func (s *Service) delivered(ctx context.Context, n *store.AlertNotification, rule *store.AlertRule, ts, threadTS string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.FinishNotification(ctx, n.ID, store.NotificationDelivered, "", ts, threadTS); err != nil {
			return err
		}
		if rule.ActionStatus != store.ActionOK {
			if _, err := tx.SetAlertActionStatus(ctx, rule.ID, store.ActionOK, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
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
func (s *Service) fail(ctx context.Context, n *store.AlertNotification, rule *store.AlertRule, reason string, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	changed := false
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.FinishNotification(ctx, n.ID, store.NotificationFailed, reason, "", ""); err != nil {
			return err
		}
		var err error
		if changed, err = tx.SetAlertActionStatus(ctx, rule.ID, store.ActionBroken, reason); err != nil {
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
func (s *Service) repeatText(ctx context.Context, rule *store.AlertRule, n *store.AlertNotification) (string, error) {
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
