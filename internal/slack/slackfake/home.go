package slackfake

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Home tabs (views.publish): one view per user per workspace, replaced by
// each publish. Checked as Slack checks it: a user_id of a person in the
// token's workspace (not a bot, not deactivated), a view of type home
// with only the fields a home view has, at most 100 blocks, each block
// and element valid, and a hash, when sent, that matches the view's.

// HomeView is a user's Home tab as views.publish last left it.
type HomeView struct {
	TeamID string
	UserID string
	Hash   string
	// JSON is the view definition last published.
	JSON json.RawMessage
	// Publishes counts the views.publish calls that succeeded.
	Publishes int
}

func homeKey(team, user string) string { return team + "/" + user }

// GetHomeView returns a user's published Home tab.
func (s *Server) GetHomeView(team, user string) (HomeView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.homes[homeKey(team, user)]
	if h == nil {
		return HomeView{}, false
	}
	return *h, true
}

// validateHomeView checks a home view; it returns the messages Slack puts
// under invalid_arguments.
func validateHomeView(raw json.RawMessage) []string {
	v := object(raw)
	if v == nil {
		return []string{"[ERROR] must be an object [json-pointer:/view]"}
	}
	var e blockErrs
	e.fields("/view", v, "type", "blocks", "private_metadata", "callback_id", "external_id")
	if t, _ := str(v, "type"); t != "home" {
		e.add("/view/type", "must be home")
	}
	checkString(&e, "/view/private_metadata", v, "private_metadata", 0, 3000)
	checkString(&e, "/view/callback_id", v, "callback_id", 0, 255)
	checkString(&e, "/view/external_id", v, "external_id", 0, 255)
	var blocks []json.RawMessage
	if raw, ok := v["blocks"]; !ok {
		e.add("/view/blocks", "missing required field: blocks")
	} else if json.Unmarshal(raw, &blocks) != nil {
		e.add("/view/blocks", "must be an array")
	} else {
		checkBlockList(&e, "/view/blocks", blocks, 100)
	}
	return e.msgs
}

func (s *Server) viewsPublish(rq *apiRequest, tok *tokenState) *result {
	user := rq.params["user_id"]
	if user == "" {
		return errMessages("invalid_arguments", []string{"[ERROR] missing required field: user_id"})
	}
	v, ok := rq.params["view"]
	if !ok || v == "" {
		return errMessages("invalid_arguments", []string{"[ERROR] missing required field: view"})
	}
	if !json.Valid([]byte(v)) {
		return errMessages("invalid_arguments", []string{"[ERROR] failed to parse view as JSON"})
	}
	if msgs := validateHomeView(json.RawMessage(v)); len(msgs) > 0 {
		return errMessages("invalid_arguments", msgs)
	}
	u := s.users[user]
	switch {
	case u == nil || u.TeamID != tok.TeamID || u.IsBot:
		return errResult("user_not_found")
	case u.Deleted:
		return errResult("user_disabled")
	}
	key := homeKey(tok.TeamID, user)
	h := s.homes[key]
	if hash := rq.params["hash"]; hash != "" && (h == nil || h.Hash != hash) {
		return errResult("hash_conflict")
	}
	if h == nil {
		h = &HomeView{TeamID: tok.TeamID, UserID: user}
		s.homes[key] = h
	}
	h.JSON, h.Hash = json.RawMessage(v), s.newHash()
	h.Publishes++
	s.notifyLocked()
	body := map[string]any{}
	_ = json.Unmarshal(h.JSON, &body)
	ws := s.workspaces[tok.TeamID]
	body["id"] = fmt.Sprintf("VH%s", strings.ToUpper(strings.TrimPrefix(user, "U")))
	body["team_id"], body["hash"], body["app_id"], body["bot_id"] = tok.TeamID, h.Hash, ws.AppID, ws.BotID
	body["state"] = map[string]any{"values": map[string]any{}}
	return okResult(map[string]any{"view": body})
}
