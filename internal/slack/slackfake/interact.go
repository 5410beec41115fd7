package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Slack's lifetimes for what an interaction hands the app.
const (
	triggerLifetime     = 3 * time.Second
	responseURLLifetime = 30 * time.Minute
	responseURLUses     = 5
)

type triggerState struct {
	created time.Time
	used    bool
}

// NewTriggerID returns a trigger id like the one in an interaction
// payload: valid for 3 s on the fake's clock, and for one dialog.open or
// views.open.
func (s *Server) NewTriggerID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("%d.%d.%s", 100000000000+s.nextSeq(), 4744562912, randomHex(16))
	s.triggers[id] = &triggerState{created: s.now()}
	return id
}

// takeTrigger consumes a trigger: "" if it was good, else "invalid",
// "exchanged" or "expired".
func (s *Server) takeTrigger(id string) string {
	t := s.triggers[id]
	switch {
	case t == nil:
		return "invalid"
	case t.used:
		return "exchanged"
	case s.now().Sub(t.created) > triggerLifetime:
		return "expired"
	}
	t.used = true
	return ""
}

func (s *Server) dialogOpen(rq *apiRequest, tok *tokenState) *result {
	if rq.params["trigger_id"] == "" {
		return errResult("missing_trigger")
	}
	d, ok := rq.params["dialog"]
	if !ok || d == "" {
		return errResult("missing_dialog")
	}
	if !json.Valid([]byte(d)) {
		return errResult("invalid_arguments")
	}
	if msgs := validateDialog(json.RawMessage(d)); len(msgs) > 0 {
		return errMessages("validation_errors", msgs)
	}
	switch s.takeTrigger(rq.params["trigger_id"]) {
	case "invalid":
		return errResult("invalid_trigger")
	case "exchanged":
		return errResult("trigger_exchanged")
	case "expired":
		return errResult("trigger_expired")
	}
	return okResult(nil)
}

// View is a modal as views.open or views.update left it.
type View struct {
	ID         string
	TeamID     string
	ExternalID string
	Hash       string
	// JSON is the view definition last sent.
	JSON    json.RawMessage
	Updates int
}

type viewState struct{ View }

// GetView returns a view by id.
func (s *Server) GetView(id string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.views[id]; v != nil {
		return v.View, true
	}
	return View{}, false
}

func (s *Server) viewResponse(v *viewState, tok *tokenState) *result {
	body := map[string]any{}
	_ = json.Unmarshal(v.JSON, &body)
	ws := s.workspaces[tok.TeamID]
	body["id"] = v.ID
	body["team_id"] = v.TeamID
	body["hash"] = v.Hash
	body["external_id"] = v.ExternalID
	body["root_view_id"] = v.ID
	body["previous_view_id"] = nil
	body["app_id"] = ws.AppID
	body["bot_id"] = ws.BotID
	body["state"] = map[string]any{"values": map[string]any{}}
	for _, k := range []string{"private_metadata", "callback_id"} {
		if _, ok := body[k]; !ok {
			body[k] = ""
		}
	}
	return okResult(map[string]any{"view": body})
}

func (s *Server) newHash() string {
	return fmt.Sprintf("%d.%s", s.now().Unix(), randomHex(4))
}

// checkView validates the view argument.
func checkView(rq *apiRequest) (json.RawMessage, *result) {
	v, ok := rq.params["view"]
	if !ok || v == "" {
		return nil, errMessages("invalid_arguments", []string{"[ERROR] missing required field: view"})
	}
	if !json.Valid([]byte(v)) {
		return nil, errMessages("invalid_arguments", []string{"[ERROR] failed to parse view as JSON"})
	}
	if msgs := validateView(json.RawMessage(v)); len(msgs) > 0 {
		return nil, errMessages("invalid_arguments", msgs)
	}
	return json.RawMessage(v), nil
}

