package slackfake

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// maxTextLen is where Slack answers msg_too_long.
const maxTextLen = 40000

// Message is a message as it stands now in a channel.
type Message struct {
	Channel string
	TS      string
	// ThreadTS is the parent's ts for a reply, empty for a top-level message.
	ThreadTS string
	// User is who posted it: the bot user for the app's messages.
	User  string
	BotID string // set on the app's messages
	Text  string
	// Blocks and Attachments are the JSON last sent for them, nil if none.
	Blocks      json.RawMessage
	Attachments json.RawMessage
	Metadata    json.RawMessage
	// Unfurls maps each URL unfurled by chat.unfurl to its unfurl JSON.
	Unfurls        map[string]json.RawMessage
	ReplyBroadcast bool
	// Edits counts chat.update calls and replace_original responses.
	Edits   int
	Posted  time.Time
	Updated time.Time
	Replies []Message // oldest first; only on top-level messages
	// Recipient is the one person who sees an ephemeral message.
	Recipient string
}

type msgState struct {
	Message
	parent  *msgState
	replies []*msgState
	deleted bool
}

func (m *msgState) snapshot() Message {
	out := m.Message
	out.Unfurls = maps.Clone(m.Unfurls)
	out.Replies = nil
	for _, r := range m.replies {
		if !r.deleted {
			out.Replies = append(out.Replies, r.snapshot())
		}
	}
	return out
}

// Messages returns the channel's messages, oldest first, with their
// replies.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[channel]
	if ch == nil {
		return nil
	}
	var out []Message
	for _, m := range ch.messages {
		if !m.deleted {
			out = append(out, m.snapshot())
		}
	}
	return out
}

// GetMessage returns one message (top level or reply) by ts.
func (s *Server) GetMessage(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[channel]
	if ch == nil {
		return Message{}, false
	}
	m := findMessage(ch, ts)
	if m == nil {
		return Message{}, false
	}
	return m.snapshot(), true
}

// Ephemerals returns the ephemeral messages sent in channel, oldest first.
func (s *Server) Ephemerals(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[channel]
	if ch == nil {
		return nil
	}
	return append([]Message(nil), ch.ephemerals...)
}

// PostUserMessage adds a message written by a person (one that shares a
// link, say) and returns its ts, for chat.unfurl and thread tests.
func (s *Server) PostUserMessage(channel, user, text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[channel]
	if ch == nil {
		panic("slackfake: PostUserMessage: unknown channel " + channel)
	}
	m := &msgState{Message: Message{Channel: ch.ID, TS: s.nextTS(), User: user, Text: text, Posted: s.now()}}
	ch.messages = append(ch.messages, m)
	s.notifyLocked()
	return m.TS
}

func findMessage(ch *channelState, ts string) *msgState {
	for _, m := range ch.messages {
		if m.TS == ts && !m.deleted {
			return m
		}
		for _, r := range m.replies {
			if r.TS == ts && !r.deleted {
				return r
			}
		}
	}
	return nil
}

// resolveChannel finds the conversation named by a channel argument as the
// token sees it: an id or, when loose (the posting methods), also a #name,
// a name or a user id (their DM with the bot). It answers
// channel_not_found for what the token cannot see.
func (s *Server) resolveChannel(tok *tokenState, arg string, loose bool) (*channelState, string) {
	if arg == "" {
		return nil, "channel_not_found"
	}
	var ch *channelState
	if u := s.users[arg]; loose && u != nil && u.TeamID == tok.TeamID && (arg[0] == 'U' || arg[0] == 'W') {
		if u.Deleted {
			return nil, "user_not_found"
		}
		ch = s.imFor(tok.TeamID, u.ID)
	} else if c := s.channels[arg]; c != nil && c.TeamID == tok.TeamID {
		ch = c
	} else if loose {
		name := strings.TrimPrefix(arg, "#")
		for _, c := range s.channels {
			if c.TeamID == tok.TeamID && !c.IsIM && c.Name == name {
				ch = c
				break
			}
		}
	}
	if ch == nil || (ch.IsPrivate && !s.isMember(ch, tok.UserID)) {
		return nil, "channel_not_found"
	}
	return ch, ""
}

// postable checks that the token may write to ch.
func (s *Server) postable(tok *tokenState, ch *channelState) string {
	if ch.IsArchived {
		return "is_archived"
	}
	if !s.isMember(ch, tok.UserID) && (tok.Kind == KindUser || !tok.hasAny("chat:write.public")) {
		return "not_in_channel"
	}
	return ""
}

// content is the validated body of a message.
type content struct {
	text        string
	blocks      json.RawMessage
	attachments json.RawMessage
	hasText     bool
	hasBlocks   bool
	hasAttach   bool
}

