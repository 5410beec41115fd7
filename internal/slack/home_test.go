package slack_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"triage"
	"triage/internal/issues"
	"triage/internal/slack/slackfake"
	"triage/internal/store"
)

// The Home tab (issue 17): published on app_home_opened for a linked
// person, the link prompt for anyone else, republished (paced) when an
// issue it shows changes, with controls that act like the card's.

func homeOpened(team, user, eventID string) map[string]any {
	return map[string]any{
		"token": "x", "team_id": team, "api_app_id": "A1", "type": "event_callback", "event_id": eventID, "event_time": 1700000000,
		"event": map[string]any{"type": "app_home_opened", "user": user, "channel": "D" + user, "tab": "home", "event_ts": "1700000000.1"},
	}
}

// home waits until user's Home tab has been published n times in all and
// returns it.
func (w *world) home(user string, n int) slackfake.HomeView {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if h, ok := w.fake.GetHomeView("T1", user); ok && h.Publishes >= n {
			return h
		}
		time.Sleep(20 * time.Millisecond)
	}
	h, _ := w.fake.GetHomeView("T1", user)
	w.t.Fatalf("%s's Home tab published %d times, want %d (calls %+v)", user, h.Publishes, n, w.fake.Calls("views.publish"))
	return slackfake.HomeView{}
}

func issueBlock(is *triage.Issue) string {
	return `"block_id":"issue:` + strconv.FormatInt(is.ID, 10) + `"`
}

func (w *world) assign(by *triage.User, is *triage.Issue, to *triage.Assignee) {
	w.t.Helper()
	if _, err := w.svc.Update(w.ctx, triage.Actor{UserID: by.ID, Source: triage.SourceWeb}, is.ID, issues.Update{Assign: &issues.AssignChange{Assignee: to}}); err != nil {
		w.t.Fatal(err)
	}
}

// homeAction is a block_actions payload from a Home tab: a view
// container, no channel, no response URL.
func (w *world) homeAction(user string, act map[string]any) map[string]any {
	p := w.blockAction(user, map[string]any{"type": "view", "view_id": "VH" + user}, "", act)
	delete(p, "channel")
	delete(p, "response_url")
	p["view"] = map[string]any{"id": "VH" + user, "type": "home"}
	return p
}

