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

// ChannelList is a workspace's channels as cached, and how fresh the
// cache is.
type ChannelList struct {
	Channels []triage.SlackChannel
	// Syncing: a listing is under way (or was just queued).
	Syncing  bool
	SyncedAt time.Time // the end of the last full listing; zero if none
	Error    string    // why the last listing stopped, if it failed
	BotName  string
}

// Channels serves the channel picker from the cache, never from Slack, so
// it answers at once in any workspace. A cache that was never filled, or
// is stale, gets a listing queued in the background. Only those who may
// change rules (owners and admins) may list.
func (s *Service) Channels(ctx context.Context, userID int64, orgSlug string, integrationID int64, query string) (*ChannelList, error) {
	if _, err := s.acc.Integration(ctx, userID, orgSlug, integrationID, "pick channels for alert rules"); err != nil {
		return nil, err
	}
	chans, err := s.store.SlackChannels(ctx, integrationID, query, 200)
	if err != nil {
		return nil, err
	}
	st, err := s.store.ChannelSyncState(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	out := &ChannelList{Channels: chans, SyncedAt: st.FinishedAt, Error: st.Error, Syncing: st.Cursor != "",
		BotName: s.cachedBotName(integrationID)}
	stale := st.FinishedAt.IsZero() || s.now().Sub(st.FinishedAt) > 2*s.opts.ChannelSyncEvery
	if stale && s.slack != nil {
		if err := s.QueueChannelSync(ctx, integrationID); err != nil {
			return nil, err
		}
		out.Syncing = true
	}
	return out, nil
}

// QueueChannelSync queues a listing of the workspace's channels unless one
// is queued already.
func (s *Service) QueueChannelSync(ctx context.Context, integrationID int64) error {
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		return s.jobs.InsertMany(ctx, tx, []river.InsertManyParams{{Args: ChannelSyncArgs{IntegrationID: integrationID},
			InsertOpts: &river.InsertOpts{UniqueOpts: uniqueWhilePending}}})
	})
}

type channelSyncAllWorker struct {
	river.WorkerDefaults[ChannelSyncAllArgs]
	s *Service
}

