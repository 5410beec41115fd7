package slackfake

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DefaultAppID is the app id of workspaces added without one.
const DefaultAppID = "A0TRIAGE01"

// DefaultBotScopes are the bot scopes Triage asks for; AddBotToken grants them.
func DefaultBotScopes() []string {
	return []string{
		"channels:read", "groups:read", "chat:write", "chat:write.public", "commands",
		"links:read", "links:write", "team:read", "users:read", "users:read.email", "im:write",
		"channels:history", "groups:history",
	}
}

// Workspace is a Slack team with Triage's app installed (or installable).
type Workspace struct {
	ID     string // T…
	Name   string
	Domain string // "acme" for acme.slack.com
	// IconURL is team.icon.image_132; empty means Slack's default icon.
	IconURL   string
	BotUserID string // U…, the app's bot user
	BotID     string // B…; derived from BotUserID when empty
	BotName   string // the bot user's name; "triage" when empty
	AppID     string // A…; DefaultAppID when empty
}

// User is a member of a workspace.
type User struct {
	ID       string
	TeamID   string
	Name     string
	RealName string
	Email    string
	IsBot    bool
	IsAdmin  bool
	IsOwner  bool
	Deleted  bool
}

// Channel is a conversation in a workspace. The bot's membership is
// BotMember; Members lists the people in it.
type Channel struct {
	ID         string
	TeamID     string
	Name       string
	IsPrivate  bool
	IsArchived bool
	Members    []string
	BotMember  bool
	// IsIM and User describe a direct message between the bot and User
	// (made by conversations.open or by posting to a user id).
	IsIM bool
	User string
}

type channelState struct {
	Channel
	created    time.Time
	messages   []*msgState // top level, oldest first
	ephemerals []Message
}

// AddWorkspace adds (or replaces) a workspace and its bot user.
func (s *Server) AddWorkspace(w Workspace) {
	if w.ID == "" {
		panic("slackfake: AddWorkspace needs an ID")
	}
	if w.BotUserID == "" {
		w.BotUserID = "U" + strings.TrimPrefix(w.ID, "T") + "BOT"
	}
	if w.BotID == "" {
		w.BotID = "B" + strings.TrimPrefix(w.BotUserID, "U")
	}
	if w.BotName == "" {
		w.BotName = "triage"
	}
	if w.AppID == "" {
		w.AppID = DefaultAppID
	}
	if w.Domain == "" {
		w.Domain = strings.ToLower(w.ID)
	}
	if w.Name == "" {
		w.Name = w.ID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.workspaces[w.ID] = &w
	s.users[w.BotUserID] = &User{ID: w.BotUserID, TeamID: w.ID, Name: w.BotName, RealName: w.BotName, IsBot: true}
}

// AddUser adds (or replaces) a user; its workspace must exist.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.workspaces[u.TeamID] == nil {
		panic(fmt.Sprintf("slackfake: AddUser %s: unknown workspace %q", u.ID, u.TeamID))
	}
	if u.Name == "" {
		u.Name = strings.ToLower(u.ID)
	}
	s.users[u.ID] = &u
}

// AddChannel adds (or replaces) a channel; its workspace must exist.
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.workspaces[c.TeamID] == nil {
		panic(fmt.Sprintf("slackfake: AddChannel %s: unknown workspace %q", c.ID, c.TeamID))
	}
	c.Members = slices.Clone(c.Members)
	old := s.channels[c.ID]
	st := &channelState{Channel: c, created: s.now()}
	if old != nil {
		st.created, st.messages, st.ephemerals = old.created, old.messages, old.ephemerals
	}
	s.channels[c.ID] = st
}

// UpdateChannel changes a channel in place (archive it, rename it, invite
// or remove the bot or a person), keeping its messages.
func (s *Server) UpdateChannel(id string, change func(*Channel)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[id]
	if ch == nil {
		panic(fmt.Sprintf("slackfake: UpdateChannel: unknown channel %q", id))
	}
	change(&ch.Channel)
}

// GetChannel returns a channel as the fake holds it now.
func (s *Server) GetChannel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[id]
	if ch == nil {
		return Channel{}, false
	}
	c := ch.Channel
	c.Members = slices.Clone(c.Members)
	return c, true
}

// isMember reports whether user is in ch; the bot's membership is BotMember.
func (s *Server) isMember(ch *channelState, user string) bool {
	if ch.IsIM {
		ws := s.workspaces[ch.TeamID]
		return user == ch.User || (ws != nil && user == ws.BotUserID)
	}
	if ws := s.workspaces[ch.TeamID]; ws != nil && user == ws.BotUserID {
		return ch.BotMember
	}
	return slices.Contains(ch.Members, user)
}

// imFor returns the DM channel between the bot and user, creating it.
func (s *Server) imFor(team, user string) *channelState {
	for _, ch := range s.channels {
		if ch.IsIM && ch.TeamID == team && ch.User == user {
			return ch
		}
	}
	id := "D" + strings.TrimPrefix(strings.TrimPrefix(user, "U"), "W") + strings.TrimPrefix(team, "T")
	ch := &channelState{Channel: Channel{ID: id, TeamID: team, IsIM: true, IsPrivate: true, User: user, BotMember: true}, created: s.now()}
	s.channels[id] = ch
	return ch
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// nextSeq returns a number unique within this server.
func (s *Server) nextSeq() int {
	s.seq++
	return s.seq
}

// nextTS returns a message timestamp like Slack's ("1700000000.000100"):
// from the clock, unique and increasing.
func (s *Server) nextTS() string {
	us := s.now().UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return fmt.Sprintf("%d.%06d", us/1_000_000, us%1_000_000)
}