func TestHomeTab(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		// The member is assigned the api issue; the web issue is assigned
		// to their team; a card of the api issue is in #alerts.
		w.assign(w.owner, w.plain, &triage.Assignee{Type: "user", ID: w.member.ID})
		w.assign(w.owner, w.issue, &triage.Assignee{Type: "team", ID: w.team.ID})
		cardTS, err := w.integ.PostCard(w.ctx, w.in.ID, "C1", "", w.plain.ID)
		if err != nil {
			t.Fatal(err)
		}
		w.settle()
		base := 0 // the changes above may have published the member's tab already
		if h, ok := w.fake.GetHomeView("T1", "U2"); ok {
			base = h.Publishes
		}
		updates := len(w.fake.Calls("chat.update"))

		if rec := w.postEvent(homeOpened("T1", "U2", "EvHome1"), 0); rec.Code != http.StatusOK {
			t.Fatalf("app_home_opened: %d %s", rec.Code, rec.Body)
		}
		h := w.home("U2", base+1)
		view := plainJSON(h.JSON)
		for _, want := range []string{`"type":"home"`, "Assigned to you or your teams", issueBlock(w.plain), issueBlock(w.issue),
			"ValueError", "TypeError", "New and regressed in the last 24 hours", "Direct messages"} {
			if !strings.Contains(view, want) {
				t.Errorf("home tab lacks %s: %s", want, view)
			}
		}
		if strings.Contains(view, "KeyError") {
			t.Errorf("another organization's issue on the home tab: %s", view)
		}
		var blocks struct{ Blocks []json.RawMessage }
		if err := json.Unmarshal(h.JSON, &blocks); err != nil || len(blocks.Blocks) > 100 {
			t.Errorf("%d blocks (%v)", len(blocks.Blocks), err)
		}

		// Resolving from the Home tab: the same action as the card's.
		block, btn := element(t, mustBlocks(t, h.JSON), "status:resolve")
		if block != "issue:"+strconv.FormatInt(w.plain.ID, 10) {
			t.Fatalf("resolve button in block %q", block)
		}
		rec := w.postAction(w.homeAction("U2", map[string]any{"action_id": btn["action_id"], "block_id": block,
			"value": btn["value"], "type": "button", "action_ts": "1700000000.2"}))
		if rec.Code != http.StatusOK {
			t.Fatalf("resolve from home: %d %s", rec.Code, rec.Body)
		}
		if got := w.reload(w.plain); got.Status != triage.StatusResolved {
			t.Fatalf("status after resolve from home: %s", got.Status)
		}
		if a := w.activities(w.plain)[0]; a.Source != triage.SourceSlack || a.User == nil || a.User.ID != w.member.ID {
			t.Errorf("activity %+v: want the member, from Slack", a)
		}
		h = w.home("U2", base+2)
		if strings.Contains(plainJSON(h.JSON), issueBlock(w.plain)) || !strings.Contains(plainJSON(h.JSON), issueBlock(w.issue)) {
			t.Errorf("home tab after resolving: %s", h.JSON)
		}
		ctx, cancel := w.wait()
		defer cancel()
		// Two cards: the one in #alerts and the DM of the assignment.
		calls, err := w.fake.WaitForCalls(ctx, "chat.update", updates+2)
		if err != nil {
			t.Fatalf("cards not updated: %v", err)
		}
		calls = calls[updates:]
		for _, c := range calls {
			if !strings.Contains(plainJSON(c.Raw["blocks"]), "Unresolve") || c.Error != "" {
				t.Errorf("card update %+v: %s", c.Params, c.Error)
			}
		}
		if calls[0].Params["ts"] != cardTS && calls[1].Params["ts"] != cardTS {
			t.Errorf("the card in #alerts (%s) was not updated: %+v", cardTS, calls)
		}

		// Someone without a link gets the prompt.
		w.postEvent(homeOpened("T1", "U3", "EvHome2"), 0)
		if v := plainJSON(w.home("U3", 1).JSON); !strings.Contains(v, prefix+"/extensions/slack/link-identity/") || strings.Contains(v, "TypeError") {
			t.Errorf("unlinked home tab: %s", v)
		}
		// A click there by someone not linked changes nothing and tells
		// them why, with the link, in their Messages tab.
		if rec := w.postAction(w.homeAction("U3", map[string]any{"action_id": "status:unresolve", "block_id": block, "value": "unresolved", "type": "button"})); rec.Code != http.StatusOK {
			t.Fatalf("unlinked click: %d", rec.Code)
		}
		if dms := w.dms("U3"); len(dms) != 1 || !strings.Contains(dms[0].Text, prefix+"/extensions/slack/link-identity/") {
			t.Errorf("unlinked click from the home tab: DMs %+v", dms)
		}
		if got := w.reload(w.plain); got.Status != triage.StatusResolved {
			t.Errorf("an unlinked click changed the issue: %s", got.Status)
		}
		// The messages tab publishes nothing.
		w.postEvent(map[string]any{"team_id": "T1", "type": "event_callback", "event_id": "EvHome3",
			"event": map[string]any{"type": "app_home_opened", "user": "U1", "tab": "messages"}}, 0)
		w.settle()
		if _, ok := w.fake.GetHomeView("T1", "U1"); ok {
			t.Error("opening the messages tab published a home view")
		}
	})
}

func mustBlocks(t *testing.T, view json.RawMessage) json.RawMessage {
	t.Helper()
	var v struct{ Blocks json.RawMessage }
	if err := json.Unmarshal(view, &v); err != nil {
		t.Fatal(err)
	}
	return v.Blocks
}

