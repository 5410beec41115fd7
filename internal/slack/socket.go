package slack

// Socket Mode: Slack without a public URL. Triage opens a WebSocket to
// Slack (apps.connections.open with the app-level token, then the URL it
// returns) and receives over it what Slack would otherwise POST to the
// request URLs: events, interactions, option loads and slash commands.
// Each goes to the same core as its HTTP endpoint (socket_envelope.go);
// only the edge differs. The HTTP endpoints keep working meanwhile.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"triage/internal/slack/webapi"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

const (
	// socketAckWithin is when an envelope is acknowledged at the latest,
	// with whatever answer is ready: Slack gives up after 3 s, and a busy
	// machine needs some of the difference to send the ack.
	socketAckWithin = 2 * time.Second
	// socketHandlerTimeout bounds the work behind one envelope.
	socketHandlerTimeout = 10 * time.Second
	socketOpenTimeout    = 15 * time.Second
	// Slack pings every few seconds and so does Triage: a connection
	// silent for socketReadTimeout is dead.
	socketReadTimeout = 30 * time.Second
	socketPingEvery   = 10 * time.Second
	socketWriteWait   = 5 * time.Second
	// socketRetireWait bounds how long a replaced connection stays open
	// for the envelopes still being handled on it.
	socketRetireWait  = 5 * time.Second
	socketBackoffBase = 500 * time.Millisecond
	socketBackoffMax  = 30 * time.Second
	// socketStable is how long a connection must last for the next
	// reconnect to start again from the shortest backoff.
	socketStable   = 30 * time.Second
	socketMaxFrame = 16 << 20
)

// ErrSocketModeRunning is returned by a second RunSocketMode on the same
// integration: one connection loop per process.
var ErrSocketModeRunning = errors.New("slack socket mode is already running")

// RunSocketMode receives Slack's events, interactions and commands over
// Socket Mode with the app-level token (xapp-…) until ctx is done, then
// returns nil. It reconnects when Slack asks (refresh_requested, warning)
// before letting the old connection go, and after drops and errors with
// exponential backoff and jitter (up to 30 s). It returns an error only
// when Slack will not take a connection again without an admin acting
// (Socket Mode turned off for the app: link_disabled; a bad app token);
// the HTTP endpoints keep working then, and SocketState says why.
func (i *Integration) RunSocketMode(ctx context.Context, appToken string) error {
	sm := &i.sock
	if !sm.running.CompareAndSwap(false, true) {
		return ErrSocketModeRunning
	}
	defer sm.running.Store(false)
	sm.update(func(s *SocketState) { *s = SocketState{Enabled: true, Since: i.now()} })
	if !strings.HasPrefix(appToken, "xapp-") {
		err := errors.New("slack socket mode needs an app-level token (xapp-…)")
		r := &socketRun{i: i, sm: sm}
		r.stop(err)
		return err
	}
	r := &socketRun{i: i, sm: sm, appToken: appToken, base: context.WithoutCancel(ctx), conns: map[*socketConn]bool{}}
	defer r.shutdown()
	return r.loop(ctx)
}

// socketRun is one RunSocketMode call.
type socketRun struct {
	i        *Integration
	sm       *socketMode
	appToken string
	base     context.Context // handlers' parent: survives the run's end

	handlers sync.WaitGroup
	mu       sync.Mutex
	conns    map[*socketConn]bool // still read, including retiring ones
	opened   int
}

func (r *socketRun) loop(ctx context.Context) error {
	var retiring *socketConn
	failures := 0
	for {
		c, err := r.connect(ctx)
		if retiring != nil {
			go r.retire(retiring)
			retiring = nil
		}
		switch {
		case ctx.Err() != nil:
			if c != nil {
				r.close(c)
			}
			return nil
		case err != nil:
			if d := webapi.Decide(err); d.Permanent() {
				// A bad, revoked or wrong kind of app token: no retry helps.
				err = fmt.Errorf("slack refused the app token (%s): %w", d.Code, err)
				r.stop(err)
				return err
			}
			r.failed(err)
			wait := socketBackoff(failures)
			if ra, ok := webapi.RetryAfter(err); ok && ra > wait {
				wait = ra
			}
			failures++
			if !sleepCtx(ctx, wait) {
				return nil
			}
			continue
		}
		var end socketEnd
		select {
		case <-ctx.Done():
			r.close(c)
			return nil
		case end = <-c.end:
		}
		if end.reason != "" {
			if err := r.disconnectAsked(c, end.reason); err != nil {
				return err
			}
			retiring, failures = c, 0 // reconnect now; c finishes what it received
			continue
		}
		r.close(c)
		if time.Since(c.openedAt) > socketStable {
			failures = 0
		}
		r.failed(fmt.Errorf("connection lost: %w", end.err))
		if !sleepCtx(ctx, socketBackoff(failures)) {
			return nil
		}
		failures++
	}
}

