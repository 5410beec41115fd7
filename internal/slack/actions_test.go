package slack_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"triage"
	"triage/internal/issues"
)

// TestUnfurlThenActBlockKit: a shared issue link is unfurled with the
// card; its Resolve (modal), Unresolve, Ignore (modal) and Assign controls
// change the issue as the linked person, and each change rebuilds the
// unfurl with who did what.
func TestUnfurlThenActBlockKit(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		link := w.issueURL(w.issue)
		ts := w.fake.PostUserMessage("C1", "U2", "look at <"+link+">")
		if rec := w.postEvent(linkShared("T1", "Ev1", "C1", ts, link), 0); rec.Code != http.StatusOK {
			t.Fatalf("link_shared: %d %s", rec.Code, rec.Body)
		}
		u, blocks := w.unfurlBlocks(1)
		if u != link || !strings.Contains(plainJSON(blocks), "TypeError") {
			t.Fatalf("unfurl %q: %s", u, blocks)
		}
		if m, _ := w.fake.GetMessage("C1", ts); m.Unfurls[link] == nil {
			t.Error("the message carries no unfurl")
		}
		container := map[string]any{"type": "message_attachment", "message_ts": ts, "attachment_id": 1, "channel_id": "C1",
			"is_ephemeral": false, "is_app_unfurl": true, "app_unfurl_url": link}
		ru := w.fake.NewMessageResponseURL("T1", "C1", "U1", ts)
		click := func(blocks json.RawMessage, actionID string, pick func(el map[string]any) map[string]any) map[string]any {
			blockID, el := element(t, blocks, actionID)
			act := map[string]any{"action_id": actionID, "block_id": blockID, "type": el["type"], "action_ts": "1"}
			if v, ok := el["value"]; ok {
				act["value"] = v
			}
			if pick != nil {
				for k, v := range pick(el) {
					act[k] = v
				}
			}
			return w.blockAction("U1", container, ru, act)
		}
		submit := func(callback, input, value string) {
			t.Helper()
			ctx, cancel := w.wait()
			defer cancel()
			calls, _ := w.fake.WaitForCalls(ctx, "views.open", 1)
			c := calls[len(calls)-1]
			if c.Error != "" {
				t.Fatalf("views.open: %s", c.Error)
			}
			var view struct {
				CallbackID      string `json:"callback_id"`
				PrivateMetadata string `json:"private_metadata"`
			}
			if err := c.Decode("view", &view); err != nil || view.CallbackID != callback {
				t.Fatalf("view = %+v, %v", view, err)
			}
			var meta map[string]any
			_ = json.Unmarshal([]byte(view.PrivateMetadata), &meta)
			if meta["ts"] != ts || meta["unfurl_url"] != link || meta["issue"] != float64(w.issue.ID) {
				t.Errorf("private_metadata = %s", view.PrivateMetadata)
			}
			rec := w.postAction(map[string]any{
				"type": "view_submission", "team": map[string]any{"id": "T1"}, "user": map[string]any{"id": "U1", "team_id": "T1"},
				"view": map[string]any{"id": "V1", "callback_id": view.CallbackID, "private_metadata": view.PrivateMetadata,
					"state": map[string]any{"values": map[string]any{input: map[string]any{input: map[string]any{
						"type": "static_select", "selected_option": map[string]any{"value": value}}}}}},
			})
			if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
				t.Fatalf("view_submission: %d %s", rec.Code, rec.Body)
			}
		}

		// Resolve opens a modal (the project has releases); submitting it
		// resolves in the next release.
		if rec := w.postAction(click(blocks, "resolve_dialog", nil)); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
			t.Fatalf("resolve click: %d %s", rec.Code, rec.Body)
		}
		if is := w.reload(w.issue); is.Status != triage.StatusUnresolved {
			t.Fatal("opening the modal changed the issue")
		}
		submit("resolve", "resolve_type", "resolved:inNextRelease")
		is := w.reload(w.issue)
		if is.Status != triage.StatusResolved || !is.StatusDetails.InNextRelease {
			t.Fatalf("after resolve: %s %+v", is.Status, is.StatusDetails)
		}
		acts := w.activities(w.issue)
		if acts[0].Type != triage.ActivitySetResolvedInRel || acts[0].Source != triage.SourceSlack || acts[0].Data["slackUser"] != "U1" || acts[0].User.ID != w.owner.ID {
			t.Errorf("activity = %+v", acts[0])
		}
		_, blocks = w.unfurlBlocks(2)
		if !strings.Contains(plainJSON(blocks), "*Resolved by <@U1>*") || !strings.Contains(plainJSON(blocks), `"status:unresolve"`) {
			t.Fatalf("rebuilt unfurl: %s", blocks)
		}

		// Unresolve is a plain button.
		w.postAction(click(blocks, "status:unresolve", nil))
		_, blocks = w.unfurlBlocks(3)
		if is := w.reload(w.issue); is.Status != triage.StatusUnresolved || !strings.Contains(plainJSON(blocks), "*Reopened by <@U1>*") {
			t.Fatalf("after unresolve: %s %s", is.Status, blocks)
		}

		// Ignore opens a modal of durations and counts.
		w.postAction(click(blocks, "ignore_dialog", nil))
		submit("ignore", "ignore_type", "ignored:count:100")
		_, blocks = w.unfurlBlocks(4)
		if is := w.reload(w.issue); is.Status != triage.StatusIgnored || is.StatusDetails.IgnoreCount != 100 ||
			!strings.Contains(plainJSON(blocks), "*Ignored by <@U1>*") || !strings.Contains(plainJSON(blocks), "Stop ignoring") {
			t.Fatalf("after ignore: %+v %s", is.StatusDetails, blocks)
		}

		// Assign from the menu; the assignee is linked, so a mention.
		pickMember := func(map[string]any) map[string]any {
			return map[string]any{"selected_option": map[string]any{"value": "user:" + strconv.FormatInt(w.member.ID, 10)}}
		}
		w.postAction(click(blocks, "assign", pickMember))
		_, blocks = w.unfurlBlocks(5)
		if is := w.reload(w.issue); is.Assignee == nil || is.Assignee.ID != w.member.ID ||
			!strings.Contains(plainJSON(blocks), "*Assigned to <@U2> by <@U1>*") {
			t.Fatalf("after assign: %+v %s", is.Assignee, blocks)
		}

		// A double click changes nothing twice.
		before := len(w.activities(w.issue))
		if rec := w.postAction(click(blocks, "assign", pickMember)); rec.Code != http.StatusOK {
			t.Fatalf("second click: %d", rec.Code)
		}
		if after := len(w.activities(w.issue)); after != before {
			t.Errorf("double click wrote %d activities", after-before)
		}
		// The unfurl was rebuilt once per change by the click itself,
		// never as "another message about the issue" too, and not for the
		// double click.
		w.settle()
		if n := len(w.fake.Calls("chat.unfurl")); n != 5 {
			t.Errorf("chat.unfurl calls = %d, want 5", n)
		}
	})
}