func (w *channelSyncAllWorker) Work(ctx context.Context, _ *river.Job[ChannelSyncAllArgs]) error {
	if w.s.slack == nil {
		return nil
	}
	ids, err := w.s.store.ActiveIntegrationIDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := w.s.QueueChannelSync(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

type channelSyncWorker struct {
	river.WorkerDefaults[ChannelSyncArgs]
	s *Service
}

// Work fetches one page of conversations.list and snoozes for the next:
// one call every ChannelPageEvery keeps a listing within Tier 2 (20 calls a
// minute), a 429 snoozes for its Retry-After, and a listing of any size
// never holds a worker for long. The cursor lives in the database, so a
// listing resumes where it stopped after a restart.
func (w *channelSyncWorker) Work(ctx context.Context, job *river.Job[ChannelSyncArgs]) error {
	s, id := w.s, job.Args.IntegrationID
	if s.slack == nil {
		return nil
	}
	st, err := s.store.ChannelSyncState(ctx, id)
	if err != nil {
		return err
	}
	if st.Cursor == "" {
		st.StartedAt, st.Pages, st.Error = s.now(), 0, ""
	}
	chans, next, err := s.slack.ChannelsPage(ctx, id, st.Cursor)
	if err != nil {
		if d, ok := s.slack.RetryAfter(err); ok {
			return river.JobSnooze(d)
		}
		if reason, ok := s.slack.PermanentReason(err); ok {
			st.Cursor, st.Error = "", reason
			if err := s.store.SaveChannelSync(ctx, st); err != nil {
				return err
			}
			s.log.Warn("channel listing stopped", "integration_id", id, "reason", reason)
			return river.JobCancel(err)
		}
		return err
	}
	rows := make([]triage.SlackChannel, 0, len(chans))
	for _, c := range chans {
		rows = append(rows, triage.SlackChannel{IntegrationID: id, ID: c.ID, Name: c.Name, IsPrivate: c.IsPrivate,
			IsArchived: c.IsArchived, IsMember: c.IsMember})
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpsertSlackChannels(ctx, id, rows, s.now()); err != nil {
			return err
		}
		st.Pages++
		st.Cursor = next
		if next == "" {
			st.FinishedAt = s.now()
			if err := tx.DeleteSlackChannelsBefore(ctx, id, st.StartedAt); err != nil {
				return err
			}
		}
		return tx.SaveChannelSync(ctx, st)
	})
	if err != nil || next == "" {
		return err
	}
	return river.JobSnooze(s.opts.ChannelPageEvery)
}

// checkChannel resolves and checks a rule's channel: the workspace must be
// attached to the organization and active, the channel must exist for the
// bot (conversations.info) and not be archived. A private channel the bot
// is not in gets the /invite hint, not "does not exist".
// checkWorkspace checks that a rule's workspace is installed in the
// organization and working.
func (s *Service) checkWorkspace(ctx context.Context, org *triage.Organization, integrationID int64) (*triage.Integration, error) {
	const fInteg = "action.integrationId"
	if s.slack == nil {
		return nil, invalid(fInteg, "Slack is not configured on this server")
	}
	if integrationID <= 0 {
		return nil, invalid(fInteg, "is required: the id of a Slack workspace installed in %s", org.Name)
	}
	attached, err := s.store.IntegrationAttached(ctx, org.ID, integrationID)
	if err != nil {
		return nil, err
	}
	if !attached {
		return nil, invalid(fInteg, "no Slack workspace %d is installed in %s", integrationID, org.Name)
	}
	in, err := s.store.IntegrationByID(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	if in.Status != triage.IntegrationActive {
		return nil, invalid(fInteg, "the Slack workspace %s is %s: reinstall Triage in it first", in.Name, strings.ReplaceAll(in.Status, "_", " "))
	}
	return in, nil
}

func (s *Service) checkChannel(ctx context.Context, org *triage.Organization, integrationID int64, channel string) (Channel, error) {
	const fChan = "action.channel"
	in, err := s.checkWorkspace(ctx, org, integrationID)
	if err != nil {
		return Channel{}, err
	}
	channel = strings.TrimSpace(channel)
	var cached *triage.SlackChannel
	id := channel
	if !channelIDPattern.MatchString(channel) {
		name := strings.TrimPrefix(channel, "#")
		if !channelNamePattern.MatchString(name) {
			return Channel{}, invalid(fChan, "is required: a channel id (C…) or a channel name such as #alerts")
		}
		cached, err = s.store.SlackChannelByName(ctx, integrationID, name)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			return Channel{}, s.unknownName(ctx, in, name)
		} else if err != nil {
			return Channel{}, err
		}
		id = cached.ID
	} else if c, err := s.store.SlackChannelByID(ctx, integrationID, id); err == nil {
		cached = c
	}
	checkCtx, cancel := context.WithTimeout(ctx, s.opts.CheckTimeout)
	defer cancel()
	ch, err := s.slack.ChannelInfo(checkCtx, integrationID, id)
	if err != nil {
		return s.channelCheckFailed(ctx, in, id, cached, err)
	}
	if ch.IsArchived {
		return Channel{}, invalid(fChan, "#%s is archived: unarchive it or pick another channel", ch.Name)
	}
	if ch.IsPrivate && !ch.IsMember {
		return Channel{}, invalid(fChan, "#%s is private and the bot is not in it: type /invite @%s in #%s, then save again",
			ch.Name, s.botName(ctx, integrationID), ch.Name)
	}
	if err := s.store.UpsertSlackChannel(ctx, triage.SlackChannel{IntegrationID: integrationID, ID: ch.ID, Name: ch.Name,
		IsPrivate: ch.IsPrivate, IsArchived: ch.IsArchived, IsMember: ch.IsMember}); err != nil {
		return Channel{}, err
	}
	return ch, nil
}

// unknownName explains a channel name missing from the workspace's list,
// and has the list fetched when it never was.
func (s *Service) unknownName(ctx context.Context, in *triage.Integration, name string) error {
	bot := s.botName(ctx, in.ID)
	st, err := s.store.ChannelSyncState(ctx, in.ID)
	if err != nil {
		return err
	}
	if st.FinishedAt.IsZero() {
		if err := s.QueueChannelSync(ctx, in.ID); err != nil {
			return err
		}
		return invalid("action.channel", "%s's channel list is being fetched: try #%s again in a minute, or enter the channel's id (in Slack: channel details, at the bottom). A private channel needs the bot first: type /invite @%s in it.",
			in.Name, name, bot)
	}
	return invalid("action.channel", "no channel named #%s in %s's channel list. Private channels are listed once the bot is in them: type /invite @%s in the channel, or enter the channel's id (in Slack: channel details, at the bottom).",
		name, in.Name, bot)
}

// channelCheckFailed turns a failed conversations.info into a precise
// answer. When Slack is only slow or rate limited, a channel already in
// the list is accepted as listed: saving a rule never waits on Slack.
func (s *Service) channelCheckFailed(ctx context.Context, in *triage.Integration, id string, cached *triage.SlackChannel, err error) (Channel, error) {
	const fInteg, fChan = "action.integrationId", "action.channel"
	reason, permanent := s.slack.PermanentReason(err)
	switch {
	case permanent && reason == "channel_not_found":
		bot := s.botName(ctx, in.ID)
		if cached != nil && cached.IsPrivate {
			return Channel{}, invalid(fChan, "#%s is a private channel the bot is not in: type /invite @%s in #%s, then save again",
				cached.Name, bot, cached.Name)
		}
		return Channel{}, invalid(fChan, "Slack does not show channel %s to Triage's bot. If it is a private channel, invite the bot first: type /invite @%s in the channel, then save again.", id, bot)
	case permanent && s.slack.DeadWorkspace(err):
		return Channel{}, invalid(fInteg, "Slack refused Triage's token for %s (%s): reinstall Triage in that workspace", in.Name, reason)
	case permanent:
		return Channel{}, invalid(fChan, "Slack refused to look up channel %s: %s", id, reason)
	}
	if cached != nil && !cached.IsArchived {
		s.log.Warn("channel check skipped: Slack unavailable, using the cached channel", "integration_id", in.ID, "err", err)
		return Channel{ID: cached.ID, Name: cached.Name, IsPrivate: cached.IsPrivate, IsMember: cached.IsMember}, nil
	}
	if d, ok := s.slack.RetryAfter(err); ok {
		return Channel{}, &FieldError{Field: fChan, Reason: fmt.Sprintf("Slack asks Triage to wait %s before checking the channel: try again then, or pick the channel from the list", d.Round(time.Second))}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Channel{}, invalid(fChan, "Slack did not answer in time: try again, or pick the channel from the list")
	}
	return Channel{}, fmt.Errorf("check channel %s: %w", id, err)
}

// botName is the workspace bot's name for /invite hints, remembered per
// process; "triage" when Slack cannot tell.
func (s *Service) botName(ctx context.Context, integrationID int64) string {
	s.botMu.Lock()
	name := s.botNames[integrationID]
	s.botMu.Unlock()
	if name != "" {
		return name
	}
	if s.slack == nil {
		return "triage"
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.CheckTimeout)
	defer cancel()
	name, err := s.slack.BotName(ctx, integrationID)
	if err != nil || name == "" {
		return "triage"
	}
	s.botMu.Lock()
	s.botNames[integrationID] = name
	s.botMu.Unlock()
	return name
}

// cachedBotName never calls Slack (pages must not wait on it).
func (s *Service) cachedBotName(integrationID int64) string {
	s.botMu.Lock()
	defer s.botMu.Unlock()
	return s.botNames[integrationID]
}