// messageContent validates text, blocks and attachments the way
// chat.postMessage and chat.update do.
func messageContent(rq *apiRequest) (content, *result) {
	c := content{text: rq.params["text"], hasText: rq.has("text")}
	if v, ok := rq.params["blocks"]; ok && v != "" {
		code, msgs := validateBlocks(json.RawMessage(v), 50)
		if code != "" {
			return c, errMessages(code, msgs)
		}
		c.blocks, c.hasBlocks = rq.raw["blocks"], true
	}
	if v, ok := rq.params["attachments"]; ok && v != "" {
		if code, msgs := validateAttachments(json.RawMessage(v)); code != "" {
			return c, errMessages(code, msgs)
		}
		c.attachments, c.hasAttach = rq.raw["attachments"], true
	}
	if c.text == "" && !nonEmptyArray(c.blocks) && !nonEmptyArray(c.attachments) {
		return c, errResult("no_text")
	}
	if utf8.RuneCountInString(c.text) > maxTextLen {
		return c, errResult("msg_too_long")
	}
	return c, nil
}

func (s *Server) botMessageJSON(tok *tokenState, m *Message) map[string]any {
	ws := s.workspaces[tok.TeamID]
	out := map[string]any{
		"type": "message",
		"text": m.Text,
		"ts":   m.TS,
		"user": m.User,
		"team": tok.TeamID,
	}
	if m.BotID != "" {
		out["bot_id"] = m.BotID
		out["app_id"] = ws.AppID
	}
	if m.Blocks != nil {
		out["blocks"] = m.Blocks
	}
	if m.Attachments != nil {
		out["attachments"] = m.Attachments
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	return out
}

func (s *Server) chatPostMessage(rq *apiRequest, tok *tokenState) *result {
	ch, code := s.resolveChannel(tok, rq.params["channel"], true)
	if code != "" {
		return errResult(code)
	}
	if r := s.postLimits(tok.TeamID, ch.ID); r != nil {
		return r
	}
	if code := s.postable(tok, ch); code != "" {
		return errResult(code)
	}
	if th := rq.params["thread_ts"]; th != "" && !tsPattern.MatchString(th) {
		return errResult("invalid_thread_ts") // not a message ts at all
	}
	c, bad := messageContent(rq)
	if bad != nil {
		return bad
	}
	m := &msgState{Message: Message{
		Channel: ch.ID, TS: s.nextTS(), User: tok.UserID, Text: c.text,
		Blocks: c.blocks, Attachments: c.attachments, Metadata: rq.raw["metadata"],
		Posted: s.now(),
	}}
	if tok.Kind != KindUser {
		m.BotID = s.workspaces[tok.TeamID].BotID
	}
	s.addToChannel(ch, m, rq.params["thread_ts"], parseBool(rq.params["reply_broadcast"]))
	return okResult(map[string]any{"channel": ch.ID, "ts": m.TS, "message": s.botMessageJSON(tok, &m.Message)})
}

// addToChannel stores m, as a reply when threadTS names a message in ch
// (a reply's ts threads under its parent, as on Slack); an unknown
// threadTS posts to the channel.
func (s *Server) addToChannel(ch *channelState, m *msgState, threadTS string, broadcast bool) {
	if threadTS != "" {
		if parent := findMessage(ch, threadTS); parent != nil {
			if parent.parent != nil {
				parent = parent.parent
			}
			m.parent, m.ThreadTS, m.ReplyBroadcast = parent, parent.TS, broadcast
			parent.replies = append(parent.replies, m)
			return
		}
	}
	ch.messages = append(ch.messages, m)
}

func (s *Server) chatPostEphemeral(rq *apiRequest, tok *tokenState) *result {
	ch, code := s.resolveChannel(tok, rq.params["channel"], true)
	if code != "" {
		return errResult(code)
	}
	if code := s.postable(tok, ch); code != "" {
		return errResult(code)
	}
	user := rq.params["user"]
	if user == "" {
		return errResult("user_not_in_channel")
	}
	if u := s.users[user]; u == nil || u.TeamID != tok.TeamID || u.Deleted || !s.isMember(ch, user) {
		return errResult("user_not_in_channel")
	}
	c, bad := messageContent(rq)
	if bad != nil {
		return bad
	}
	ts := s.nextTS()
	ch.ephemerals = append(ch.ephemerals, Message{
		Channel: ch.ID, TS: ts, ThreadTS: rq.params["thread_ts"], User: tok.UserID,
		Text: c.text, Blocks: c.blocks, Attachments: c.attachments, Posted: s.now(), Recipient: user,
	})
	return okResult(map[string]any{"message_ts": ts})
}

func (s *Server) chatUpdate(rq *apiRequest, tok *tokenState) *result {
	ch, code := s.resolveChannel(tok, rq.params["channel"], false)
	if code != "" {
		return errResult(code)
	}
	m := findMessage(ch, rq.params["ts"])
	if m == nil {
		return errResult("message_not_found")
	}
	if m.User != tok.UserID {
		return errResult("cant_update_message")
	}
	if ch.IsArchived {
		return errResult("is_archived")
	}
	c, bad := messageContent(rq)
	if bad != nil {
		return bad
	}
	if c.hasText {
		m.Text = c.text
	}
	if c.hasBlocks || rq.has("blocks") {
		m.Blocks = c.blocks
	}
	if c.hasAttach || rq.has("attachments") {
		m.Attachments = c.attachments
	}
	m.Edits++
	m.Updated = s.now()
	return okResult(map[string]any{
		"channel": ch.ID, "ts": m.TS, "text": m.Text,
		"message": s.botMessageJSON(tok, &m.Message),
	})
}

type unfurlIDState struct {
	team, channel, user string
	urls                []string
	unfurls             map[string]json.RawMessage
}

// NewUnfurlID registers links shared in the message composer (a
// link_shared event with source "composer") and returns the unfurl_id
// Slack would put in the event.
func (s *Server) NewUnfurlID(team, channel, user string, urls ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := user + "-" + randomHex(4) + "-" + randomHex(2) + "-" + randomHex(2) + "-" + randomHex(6)
	s.unfurlIDs[id] = &unfurlIDState{team: team, channel: channel, user: user, urls: urls}
	return id
}

// UnfurlsByID returns what chat.unfurl sent for an unfurl_id.
func (s *Server) UnfurlsByID(id string) map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.unfurlIDs[id]; u != nil {
		return maps.Clone(u.unfurls)
	}
	return nil
}