// TestBlockKitBotMessage: the card Triage posts is updated through the
// response URL when clicked, and other remembered cards through
// chat.update, also after a change made on the web.
func TestBlockKitBotMessage(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		ts1, err := w.integ.PostCard(w.ctx, w.in.ID, "C1", "", w.plain.ID)
		if err != nil {
			t.Fatal(err)
		}
		ts2, err := w.integ.PostCard(w.ctx, w.in.ID, "C1", ts1, w.plain.ID)
		if err != nil {
			t.Fatal(err)
		}
		m1, _ := w.fake.GetMessage("C1", ts1)
		// No release in api: Resolve resolves at once.
		blockID, _ := element(t, m1.Blocks, "status:resolve")
		ru := w.fake.NewMessageResponseURL("T1", "C1", "U2", ts1)
		rec := w.postAction(w.blockAction("U2", map[string]any{"type": "message", "message_ts": ts1, "channel_id": "C1"}, ru,
			map[string]any{"action_id": "status:resolve", "block_id": blockID, "type": "button", "value": "resolved"}))
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
			t.Fatalf("click: %d %s", rec.Code, rec.Body)
		}
		post := w.responsePost(ru, 1)
		if post.Status != http.StatusOK || !strings.Contains(plainJSON(post.Body), `"replace_original":true`) ||
			!strings.Contains(plainJSON(post.Body), "Resolved by <@U2>") {
			t.Fatalf("response url post: %d %s", post.Status, post.Body)
		}
		// The other card (in the thread) is updated with chat.update; the
		// clicked one is not updated twice.
		ctx, cancel := w.wait()
		defer cancel()
		calls, err := w.fake.WaitForCalls(ctx, "chat.update", 1)
		if err != nil || calls[0].Params["ts"] != ts2 || calls[0].Error != "" {
			t.Fatalf("chat.update = %+v, %v", calls, err)
		}
		// A change on the web updates both cards.
		if _, err := w.svc.Update(w.ctx, triage.Actor{UserID: w.owner.ID, Source: triage.SourceWeb}, w.plain.ID,
			issues.Update{Status: &issues.StatusChange{Status: triage.StatusUnresolved}}); err != nil {
			t.Fatal(err)
		}
		calls, err = w.fake.WaitForCalls(ctx, "chat.update", 3)
		if err != nil {
			t.Fatalf("chat.update after a web change: %d calls, %v", len(calls), err)
		}
		if m, _ := w.fake.GetMessage("C1", ts1); !strings.Contains(plainJSON(m.Blocks), "*Reopened by <@U1>*") {
			t.Errorf("card after web change: %s", m.Blocks)
		}
		// UpdateCards (for alerts) rebuilds them on demand.
		if err := w.integ.UpdateCards(w.ctx, w.plain.ID); err != nil {
			t.Fatal(err)
		}
		if err := w.integ.PostThreadReply(w.ctx, w.in.ID, "C1", ts1, "It happened 10 more times"); err != nil {
			t.Fatal(err)
		}
		if m, _ := w.fake.GetMessage("C1", ts1); len(m.Replies) != 2 {
			t.Errorf("thread replies = %d", len(m.Replies))
		}
	})
}