func TestHomeTabPacingAnd429(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		// A 429 on the first publish: Triage waits and publishes once more.
		w.fake.FailNextHTTP("views.publish", http.StatusTooManyRequests)
		w.postEvent(homeOpened("T1", "U2", "EvPace1"), 0)
		w.home("U2", 1)
		w.settle()
		if calls := w.fake.Calls("views.publish"); len(calls) != 2 || calls[0].Status != http.StatusTooManyRequests || calls[1].Error != "" {
			t.Fatalf("views.publish calls after a 429: %+v", calls)
		}

		// Five changes of a shown issue within one window (the clock set
		// to now, so that the window ends 1 to 4 s from now): they share
		// one republish, two if they straddle the window's end.
		w.clock.Advance(time.Since(w.clock.Now()))
		for k := range 5 {
			to := &triage.Assignee{Type: "user", ID: w.member.ID}
			if k%2 == 1 {
				to = &triage.Assignee{Type: "user", ID: w.owner.ID}
			}
			w.assign(w.owner, w.plain, to)
		}
		h := w.home("U2", 2)
		w.settle()
		mine := 0
		for _, c := range w.fake.Calls("views.publish") {
			if c.Params["user_id"] == "U2" {
				mine++
			}
		}
		if got := mine - 2; got < 1 || got > 2 {
			t.Errorf("%d republishes for five changes in one window, want 1 (2 across a window's end)", got)
		}
		h, _ = w.fake.GetHomeView("T1", "U2")
		if !strings.Contains(plainJSON(h.JSON), issueBlock(w.plain)) {
			t.Errorf("the member's home tab lacks the issue assigned to them: %s", h.JSON)
		}
	})
}

func TestHomeTabSettings(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		w.postEvent(homeOpened("T1", "U2", "EvSet1"), 0)
		h := w.home("U2", 1)
		_, btn := element(t, mustBlocks(t, h.JSON), "home:dm:assigned")
		if btn["value"] != "assigned:off" {
			t.Fatalf("assigned toggle %v: want it on by default, offering off", btn)
		}
		rec := w.postAction(w.homeAction("U2", map[string]any{"action_id": "home:dm:assigned", "block_id": "home_settings", "value": "assigned:off", "type": "button"}))
		if rec.Code != http.StatusOK {
			t.Fatalf("toggle: %d %s", rec.Code, rec.Body)
		}
		set, err := w.s.DMSettings(w.ctx, w.member.ID)
		if err != nil || set.Assigned || !set.Regressed || !set.Comments {
			t.Fatalf("settings after turning assignments off: %+v, %v", set, err)
		}
		h = w.home("U2", 2)
		if _, btn := element(t, mustBlocks(t, h.JSON), "home:dm:assigned"); btn["value"] != "assigned:on" {
			t.Errorf("assigned toggle after turning it off: %v", btn)
		}
		rec = w.postAction(w.homeAction("U2", map[string]any{"action_id": "home:projects", "block_id": "home_settings", "type": "static_select",
			"selected_option": map[string]any{"value": "project:" + strconv.FormatInt(w.web.ID, 10)}}))
		if rec.Code != http.StatusOK {
			t.Fatalf("pick project: %d %s", rec.Code, rec.Body)
		}
		if set, _ := w.s.DMSettings(w.ctx, w.member.ID); len(set.ProjectIDs) != 1 || set.ProjectIDs[0] != w.web.ID {
			t.Errorf("projects after picking web: %v", set.ProjectIDs)
		}
		// Another organization's project is refused.
		foreign := strconv.FormatInt(w.foreign.ProjectID, 10)
		rec = w.postAction(w.homeAction("U2", map[string]any{"action_id": "home:projects", "block_id": "home_settings", "type": "static_select",
			"selected_option": map[string]any{"value": "project:" + foreign}}))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("foreign project: %d", rec.Code)
		}
		if set, _ := w.s.DMSettings(w.ctx, w.member.ID); len(set.ProjectIDs) != 1 {
			t.Errorf("projects after a foreign pick: %v", set.ProjectIDs)
		}
	})
}

