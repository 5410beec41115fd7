package slackfake

import (
	"regexp"
	"slices"
	"strconv"
)

// Thread replies as Slack delivers them to an app: a person's reply in a
// thread is a "message" event (message.channels in a public channel,
// message.groups in a private one) with thread_ts set to the parent's ts.
// Slack sends it only to an app whose bot is in the channel and whose
// install granted the history scope of the channel's kind
// (channels:history, groups:history); for anyone else the reply happens
// without a word to the app. ReplyInThread enforces both rules.

// tsPattern is the form of a message ts: seconds, a dot, six digits.
var tsPattern = regexp.MustCompile(`^[0-9]{1,12}\.[0-9]{6}$`)

// ReplyInThread posts a person's reply in the thread of the message at
// threadTS and returns its ts and the Events API body Slack would send to
// the app for it, or a nil body when Slack would send nothing (the bot is
// not in the channel, or the workspace's bot token lacks the channel
// kind's history scope). It panics on an unknown channel or parent, as a
// test that names them is wrong.
func (s *Server) ReplyInThread(channel, threadTS, user, text string) (string, map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[channel]
	if ch == nil {
		panic("slackfake: ReplyInThread: unknown channel " + channel)
	}
	parent := findMessage(ch, threadTS)
	if parent == nil {
		panic("slackfake: ReplyInThread: no message " + threadTS + " in " + channel)
	}
	if parent.parent != nil {
		parent = parent.parent
	}
	m := &msgState{Message: Message{Channel: ch.ID, TS: s.nextTS(), User: user, Text: text, Posted: s.now()}}
	m.parent, m.ThreadTS = parent, parent.TS
	parent.replies = append(parent.replies, m)
	s.notifyLocked()
	if !s.deliversHistoryLocked(ch) {
		return m.TS, nil
	}
	s.seq++
	channelType := "channel"
	if ch.IsPrivate {
		channelType = "group"
	}
	return m.TS, map[string]any{
		"token": "x", "team_id": ch.TeamID, "api_app_id": s.workspaces[ch.TeamID].AppID, "type": "event_callback",
		"event_id": "Ev" + ch.TeamID + strconv.Itoa(s.seq), "event_time": s.now().Unix(),
		"event": map[string]any{
			"type": "message", "channel": ch.ID, "channel_type": channelType, "user": user, "text": text,
			"ts": m.TS, "thread_ts": parent.TS, "event_ts": m.TS, "team": ch.TeamID,
		},
	}
}

// deliversHistoryLocked tells whether Slack sends the channel's message
// events to the app: the bot is a member and a bot token of the workspace
// holds the history scope of the channel's kind.
func (s *Server) deliversHistoryLocked(ch *channelState) bool {
	if !ch.BotMember {
		return false
	}
	scope := "channels:history"
	if ch.IsPrivate {
		scope = "groups:history"
	}
	for _, t := range s.tokens {
		if t.TeamID == ch.TeamID && (t.Kind == KindBot || t.Kind == KindWorkspace) && !t.revoked && t.forceErr == "" &&
			slices.Contains(t.Scopes, scope) {
			return true
		}
	}
	return false
}