func externalIDOf(raw json.RawMessage) string {
	var v struct {
		ExternalID string `json:"external_id"`
	}
	_ = json.Unmarshal(raw, &v)
	return v.ExternalID
}

func (s *Server) viewsOpen(rq *apiRequest, tok *tokenState) *result {
	if rq.params["trigger_id"] == "" {
		return errMessages("invalid_arguments", []string{"[ERROR] missing required field: trigger_id"})
	}
	def, bad := checkView(rq)
	if bad != nil {
		return bad
	}
	ext := externalIDOf(def)
	if ext != "" && s.viewByExternal(tok.TeamID, ext) != nil {
		return errResult("duplicate_external_id")
	}
	switch s.takeTrigger(rq.params["trigger_id"]) {
	case "invalid":
		return errResult("invalid_trigger_id")
	case "exchanged":
		return errResult("exchanged_trigger_id")
	case "expired":
		return errResult("expired_trigger_id")
	}
	v := &viewState{View{
		ID: fmt.Sprintf("V%08d%s", s.nextSeq(), strings.ToUpper(randomHex(1))), TeamID: tok.TeamID,
		ExternalID: ext, Hash: s.newHash(), JSON: def,
	}}
	s.views[v.ID] = v
	return s.viewResponse(v, tok)
}

func (s *Server) viewByExternal(team, ext string) *viewState {
	for _, v := range s.views {
		if v.TeamID == team && v.ExternalID == ext {
			return v
		}
	}
	return nil
}

func (s *Server) viewsUpdate(rq *apiRequest, tok *tokenState) *result {
	id, ext := rq.params["view_id"], rq.params["external_id"]
	if id == "" && ext == "" {
		return errMessages("invalid_arguments", []string{"[ERROR] either view_id or external_id is required"})
	}
	def, bad := checkView(rq)
	if bad != nil {
		return bad
	}
	var v *viewState
	if id != "" {
		if v = s.views[id]; v != nil && v.TeamID != tok.TeamID {
			v = nil
		}
	} else {
		v = s.viewByExternal(tok.TeamID, ext)
	}
	if v == nil {
		return errResult("not_found")
	}
	if h := rq.params["hash"]; h != "" && h != v.Hash {
		return errResult("hash_conflict")
	}
	if newExt := externalIDOf(def); newExt != "" && newExt != v.ExternalID {
		if s.viewByExternal(tok.TeamID, newExt) != nil {
			return errResult("duplicate_external_id")
		}
		v.ExternalID = newExt
	}
	v.JSON, v.Hash = def, s.newHash()
	v.Updates++
	return s.viewResponse(v, tok)
}

// Post is one POST to a response URL and the answer it got.
type Post struct {
	URL  string
	Body json.RawMessage
	Time time.Time
	// Status and Response are what the fake answered: 200 "ok", or an
	// error such as 404 "Expired url".
	Status   int
	Response string
}

type responseURLState struct {
	url, team, channel, user string
	messageTS                string
	created                  time.Time
	uses                     int
}

// NewResponseURL returns a response_url for an interaction by user in
// channel: it takes 5 posts within 30 minutes, like Slack's.
func (s *Server) NewResponseURL(team, channel, user string) string {
	return s.NewMessageResponseURL(team, channel, user, "")
}

// NewMessageResponseURL is NewResponseURL for an interaction with the
// message at messageTS, so that replace_original and delete_original act
// on it.
func (s *Server) NewMessageResponseURL(team, channel, user, messageTS string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	kind := "commands"
	if messageTS != "" {
		kind = "actions"
	}
	u := fmt.Sprintf("%s/hooks/%s/%s/%d/%s", s.httpSrv.URL, kind, team, 100000000000+s.nextSeq(), randomHex(12))
	s.responseURLs[u] = &responseURLState{url: u, team: team, channel: channel, user: user, messageTS: messageTS, created: s.now()}
	return u
}

