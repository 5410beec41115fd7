package alert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"triage"
	"triage/internal/store"
)

// DeliverArgs delivers the notifications one evaluation recorded (an
// alert to several channels): one job instead of one per notification,
// because on PostgreSQL River's insert, fetch and completion of a job
// (three writes of its row through all of river_job's indexes) cost the
// database as much as the delivery itself. Each notification is still
// delivered as a NotifyArgs job would (its row is the ledger), all at
// once; one that does not end in the batch (it waits for its card, for a
// far slot or a Retry-After, or failed and will be retried) goes on in a
// NotifyArgs job of its own.
type DeliverArgs struct {
	NotificationIDs []int64 `json:"notification_ids"`
}

func (DeliverArgs) Kind() string { return "alert.deliver" }

// InsertOpts puts batches on the alert queue.
func (DeliverArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// notifyJobs are the jobs that deliver ids: one NotifyArgs job for a
// single notification, a DeliverArgs batch for several.
func (s *Service) notifyJobs(ids []int64) []river.InsertManyParams {
	switch len(ids) {
	case 0:
		return nil
	case 1:
		return []river.InsertManyParams{{Args: NotifyArgs{NotificationID: ids[0]},
			InsertOpts: &river.InsertOpts{MaxAttempts: s.opts.MaxAttempts}}}
	}
	return []river.InsertManyParams{{Args: DeliverArgs{NotificationIDs: ids},
		InsertOpts: &river.InsertOpts{MaxAttempts: s.opts.MaxAttempts}}}
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	s *Service
}

type batchKey struct{}

// inBatch tells whether ctx is a notification's delivery within a batch.
func inBatch(ctx context.Context) bool { return ctx.Value(batchKey{}) != nil }

// Work delivers the batch's notifications concurrently, then hands each
// one that did not end to a NotifyArgs job.
//
// Nothing is delivered by two jobs at once: the batch hands a
// notification off only after its own attempt at it returned, and a
// batch that runs again (a crash, a shutdown, or a hand-off that could not
// be written) delivers nothing itself: it hands every notification off,
// as a job unique while pending, so that one handed off before is not
// handed off twice. A handed-off notification already delivered finds
// its row so and stops.
func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	s := w.s
	ids := job.Args.NotificationIDs
	if job.Attempt > 1 {
		later := make([]handOff, len(ids))
		for i, id := range ids {
			later[i] = handOff{id: id}
		}
		return s.handOff(ctx, later)
	}
	ds, err := s.store.AlertDeliveries(ctx, ids)
	if err != nil {
		return err // nothing was sent: the batch runs again, and hands off
	}
	booked, err := s.bookBatch(ctx, ds)
	if err != nil {
		return err
	}
	bctx := context.WithValue(ctx, batchKey{}, true)
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		d := ds[id]
		if d == nil {
			continue // its issue or workspace was deleted
		}
		wg.Go(func() {
			// River turns a job's panic into a failed attempt; this
			// goroutine is the batch's own, so it does the same, or one
			// notification's panic would end the process.
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("notification %d panicked: %v", id, p)
				}
			}()
			one := &river.Job[NotifyArgs]{Args: NotifyArgs{NotificationID: id}, JobRow: &rivertype.JobRow{
				ID: job.ID, Attempt: 1, MaxAttempts: job.MaxAttempts, Kind: NotifyArgs{}.Kind(), Queue: job.Queue,
				CreatedAt: job.CreatedAt, ScheduledAt: job.ScheduledAt}}
			errs[i] = s.deliverRead(bctx, one, d, booked[id])
		})
	}
	wg.Wait()
	var later []handOff
	for i, err := range errs {
		var snooze *rivertype.JobSnoozeError
		var cancel *rivertype.JobCancelError
		switch {
		case err == nil, errors.As(err, &cancel):
			// Delivered, or ended for good (recorded and counted).
		case errors.As(err, &snooze):
			later = append(later, handOff{id: ids[i], after: snooze.Duration, attempts: s.opts.MaxAttempts})
		default:
			// A transient failure, logged by failed: retried as River
			// would retry it (about a second), its attempt spent.
			later = append(later, handOff{id: ids[i], after: time.Second, attempts: max(job.MaxAttempts-1, 1)})
		}
	}
	return s.handOff(ctx, later)
}

// handOff is a notification of a batch that goes on in a job of its own.
type handOff struct {
	id       int64
	after    time.Duration
	attempts int
}

// handOff queues a NotifyArgs job for each notification, unique while
// pending. The batch's own context may be ending (a shutdown): the insert
// does not depend on it, and if it fails the batch runs again and hands
// every notification off.
func (s *Service) handOff(ctx context.Context, later []handOff) error {
	if len(later) == 0 {
		return nil
	}
	now := time.Now()
	params := make([]river.InsertManyParams, len(later))
	for i, h := range later {
		opts := &river.InsertOpts{MaxAttempts: h.attempts, UniqueOpts: uniqueWhilePending}
		if h.attempts <= 0 {
			opts.MaxAttempts = s.opts.MaxAttempts
		}
		if h.after > 0 {
			opts.ScheduledAt = now.Add(h.after)
		}
		params[i] = river.InsertManyParams{Args: NotifyArgs{NotificationID: h.id}, InsertOpts: opts}
	}
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.RecordTimeout)
	defer cancel()
	err := s.store.InTx(ictx, func(tx *store.Tx) error { return s.jobs.InsertMany(ictx, tx, params) })
	if err != nil {
		return fmt.Errorf("hand %d notifications of a batch to jobs of their own: %w", len(later), err)
	}
	return nil
}

// eachReserver books one slot on each of several keys at once.
type eachReserver interface {
	ReserveEach(ctx context.Context, keys []PaceKey, now time.Time) (map[string]time.Time, error)
}

// bookBatch books, in one statement on PostgreSQL, the send slots of the
// batch's notifications that will post at once (pending, to a channel of
// their own in the batch, with no wait for a card and no slot booked
// before), by notification id. The others book their own, as a
// NotifyArgs job does.
func (s *Service) bookBatch(ctx context.Context, ds map[int64]*store.AlertDelivery) (map[int64]time.Time, error) {
	p, ok := s.pacer.(eachReserver)
	if !ok || s.slack == nil {
		return nil, nil
	}
	now := s.now()
	byKey := map[string]int64{}
	var keys []PaceKey
	for id, d := range ds {
		n := d.Notification
		switch {
		case n.Status != triage.NotificationPending, !d.Attached,
			d.Rule == nil && !strings.HasPrefix(n.Cause, CauseTeamAssigned),
			d.CardHolder != n.ID && d.CardTS == "",
			!n.ReservedAt.IsZero() && !n.ReservedAt.Before(now.Add(-slotGrace)):
			continue
		}
		ks := s.paceKeys(n.IntegrationID, n.ChannelID)
		if len(ks) != 1 {
			continue
		}
		if _, dup := byKey[ks[0].Name]; dup {
			continue
		}
		byKey[ks[0].Name] = id
		keys = append(keys, ks[0])
	}
	if len(keys) < 2 {
		return nil, nil
	}
	slots, err := p.ReserveEach(ctx, keys, now)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]time.Time, len(slots))
	for key, slot := range slots {
		out[byKey[key]] = slot
	}
	return out, nil
}