// TestLegacyActions: interactive_message clicks with callback_id
// {"issue":ID} get the rebuilt legacy attachment in the response body.
func TestLegacyActions(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		ru := w.fake.NewResponseURL("T1", "C1", "U1")
		var reply struct {
			Attachments []struct {
				CallbackID string `json:"callback_id"`
				Text       string `json:"text"`
				Color      string `json:"color"`
				Actions    []struct{ Name, Text, Value string }
			} `json:"attachments"`
		}
		rec := w.postAction(w.legacyAction("U1", w.plain.ID, true, ru, map[string]any{"name": "status", "type": "button", "value": "resolved"}))
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &reply) != nil || len(reply.Attachments) != 1 {
			t.Fatalf("resolve: %d %s", rec.Code, rec.Body)
		}
		att := reply.Attachments[0]
		if att.CallbackID != `{"issue":`+strconv.FormatInt(w.plain.ID, 10)+`}` || !strings.Contains(att.Text, "*Resolved by <@U1>*") ||
			att.Color != "#EDEEEF" || att.Actions[0].Text != "Unresolve" {
			t.Errorf("reply attachment = %+v", att)
		}
		if is := w.reload(w.plain); is.Status != triage.StatusResolved {
			t.Fatalf("status = %s", is.Status)
		}

		// From an unfurl: the bare attachment.
		rec = w.postAction(w.legacyAction("U1", w.plain.ID, false, ru, map[string]any{"name": "status", "type": "select",
			"selected_options": []any{map[string]any{"value": "ignored:minutes:30"}}}))
		var bare struct {
			CallbackID string `json:"callback_id"`
			Text       string `json:"text"`
		}
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &bare) != nil || bare.CallbackID == "" || !strings.Contains(bare.Text, "*Ignored by <@U1>*") {
			t.Fatalf("unfurl reply: %d %s", rec.Code, rec.Body)
		}
		if is := w.reload(w.plain); is.Status != triage.StatusIgnored || is.StatusDetails.IgnoreMinutes != 30 {
			t.Fatalf("ignore: %s %+v", is.Status, is.StatusDetails)
		}

		// Assign a team from the menu.
		rec = w.postAction(w.legacyAction("U1", w.plain.ID, true, ru, map[string]any{"name": "assign", "type": "select",
			"selected_options": []any{map[string]any{"value": "team:" + strconv.FormatInt(w.team.ID, 10)}}}))
		if !strings.Contains(plainJSON(rec.Body.Bytes()), "*Assigned to #backend by <@U1>*") {
			t.Fatalf("assign team: %s", rec.Body)
		}
		// Unassign.
		rec = w.postAction(w.legacyAction("U1", w.plain.ID, true, ru, map[string]any{"name": "assign", "type": "button", "value": "none"}))
		if !strings.Contains(plainJSON(rec.Body.Bytes()), "*Unassigned by <@U1>*") || w.reload(w.plain).Assignee != nil {
			t.Fatalf("unassign: %s", rec.Body)
		}
		// Twice the same: one activity.
		n := len(w.activities(w.plain))
		w.postAction(w.legacyAction("U1", w.plain.ID, true, ru, map[string]any{"name": "assign", "type": "button", "value": "none"}))
		if len(w.activities(w.plain)) != n {
			t.Error("unassigning twice wrote twice")
		}
		for _, a := range w.activities(w.plain) {
			if a.Source != triage.SourceSlack {
				t.Errorf("activity %s from %s", a.Type, a.Source)
			}
		}
	})
}