// disconnectAsked handles Slack's disconnect message: refresh_requested
// and warning (and reasons Triage does not know) ask for a new connection;
// link_disabled means Socket Mode was turned off for the app, which only
// an admin can undo.
func (r *socketRun) disconnectAsked(c *socketConn, reason string) error {
	if reason == "link_disabled" {
		go r.retire(c)
		err := errors.New("slack turned Socket Mode off for the app (link_disabled): turn it on in the app's settings, then restart Triage")
		r.stop(err)
		return err
	}
	r.i.log.Info("slack socket: Slack asked to reconnect", "reason", reason)
	return nil
}

// socketBackoff is the wait before reconnect attempt n (from 0): doubling
// from socketBackoffBase up to socketBackoffMax, with jitter in its upper
// half so that many processes do not reconnect in step.
func socketBackoff(n int) time.Duration {
	d := socketBackoffMax
	if n < 16 {
		d = min(socketBackoffBase<<n, socketBackoffMax)
	}
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// connect opens a connection and waits for its hello.
func (r *socketRun) connect(ctx context.Context) (*socketConn, error) {
	octx, cancel := context.WithTimeout(ctx, socketOpenTimeout)
	defer cancel()
	api := slack.New("", slack.OptionAPIURL(r.i.d.Config.SlackAPIURL), slack.OptionHTTPClient(r.i.d.HTTPClient),
		slack.OptionAppLevelToken(r.appToken))
	_, wsURL, err := api.StartSocketModeContext(octx)
	if err != nil {
		return nil, fmt.Errorf("apps.connections.open: %w", err)
	}
	dialer := websocket.Dialer{HandshakeTimeout: socketOpenTimeout, Proxy: http.ProxyFromEnvironment}
	ws, resp, err := dialer.DialContext(octx, wsURL, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("open the socket: %w", err) // never the URL: it is a credential
	}
	c := &socketConn{ws: ws, openedAt: time.Now(), hello: make(chan struct{}), end: make(chan socketEnd, 1), readDone: make(chan struct{})}
	r.mu.Lock()
	r.conns[c] = true
	r.mu.Unlock()
	go r.read(c)
	go c.pinger()
	select {
	case <-c.hello:
	case end := <-c.end:
		r.close(c)
		if end.err == nil {
			end.err = fmt.Errorf("disconnect (%s) before hello", end.reason)
		}
		return nil, fmt.Errorf("socket closed before hello: %w", end.err)
	case <-octx.Done():
		r.close(c)
		return nil, fmt.Errorf("no hello from Slack: %w", octx.Err())
	}
	r.opened++
	reconnect := r.opened > 1
	r.sm.metrics.connectedNow(reconnect)
	now := r.i.now()
	r.sm.update(func(s *SocketState) {
		if reconnect {
			s.Reconnects++
		}
		if !s.Connected {
			s.Connected, s.Since = true, now
		}
	})
	r.i.log.Info("slack socket: connected", "reconnect", reconnect)
	return c, nil
}

// failed records an error while not connected.
func (r *socketRun) failed(err error) {
	r.i.log.Warn("slack socket: not connected", "err", err)
	r.sm.metrics.disconnected()
	now := r.i.now()
	r.sm.update(func(s *SocketState) {
		if s.Connected {
			s.Connected, s.Since = false, now
		}
		s.LastError, s.LastErrorAt = err.Error(), now
	})
}

// stop records why Socket Mode gave up.
func (r *socketRun) stop(err error) {
	r.i.log.Error("slack socket: stopped", "err", err)
	r.sm.metrics.disconnected()
	now := r.i.now()
	r.sm.update(func(s *SocketState) {
		s.Connected, s.Stopped, s.Since = false, true, now
		s.LastError, s.LastErrorAt = err.Error(), now
	})
}

// shutdown acknowledges what it can of the envelopes in hand (for at most
// an ack's time), closes every connection and waits for the handlers.
func (r *socketRun) shutdown() {
	r.mu.Lock()
	conns := make([]*socketConn, 0, len(r.conns))
	for c := range r.conns {
		conns = append(conns, c)
	}
	r.mu.Unlock()
	deadline := time.Now().Add(socketAckWithin + 100*time.Millisecond)
	for _, c := range conns {
		for c.inflight.Load() > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, c := range conns {
		r.close(c)
		<-c.readDone // no envelope starts after this
	}
	r.handlers.Wait()
	r.sm.metrics.disconnected()
	if st := r.i.SocketState(); !st.Stopped {
		now := r.i.now()
		r.sm.update(func(s *SocketState) { s.Enabled, s.Connected, s.Since = false, false, now })
	}
}

// retire closes a replaced connection once the envelopes it brought are
// acknowledged (or Slack closed it, or socketRetireWait passed).
func (r *socketRun) retire(c *socketConn) {
	deadline := time.Now().Add(socketRetireWait)
	for c.inflight.Load() > 0 && time.Now().Before(deadline) {
		select {
		case <-c.readDone:
			r.close(c)
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	r.close(c)
}

func (r *socketRun) close(c *socketConn) { c.close() }

// socketEnd is why a connection stopped being used: Slack's disconnect
// reason, or a read error.
type socketEnd struct {
	reason string
	err    error
}

type socketConn struct {
	ws       *websocket.Conn
	openedAt time.Time
	wmu      sync.Mutex
	hello    chan struct{}
	helloed  sync.Once
	end      chan socketEnd // the first end only
	readDone chan struct{}
	closed   sync.Once
	inflight atomic.Int64 // envelopes received here and not yet acked
}

func (c *socketConn) ended(e socketEnd) {
	select {
	case c.end <- e:
	default:
	}
}

func (c *socketConn) close() {
	c.closed.Do(func() {
		_ = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = c.ws.Close()
	})
}

// ack acknowledges an envelope, with the reply payload if any.
func (c *socketConn) ack(id string, payload json.RawMessage) error {
	b, err := json.Marshal(struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload,omitempty"`
	}{id, payload})
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(socketWriteWait))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

func (c *socketConn) pinger() {
	t := time.NewTicker(socketPingEvery)
	defer t.Stop()
	for {
		select {
		case <-c.readDone:
			return
		case <-t.C:
			if c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(socketWriteWait)) != nil {
				return
			}
		}
	}
}

// read reads frames until the connection fails or is closed, handing each
// envelope to its own goroutine so that none waits for another.
func (r *socketRun) read(c *socketConn) {
	defer func() {
		r.mu.Lock()
		delete(r.conns, c)
		r.mu.Unlock()
		close(c.readDone)
	}()
	ws := c.ws
	ws.SetReadLimit(socketMaxFrame)
	alive := func() { _ = ws.SetReadDeadline(time.Now().Add(socketReadTimeout)) }
	alive()
	ws.SetPongHandler(func(string) error { alive(); return nil })
	ws.SetPingHandler(func(data string) error {
		alive()
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(socketWriteWait))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			c.ended(socketEnd{err: err})
			return
		}
		alive()
		var f socketFrame
		if err := json.Unmarshal(data, &f); err != nil {
			r.i.log.Warn("slack socket: unreadable frame", "err", err)
			continue
		}
		switch f.Type {
		case "hello":
			c.helloed.Do(func() { close(c.hello) })
		case "disconnect":
			c.ended(socketEnd{reason: f.Reason})
		case envelopeEvents, envelopeInteractive, envelopeSlash:
			if f.EnvelopeID == "" {
				continue
			}
			c.inflight.Add(1)
			r.handlers.Add(1)
			go r.envelope(c, f, time.Now())
		default:
			if f.EnvelopeID != "" { // a type Triage does not know: acked, so not redelivered
				_ = c.ack(f.EnvelopeID, nil)
			}
		}
	}
}
