package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"triage"
)

// UpsertSlackChannels stores one page of conversations.list.
func (q *Queries) UpsertSlackChannels(ctx context.Context, integrationID int64, chans []triage.SlackChannel, seen time.Time) error {
	for _, c := range chans {
		_, err := q.q.ExecContext(ctx, `INSERT INTO slack_channels (integration_id, channel_id, name, is_private,
			is_archived, is_member, seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (integration_id, channel_id) DO UPDATE SET name = excluded.name,
			is_private = excluded.is_private, is_archived = excluded.is_archived,
			is_member = excluded.is_member, seen_at = excluded.seen_at`,
			integrationID, c.ID, c.Name, c.IsPrivate, c.IsArchived, c.IsMember, micros(seen))
		if err != nil {
			return fmt.Errorf("store channel %s: %w", c.ID, err)
		}
	}
	return nil
}

// UpsertSlackChannel stores one channel (as conversations.info saw it).
func (q *Queries) UpsertSlackChannel(ctx context.Context, c triage.SlackChannel) error {
	return q.UpsertSlackChannels(ctx, c.IntegrationID, []triage.SlackChannel{c}, q.now())
}

// DeleteSlackChannelsBefore forgets channels a full listing that began at
// t did not see again (deleted, or private and the bot was removed).
func (q *Queries) DeleteSlackChannelsBefore(ctx context.Context, integrationID int64, t time.Time) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM slack_channels WHERE integration_id = $1 AND seen_at < $2`,
		integrationID, micros(t))
	if err != nil {
		return fmt.Errorf("forget old channels: %w", err)
	}
	return nil
}

// SlackChannels lists a workspace's cached channels whose name contains
// query (any when ""), by name, at most limit.
func (q *Queries) SlackChannels(ctx context.Context, integrationID int64, query string, limit int) ([]triage.SlackChannel, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	pattern := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(query)) + "%"
	rows, err := q.q.QueryContext(ctx, `SELECT integration_id, channel_id, name, is_private, is_archived, is_member, seen_at
		FROM slack_channels WHERE integration_id = $1 AND LOWER(name) LIKE $2 ESCAPE '\'
		ORDER BY name, channel_id LIMIT $3`, integrationID, pattern, limit)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	defer rows.Close()
	var out []triage.SlackChannel
	for rows.Next() {
		var c triage.SlackChannel
		var seen int64
		if err := rows.Scan(&c.IntegrationID, &c.ID, &c.Name, &c.IsPrivate, &c.IsArchived, &c.IsMember, &seen); err != nil {
			return nil, err
		}
		c.SeenAt = fromMicros(seen)
		out = append(out, c)
	}
	return out, rows.Err()
}

// SlackChannelByID returns a cached channel; ENOTFOUND if it is not cached.
func (q *Queries) SlackChannelByID(ctx context.Context, integrationID int64, channelID string) (*triage.SlackChannel, error) {
	var c triage.SlackChannel
	var seen int64
	err := q.q.QueryRowContext(ctx, `SELECT integration_id, channel_id, name, is_private, is_archived, is_member, seen_at
		FROM slack_channels WHERE integration_id = $1 AND channel_id = $2`, integrationID, channelID).
		Scan(&c.IntegrationID, &c.ID, &c.Name, &c.IsPrivate, &c.IsArchived, &c.IsMember, &seen)
	if err != nil {
		return nil, translate(err, "channel")
	}
	c.SeenAt = fromMicros(seen)
	return &c, nil
}

// SlackChannelByName returns a cached channel by name; ENOTFOUND if none.
func (q *Queries) SlackChannelByName(ctx context.Context, integrationID int64, name string) (*triage.SlackChannel, error) {
	var id string
	err := q.q.QueryRowContext(ctx, `SELECT channel_id FROM slack_channels WHERE integration_id = $1 AND name = $2
		ORDER BY is_archived, channel_id LIMIT 1`, integrationID, name).Scan(&id)
	if err != nil {
		return nil, translate(err, "channel")
	}
	return q.SlackChannelByID(ctx, integrationID, id)
}

// ChannelSync is the progress of a workspace's channel listing.
type ChannelSync struct {
	IntegrationID int64
	Cursor        string // next page; "" between listings
	StartedAt     time.Time
	FinishedAt    time.Time
	Pages         int64
	Error         string
}

// ChannelSyncState returns the workspace's listing progress; a workspace
// never listed gets a zero ChannelSync.
func (q *Queries) ChannelSyncState(ctx context.Context, integrationID int64) (*ChannelSync, error) {
	s := ChannelSync{IntegrationID: integrationID}
	var started, finished int64
	err := q.q.QueryRowContext(ctx, `SELECT cursor, started_at, finished_at, pages, error FROM slack_channel_syncs
		WHERE integration_id = $1`, integrationID).Scan(&s.Cursor, &started, &finished, &s.Pages, &s.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return &s, nil
	} else if err != nil {
		return nil, fmt.Errorf("read channel sync of integration %d: %w", integrationID, err)
	}
	s.StartedAt, s.FinishedAt = optFromMicros(started), optFromMicros(finished)
	return &s, nil
}

// SaveChannelSync writes the workspace's listing progress.
func (q *Queries) SaveChannelSync(ctx context.Context, s *ChannelSync) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO slack_channel_syncs (integration_id, cursor, started_at, finished_at, pages, error)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (integration_id) DO UPDATE SET cursor = excluded.cursor,
		started_at = excluded.started_at, finished_at = excluded.finished_at, pages = excluded.pages, error = excluded.error`,
		s.IntegrationID, s.Cursor, optMicros(s.StartedAt), optMicros(s.FinishedAt), s.Pages, s.Error)
	if err != nil {
		return fmt.Errorf("save channel sync of integration %d: %w", s.IntegrationID, err)
	}
	return nil
}

// ActiveIntegrationIDs lists the workspaces whose tokens may be used.
func (q *Queries) ActiveIntegrationIDs(ctx context.Context) ([]int64, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id FROM integrations WHERE status = 'active' ORDER BY id`)
	return collect(rows, err, "list active integrations", scanID)
}