// TestLegacyResolveDialog: resolve_dialog opens dialog.open with the
// click's trigger_id; submitting it resolves and posts the rebuilt
// message to the original response URL.
func TestLegacyResolveDialog(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		orig := w.fake.NewResponseURL("T1", "C1", "U1")
		p := w.legacyAction("U1", w.issue.ID, true, orig, map[string]any{"name": "resolve_dialog", "type": "button", "value": "resolve"})
		rec := w.postAction(p)
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
			t.Fatalf("resolve_dialog: %d %s", rec.Code, rec.Body)
		}
		calls := w.fake.Calls("dialog.open")
		if len(calls) != 1 || calls[0].Error != "" || calls[0].Params["trigger_id"] != p["trigger_id"] {
			t.Fatalf("dialog.open = %+v", calls)
		}
		var dlg struct {
			CallbackID string `json:"callback_id"`
			Elements   []struct {
				Name    string
				Options []struct{ Label, Value string }
			}
		}
		if err := calls[0].Decode("dialog", &dlg); err != nil || len(dlg.Elements) != 1 || len(dlg.Elements[0].Options) != 3 {
			t.Fatalf("dialog = %+v, %v", dlg, err)
		}
		if w.reload(w.issue).Status != triage.StatusUnresolved {
			t.Fatal("opening the dialog changed the issue")
		}
		submit := func(value string) *http.Response {
			rec := w.postAction(map[string]any{
				"type": "dialog_submission", "submission": map[string]any{"resolve_type": value}, "callback_id": dlg.CallbackID,
				"team": map[string]any{"id": "T1"}, "user": map[string]any{"id": "U1"}, "channel": map[string]any{"id": "C1"},
				"response_url": w.fake.NewResponseURL("T1", "C1", "U1"), "action_ts": "1", "state": "",
			})
			return rec.Result()
		}
		if r := submit("resolved:inCurrentRelease"); r.StatusCode != http.StatusOK || r.ContentLength > 0 {
			t.Fatalf("dialog_submission: %d", r.StatusCode)
		}
		if is := w.reload(w.issue); is.Status != triage.StatusResolved || is.StatusDetails.InRelease != "1.0" {
			t.Fatalf("after dialog: %s %+v", is.Status, is.StatusDetails)
		}
		post := w.responsePost(orig, 1)
		if !strings.Contains(plainJSON(post.Body), `"attachments"`) || !strings.Contains(plainJSON(post.Body), "Resolved by <@U1>") {
			t.Errorf("orig_response_url post: %s", post.Body)
		}

		// A release option on a project without releases: the dialog shows
		// the reason on its field and nothing changes.
		p = w.legacyAction("U1", w.plain.ID, true, orig, map[string]any{"name": "resolve_dialog", "type": "button", "value": "resolve"})
		// No release in api: the click resolves at once instead of opening a dialog.
		if rec := w.postAction(p); !strings.Contains(plainJSON(rec.Body.Bytes()), "Resolved by <@U1>") || len(w.fake.Calls("dialog.open")) != 1 {
			t.Fatalf("resolve_dialog without releases: %s", rec.Body)
		}
		cb := `{"issue":` + strconv.FormatInt(w.plain.ID, 10) + `,"is_message":true}`
		w.postAction(w.legacyAction("U1", w.plain.ID, true, orig, map[string]any{"name": "status", "type": "button", "value": "unresolved"}))
		rec = w.postAction(map[string]any{"type": "dialog_submission", "submission": map[string]any{"resolve_type": "resolved:inNextRelease"},
			"callback_id": cb, "team": map[string]any{"id": "T1"}, "user": map[string]any{"id": "U1"}, "channel": map[string]any{"id": "C1"}})
		if !strings.Contains(plainJSON(rec.Body.Bytes()), `"errors":[{"error":"project api has no releases yet`) {
			t.Errorf("invalid dialog choice: %s", rec.Body)
		}
		if w.reload(w.plain).Status != triage.StatusUnresolved {
			t.Error("the invalid choice changed the issue")
		}
	})
}

