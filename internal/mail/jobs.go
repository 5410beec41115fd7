package mail

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"triage"
	"triage/internal/store"
)

// SendArgs sends one email: the message of kind Of about Ref (an invite id, a
// user id, an alert notification id), composed when the job runs, to To.
type SendArgs struct {
	Of  string `json:"kind"`
	Ref int64  `json:"ref"`
	To  string `json:"to"`
}

func (SendArgs) Kind() string { return "mail.send" }

// InsertOpts puts emails on the mail queue.
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: MaxAttempts}
}

// Queue is the River queue of emails. Its few workers (Workers) bound how
// many connections Triage opens to the mail server at once: a burst of
// alert emails queues instead of being refused for too many connections.
const Queue = "mail"

// Workers is the mail queue's size: jobs.Options{Queues: mail.Queues()}.
const Workers = 4

// MaxAttempts bounds retries of transient failures (River's backoff grows
// as attempt⁴ seconds: 10 attempts span about three hours).
const MaxAttempts = 10

// Queues are the queues the jobs client must work for email to be sent.
func Queues() map[string]int { return map[string]int{Queue: Workers} }

// Composer writes the messages of one kind of email.
type Composer interface {
	// Compose writes the message about ref to to. ENOTFOUND means there is
	// nothing to send any more (a revoked invite, a deleted rule, a
	// recipient who lost access): the job ends quietly. An error that
	// Permanent recognises stops the job; any other is retried.
	Compose(ctx context.Context, ref int64, to string) (Message, error)
	// Failed records that the message about ref will never be sent, with
	// a short reason (shown on pages; never the message).
	Failed(ctx context.Context, ref int64, to, reason string) error
	// Sent records that the message about ref went out.
	Sent(ctx context.Context, ref int64, to string) error
}

// Inserter inserts jobs in the caller's transaction; *jobs.Client is one.
type Inserter interface {
	InsertMany(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) error
}

// Mailer queues email. A nil *Mailer is email switched off: Configured is
// false and Send refuses.
type Mailer struct {
	jobs Inserter
}

// NewMailer returns a mailer that queues on jobs; jobs may be set later
// (SetJobs) when the client is built after the workers.
func NewMailer(jobs Inserter) *Mailer { return &Mailer{jobs: jobs} }

// SetJobs gives the mailer the jobs client; call it once, before serving
// (the client is built after the workers are registered).
func (m *Mailer) SetJobs(j Inserter) { m.jobs = j }

// Configured tells whether email is on (TRIAGE_SMTP_URL is set).
func (m *Mailer) Configured() bool { return m != nil }

// Send queues the email of kind about ref to to, in the caller's
// transaction: it goes out once the transaction commits.
func (m *Mailer) Send(ctx context.Context, tx *store.Tx, kind string, ref int64, to string) error {
	if m == nil {
		return triage.Errorf(triage.EUNAVAILABLE, "Email is not configured (TRIAGE_SMTP_URL).")
	}
	if m.jobs == nil {
		return fmt.Errorf("mail: no jobs client")
	}
	return m.jobs.InsertMany(ctx, tx, []river.InsertManyParams{{Args: SendArgs{Of: kind, Ref: ref, To: to}}})
}

// Worker sends the queued email.
type Worker struct {
	river.WorkerDefaults[SendArgs]
	sender    Sender
	composers map[string]Composer
	log       *slog.Logger
	metrics   *Metrics
}

// NewWorker returns the worker of mail.send jobs. sender nil (email off)
// fails every job with email_not_configured: a job queued while email was
// on, run by a process started without it.
func NewWorker(sender Sender, logger *slog.Logger, metrics *Metrics) *Worker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{sender: sender, composers: map[string]Composer{}, log: logger, metrics: metrics}
}

// Handle registers the composer of one kind of email.
func (w *Worker) Handle(kind string, c Composer) { w.composers[kind] = c }

// Register adds the worker to workers.
func (w *Worker) Register(workers *river.Workers) { river.AddWorker(workers, w) }

func (w *Worker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	a := job.Args
	c, ok := w.composers[a.Of]
	if !ok {
		w.log.Error("email of an unknown kind dropped", "kind", a.Of, "ref", a.Ref)
		w.metrics.failure("unknown_kind")
		return river.JobCancel(fmt.Errorf("no composer for email kind %q", a.Of))
	}
	if w.sender == nil {
		return w.fail(ctx, c, a, "email_not_configured", fmt.Errorf("TRIAGE_SMTP_URL is not set in this process"))
	}
	msg, err := c.Compose(ctx, a.Ref, a.To)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		w.metrics.result("dropped")
		return nil
	} else if reason, ok := Permanent(err); ok {
		return w.fail(ctx, c, a, reason, err)
	} else if err != nil {
		return w.retry(ctx, c, job, err)
	}
	msg.To = a.To
	if err := w.sender.Send(ctx, msg); err != nil {
		if reason, ok := Permanent(err); ok {
			return w.fail(ctx, c, a, reason, err)
		}
		return w.retry(ctx, c, job, err)
	}
	w.metrics.result("sent")
	w.log.Info("email sent", "kind", a.Of, "ref", a.Ref)
	if err := c.Sent(context.WithoutCancel(ctx), a.Ref, a.To); err != nil {
		// Sent, whatever the record says: retrying would send it twice.
		w.log.Error("record a sent email", "kind", a.Of, "ref", a.Ref, "err", err)
	}
	return nil
}

// retry lets River try again, unless this was the last attempt.
func (w *Worker) retry(ctx context.Context, c Composer, job *river.Job[SendArgs], err error) error {
	if job.Attempt >= job.MaxAttempts {
		return w.fail(ctx, c, job.Args, "retries_exhausted", err)
	}
	w.metrics.result("retried")
	w.log.Info("email will be retried", "kind", job.Args.Of, "ref", job.Args.Ref, "attempt", job.Attempt, "err", err)
	return fmt.Errorf("send %s email %d: %w", job.Args.Of, job.Args.Ref, err)
}

// fail stops the job for good and tells the composer, which records it.
func (w *Worker) fail(ctx context.Context, c Composer, a SendArgs, reason string, cause error) error {
	w.metrics.result("failed")
	w.metrics.failure(reason)
	w.log.Warn("email not sent", "kind", a.Of, "ref", a.Ref, "reason", reason, "err", cause)
	if err := c.Failed(context.WithoutCancel(ctx), a.Ref, a.To, reason); err != nil {
		w.log.Error("record an email failure", "kind", a.Of, "ref", a.Ref, "err", err)
	}
	return river.JobCancel(fmt.Errorf("%s email %d: %s: %w", a.Of, a.Ref, reason, cause))
}

// Metrics count what happens to emails; a nil *Metrics counts nothing.
type Metrics struct {
	results  *prometheus.CounterVec
	failures *prometheus.CounterVec
}

// NewMetrics registers triage_mail_total{result} and
// triage_mail_failures_total{reason} on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_mail_total",
			Help: "Email send attempts by result: sent, retried, failed, dropped (nothing to send any more).",
		}, []string{"result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_mail_failures_total",
			Help: "Emails that will never be sent, by reason (smtp_550, retries_exhausted, email_not_configured, …).",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.results, m.failures)
	return m
}

func (m *Metrics) result(r string) {
	if m != nil {
		m.results.WithLabelValues(r).Inc()
	}
}

func (m *Metrics) failure(reason string) {
	if m != nil {
		m.failures.WithLabelValues(reason).Inc()
	}
}
