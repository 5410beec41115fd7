package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Socket Mode: apps.connections.open hands out a single-use WebSocket URL;
// the connection gets a hello, then envelopes the test sends; the app acks
// each by envelope_id. Events API envelopes that were not acked are sent
// again, with retry_attempt counting up, when the next connection opens,
// as Slack does; interactive and slash command envelopes are not retried
// (Slack shows the user an error instead), they stay unacked.

type wsConn struct {
	c    *websocket.Conn
	wmu  sync.Mutex
	done chan struct{}
	once sync.Once
}

func (w *wsConn) write(frame []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return w.c.WriteMessage(websocket.TextMessage, frame)
}

func (w *wsConn) stop() { w.once.Do(func() { close(w.done) }) }

type envelope struct {
	id       string
	typ      string
	payload  json.RawMessage
	accepts  bool
	attempts int       // how many times it was sent
	sentAt   time.Time // wall time of the last send
	conn     *wsConn   // where it is in flight; nil when waiting
	// abandoned: an interaction or command lost with its connection; it
	// stays unacked and is not sent again.
	abandoned bool
}

// Ack is one acknowledgement received over Socket Mode.
type Ack struct {
	EnvelopeID string
	// Type is the acked envelope's type; empty for an id the fake did not
	// send or had already seen acked (Unknown).
	Type    string
	Payload json.RawMessage // nil when the ack carried none
	// Latency is wall time from the envelope's last send to the ack.
	Latency      time.Duration
	RetryAttempt int
	Unknown      bool
	Time         time.Time // on the fake's clock
}

type socketState struct {
	tickets  map[string]bool
	conns    []*wsConn // live, oldest first
	pending  []*envelope
	acks     []Ack
	connects int
	closed   bool
	// refuse makes new connections fail (an outage); refused counts them.
	refuse  bool
	refused int
}

func (st *socketState) init() { st.tickets = map[string]bool{} }

