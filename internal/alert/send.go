package alert

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"
)

// Sending one message to a channel, on time:
//
//	reserveSlot  book a slot (or reuse the one booked before a snooze);
//	             a far slot snoozes the job, a near one is waited for
//	(render)     the caller renders the message shortly before the slot
//	sendAt       just before the slot, book the send itself, for the
//	             slot, on the schedule of actual sends (late jobs do not
//	             bunch up, and the booking's own round trip does not
//	             delay the send), see any Retry-After in force, and post
//	             at the time booked: one post at a time per channel in a
//	             process
//
// Rendering close to the slot keeps the card fresh, and keeps its
// database reads from delaying (and so bunching up) the posts.

// prepareLead is how long before its slot a job renders its message.
const prepareLead = 150 * time.Millisecond

// reserveSlot returns the job's send slot once it is at most prepareLead
// away, and a release func to call when the job is done. A slot more than
// MaxSleep away is remembered (persist) and the job snoozes until
// MaxSleep/2 before it: River may start a job that snoozed for longer than
// its scheduler interval up to that interval late. When too many workers
// already wait for slots, the job snoozes until just before its own.
//
// A notification of a batch (inBatch) waits in place without a token: the
// batch is one job, holding one worker however many of its notifications
// wait.
func (s *Service) reserveSlot(ctx context.Context, keys []PaceKey, reserved time.Time, persist func(time.Time) error, prepare func() error) (time.Time, func(), error) {
	none := func() {}
	now := s.now()
	slot := reserved
	// A job that snoozed comes back a little late (River polls for jobs):
	// it keeps its place, and Claim keeps it from bunching up with the
	// jobs booked after it. One much later (a restart) books again.
	if slot.IsZero() || slot.Before(now.Add(-slotGrace)) {
		var err error
		if slot, err = s.pacer.Reserve(ctx, keys, now); err != nil {
			return slot, none, err
		}
	}
	snooze := func(d time.Duration) error {
		if persist != nil {
			if err := persist(slot); err != nil {
				return err
			}
		}
		return river.JobSnooze(max(d, 0))
	}
	wait := slot.Sub(now)
	if wait > s.opts.MaxSleep {
		return slot, none, snooze(wait - s.opts.MaxSleep/2)
	}
	// The message is rendered now, before the wait, so that when the slot
	// comes only the post is left: rendering at the slot waited on the
	// database behind every other worker, and a late post pushes the
	// channel's schedule back for good.
	if err := prepare(); err != nil {
		return slot, none, err
	}
	wait = slot.Sub(s.now())
	if wait <= prepareLead {
		return slot, none, nil
	}
	if inBatch(ctx) {
		if err := sleep(ctx, wait-prepareLead); err != nil {
			return slot, none, err
		}
		return slot, none, nil
	}
	if !s.takeSleeper() {
		// Come back shortly before the slot, and not at once: a busy loop
		// of snoozes would only load the database.
		return slot, none, snooze(max(wait-prepareLead-snoozeEarly, 100*time.Millisecond))
	}
	release := func() { <-s.sleepers }
	if err := sleep(ctx, wait-prepareLead); err != nil {
		release()
		return slot, none, err
	}
	return slot, release, nil
}

// sendAt posts msg at its slot. Shortly before the slot, with the
// channel's lock held (so that in this process a 429 is known before the
// next post to the channel leaves), it books the send on the channel's
// schedule of actual sends, which also tells of a Retry-After another
// worker or process received (then it returns a retryAfterError), waits
// for the time booked, and posts.
func (s *Service) sendAt(ctx context.Context, keys []PaceKey, slot time.Time, msg Message, channelID, threadTS string) (string, error) {
	if err := sleep(ctx, slot.Add(-claimLead).Sub(s.now())); err != nil {
		return "", err
	}
	key := keys[0].Name
	mu := s.channelLock(key)
	mu.Lock()
	defer mu.Unlock()
	s.blockMu.Lock()
	until := s.blocks[key]
	s.blockMu.Unlock()
	if d := until.Sub(s.now()); d > 0 {
		return "", retryAfterError{d}
	}
	// The send is booked for its slot, not for when the booking is
	// done: the booking's round trip and a late wake-up would otherwise
	// push every later send on the channel back.
	at, blocked, err := s.pacer.Claim(ctx, keys[0], later(s.now(), slot))
	if err != nil {
		return "", err
	}
	if d := blocked.Sub(at); d > 0 {
		return "", retryAfterError{blocked.Sub(s.now())}
	}
	if err := sleep(ctx, at.Sub(s.now())); err != nil {
		return "", err
	}
	// Once it leaves, the post is not cut off by the job's deadline (or a
	// shutdown): Slack may have taken it already, and the retry that an
	// abandoned post causes would post it twice. The HTTP client bounds
	// it, and the record after it runs the same way (see record).
	if err := ctx.Err(); err != nil {
		return "", err
	}
	ts, err := msg.Post(context.WithoutCancel(ctx), channelID, threadTS)
	if d, ok := s.slack.RetryAfter(err); ok {
		s.blockMu.Lock()
		if u := s.now().Add(d); u.After(s.blocks[key]) {
			s.blocks[key] = u
		}
		s.blockMu.Unlock()
	}
	return ts, err
}