// ResponseURLPosts returns what was posted to a response URL, oldest first.
func (s *Server) ResponseURLPosts(responseURL string) []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Post
	for _, p := range s.posts {
		if p.URL == responseURL {
			out = append(out, p)
		}
	}
	return out
}

type responsePayload struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	Attachments     json.RawMessage `json:"attachments"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal bool            `json:"replace_original"`
	DeleteOriginal  bool            `json:"delete_original"`
	ThreadTS        string          `json:"thread_ts"`
}

// ResponseURLMethod names posts to response URLs for HoldNext.
const ResponseURLMethod = "response_url"

func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		if v, err := url.ParseQuery(string(body)); err == nil && v.Get("payload") != "" {
			body = []byte(v.Get("payload"))
		}
	}
	full := s.httpSrv.URL + r.URL.Path
	if h := s.takeHold(ResponseURLMethod); h != nil {
		select {
		case <-h.release:
		case <-r.Context().Done():
			return
		}
	}

	s.mu.Lock()
	status, answer := s.respond(full, body)
	s.posts = append(s.posts, Post{URL: full, Body: body, Time: s.now(), Status: status, Response: answer})
	s.notifyLocked()
	s.mu.Unlock()

	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}

// respond applies a response URL post; s.mu is held.
func (s *Server) respond(full string, body []byte) (int, string) {
	ru := s.responseURLs[full]
	if ru == nil {
		return http.StatusNotFound, "invalid_token"
	}
	if ru.uses >= responseURLUses || s.now().Sub(ru.created) >= responseURLLifetime {
		return http.StatusNotFound, "Expired url"
	}
	var p responsePayload
	if err := json.Unmarshal(body, &p); err != nil {
		return http.StatusBadRequest, "invalid_payload"
	}
	blocks := p.Blocks != nil && string(p.Blocks) != "null"
	if blocks {
		if code, _ := validateBlocks(p.Blocks, 50); code != "" {
			return http.StatusBadRequest, code
		}
	}
	if p.Attachments != nil && string(p.Attachments) != "null" {
		if code, _ := validateAttachments(p.Attachments); code != "" {
			return http.StatusBadRequest, code
		}
	}
	if !p.DeleteOriginal && p.Text == "" && !nonEmptyArray(p.Blocks) && !nonEmptyArray(p.Attachments) {
		return http.StatusBadRequest, "no_text"
	}
	ru.uses++
	ch := s.channels[ru.channel]
	if ch == nil {
		return http.StatusOK, "ok"
	}
	ws := s.workspaces[ru.team]
	var orig *msgState
	if ru.messageTS != "" {
		orig = findMessage(ch, ru.messageTS)
	}
	switch {
	case p.DeleteOriginal && orig != nil:
		orig.deleted = true
	case p.ReplaceOriginal && orig != nil:
		orig.Text, orig.Blocks, orig.Attachments = p.Text, nilIfNull(p.Blocks), nilIfNull(p.Attachments)
		orig.Edits++
		orig.Updated = s.now()
	case p.ResponseType == "in_channel" && ws != nil:
		m := &msgState{Message: Message{
			Channel: ch.ID, TS: s.nextTS(), User: ws.BotUserID, BotID: ws.BotID, Text: p.Text,
			Blocks: nilIfNull(p.Blocks), Attachments: nilIfNull(p.Attachments), Posted: s.now(),
		}}
		s.addToChannel(ch, m, p.ThreadTS, false)
	case !p.DeleteOriginal && ws != nil:
		ch.ephemerals = append(ch.ephemerals, Message{
			Channel: ch.ID, TS: s.nextTS(), ThreadTS: p.ThreadTS, User: ws.BotUserID, Text: p.Text,
			Blocks: nilIfNull(p.Blocks), Attachments: nilIfNull(p.Attachments), Posted: s.now(), Recipient: ru.user,
		})
	}
	return http.StatusOK, "ok"
}

func nilIfNull(raw json.RawMessage) json.RawMessage {
	if raw == nil || string(raw) == "null" {
		return nil
	}
	return raw
}
