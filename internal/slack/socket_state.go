package slack

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SocketState is what /readyz and the settings page show about Socket
// Mode. The zero value means Socket Mode is not in use.
type SocketState struct {
	// Enabled: RunSocketMode is running (or stopped for good, see Stopped).
	Enabled   bool
	Connected bool
	// Since is when Connected last changed (or when Socket Mode started).
	Since time.Time
	// Reconnects counts connections opened after the first one.
	Reconnects  int
	LastError   string
	LastErrorAt time.Time
	// Stopped: Slack will not take a connection again until an admin acts
	// (Socket Mode turned off for the app, or a bad app token); LastError
	// says which.
	Stopped bool
}

// SocketMetrics counts Socket Mode's connections and envelopes. A nil
// *SocketMetrics counts nothing.
type SocketMetrics struct {
	connections prometheus.Counter
	reconnects  prometheus.Counter
	connected   prometheus.Gauge
	envelopes   *prometheus.CounterVec
	ack         prometheus.Histogram
}

// NewSocketMetrics registers Socket Mode's metrics on reg (nil: not
// registered). Registering twice on one registry reuses the first
// collectors, so that several integrations may share them.
func NewSocketMetrics(reg prometheus.Registerer) *SocketMetrics {
	m := &SocketMetrics{
		connections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triage_slack_socket_connections_total",
			Help: "Socket Mode connections opened (hello received).",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triage_slack_socket_reconnects_total",
			Help: "Socket Mode connections opened after the first one: refreshes asked by Slack, drops and errors.",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "triage_slack_socket_connected",
			Help: "1 while a Socket Mode connection is open.",
		}),
		envelopes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_slack_socket_envelopes_total",
			Help: "Socket Mode envelopes received, by type (events_api, interactive, slash_commands), redeliveries included.",
		}, []string{"type"}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "triage_slack_socket_ack_seconds",
			Help:    "Time from receiving a Socket Mode envelope to acknowledging it; Slack wants it under 3 s.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 2.5, 3, 5},
		}),
	}
	if reg != nil {
		m.connections = registerOrReuse(reg, m.connections)
		m.reconnects = registerOrReuse(reg, m.reconnects)
		m.connected = registerOrReuse(reg, m.connected)
		m.envelopes = registerOrReuse(reg, m.envelopes)
		m.ack = registerOrReuse(reg, m.ack)
	}
	for _, t := range []string{envelopeEvents, envelopeInteractive, envelopeSlash} {
		m.envelopes.WithLabelValues(t) // show zeros before the first envelope
	}
	return m
}

func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a programming error: a name clash with another metric
	}
	return c
}

func (m *SocketMetrics) connectedNow(reconnect bool) {
	if m == nil {
		return
	}
	m.connections.Inc()
	if reconnect {
		m.reconnects.Inc()
	}
	m.connected.Set(1)
}

func (m *SocketMetrics) disconnected() {
	if m != nil {
		m.connected.Set(0)
	}
}

func (m *SocketMetrics) envelope(typ string) {
	if m != nil {
		m.envelopes.WithLabelValues(typ).Inc()
	}
}

func (m *SocketMetrics) acked(d time.Duration) {
	if m != nil {
		m.ack.Observe(d.Seconds())
	}
}

// socketMode is one Integration's Socket Mode state.
type socketMode struct {
	running atomic.Bool    // one connection loop per integration
	metrics *SocketMetrics // from Deps; nil counts nothing
	seen    envelopeSeen

	mu    sync.Mutex
	state SocketState
}

// SocketState reports Socket Mode's connection for /readyz and the
// settings page.
func (i *Integration) SocketState() SocketState {
	sm := (&i.sock)
	sm.mu.Lock()
	defer sm.mu.Unlock()
	return sm.state
}

func (sm *socketMode) update(f func(*SocketState)) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	f(&sm.state)
}
