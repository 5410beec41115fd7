package alert

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"triage"
	"triage/internal/issues"
	"triage/internal/store"
)

// OnIssueChange is the issues.Service hook, for every change whatever
// caused it (a person, a regression, the end of an ignore, a comment):
// inside the change's transaction it queues, for each of the issue's
// cards, a thread reply saying who or what did what, or what the comment
// says (except in the thread a Slack reply came from: no echo). An issue
// assigned to a team with a linked channel gets a card there. An issue
// with no notification queues nothing else.
func (s *Service) OnIssueChange(ctx context.Context, tx *store.Tx, c issues.Change) error {
	if c.Activity == nil || c.Deleted {
		return nil
	}
	if err := s.notifyTeam(ctx, tx, c); err != nil {
		return err
	}
	// The Slack integration's own change hook rebuilds the cards; here
	// each card's thread hears what changed. The cards are read now, after
	// the change locked the issue, not from what the locking read saw.
	cards, err := threadsOf(ctx, tx, c.Issue.ID, c.Activity.ID)
	if err != nil || len(cards) == 0 {
		return err
	}
	user := c.Activity.User
	if user != nil && user.ID != 0 && user.Email == "" {
		if user, err = tx.UserByID(ctx, user.ID); err != nil {
			return err
		}
	}
	note, isNote := c.Note()
	var params []river.InsertManyParams
	key := "activity:" + strconv.FormatInt(c.Activity.ID, 10)
	if !isNote && needsRebuild(tx, c, cards) {
		params = append(params, river.InsertManyParams{Args: CardsArgs{IssueID: c.Issue.ID}})
	}
	for _, card := range cards {
		if m := c.Origin.SlackMessage; isNote && m != nil && m.IntegrationID == card.IntegrationID &&
			m.Channel == card.ChannelID && m.TS == card.TS {
			continue // a reply in this thread became the comment: no echo
		}
		text := ""
		switch {
		case c.Transition != nil:
			text = transitionText(c.Transition)
		case isNote:
			actor, err := s.noteAuthor(ctx, tx, card.IntegrationID, user, c)
			if err != nil {
				return err
			}
			text = ":speech_balloon: " + actor + ": " + escapeMrkdwn(note)
		default:
			actor, err := s.actorText(ctx, tx, card.IntegrationID, user, c.Origin.Actor)
			if err != nil {
				return err
			}
			text = changeText(c.Activity, actor)
		}
		if text != "" {
			params = append(params, replyJob(c.Issue.ID, card, text, key))
		}
	}
	if len(params) == 0 {
		return nil
	}
	return s.jobs.InsertMany(ctx, tx, params)
}

// threadsOf lists the issue's cards whose threads hear of its changes:
// those posted, and those still on their way (they hear once they are
// out). One statement reads both, so that a card being recorded as posted
// right now shows up as one or the other. It runs after the change locked
// the issue: the change's own statement when it read them (a status
// change on PostgreSQL, see store.ChangeCards), else a read now.
func threadsOf(ctx context.Context, tx *store.Tx, issueID, activityID int64) ([]store.AlertCard, error) {
	return tx.ChangeCards(ctx, issueID, activityID)
}

// needsRebuild tells whether this hook must queue a rebuild of the
// issue's cards after the change's commit, because nobody else will:
//
//   - A card on its way: its delivery rebuilds it after it is recorded if
//     it sees this change, but it may look before this change commits.
//   - A posted card the Slack integration's hook did not see: that hook
//     decides on what the issue's locking read saw, which on PostgreSQL
//     can predate the card's record when the lock had to wait (for the
//     delivery's own lock on the issue). cards was read after the lock.
//
// The clicked message (the change's origin) is rebuilt by its click.
func needsRebuild(tx *store.Tx, c issues.Change, cards []store.AlertCard) bool {
	queued := tx.CardsQueued(c.Issue.ID)
	for _, card := range cards {
		if card.PendingID != 0 {
			return true
		}
		if m := c.Origin.SlackMessage; m != nil && m.IntegrationID == card.IntegrationID &&
			m.Channel == card.ChannelID && m.TS == card.TS {
			continue
		}
		if !queued {
			return true
		}
	}
	return false
}