// dms returns the DMs Triage sent to user so far (conversations.open then
// chat.postMessage to the DM channel), after the background work settled.
// Each message's Text is the text it was posted with, what the person's
// notification said: a DM is a live card, and a later rebuild (after any
// change to the issue) replaces its fallback text with the card's.
func (w *world) dms(user string) []slackfake.Message {
	w.t.Helper()
	w.settle()
	var out []slackfake.Message
	for _, c := range w.fake.Calls("conversations.open") {
		if c.Params["users"] != user || c.Error != "" {
			continue
		}
		var resp struct{ Channel struct{ ID string } }
		_ = json.Unmarshal(c.Response, &resp)
		posted := map[string]string{}
		for _, p := range w.fake.Calls("chat.postMessage") {
			var r struct{ TS string }
			if p.Error == "" && p.Params["channel"] == resp.Channel.ID && json.Unmarshal(p.Response, &r) == nil {
				posted[r.TS] = p.Params["text"]
			}
		}
		out = w.fake.Messages(resp.Channel.ID)
		for i, m := range out {
			text, ok := posted[m.TS]
			if !ok {
				w.t.Fatalf("DM %s in %s has no chat.postMessage call that posted it", m.TS, resp.Channel.ID)
			}
			out[i].Text = text
		}
		break
	}
	return out
}

func TestDirectMessages(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		// Assigned by someone else: a DM with the card.
		w.assign(w.owner, w.plain, &triage.Assignee{Type: "user", ID: w.member.ID})
		dms := w.dms("U2")
		if len(dms) != 1 || !strings.Contains(dms[0].Text, "assigned you API-") || !strings.Contains(plainJSON(dms[0].Blocks), issueBlock(w.plain)) {
			t.Fatalf("DMs after an assignment: %+v", dms)
		}
		// Self-assigned: none.
		w.assign(w.member, w.issue, &triage.Assignee{Type: "user", ID: w.member.ID})
		if dms := w.dms("U2"); len(dms) != 1 {
			t.Errorf("a self-assignment sent a DM: %+v", dms)
		}
		// A comment by someone else on an issue assigned to them: a DM;
		// their own comment: none.
		if _, err := w.svc.Comment(w.ctx, issues.Origin{Actor: triage.Actor{UserID: w.member.ID, Source: triage.SourceWeb}}, w.plain.ID, "mine"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Comment(w.ctx, issues.Origin{Actor: triage.Actor{UserID: w.owner.ID, Source: triage.SourceWeb}}, w.plain.ID, "look"); err != nil {
			t.Fatal(err)
		}
		dms = w.dms("U2")
		if len(dms) != 2 || !strings.Contains(dms[1].Text, "commented on API-") {
			t.Fatalf("DMs after comments: %+v", dms)
		}
		// An issue they resolved regresses: a DM.
		if _, err := w.svc.Update(w.ctx, triage.Actor{UserID: w.member.ID, Source: triage.SourceWeb}, w.plain.ID,
			issues.Update{Status: &issues.StatusChange{Status: triage.StatusResolved}}); err != nil {
			t.Fatal(err)
		}
		w.regress(w.plain)
		dms = w.dms("U2")
		if len(dms) != 3 || !strings.Contains(dms[2].Text, "which you resolved, happened again") {
			t.Fatalf("DMs after a regression: %+v", dms)
		}
		// The DM is a live card: a change rebuilds it.
		before := len(w.fake.Calls("chat.update"))
		if _, err := w.svc.Update(w.ctx, triage.Actor{UserID: w.owner.ID, Source: triage.SourceWeb}, w.plain.ID,
			issues.Update{Status: &issues.StatusChange{Status: triage.StatusIgnored}}); err != nil {
			t.Fatal(err)
		}
		dms = w.dms("U2")
		updates := 0
		for _, c := range w.fake.Calls("chat.update")[before:] {
			if strings.HasPrefix(c.Params["channel"], "D") && c.Error == "" {
				updates++
			}
		}
		if updates != 3 {
			t.Errorf("%d DM cards rebuilt after ignoring, want 3", updates)
		}
		for k, m := range dms {
			if !strings.Contains(plainJSON(m.Blocks), "Stop ignoring") {
				t.Errorf("DM %d after ignoring: %s", k, m.Blocks)
			}
		}
	})
}