func (s *Server) chatUnfurl(rq *apiRequest, tok *tokenState) *result {
	var target *msgState
	var byID *unfurlIDState
	if rq.has("unfurl_id") || rq.has("source") {
		switch {
		case rq.params["unfurl_id"] == "":
			return errResult("missing_unfurl_id")
		case rq.params["source"] == "":
			return errResult("missing_source")
		case rq.params["source"] != "composer" && rq.params["source"] != "conversations_history":
			return errResult("invalid_source")
		}
		byID = s.unfurlIDs[rq.params["unfurl_id"]]
		if byID == nil || byID.team != tok.TeamID {
			return errResult("invalid_unfurl_id")
		}
	} else {
		switch {
		case rq.params["channel"] == "":
			return errResult("missing_channel")
		case rq.params["ts"] == "":
			return errResult("missing_ts")
		}
		ch, code := s.resolveChannel(tok, rq.params["channel"], false)
		if code != "" {
			return errResult("cannot_find_channel")
		}
		if target = findMessage(ch, rq.params["ts"]); target == nil {
			return errResult("cannot_find_message")
		}
	}
	unfurls, bad := parseUnfurls(rq)
	if bad != nil {
		return bad
	}
	for u := range unfurls {
		shared := false
		if byID != nil {
			for _, v := range byID.urls {
				shared = shared || v == u
			}
		} else {
			shared = slices.Contains(linksIn(target.Text), u)
		}
		if !shared {
			return errResult("cannot_unfurl_url")
		}
	}
	if byID != nil {
		byID.unfurls = mergeUnfurls(byID.unfurls, unfurls)
	} else {
		target.Unfurls = mergeUnfurls(target.Unfurls, unfurls)
	}
	return okResult(nil)
}

// linksIn returns the links of a message's text as Slack sees them: the
// target of each <url> or <url|label>, and bare http(s) words. chat.unfurl
// may unfurl only these, each exactly as written.
func linksIn(text string) []string {
	var out []string
	rest := text
	for {
		open := strings.IndexByte(rest, '<')
		if open < 0 {
			break
		}
		end := strings.IndexByte(rest[open:], '>')
		if end < 0 {
			break
		}
		target, _, _ := strings.Cut(rest[open+1:open+end], "|")
		if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
			out = append(out, target)
		}
		rest = rest[:open] + " " + rest[open+end+1:]
	}
	for _, w := range strings.Fields(rest) {
		if strings.HasPrefix(w, "http://") || strings.HasPrefix(w, "https://") {
			out = append(out, w)
		}
	}
	return out
}

func mergeUnfurls(dst, src map[string]json.RawMessage) map[string]json.RawMessage {
	if dst == nil {
		dst = map[string]json.RawMessage{}
	}
	maps.Copy(dst, src)
	return dst
}

// parseUnfurls validates the unfurls argument: a JSON object from URL to
// an attachment or {"blocks": […]}.
func parseUnfurls(rq *apiRequest) (map[string]json.RawMessage, *result) {
	v, ok := rq.params["unfurls"]
	if !ok || v == "" {
		return nil, errResult("missing_unfurls")
	}
	var unfurls map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &unfurls); err != nil || len(unfurls) == 0 {
		return nil, errResult("invalid_unfurls_format")
	}
	urls := make([]string, 0, len(unfurls))
	for u := range unfurls {
		urls = append(urls, u)
	}
	slices.Sort(urls)
	var e blockErrs
	for _, u := range urls {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(unfurls[u], &one); err != nil || one == nil {
			return nil, errResult("invalid_unfurls_format")
		}
		// Each unfurl is an attachment (blocks inside one, or the legacy
		// fields), checked like a message's attachments.
		checkAttachment(&e, "/unfurls/"+u, unfurls[u])
	}
	if len(e.msgs) > 0 {
		return nil, errMessages("invalid_unfurls", e.msgs)
	}
	return unfurls, nil
}