// noteAuthor names a comment's author in a thread: as actorText does, or
// for a reply in Slack by someone not linked, the Slack user's name.
func (s *Service) noteAuthor(ctx context.Context, tx *store.Tx, integrationID int64, u *triage.User, c issues.Change) (string, error) {
	if u == nil || u.ID == 0 {
		name, _ := c.Activity.Data["slackName"].(string)
		if name == "" {
			name = "someone"
		}
		return "*Slack user " + escapeMrkdwn(name) + "*", nil
	}
	actor, err := s.actorText(ctx, tx, integrationID, u, c.Origin.Actor)
	if err != nil || strings.HasPrefix(actor, "<@") {
		return actor, err
	}
	return "*" + actor + "*", nil
}

// CauseTeamAssigned starts the cause of a notification that brings an
// issue assigned to a team to the team's channel (no rule is behind it).
const CauseTeamAssigned = "assigned:"

// notifyTeam brings an issue just assigned to a team to the team's linked
// channel, through the notifications' delivery, unless the channel already
// has the issue's card (whose thread hears of the assignment).
func (s *Service) notifyTeam(ctx context.Context, tx *store.Tx, c issues.Change) error {
	if c.Activity.Type != triage.ActivityAssigned || c.Issue.Assignee == nil || c.Issue.Assignee.Type != "team" || s.jobs == nil {
		return nil
	}
	tc, err := tx.TeamChannel(ctx, c.Issue.Assignee.ID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	id, err := tx.CreateTeamNotification(ctx, &triage.AlertNotification{IssueID: c.Issue.ID,
		Cause: CauseTeamAssigned + strconv.FormatInt(c.Activity.ID, 10), IntegrationID: tc.IntegrationID, ChannelID: tc.ChannelID})
	if err != nil || id == 0 {
		return err
	}
	return s.jobs.InsertMany(ctx, tx, []river.InsertManyParams{{Args: NotifyArgs{NotificationID: id},
		InsertOpts: &river.InsertOpts{MaxAttempts: s.opts.MaxAttempts}}})
}

func replyJob(issueID int64, card store.AlertCard, text, key string) river.InsertManyParams {
	return river.InsertManyParams{
		Args: ReplyArgs{IssueID: issueID, IntegrationID: card.IntegrationID, ChannelID: card.ChannelID, ThreadTS: card.TS,
			AfterNotification: card.PendingID, Text: text, Key: key},
		// The same change is said once per thread, even if the job that
		// queued the reply runs again.
		InsertOpts: &river.InsertOpts{UniqueOpts: uniqueWhilePending},
	}
}

// actorText names who acted, as a mention when they are linked in the
// workspace, else by name and where they acted from.
func (s *Service) actorText(ctx context.Context, tx *store.Tx, integrationID int64, u *triage.User, actor triage.Actor) (string, error) {
	if u == nil || u.ID == 0 {
		return "", nil
	}
	if actor.SlackUserID != "" && actor.Source == triage.SourceSlack {
		if in, err := tx.IdentityByExternalID(ctx, integrationID, actor.SlackUserID); err == nil && in.UserID == u.ID {
			return "<@" + actor.SlackUserID + ">", nil
		}
	}
	ids, err := tx.SlackUserIDs(ctx, integrationID, []int64{u.ID})
	if err != nil {
		return "", err
	}
	if sid := ids[u.ID]; sid != "" {
		return "<@" + sid + ">", nil
	}
	name := escapeMrkdwn(u.DisplayName())
	switch actor.Source {
	case triage.SourceWeb:
		return name + " (in Triage)", nil
	case triage.SourceAPI:
		return name + " (through the API)", nil
	}
	return name, nil
}

// changeText says what an activity did, for a card's thread; "" for
// activities that are not worth a reply.
func changeText(a *triage.Activity, actor string) string {
	by := ""
	if actor != "" {
		by = " by " + actor
	}
	str := func(k string) string { v, _ := a.Data[k].(string); return v }
	num := func(k string) int64 {
		switch v := a.Data[k].(type) {
		case float64:
			return int64(v)
		case int64:
			return v
		case int:
			return int64(v)
		}
		return 0
	}
	switch a.Type {
	case triage.ActivitySetResolved:
		return "*Resolved" + by + "*"
	case triage.ActivitySetResolvedInRel:
		if v, _ := a.Data["inNextRelease"].(bool); v {
			return "*Resolved in the next release" + by + "*"
		}
		return "*Resolved in " + escapeMrkdwn(str("version")) + by + "*"
	case triage.ActivitySetIgnored:
		detail := ""
		switch {
		case num("ignoreDuration") > 0:
			detail = fmt.Sprintf(" for %d minutes", num("ignoreDuration"))
		case num("ignoreCount") > 0:
			detail = fmt.Sprintf(" until it happens %d more times", num("ignoreCount"))
		case str("ignoreUntil") != "":
			if t, err := time.Parse(time.RFC3339, str("ignoreUntil")); err == nil {
				detail = " until " + t.UTC().Format("2006-01-02 15:04 UTC")
			}
		}
		return "*Ignored" + detail + by + "*"
	case triage.ActivitySetUnresolved:
		if actor == "" {
			return "*Reopened*: the time or count it was ignored for ran out"
		}
		return "*Reopened" + by + "*"
	case triage.ActivitySetRegression:
		if v := str("version"); v != "" {
			return "*Regressed* in " + escapeMrkdwn(v)
		}
		return "*Regressed*"
	case triage.ActivityAssigned:
		to := escapeMrkdwn(str("assigneeName"))
		if str("assigneeType") == "team" {
			to = "#" + to
		}
		return "*Assigned to " + to + by + "*"
	case triage.ActivityUnassigned:
		return "*Unassigned" + by + "*"
	}
	return ""
}

// escapeMrkdwn escapes the three characters Slack's mrkdwn treats as
// control characters.
func escapeMrkdwn(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

type cardsWorker struct {
	river.WorkerDefaults[CardsArgs]
	s *Service
}

// Work rebuilds the cards with chat.update. A rate limit snoozes; other
// failures retry (chat.update is idempotent).
func (w *cardsWorker) Work(ctx context.Context, job *river.Job[CardsArgs]) error {
	if w.s.slack == nil {
		return nil
	}
	err := w.s.slack.UpdateCards(ctx, job.Args.IssueID)
	if d, ok := w.s.slack.RetryAfter(err); ok {
		return river.JobSnooze(d)
	}
	if reason, ok := w.s.slack.PermanentReason(err); ok {
		w.s.log.Warn("cards not updated", "issue_id", job.Args.IssueID, "reason", reason)
		return nil
	}
	return err
}

type replyWorker struct {
	river.WorkerDefaults[ReplyArgs]
	s *Service
}

// Work posts the reply, paced like every message to the channel.
func (w *replyWorker) Work(ctx context.Context, job *river.Job[ReplyArgs]) error {
	s, a := w.s, job.Args
	if s.slack == nil {
		return nil
	}
	if a.AfterNotification != 0 {
		ts, err := s.threadOf(ctx, a.AfterNotification)
		if err != nil || ts == "" {
			return err
		}
		a.ThreadTS = ts
	}
	keys := s.paceKeys(a.IntegrationID, a.ChannelID)
	slot, release, err := s.reserveSlot(ctx, keys, time.Time{}, nil, func() error { return nil })
	if err != nil {
		return err
	}
	defer release()
	msg, err := s.slack.PrepareReply(ctx, a.IntegrationID, a.Text)
	if err == nil {
		_, err = s.sendAt(ctx, keys, slot, msg, a.ChannelID, a.ThreadTS)
	}
	if err == nil {
		s.metrics.result(resultThreaded)
		return nil
	}
	if d, ok := s.waitFor(err); ok {
		s.metrics.result(resultRateLimited)
		if berr := s.pacer.Block(ctx, keys[0], s.now().Add(d)); berr != nil {
			return berr
		}
		return river.JobSnooze(d)
	}
	if reason, ok := s.slack.PermanentReason(err); ok {
		s.metrics.result(resultFailed)
		s.metrics.failure(reason)
		s.log.Warn("thread reply not posted", "issue_id", a.IssueID, "integration_id", a.IntegrationID,
			"channel", a.ChannelID, "reason", reason)
		return river.JobCancel(err)
	}
	s.metrics.result(resultRetried)
	return err
}

// threadOf is the thread a reply waiting for a card goes to: the issue's
// card in the channel once it is out (posted by the notification named,
// or by the one that took the card over when that one failed); a snooze
// while the card is on its way; "" (drop the reply) when no card is
// coming, or none came in ten minutes (retrying).
func (s *Service) threadOf(ctx context.Context, notificationID int64) (string, error) {
	d, err := s.store.AlertDelivery(ctx, notificationID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return "", nil
	} else if err != nil {
		return "", err
	}
	n := d.Notification
	switch {
	case d.CardTS != "":
		return d.CardTS, nil
	case d.CardHolder != 0 && d.HolderStatus == triage.NotificationPending && s.now().Sub(n.CreatedAt) < 10*time.Minute:
		return "", river.JobSnooze(2 * time.Second)
	}
	return "", nil
}