// claimLead is how long before its slot a job books its send (sendAt).
const claimLead = 25 * time.Millisecond

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// slotGrace is how late a booked slot may still be used.
const slotGrace = 5 * time.Second

// snoozeEarly is how much earlier than needed a job snoozed for a near
// slot comes back: River picks up snoozed jobs on its next poll.
const snoozeEarly = 300 * time.Millisecond

func (s *Service) takeSleeper() bool {
	select {
	case s.sleepers <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *Service) channelLock(key string) *sync.Mutex {
	s.blockMu.Lock()
	defer s.blockMu.Unlock()
	mu := s.sending[key]
	if mu == nil {
		mu = &sync.Mutex{}
		s.sending[key] = mu
	}
	return mu
}

// retryAfterError is a Retry-After heard before sending: from another
// worker, or another process through the pacer.
type retryAfterError struct{ d time.Duration }

func (e retryAfterError) Error() string { return "rate limited: retry after " + e.d.String() }

// waitFor tells how long err asks to wait before trying again.
//
// Never less than zero: a Retry-After heard from the pacer may have ended
// between the booking and the look at the clock, and river.JobSnooze
// panics on a negative duration (in a batch's goroutine, which River does
// not guard, that ended the process).
func (s *Service) waitFor(err error) (time.Duration, bool) {
	var ra retryAfterError
	if errors.As(err, &ra) {
		return max(ra.d, 0), true
	}
	d, ok := s.slack.RetryAfter(err)
	return max(d, 0), ok
}

// cardTTL is how long a rendered card is reused: an alert to many
// channels renders its card once. A change after the rendering is caught
// by refreshIfChanged.
const cardTTL = time.Second

type cardKey struct{ integrationID, issueID int64 }

type renderedCard struct {
	msg Message
	at  time.Time
	// seen is the issue's newest activity when the card was rendered.
	seen int64
}

// card renders the issue's card for a workspace, or reuses one rendered
// within cardTTL, and returns the newest activity it shows.
func (s *Service) card(ctx context.Context, integrationID, issueID int64) (Message, int64, error) {
	k := cardKey{integrationID, issueID}
	now := s.now()
	s.cardMu.Lock()
	c, ok := s.cards[k]
	if len(s.cards) > 1000 {
		for key, v := range s.cards {
			if now.Sub(v.at) > cardTTL {
				delete(s.cards, key)
			}
		}
	}
	s.cardMu.Unlock()
	if ok && now.Sub(c.at) <= cardTTL {
		return c.msg, c.seen, nil
	}
	// An alert to twenty channels starts twenty jobs at once, each missing
	// the cache: one of them renders, the others wait for its card.
	v, err, _ := s.rendering.Do(strconv.FormatInt(integrationID, 10)+":"+strconv.FormatInt(issueID, 10), func() (any, error) {
		seen, err := s.newestActivity(ctx, issueID)
		if err != nil {
			return nil, err
		}
		msg, err := s.slack.PrepareCard(ctx, integrationID, issueID)
		if err != nil {
			return nil, err
		}
		rc := renderedCard{msg, now, seen}
		s.cardMu.Lock()
		s.cards[k] = rc
		s.cardMu.Unlock()
		return rc, nil
	})
	if err != nil {
		return nil, 0, err
	}
	rc := v.(renderedCard)
	return rc.msg, rc.seen, nil
}

// newestActivity is the id of the issue's newest activity a card shows
// (store.NewestCardActivity, as the Slack rebuilds read it).
func (s *Service) newestActivity(ctx context.Context, issueID int64) (int64, error) {
	return s.store.NewestCardActivity(ctx, issueID)
}