func TestDirectMessageSettings(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		if err := w.s.SetDMSettings(w.ctx, w.member.ID, triage.DMSettings{Assigned: false, Regressed: false, Comments: false}); err != nil {
			t.Fatal(err)
		}
		w.assign(w.owner, w.plain, &triage.Assignee{Type: "user", ID: w.member.ID})
		if _, err := w.svc.Comment(w.ctx, issues.Origin{Actor: triage.Actor{UserID: w.owner.ID, Source: triage.SourceWeb}}, w.plain.ID, "look"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Update(w.ctx, triage.Actor{UserID: w.member.ID, Source: triage.SourceWeb}, w.plain.ID,
			issues.Update{Status: &issues.StatusChange{Status: triage.StatusResolved}}); err != nil {
			t.Fatal(err)
		}
		w.regress(w.plain)
		if dms := w.dms("U2"); len(dms) != 0 {
			t.Fatalf("DMs with every kind off: %+v", dms)
		}
		// Only the web project: an api assignment stays quiet, a web one
		// arrives.
		if err := w.s.SetDMSettings(w.ctx, w.member.ID, triage.DMSettings{Assigned: true, ProjectIDs: []int64{w.web.ID}}); err != nil {
			t.Fatal(err)
		}
		w.assign(w.owner, w.plain, nil)
		w.assign(w.owner, w.plain, &triage.Assignee{Type: "user", ID: w.member.ID})
		w.assign(w.owner, w.issue, &triage.Assignee{Type: "user", ID: w.member.ID})
		dms := w.dms("U2")
		if len(dms) != 1 || !strings.Contains(dms[0].Text, "WEB-") {
			t.Fatalf("DMs with only web: %+v", dms)
		}
	})
}

