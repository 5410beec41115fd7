package slack_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"triage"
	"triage/internal/store"
)

// TestLinkSharedFiveLinks: of five links (the same acme issue in both
// forms, an issue of an organization the workspace is not attached to, an
// unrelated path, another host) exactly one chat.unfurl with exactly one
// URL: the last one naming the acme issue. A retried delivery of the same
// event unfurls nothing more.
func TestLinkSharedFiveLinks(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		id := strconv.FormatInt(w.issue.ID, 10)
		urls := []string{
			prefix + "/organizations/acme/issues/" + id + "/",
			prefix + "/organizations/beta/issues/" + strconv.FormatInt(w.foreign.ID, 10) + "/",
			prefix + "/organizations/acme/projects/",
			"https://elsewhere.example.com/organizations/acme/issues/" + id + "/",
			prefix + "/acme/web/issues/" + id + "/?referrer=chat",
		}
		ts := w.fake.PostUserMessage("C1", "U2", strings.Join(urls, "\n"))
		ev := linkShared("T1", "Ev5", "C1", ts, urls...)
		if rec := w.postEvent(ev, 0); rec.Code != http.StatusOK {
			t.Fatalf("link_shared: %d %s", rec.Code, rec.Body)
		}
		u, blocks := w.unfurlBlocks(1)
		if u != urls[4] || !strings.Contains(plainJSON(blocks), "TypeError") {
			t.Errorf("unfurled %q", u)
		}
		// Slack retries the same event: acknowledged, nothing unfurled.
		if rec := w.postEvent(ev, 1); rec.Code != http.StatusOK {
			t.Fatalf("retry: %d", rec.Code)
		}
		// Another event afterwards is handled: once its unfurl is there,
		// the retry has had every chance to unfurl too.
		plain := w.issueURL(w.plain)
		ts2 := w.fake.PostUserMessage("C1", "U2", plain)
		w.postEvent(linkShared("T1", "Ev6", "C1", ts2, plain), 0)
		if u, _ := w.unfurlBlocks(2); u != plain {
			t.Errorf("second unfurl %q", u)
		}
		w.settle()
		if n := len(w.fake.Calls("chat.unfurl")); n != 2 {
			t.Errorf("chat.unfurl calls = %d, want 2", n)
		}
		msgs, _ := w.s.SlackMessagesForIssue(w.ctx, w.issue.ID)
		if len(msgs) != 1 || msgs[0].Kind != store.SlackMessageUnfurl || msgs[0].URL != urls[4] || msgs[0].TS != ts {
			t.Errorf("remembered = %+v", msgs)
		}

		// Only other links: no job, no call. A marker event with an issue
		// link follows; once its unfurl is there and the work has settled,
		// an unfurl of the foreign links would have been seen too.
		ts3 := w.fake.PostUserMessage("C1", "U2", urls[1]+" "+urls[3])
		w.postEvent(linkShared("T1", "Ev7", "C1", ts3, urls[1], urls[3]), 0)
		ts4 := w.fake.PostUserMessage("C1", "U2", plain)
		w.postEvent(linkShared("T1", "Ev8", "C1", ts4, plain), 0)
		if u, _ := w.unfurlBlocks(3); u != plain {
			t.Errorf("marker unfurl %q", u)
		}
		w.settle()
		calls := w.fake.Calls("chat.unfurl")
		if len(calls) != 3 || calls[2].Params["ts"] != ts4 {
			t.Errorf("unfurled foreign links: %d calls", len(calls))
		}
	})
}

// TestComposerUnfurl: links in the message composer are unfurled by
// unfurl_id and source.
func TestComposerUnfurl(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		link := w.issueURL(w.issue)
		uid := w.fake.NewUnfurlID("T1", "C1", "U2", link)
		ev := linkShared("T1", "Ev1", "COMPOSER", "b5e4c1d0-0000-4000-8000-000000000000", link)
		ev["event"].(map[string]any)["source"] = "composer"
		ev["event"].(map[string]any)["unfurl_id"] = uid
		if rec := w.postEvent(ev, 0); rec.Code != http.StatusOK {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		ctx, cancel := w.wait()
		defer cancel()
		calls, err := w.fake.WaitForCalls(ctx, "chat.unfurl", 1)
		if err != nil || calls[0].Error != "" || calls[0].Params["unfurl_id"] != uid || calls[0].Params["source"] != "composer" {
			t.Fatalf("chat.unfurl = %+v, %v", calls, err)
		}
		if got := w.fake.UnfurlsByID(uid); got[link] == nil {
			t.Errorf("unfurls by id = %v", got)
		}
	})
}