// TestActionRefusals: who may not act is told why and changes nothing.
func TestActionRefusals(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		ru := w.fake.NewResponseURL("T1", "C1", "U3")
		resolve := map[string]any{"name": "status", "type": "button", "value": "resolved"}

		// Not linked: a link URL for the issue's organization.
		rec := w.postAction(w.legacyAction("U3", w.issue.ID, true, ru, resolve))
		text := ephemeralText(t, rec.Body.Bytes())
		if rec.Code != http.StatusOK || !strings.Contains(text, prefix+"/extensions/slack/link-identity/") {
			t.Fatalf("unlinked: %d %s", rec.Code, rec.Body)
		}
		link := linkIn(t, text)
		if page := w.do("GET", link, w.member, nil); page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "Acme Inc") {
			t.Errorf("the offered link: %d", page.Code)
		}
		if page := w.do("POST", link, w.admin, nil); page.Code != http.StatusOK {
			t.Errorf("following the offered link: %d", page.Code)
		}
		if w.linkedUser(w.in, "U3") != w.admin.ID {
			t.Error("the link did not link")
		}
		// Block Kit: the prompt goes to the response URL.
		bru := w.fake.NewResponseURL("T1", "C1", "U4")
		rec = w.postAction(w.blockAction("U4", map[string]any{"type": "message", "message_ts": "1.1", "channel_id": "C1"}, bru,
			map[string]any{"action_id": "status:resolve", "block_id": "issue:" + strconv.FormatInt(w.issue.ID, 10), "type": "button", "value": "resolved"}))
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
			t.Fatalf("block kit unlinked: %d %s", rec.Code, rec.Body)
		}
		if post := w.responsePost(bru, 1); !strings.Contains(ephemeralText(t, post.Body), "/extensions/slack/link-identity/") {
			t.Errorf("block kit prompt: %s", post.Body)
		}

		// Linked, but removed from the organization: an unlink offer.
		if err := w.s.RemoveMember(w.ctx, w.org.ID, w.member.ID); err != nil {
			t.Fatal(err)
		}
		rec = w.postAction(w.legacyAction("U2", w.issue.ID, true, ru, resolve))
		text = ephemeralText(t, rec.Body.Bytes())
		if !strings.Contains(text, "/extensions/slack/unlink-identity/") || !strings.Contains(text, "not a member") {
			t.Errorf("removed member: %s", text)
		}
		// The offer works for them although they are in no organization
		// the workspace serves any more.
		if u := regexp.MustCompile(`https?://[^\s|>]+/unlink-identity/[^\s|>]+/`).FindString(text); u == "" {
			t.Errorf("no unlink URL in %q", text)
		} else if rec := w.do("POST", u, w.member, nil); rec.Code != http.StatusOK {
			t.Errorf("removed member unlinking: %d %s", rec.Code, rec.Body)
		} else if rec := w.postAction(w.legacyAction("U2", w.issue.ID, true, ru, resolve)); !strings.Contains(ephemeralText(t, rec.Body.Bytes()), "/extensions/slack/link-identity/") {
			t.Errorf("after unlinking, the removed member is not offered a link: %s", rec.Body)
		}
		// Assignee without access: the reason.
		rec = w.postAction(w.legacyAction("U1", w.issue.ID, true, ru, map[string]any{"name": "assign", "type": "select",
			"selected_options": []any{map[string]any{"value": "user:" + strconv.FormatInt(w.outsider.ID, 10)}}}))
		if text := ephemeralText(t, rec.Body.Bytes()); !strings.Contains(text, "outsider@example.com") || !strings.Contains(text, "no access") {
			t.Errorf("assignee without access: %s", text)
		}
		if is := w.reload(w.issue); is.Status != triage.StatusUnresolved || is.Assignee != nil || len(w.activities(w.issue)) != 0 {
			t.Errorf("a refused action changed the issue: %+v", is)
		}
	})
}