// regress delivers an event to a resolved issue the way the event writer
// does: through the issue service, in the writer's transaction.
func (w *world) regress(is *triage.Issue) {
	w.t.Helper()
	cur := w.reload(is)
	err := w.s.InTx(w.ctx, func(tx *store.Tx) error {
		st := &store.IssueState{ProjectID: cur.ProjectID, Status: cur.Status, StatusDetails: cur.StatusDetails, TimesSeen: cur.TimesSeen}
		_, err := w.svc.EventsArrived(w.ctx, tx, is.ID, st, []issues.Arrival{{EventID: "0123456789abcdef0123456789abcdef"}}, time.Now())
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	if got := w.reload(is); got.Status != triage.StatusUnresolved {
		w.t.Fatalf("not regressed: %s", got.Status)
	}
}

func (w *world) command(user, text string) (string, json.RawMessage) {
	w.t.Helper()
	form := url.Values{"team_id": {"T1"}, "user_id": {user}, "channel_id": {"C1"}, "command": {"/triage"}, "text": {text},
		"response_url": {w.fake.NewResponseURL("T1", "C1", user)}}
	rec := w.signedPost("/extensions/slack/commands/", "application/x-www-form-urlencoded", form.Encode())
	var r struct {
		ResponseType string          `json:"response_type"`
		Text         string          `json:"text"`
		Blocks       json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || rec.Code != http.StatusOK || r.ResponseType != "ephemeral" {
		w.t.Fatalf("/triage %s: %d %s", text, rec.Code, rec.Body)
	}
	return r.Text, r.Blocks
}

func TestIssuesCommand(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		rows := func(blocks json.RawMessage) string {
			ids, _ := listRows(t, blocks)
			return "," + strings.Join(ids, ",") + ","
		}
		row := func(is *triage.Issue) string { return "," + strconv.FormatInt(is.ID, 10) + "," }
		text, blocks := w.command("U2", "issues")
		if r := rows(blocks); !strings.Contains(r, row(w.issue)) || !strings.Contains(r, row(w.plain)) ||
			strings.Contains(r, row(w.foreign)) || !strings.Contains(text, "2 issues match") {
			t.Errorf("/triage issues: %q %s", text, blocks)
		}
		_, blocks = w.command("U2", "issues boom")
		if r := rows(blocks); r != row(w.issue) {
			t.Errorf("/triage issues boom: %s", blocks)
		}
		// The buttons act like the card's.
		_, btn := element(t, blocks, "ignore_dialog")
		if btn["value"] != "ignore" {
			t.Errorf("ignore button %v", btn)
		}
		if text, blocks := w.command("U2", "issues level:loud"); !strings.Contains(text, `cannot search for "level:loud"`) || blocks != nil {
			t.Errorf("bad query: %q %s", text, blocks)
		}
		if text, _ := w.command("U2", "issues nothing-matches-this"); !strings.Contains(text, "No issues") {
			t.Errorf("no match: %q", text)
		}
		if text, blocks := w.command("U3", "issues"); !strings.Contains(text, prefix+"/extensions/slack/link-identity/") || blocks != nil {
			t.Errorf("unlinked: %q %s", text, blocks)
		}
		// Five at most, the most recently seen first.
		for k := range 6 {
			err := w.s.InTx(w.ctx, func(tx *store.Tx) error {
				_, err := tx.CreateIssue(w.ctx, store.NewIssue{ProjectID: w.web.ID, GroupHash: "h" + strconv.Itoa(k), Title: "Extra " + strconv.Itoa(k),
					Level: "error", SeenAt: time.Now().Add(time.Duration(k) * time.Minute)})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		text, blocks = w.command("U1", "issues Extra")
		if n := strings.Count(string(blocks), `"type":"actions"`); n != 5 || !strings.Contains(text, "5 most recently seen of 6") ||
			!strings.Contains(string(blocks), "Extra 5") || strings.Contains(string(blocks), "Extra 0") {
			t.Errorf("top five: %q, %d action blocks: %s", text, n, blocks)
		}
	})
}

func TestHomeTabOverSocketMode(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		w.runSocket(w.integ, 1)
		w.ack(w.fake.SendEventsAPI(homeOpened("T1", "U1", "EvSock1")))
		h := w.home("U1", 1)
		if v := plainJSON(h.JSON); !strings.Contains(v, "TypeError") || !strings.Contains(v, "ValueError") {
			t.Errorf("home tab over Socket Mode: %s", v)
		}
		// Resolving from the Home tab over Socket Mode: done as U1, and
		// the tab is published again without the issue.
		w.settle()
		block, btn := element(t, mustBlocks(t, h.JSON), "status:resolve")
		w.ack(w.fake.SendInteractive(w.homeAction("U1", map[string]any{"action_id": btn["action_id"], "block_id": block,
			"value": btn["value"], "type": "button", "action_ts": "1700000000.2"})))
		if got := w.reload(w.plain); got.Status != triage.StatusResolved {
			t.Fatalf("status after resolving from the home tab over Socket Mode: %s", got.Status)
		}
		if a := w.activities(w.plain)[0]; a.Source != triage.SourceSlack || a.User == nil || a.User.ID != w.owner.ID {
			t.Errorf("activity %+v: want the owner, from Slack", a)
		}
		h = w.home("U1", 2)
		if strings.Contains(plainJSON(h.JSON), issueBlock(w.plain)) {
			t.Errorf("home tab after resolving over Socket Mode: %s", h.JSON)
		}
	})
}

func TestDirectMessageWaitsOut429(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		w.fake.FailNextHTTP("chat.postMessage", http.StatusTooManyRequests)
		w.assign(w.owner, w.plain, &triage.Assignee{Type: "user", ID: w.member.ID})
		dms := w.dms("U2")
		if len(dms) != 1 || !strings.Contains(dms[0].Text, "assigned you API-") {
			t.Fatalf("DMs after a 429: %+v", dms)
		}
		posts := w.fake.Calls("chat.postMessage")
		if len(posts) != 2 || posts[0].Status != http.StatusTooManyRequests || posts[1].Error != "" {
			t.Errorf("chat.postMessage calls: %+v", posts)
		}
		if st := w.fake.RateLimitStats(); st.Unhonoured != 0 {
			t.Errorf("requests before Retry-After: %+v", st)
		}
	})
}
