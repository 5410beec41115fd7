package slackfake

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
)

// channelJSON renders ch as conversations.info and conversations.list do,
// from the point of view of the token's user.
func (s *Server) channelJSON(ch *channelState, viewer string) map[string]any {
	created := ch.created.Unix()
	if ch.IsIM {
		return map[string]any{
			"id": ch.ID, "created": created, "is_im": true, "is_org_shared": false,
			"user": ch.User, "is_user_deleted": false, "priority": 0, "is_open": true,
		}
	}
	legacyGroup := ch.IsPrivate && strings.HasPrefix(ch.ID, "G")
	members := len(ch.Members)
	if ch.BotMember {
		members++
	}
	return map[string]any{
		"id":                    ch.ID,
		"name":                  ch.Name,
		"name_normalized":       ch.Name,
		"is_channel":            !legacyGroup,
		"is_group":              legacyGroup,
		"is_im":                 false,
		"is_mpim":               false,
		"is_private":            ch.IsPrivate,
		"is_archived":           ch.IsArchived,
		"is_general":            ch.Name == "general",
		"is_shared":             false,
		"is_ext_shared":         false,
		"is_org_shared":         false,
		"is_pending_ext_shared": false,
		"is_member":             s.isMember(ch, viewer),
		"created":               created,
		"creator":               "",
		"unlinked":              0,
		"context_team_id":       ch.TeamID,
		"shared_team_ids":       []string{ch.TeamID},
		"topic":                 map[string]any{"value": "", "creator": "", "last_set": 0},
		"purpose":               map[string]any{"value": "", "creator": "", "last_set": 0},
		"previous_names":        []string{},
		"num_members":           members,
	}
}

// readScope is the scope a bot needs to read a conversation of this kind.
func readScope(ch *channelState) string {
	switch {
	case ch.IsIM:
		return "im:read"
	case ch.IsPrivate:
		return "groups:read"
	}
	return "channels:read"
}

func (s *Server) conversationsInfo(rq *apiRequest, tok *tokenState) *result {
	ch, code := s.resolveChannel(tok, rq.params["channel"], false)
	if code != "" {
		return errResult(code)
	}
	if sc := readScope(ch); !tok.hasAny(sc) {
		return missingScope(tok, sc)
	}
	return okResult(map[string]any{"channel": s.channelJSON(ch, tok.UserID)})
}

var convTypes = map[string]func(*channelState) bool{
	"public_channel":  func(c *channelState) bool { return !c.IsIM && !c.IsPrivate },
	"private_channel": func(c *channelState) bool { return !c.IsIM && c.IsPrivate },
	"im":              func(c *channelState) bool { return c.IsIM },
	"mpim":            func(c *channelState) bool { return false },
}

var typeScopes = map[string]string{
	"public_channel": "channels:read", "private_channel": "groups:read", "im": "im:read", "mpim": "mpim:read",
}

// listArgs reads conversations.list's types and limit.
func listArgs(rq *apiRequest, tok *tokenState) ([]string, int, *result) {
	types := []string{"public_channel"}
	if v := rq.params["types"]; v != "" {
		types = strings.Split(v, ",")
	}
	for i, t := range types {
		types[i] = strings.TrimSpace(t)
		if convTypes[types[i]] == nil {
			return nil, 0, errResult("invalid_types")
		}
		if sc := typeScopes[types[i]]; !tok.hasAny(sc) {
			return nil, 0, missingScope(tok, sc)
		}
	}
	limit := 100
	if v := rq.params["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			return nil, 0, errResult("invalid_limit")
		}
		if n > 0 {
			limit = n
		}
	}
	return types, limit, nil
}

// conversationsList pages over every conversation in the workspace, in id
// order, and filters each page afterwards, so, as on Slack, a page may be
// short (even empty) while next_cursor says there is more.
func (s *Server) conversationsList(rq *apiRequest, tok *tokenState) *result {
	types, limit, bad := listArgs(rq, tok)
	if bad != nil {
		return bad
	}
	var all []*channelState
	for _, ch := range s.channels {
		if ch.TeamID == tok.TeamID {
			all = append(all, ch)
		}
	}
	slices.SortFunc(all, func(a, b *channelState) int { return strings.Compare(a.ID, b.ID) })
	start := 0
	if c := rq.params["cursor"]; c != "" {
		dec, err := base64.StdEncoding.DecodeString(c)
		after, ok := strings.CutPrefix(string(dec), "team:")
		if err != nil || !ok {
			return errResult("invalid_cursor")
		}
		start = len(all)
		for i, ch := range all {
			if ch.ID >= after {
				start = i
				break
			}
		}
	}
	end := min(start+limit, len(all))
	excludeArchived := parseBool(rq.params["exclude_archived"])
	out := []any{}
	for _, ch := range all[start:end] {
		if excludeArchived && ch.IsArchived {
			continue
		}
		if ch.IsPrivate && !s.isMember(ch, tok.UserID) {
			continue
		}
		for _, t := range types {
			if convTypes[t](ch) {
				out = append(out, s.channelJSON(ch, tok.UserID))
				break
			}
		}
	}
	next := ""
	if end < len(all) {
		next = base64.StdEncoding.EncodeToString([]byte("team:" + all[end].ID))
	}
	return okResult(map[string]any{
		"channels":          out,
		"response_metadata": map[string]any{"next_cursor": next},
	})
}

