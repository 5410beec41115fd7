package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
	"triage/internal/slack/message"
)

// Socket Mode envelope types Triage handles.
const (
	envelopeEvents      = "events_api"
	envelopeInteractive = "interactive"
	envelopeSlash       = "slash_commands"
)

// socketFrame is any message Slack sends over the socket.
type socketFrame struct {
	Type         string          `json:"type"`
	EnvelopeID   string          `json:"envelope_id"`
	Payload      json.RawMessage `json:"payload"`
	Accepts      bool            `json:"accepts_response_payload"`
	RetryAttempt int             `json:"retry_attempt"`
	Reason       string          `json:"reason"` // disconnect
}

// socketReply runs an envelope through the same core as the HTTP endpoint
// of its kind. There is no signature to check: the connection itself was
// opened with the app token.
func (i *Integration) socketReply(ctx context.Context, f socketFrame) reply {
	switch f.Type {
	case envelopeEvents:
		retry := ""
		if f.RetryAttempt > 0 {
			retry = strconv.Itoa(f.RetryAttempt)
		}
		return i.handleEvent(ctx, f.Payload, retry)
	case envelopeInteractive:
		if isOptionsLoad(f.Payload) {
			return i.handleOptions(ctx, f.Payload)
		}
		return i.handleAction(ctx, f.Payload)
	case envelopeSlash:
		return i.socketCommand(ctx, f.Payload)
	}
	return replyOK
}

// isOptionsLoad tells menu option loads, which HTTP sends to a URL of
// their own, from other interactions: Socket Mode sends both as
// "interactive". A legacy menu's load is an interactive_message without
// actions.
func isOptionsLoad(payload []byte) bool {
	var p struct {
		Type    string          `json:"type"`
		Actions json.RawMessage `json:"actions"`
	}
	if json.Unmarshal(payload, &p) != nil {
		return false
	}
	switch p.Type {
	case message.TypeBlockSuggestion, "dialog_suggestion":
		return true
	case message.TypeInteractiveMessage:
		return p.Actions == nil
	}
	return false
}

// socketCommand answers /triage: the payload holds the form fields the
// HTTP endpoint would have received.
func (i *Integration) socketCommand(ctx context.Context, payload []byte) reply {
	var fields map[string]any
	if err := json.Unmarshal(payload, &fields); err != nil {
		return badRequest(message.BadPayload("malformed slash command"))
	}
	form := url.Values{}
	for k, v := range fields {
		switch v := v.(type) {
		case string:
			form.Set(k, v)
		case nil:
		default:
			b, _ := json.Marshal(v)
			form.Set(k, string(b))
		}
	}
	// command takes the request only for its context.
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/extensions/slack/commands/", http.NoBody)
	if err != nil {
		return internalReply
	}
	return reply{http.StatusOK, i.slashReply(r, form)}
}

// ackPayload turns a reply into what the ack carries: its body when it is
// a 200 with one. ok is false for a server error, which HTTP would have
// answered with a 500.
func ackPayload(r reply) (payload json.RawMessage, ok bool) {
	if r.status >= http.StatusInternalServerError {
		return nil, false
	}
	if r.status != http.StatusOK || r.body == nil {
		return nil, true
	}
	b, err := json.Marshal(r.body)
	if err != nil {
		return nil, false
	}
	return b, true
}

// envelopeSeen remembers the envelopes this process handled, so that one
// redelivered after a reconnect (its ack lost with the connection) is
// acknowledged again with the same answer instead of being handled twice.
//
// Memory per process is enough: Slack redelivers interactive and slash
// command envelopes, if ever, to the connection that replaces the lost one,
// never to another process (the person sees an error instead). Events may
// reach another process; those are deduplicated on event_id in the database
// by handleEvent, which this only spares a transaction.
type envelopeSeen struct {
	mu        sync.Mutex
	m         map[string]*seenEnvelope
	lastPrune time.Time
}

// seenRetention is how long an answered envelope is remembered: Slack's
// redeliveries come within minutes.
const seenRetention = 15 * time.Minute

