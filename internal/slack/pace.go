package slack

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"triage/internal/alert"
	"triage/internal/slack/webapi"
)

// Direct messages and Home tab publishes share the workspace's rate
// limits with alerts (SLACK §9): each books a slot on the pacer alerts
// use (Deps.Pacer, one per process or, on PostgreSQL, in the database),
// on the key of its conversation or method and on the workspace's key,
// waits for it, and a 429 blocks its key for Slack's Retry-After (for
// every sender sharing the pacer) before the job snoozes that long.
//
//	a DM         ChannelPaceKey(workspace, the person's user id)  + WorkspacePaceKey
//	a Home tab   "v:<workspace>" at homePublishRate (views.publish) + WorkspacePaceKey

// homePublishRate is views.publish's share: Slack's Tier 4 (100+ a
// minute per workspace), with a short burst.
var homePublishRate = alert.Rate{PerSecond: 100.0 / 60, Burst: 10}

// maxPaceWait is the longest a job waits for its slot in place; a later
// slot snoozes the job until then.
const maxPaceWait = 5 * time.Second

func (i *Integration) dmPaceKeys(integrationID int64, slackUser string) []alert.PaceKey {
	keys := []alert.PaceKey{alert.ChannelPaceKey(i.d.PaceLimits, integrationID, slackUser)}
	if i.d.PaceLimits.Workspace.PerSecond > 0 {
		keys = append(keys, alert.WorkspacePaceKey(i.d.PaceLimits, integrationID))
	}
	return keys
}

func (i *Integration) homePaceKeys(integrationID int64) []alert.PaceKey {
	keys := []alert.PaceKey{{Name: "v:" + strconv.FormatInt(integrationID, 10), Rate: homePublishRate}}
	if i.d.PaceLimits.Workspace.PerSecond > 0 {
		keys = append(keys, alert.WorkspacePaceKey(i.d.PaceLimits, integrationID))
	}
	return keys
}

// paced calls send at the slot the pacer gives keys, as alerts send:
// the slot booked on every key (a far one snoozes the job), then, with
// keys[0]'s in-process lock held so that a 429 is known before the next
// post to it leaves, the send booked on keys[0]'s schedule of actual
// sends, which also tells of a Retry-After another job or process heard
// (the job then snoozes until it ends); a 429 blocks keys[0] for every
// sender. Without a pacer (tools, some tests) it sends at once.
func (i *Integration) paced(ctx context.Context, keys []alert.PaceKey, send func() error) error {
	p := i.d.Pacer
	if p == nil {
		return send()
	}
	now := i.d.PaceNow()
	slot, err := p.Reserve(ctx, keys, now)
	if err != nil {
		return err
	}
	if wait := slot.Sub(now); wait > maxPaceWait {
		return river.JobSnooze(wait)
	} else if err := paceSleep(ctx, wait); err != nil {
		return err
	}
	mu := i.paceLock(keys[0].Name)
	mu.Lock()
	defer mu.Unlock()
	now = i.d.PaceNow()
	at, blocked, err := p.Claim(ctx, keys[0], now)
	if err != nil {
		return err
	}
	if blocked.After(at) {
		return river.JobSnooze(blocked.Sub(now))
	}
	if wait := at.Sub(now); wait > maxPaceWait {
		return river.JobSnooze(wait)
	} else if err := paceSleep(ctx, wait); err != nil {
		return err
	}
	err = send()
	if d, ok := webapi.RetryAfter(err); ok {
		if berr := p.Block(ctx, keys[0], i.d.PaceNow().Add(d)); berr != nil {
			i.log.Warn("slack: record retry-after", "err", berr)
		}
	}
	return err
}

func paceSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// paceLock is the in-process lock of one pace key.
func (i *Integration) paceLock(key string) *sync.Mutex {
	i.paceMu.Lock()
	defer i.paceMu.Unlock()
	if i.paceLocks == nil || len(i.paceLocks) > 10_000 {
		i.paceLocks = map[string]*sync.Mutex{}
	}
	mu := i.paceLocks[key]
	if mu == nil {
		mu = &sync.Mutex{}
		i.paceLocks[key] = mu
	}
	return mu
}