func (st *socketState) resetRecords() {
	st.acks = nil
	st.pending = nil
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) appsConnectionsOpen(rq *apiRequest, tok *tokenState) *result {
	ticket := randomHex(16)
	s.socket.tickets[ticket] = true
	u := "ws" + strings.TrimPrefix(s.httpSrv.URL, "http") + "/socket/" + ticket + "?app_id=" + DefaultAppID
	return okResult(map[string]any{"url": u})
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.PathValue("ticket")
	s.mu.Lock()
	valid := s.socket.tickets[ticket] && !s.socket.closed
	delete(s.socket.tickets, ticket)
	refuse := valid && s.socket.refuse
	if refuse {
		s.socket.refused++
		s.notifyLocked()
	}
	s.mu.Unlock()
	if refuse {
		http.Error(w, "socket mode is unavailable", http.StatusServiceUnavailable)
		return
	}
	if !valid {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	conn := &wsConn{c: c, done: make(chan struct{})}

	s.mu.Lock()
	s.socket.conns = append(s.socket.conns, conn)
	s.socket.connects++
	hello, _ := json.Marshal(map[string]any{
		"type":            "hello",
		"num_connections": len(s.socket.conns),
		"debug_info":      map[string]any{"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": DefaultAppID},
	})
	_ = conn.write(hello)
	s.deliverWaitingLocked(conn)
	s.notifyLocked()
	s.mu.Unlock()

	go s.pinger(conn)
	s.readAcks(conn)
}

func (s *Server) pinger(conn *wsConn) {
	t := time.NewTicker(s.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-conn.done:
			return
		case <-t.C:
			conn.wmu.Lock()
			err := conn.c.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second))
			conn.wmu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

func (s *Server) readAcks(conn *wsConn) {
	defer s.dropConn(conn)
	for {
		_, data, err := conn.c.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.recordAck(ack.EnvelopeID, ack.Payload)
	}
}

func (s *Server) recordAck(id string, payload json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := Ack{EnvelopeID: id, Payload: nilIfNull(payload), Unknown: true, Time: s.now()}
	for i, e := range s.socket.pending {
		if e.id == id {
			a.Type, a.Unknown = e.typ, false
			a.Latency = time.Since(e.sentAt)
			a.RetryAttempt = e.attempts - 1
			s.socket.pending = append(s.socket.pending[:i], s.socket.pending[i+1:]...)
			break
		}
	}
	s.socket.acks = append(s.socket.acks, a)
	s.notifyLocked()
}

// dropConn forgets a dead connection and sends its in-flight events to the
// newest live one, if any.
func (s *Server) dropConn(conn *wsConn) {
	conn.stop()
	_ = conn.c.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.socket.conns {
		if c == conn {
			s.socket.conns = append(s.socket.conns[:i], s.socket.conns[i+1:]...)
			break
		}
	}
	for _, e := range s.socket.pending {
		if e.conn == conn {
			e.conn = nil
			// Slack does not retry interactions or commands.
			e.abandoned = e.typ != "events_api"
		}
	}
	if n := len(s.socket.conns); n > 0 {
		s.deliverWaitingLocked(s.socket.conns[n-1])
	}
	s.notifyLocked()
}

// deliverWaitingLocked sends every envelope not in flight to conn.
func (s *Server) deliverWaitingLocked(conn *wsConn) {
	for _, e := range s.socket.pending {
		if e.conn == nil && !e.abandoned {
			s.sendEnvelopeLocked(e, conn)
		}
	}
}

func (s *Server) sendEnvelopeLocked(e *envelope, conn *wsConn) {
	frame := map[string]any{
		"type":                     e.typ,
		"envelope_id":              e.id,
		"payload":                  e.payload,
		"accepts_response_payload": e.accepts,
	}
	if e.typ == "events_api" {
		frame["retry_attempt"] = e.attempts
		frame["retry_reason"] = ""
		if e.attempts > 0 {
			frame["retry_reason"] = "timeout"
		}
	}
	b, _ := json.Marshal(frame)
	e.attempts++
	e.sentAt = time.Now()
	e.conn = conn
	if conn.write(b) != nil {
		e.conn = nil
	}
}

func mustJSON(payload any) json.RawMessage {
	switch p := payload.(type) {
	case json.RawMessage:
		return p
	case []byte:
		return json.RawMessage(p)
	case string:
		if json.Valid([]byte(p)) {
			return json.RawMessage(p)
		}
	}
	b, err := json.Marshal(payload)
	if err != nil {
		panic(fmt.Sprintf("slackfake: payload is not JSON: %v", err))
	}
	return b
}

func (s *Server) sendEnvelope(typ string, payload json.RawMessage, accepts bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &envelope{id: fmt.Sprintf("%s-%s-%s-%s-%s", randomHex(4), randomHex(2), randomHex(2), randomHex(2), randomHex(6)),
		typ: typ, payload: payload, accepts: accepts}
	s.socket.pending = append(s.socket.pending, e)
	if n := len(s.socket.conns); n > 0 {
		s.sendEnvelopeLocked(e, s.socket.conns[n-1])
	}
	return e.id
}

// SendEventsAPI sends an events_api envelope (payload is the event
// callback: {"type":"event_callback","event":{…},…}) to the newest
// connection, or queues it until one opens. It returns the envelope id.
// payload is JSON text, json.RawMessage, []byte or anything json.Marshal
// takes; it panics if it is none of those.
func (s *Server) SendEventsAPI(payload any) string {
	return s.sendEnvelope("events_api", mustJSON(payload), false)
}

// SendInteractive sends an interactive envelope; view submissions,
// suggestions and dialog submissions accept a response payload in the ack.
func (s *Server) SendInteractive(payload any) string {
	raw := mustJSON(payload)
	var p struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(raw, &p)
	accepts := p.Type == "view_submission" || p.Type == "block_suggestion" ||
		p.Type == "dialog_suggestion" || p.Type == "dialog_submission"
	return s.sendEnvelope("interactive", raw, accepts)
}

// SendSlashCommand sends a slash_commands envelope whose payload holds the
// command's form fields as JSON strings.
func (s *Server) SendSlashCommand(form url.Values) string {
	m := map[string]string{}
	for k, v := range form {
		if len(v) > 0 {
			m[k] = v[0]
		}
	}
	return s.sendEnvelope("slash_commands", mustJSON(m), true)
}

// SendDisconnect sends a disconnect message with reason ("warning",
// "refresh_requested", "link_disabled") to every connection. Except for a
// warning, the fake closes those connections a second later, as Slack does.
func (s *Server) SendDisconnect(reason string) {
	s.mu.Lock()
	conns := append([]*wsConn(nil), s.socket.conns...)
	s.mu.Unlock()
	b, _ := json.Marshal(map[string]any{
		"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "applink-fake"},
	})
	for _, c := range conns {
		_ = c.write(b)
		if reason != "warning" {
			time.AfterFunc(time.Second, func() { s.closeConn(c) })
		}
	}
}

func (s *Server) closeConn(c *wsConn) {
	c.wmu.Lock()
	_ = c.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	_ = c.c.Close()
}

// RefuseSockets starts (true) or ends an outage: while it lasts, every
// new Socket Mode connection fails with a 503 at the WebSocket handshake.
func (s *Server) RefuseSockets(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.socket.refuse = on
}

// WaitForRefusedSockets waits until n connections have been refused in
// total (see RefuseSockets).
func (s *Server) WaitForRefusedSockets(ctx context.Context, n int) error {
	return s.waitFor(ctx, func() bool { return s.socket.refused >= n })
}

// DropConnection cuts every Socket Mode connection without a close frame,
// like a network failure.
func (s *Server) DropConnection() {
	s.mu.Lock()
	conns := append([]*wsConn(nil), s.socket.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.c.NetConn().Close()
	}
}

func (s *Server) closeSockets() {
	s.mu.Lock()
	s.socket.closed = true
	conns := append([]*wsConn(nil), s.socket.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		s.closeConn(c)
	}
}

// Acks returns the acks received, oldest first.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.socket.acks...)
}

// Unacked returns the ids of envelopes still waiting for an ack.
func (s *Server) Unacked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, e := range s.socket.pending {
		ids = append(ids, e.id)
	}
	return ids
}

// SocketConnections returns how many Socket Mode connections are open now
// and how many were ever opened.
func (s *Server) SocketConnections() (open, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.socket.conns), s.socket.connects
}

// WaitForSocketConnections waits until n connections have been opened in
// total (so a reconnect after a drop is n+1).
func (s *Server) WaitForSocketConnections(ctx context.Context, n int) error {
	return s.waitFor(ctx, func() bool { return s.socket.connects >= n })
}

// WaitForAck waits for the ack of envelopeID.
func (s *Server) WaitForAck(ctx context.Context, envelopeID string) (Ack, error) {
	var found Ack
	err := s.waitFor(ctx, func() bool {
		for _, a := range s.socket.acks {
			if a.EnvelopeID == envelopeID {
				found = a
				return true
			}
		}
		return false
	})
	return found, err
}