// TestActionBadRequests: malformed payloads 400, unknown workspaces and
// issues of organizations the workspace is not attached to 403.
func TestActionBadRequests(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		post := func(body string) int {
			return w.signedPost("/extensions/slack/action/", "application/x-www-form-urlencoded", body).Code
		}
		for name, body := range map[string]string{
			"empty": "", "no payload": "foo=bar", "not JSON": "payload=%7Bnope", "array": "payload=%5B%5D",
			"unknown type": "payload=" + url.QueryEscape(`{"type":"shortcut","team":{"id":"T1"},"user":{"id":"U1"}}`),
			"no issue":     "payload=" + url.QueryEscape(`{"type":"interactive_message","team":{"id":"T1"},"user":{"id":"U1"},"actions":[{"name":"status","value":"resolved"}]}`),
			"bad value":    "payload=" + url.QueryEscape(`{"type":"interactive_message","callback_id":"{\"issue\":1}","team":{"id":"T1"},"user":{"id":"U1"},"actions":[{"name":"status","value":"deleted"}]}`),
			"bad form":     "payload=%zz",
		} {
			if code := post(body); code != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400", name, code)
			}
		}
		resolve := map[string]any{"name": "status", "type": "button", "value": "resolved"}
		p := w.legacyAction("U1", w.issue.ID, true, "", resolve)
		p["team"] = map[string]any{"id": "T9"}
		if rec := w.postAction(p); rec.Code != http.StatusForbidden {
			t.Errorf("unknown workspace: %d", rec.Code)
		}
		if rec := w.postAction(w.legacyAction("U1", w.foreign.ID, true, "", resolve)); rec.Code != http.StatusForbidden {
			t.Errorf("another organization's issue: %d", rec.Code)
		}
		if rec := w.postAction(w.legacyAction("U1", 999999, true, "", resolve)); rec.Code != http.StatusForbidden {
			t.Errorf("no such issue: %d", rec.Code)
		}
		if w.reload(w.foreign).Status != triage.StatusUnresolved {
			t.Error("the foreign issue changed")
		}
	})
}