type seenEnvelope struct {
	done    chan struct{}
	at      time.Time // when it finished
	payload json.RawMessage
	ok      bool
}

// begin returns the envelope's record, and whether this is its first
// delivery (the caller then handles it and calls finish).
func (s *envelopeSeen) begin(id string, now time.Time) (*seenEnvelope, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*seenEnvelope{}
	}
	if now.Sub(s.lastPrune) > time.Minute {
		s.lastPrune = now
		for k, e := range s.m {
			if !e.at.IsZero() && now.Sub(e.at) > seenRetention {
				delete(s.m, k)
			}
		}
	}
	if e, ok := s.m[id]; ok {
		return e, false
	}
	e := &seenEnvelope{done: make(chan struct{})}
	s.m[id] = e
	return e, true
}

// finish records the answer. A failed envelope is forgotten, so that
// Slack's redelivery of it is handled afresh.
func (s *envelopeSeen) finish(id string, e *seenEnvelope, payload json.RawMessage, ok bool, now time.Time) {
	s.mu.Lock()
	e.payload, e.ok, e.at = payload, ok, now
	if !ok {
		delete(s.m, id)
	}
	s.mu.Unlock()
	close(e.done)
}

// result is the answer so far: an empty ack while the handler still runs.
func (s *envelopeSeen) result(e *seenEnvelope) (json.RawMessage, bool) {
	select {
	case <-e.done:
	default:
		return nil, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return e.payload, e.ok
}

// envelope handles one envelope and acknowledges it on c within
// socketAckWithin of its arrival, with the handler's answer if it is ready
// by then, else empty (the handler goes on). An events_api envelope whose
// handler failed is not acknowledged, so that Slack delivers it again, as a
// 500 does over HTTP.
func (r *socketRun) envelope(c *socketConn, f socketFrame, received time.Time) {
	defer r.handlers.Done()
	defer c.inflight.Add(-1)
	sm := r.sm
	sm.metrics.envelope(f.Type)
	e, first := sm.seen.begin(f.EnvelopeID, time.Now())
	if first {
		r.handlers.Add(1)
		go r.handle(e, f)
	} else {
		r.i.log.Info("slack socket: envelope delivered again", "envelope_type", f.Type, "retry", f.RetryAttempt)
	}
	t := time.NewTimer(socketAckWithin - time.Since(received))
	defer t.Stop()
	select {
	case <-e.done:
	case <-t.C:
		r.i.log.Warn("slack socket: acknowledged before the handler finished", "envelope_type", f.Type)
	}
	payload, ok := sm.seen.result(e)
	if !ok {
		if f.Type == envelopeEvents {
			r.i.log.Warn("slack socket: event failed, left for Slack to deliver again", "retry", f.RetryAttempt)
			return
		}
		payload = nil
	}
	if !f.Accepts && f.Type != envelopeSlash {
		payload = nil
	}
	if err := c.ack(f.EnvelopeID, payload); err != nil {
		r.i.log.Warn("slack socket: ack not sent", "envelope_type", f.Type, "err", err)
		return
	}
	sm.metrics.acked(time.Since(received))
}

// handle runs the envelope's core with its own timeout, longer than the
// ack's: work that outlives the ack still finishes.
func (r *socketRun) handle(e *seenEnvelope, f socketFrame) {
	defer r.handlers.Done()
	ctx, cancel := context.WithTimeout(r.base, socketHandlerTimeout)
	defer cancel()
	var rep reply
	func() {
		defer func() {
			if p := recover(); p != nil {
				r.i.log.Error("slack socket: handler panicked", "envelope_type", f.Type, "panic", fmt.Sprint(p))
				rep = internalReply
			}
		}()
		rep = r.i.socketReply(ctx, f)
	}()
	if rep.status != http.StatusOK {
		r.i.log.Info("slack socket: envelope refused", "envelope_type", f.Type, "status", rep.status)
	}
	payload, ok := ackPayload(rep)
	r.sm.seen.finish(f.EnvelopeID, e, payload, ok, time.Now())
}