// TestAppUninstalled: the event disables the workspace; its actions then
// change nothing and say why, admins see the status, links are not
// unfurled, and an unknown workspace's events are refused.
func TestAppUninstalled(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		if rec := w.postEvent(map[string]any{"type": "event_callback", "team_id": "T9", "event_id": "Ev0",
			"event": map[string]any{"type": "app_uninstalled"}}, 0); rec.Code != http.StatusForbidden {
			t.Errorf("unknown workspace: %d", rec.Code)
		}
		w.fake.Uninstall("T1")
		rec := w.postEvent(map[string]any{"type": "event_callback", "team_id": "T1", "event_id": "Ev1",
			"event": map[string]any{"type": "app_uninstalled", "event_ts": "1"}}, 0)
		if rec.Code != http.StatusOK {
			t.Fatalf("app_uninstalled: %d", rec.Code)
		}
		in, _ := w.s.IntegrationByID(w.ctx, w.in.ID)
		if in.Status != store.IntegrationDisabled || !strings.Contains(in.StatusReason, "uninstalled") {
			t.Fatalf("integration = %s %q", in.Status, in.StatusReason)
		}
		if _, err := w.integ.WebAPI().Client(w.ctx, w.in.ID); triage.ErrorCode(err) != triage.EINVALID {
			t.Errorf("the token is still handed out: %v", err)
		}
		ru := w.fake.NewResponseURL("T1", "C1", "U1")
		rec = w.postAction(w.legacyAction("U1", w.plain.ID, true, ru, map[string]any{"name": "status", "type": "button", "value": "resolved"}))
		if text := ephemeralText(t, rec.Body.Bytes()); !strings.Contains(text, "disabled") || !strings.Contains(text, "uninstalled") {
			t.Errorf("legacy after uninstall: %s", text)
		}
		bru := w.fake.NewResponseURL("T1", "C1", "U1")
		w.postAction(w.blockAction("U1", map[string]any{"type": "message", "message_ts": "1.1", "channel_id": "C1"}, bru,
			map[string]any{"action_id": "assign", "block_id": "issue:" + strconv.FormatInt(w.plain.ID, 10), "type": "static_select",
				"selected_option": map[string]any{"value": "user:" + strconv.FormatInt(w.member.ID, 10)}}))
		if post := w.responsePost(bru, 1); !strings.Contains(ephemeralText(t, post.Body), "uninstalled") {
			t.Errorf("block kit after uninstall: %s", post.Body)
		}
		if is := w.reload(w.plain); is.Status != triage.StatusUnresolved || is.Assignee != nil {
			t.Errorf("a disabled workspace changed the issue: %+v", is)
		}
		html, err := w.integ.SettingsSection(w.ctx, w.org, w.owner, &triage.Member{Role: triage.RoleOwner})
		if err != nil || !strings.Contains(string(html), "Disabled") || !strings.Contains(string(html), "uninstalled") {
			t.Errorf("admins do not see it: %v %s", err, html)
		}
		link := w.issueURL(w.issue)
		ts := w.fake.PostUserMessage("C1", "U2", link)
		w.postEvent(linkShared("T1", "Ev2", "C1", ts, link), 0)
		// The event was acknowledged, and what it queued has run.
		w.settle()
		for _, c := range w.fake.Calls("") {
			if c.Method == "chat.unfurl" || c.Method == "chat.postEphemeral" {
				t.Errorf("a disabled workspace's token was used: %s", c.Method)
			}
		}
	})
}

// TestEventEnvelope: url_verification, malformed bodies, other types.
func TestEventEnvelope(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		rec := w.postEvent(map[string]any{"type": "url_verification", "challenge": "abc"}, 0)
		var ch struct{ Challenge string }
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &ch) != nil || ch.Challenge != "abc" {
			t.Errorf("url_verification: %d %s", rec.Code, rec.Body)
		}
		if rec := w.signedPost("/extensions/slack/event/", "application/json", "{nope"); rec.Code != http.StatusBadRequest {
			t.Errorf("malformed: %d", rec.Code)
		}
		if rec := w.postEvent(map[string]any{"type": "event_callback", "team_id": "T1"}, 0); rec.Code != http.StatusBadRequest {
			t.Errorf("no event: %d", rec.Code)
		}
		if rec := w.postEvent(map[string]any{"type": "event_callback", "team_id": "T1", "event_id": "Ev1",
			"event": map[string]any{"type": "reaction_added"}}, 0); rec.Code != http.StatusOK {
			t.Errorf("other event: %d", rec.Code)
		}
		// tokens_revoked for user tokens only leaves the bot alone.
		w.postEvent(map[string]any{"type": "event_callback", "team_id": "T1", "event_id": "Ev2",
			"event": map[string]any{"type": "tokens_revoked", "tokens": map[string]any{"oauth": []string{"U1"}}}}, 0)
		if in, _ := w.s.IntegrationByID(w.ctx, w.in.ID); in.Status != store.IntegrationActive {
			t.Errorf("user token revocation disabled the workspace")
		}
		w.postEvent(map[string]any{"type": "event_callback", "team_id": "T1", "event_id": "Ev3",
			"event": map[string]any{"type": "tokens_revoked", "tokens": map[string]any{"bot": []string{"B1"}}}}, 0)
		if in, _ := w.s.IntegrationByID(w.ctx, w.in.ID); in.Status != store.IntegrationDisabled {
			t.Errorf("bot token revocation: %s", in.Status)
		}
	})
}