// TestOptionsLoad: the assignee menu's options filtered by what was typed,
// for linked people with access only.
func TestOptionsLoad(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		load := func(payload map[string]any) (int, string) {
			js, _ := json.Marshal(payload)
			rec := w.signedPost("/extensions/slack/options-load/", "application/x-www-form-urlencoded", url.Values{"payload": {string(js)}}.Encode())
			return rec.Code, plainJSON(rec.Body.Bytes())
		}
		bk := map[string]any{"type": "block_suggestion", "action_id": "assign", "block_id": "issue:" + strconv.FormatInt(w.issue.ID, 10),
			"value": "MEMB", "team": map[string]any{"id": "T1"}, "user": map[string]any{"id": "U1", "team_id": "T1"}}
		code, body := load(bk)
		if code != http.StatusOK || !strings.Contains(body, `"value":"user:`+strconv.FormatInt(w.member.ID, 10)+`"`) ||
			strings.Contains(body, "owner@example.com") || !strings.Contains(body, `"label":{"type":"plain_text","text":"People"}`) {
			t.Errorf("block kit options: %d %s", code, body)
		}
		bk["value"] = "back"
		if _, body := load(bk); !strings.Contains(body, "#backend") || strings.Contains(body, "example.com") {
			t.Errorf("team options: %s", body)
		}
		legacy := map[string]any{"type": "interactive_message", "name": "assign", "value": "", "callback_id": `{"issue":` + strconv.FormatInt(w.issue.ID, 10) + `}`,
			"team": map[string]any{"id": "T1"}, "user": map[string]any{"id": "U1"}}
		if code, body := load(legacy); code != http.StatusOK || !strings.Contains(body, `"option_groups":[{"text":"Teams"`) || !strings.Contains(body, "owner@example.com") {
			t.Errorf("legacy options: %d %s", code, body)
		}
		legacy["user"] = map[string]any{"id": "U3"} // not linked: nothing
		if _, body := load(legacy); body != `{"options":[]}` {
			t.Errorf("unlinked options: %s", body)
		}
		bk["team"] = map[string]any{"id": "T9"}
		if code, _ := load(bk); code != http.StatusForbidden {
			t.Errorf("unknown workspace: %d", code)
		}
	})
}

// TestDeliveryFallsBackToRiver: when the rebuilt message cannot be
// delivered at once (Slack answers 500), a River job retries it.
func TestDeliveryFallsBackToRiver(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		link := w.issueURL(w.plain)
		ts := w.fake.PostUserMessage("C1", "U2", link)
		w.postEvent(linkShared("T1", "Ev1", "C1", ts, link), 0)
		_, blocks := w.unfurlBlocks(1)
		blockID, _ := element(t, blocks, "status:resolve")
		w.fake.FailNextHTTP("chat.unfurl", http.StatusInternalServerError)
		container := map[string]any{"type": "message_attachment", "message_ts": ts, "channel_id": "C1", "is_app_unfurl": true, "app_unfurl_url": link}
		rec := w.postAction(w.blockAction("U1", container, "", map[string]any{"action_id": "status:resolve", "block_id": blockID, "type": "button", "value": "resolved"}))
		if rec.Code != http.StatusOK {
			t.Fatalf("click: %d", rec.Code)
		}
		_, blocks = w.unfurlBlocks(3) // 1: the unfurl, 2: the failed attempt, 3: River's retry
		if !strings.Contains(plainJSON(blocks), "*Resolved by <@U1>*") {
			t.Errorf("retried unfurl: %s", blocks)
		}
		if calls := w.fake.Calls("chat.unfurl"); calls[1].Status != http.StatusInternalServerError {
			t.Errorf("second call answered %d", calls[1].Status)
		}
	})
}