func (s *Server) conversationsOpen(rq *apiRequest, tok *tokenState) *result {
	if id := rq.params["channel"]; id != "" {
		ch, code := s.resolveChannel(tok, id, false)
		if code != "" {
			return errResult(code)
		}
		return okResult(map[string]any{"no_op": true, "already_open": true, "channel": map[string]any{"id": ch.ID}})
	}
	users := strings.Split(rq.params["users"], ",")
	if rq.params["users"] == "" {
		return errResult("users_list_not_supplied")
	}
	if len(users) > 1 {
		return errResult("not_enough_users") // group DMs (mpim) are not modelled
	}
	u := s.users[strings.TrimSpace(users[0])]
	if u == nil || u.TeamID != tok.TeamID {
		return errResult("user_not_found")
	}
	if u.Deleted {
		return errResult("user_disabled")
	}
	if u.IsBot {
		return errResult("cannot_dm_bot")
	}
	existed := false
	for _, ch := range s.channels {
		existed = existed || (ch.IsIM && ch.TeamID == tok.TeamID && ch.User == u.ID)
	}
	ch := s.imFor(tok.TeamID, u.ID)
	f := map[string]any{"no_op": existed, "already_open": existed, "channel": map[string]any{"id": ch.ID}}
	if parseBool(rq.params["return_im"]) {
		f["channel"] = s.channelJSON(ch, tok.UserID)
	}
	return okResult(f)
}

func (s *Server) userJSON(u *User, withEmail bool) map[string]any {
	profile := map[string]any{
		"real_name":    u.RealName,
		"display_name": u.Name,
		"image_72":     "https://secure.gravatar.com/avatar/" + strings.ToLower(u.ID) + ".jpg?s=72",
		"team":         u.TeamID,
	}
	if withEmail && u.Email != "" {
		profile["email"] = u.Email
	}
	return map[string]any{
		"id":          u.ID,
		"team_id":     u.TeamID,
		"name":        u.Name,
		"real_name":   u.RealName,
		"deleted":     u.Deleted,
		"is_bot":      u.IsBot,
		"is_admin":    u.IsAdmin,
		"is_owner":    u.IsOwner,
		"is_app_user": false,
		"tz":          "Etc/UTC",
		"profile":     profile,
	}
}

func (s *Server) usersInfo(rq *apiRequest, tok *tokenState) *result {
	u := s.users[rq.params["user"]]
	if u == nil || u.TeamID != tok.TeamID {
		return errResult("user_not_found")
	}
	return okResult(map[string]any{"user": s.userJSON(u, tok.hasAny("users:read.email"))})
}

func (s *Server) usersLookupByEmail(rq *apiRequest, tok *tokenState) *result {
	email := rq.params["email"]
	if email == "" {
		return errResult("invalid_arguments")
	}
	for _, u := range s.users {
		if u.TeamID == tok.TeamID && !u.Deleted && strings.EqualFold(u.Email, email) {
			return okResult(map[string]any{"user": s.userJSON(u, true)})
		}
	}
	return errResult("users_not_found")
}

func (s *Server) teamInfo(rq *apiRequest, tok *tokenState) *result {
	ws := s.workspaces[tok.TeamID]
	if t := rq.params["team"]; t != "" && t != ws.ID {
		return errResult("team_not_found")
	}
	icon := map[string]any{"image_default": true}
	url := ws.IconURL
	if url == "" {
		url = "https://a.slack-edge.com/80588/img/avatars-teams/ava_0001-132.png"
	} else {
		icon["image_default"] = false
	}
	for _, size := range []string{"34", "44", "68", "88", "102", "132", "230"} {
		icon["image_"+size] = url
	}
	return okResult(map[string]any{"team": map[string]any{
		"id": ws.ID, "name": ws.Name, "domain": ws.Domain,
		"email_domain": "", "icon": icon, "url": "https://" + ws.Domain + ".slack.com/",
	}})
}
