package alert

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"triage"
	"triage/internal/store"
)

// ChannelList is a workspace's channels as cached, and how fresh the
// cache is.
type ChannelList struct {
	Channels []store.SlackChannel
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
	org, err := s.store.OrganizationBySlug(ctx, orgSlug)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, triage.Errorf(triage.ENOTFOUND, "organization not found")
	} else if err != nil {
		return nil, err
	}
	m, err := s.store.Member(ctx, org.ID, userID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, triage.Errorf(triage.ENOTFOUND, "organization not found")
	} else if err != nil {
		return nil, err
	}
	if !m.Role.CanAdmin() {
		return nil, triage.Errorf(triage.EFORBIDDEN, "only an owner or admin of %s can pick channels for alert rules", org.Name)
	}
	attached, err := s.store.IntegrationAttached(ctx, org.ID, integrationID)
	if err != nil {
		return nil, err
	}
	if !attached {
		return nil, triage.Errorf(triage.ENOTFOUND, "Slack workspace not found")
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
	rows := make([]store.SlackChannel, 0, len(chans))
	for _, c := range chans {
		rows = append(rows, store.SlackChannel{IntegrationID: id, ID: c.ID, Name: c.Name, IsPrivate: c.IsPrivate,
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
