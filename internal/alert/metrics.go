package alert

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"triage/internal/store"
)

// Metrics count what happens to notifications. A nil *Metrics counts
// nothing.
type Metrics struct {
	notifications *prometheus.CounterVec
	failures      *prometheus.CounterVec
	window        prometheus.Histogram
	recordRetries prometheus.Counter
}

// Results of a notification attempt, the label of
// triage_alert_notifications_total.
const (
	resultPosted      = "posted"       // a new card at the top of the channel
	resultThreaded    = "threaded"     // a reply in the thread of an earlier card
	resultRateLimited = "rate_limited" // Slack answered 429: snoozed for Retry-After
	resultRetried     = "retried"      // a transient failure: River retries with backoff
	resultFailed      = "failed"       // a permanent failure: stopped, rule marked broken
	resultCancelled   = "cancelled"    // the rule was deleted before delivery
	resultEmailed     = "emailed"      // an email action's email went out
)

// BrokenRules counts the broken alert rules for the metrics.
type BrokenRules interface {
	// BrokenAlertRules counts broken rules by reason; it has no error code
	// of its own.
	BrokenAlertRules(ctx context.Context) (map[string]int64, error)
}

var _ BrokenRules = (*store.Store)(nil)

// NewMetrics registers the alert metrics on reg: two counters, and, when s
// is not nil, a gauge of broken rules by reason read from the database at
// each scrape (so it survives restarts and agrees across processes).
func NewMetrics(reg prometheus.Registerer, s BrokenRules) *Metrics {
	m := &Metrics{
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_alert_notifications_total",
			Help: "Alert notification attempts by result: posted, threaded, emailed, rate_limited, retried, failed, cancelled.",
		}, []string{"result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_alert_delivery_failures_total",
			Help: "Alert notifications that failed for good, by Slack's reason (channel_not_found, is_archived, token_revoked, …).",
		}, []string{"reason"}),
	}
	m.window = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "triage_alert_unrecorded_seconds",
		Help:    "Time between Slack accepting a message and the commit recording it: a crash inside it posts the message again.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	m.recordRetries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "triage_alert_record_retries_total",
		Help: "Records of messages Slack had accepted that failed and were tried again (the record, not the post).",
	})
	reg.MustRegister(m.notifications, m.failures, m.window, m.recordRetries)
	if s != nil {
		reg.MustRegister(&brokenCollector{store: s, desc: prometheus.NewDesc("triage_alert_rules_broken",
			"Alert rules whose Slack action is broken, by reason.", []string{"reason"}, nil)})
	}
	return m
}

func (m *Metrics) result(r string) {
	if m != nil {
		m.notifications.WithLabelValues(r).Inc()
	}
}

func (m *Metrics) unrecorded(d time.Duration) {
	if m != nil {
		m.window.Observe(d.Seconds())
	}
}

func (m *Metrics) recordRetried() {
	if m != nil {
		m.recordRetries.Inc()
	}
}

func (m *Metrics) failure(reason string) {
	if m != nil {
		m.failures.WithLabelValues(reason).Inc()
	}
}

type brokenCollector struct {
	store BrokenRules
	desc  *prometheus.Desc
}

func (c *brokenCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *brokenCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.store.BrokenAlertRules(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for reason, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), reason)
	}
}
