package slackfake_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func resolveModal(externalID string) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		Title:      slack.NewTextBlockObject("plain_text", "Resolve WEB-1", false, false),
		Submit:     slack.NewTextBlockObject("plain_text", "Resolve", false, false),
		CallbackID: "resolve",
		ExternalID: externalID,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "When?", false, false), nil, nil),
		}},
	}
}

func TestTriggers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	trigger := b.fake.NewTriggerID()
	b.clock.Advance(3100 * time.Millisecond)
	_, err := b.api.OpenViewContext(ctx(t), trigger, resolveModal(""))
	if got := slackErr(t, err); got != "expired_trigger_id" {
		t.Errorf("after 3.1 s: %q", got)
	}

	trigger = b.fake.NewTriggerID()
	v, err := b.api.OpenViewContext(ctx(t), trigger, resolveModal("issue-1"))
	if err != nil {
		t.Fatal(err)
	}
	if v.ID == "" || v.Hash == "" || v.CallbackID != "resolve" || v.ExternalID != "issue-1" {
		t.Errorf("view = %+v", v.View)
	}
	_, err = b.api.OpenViewContext(ctx(t), trigger, resolveModal(""))
	if got := slackErr(t, err); got != "exchanged_trigger_id" {
		t.Errorf("reused trigger: %q", got)
	}
	_, err = b.api.OpenViewContext(ctx(t), "1.2.nope", resolveModal(""))
	if got := slackErr(t, err); got != "invalid_trigger_id" {
		t.Errorf("unknown trigger: %q", got)
	}
	bad := resolveModal("")
	bad.Title = slack.NewTextBlockObject("plain_text", "A title far longer than twenty-four", false, false)
	_, err = b.api.OpenViewContext(ctx(t), b.fake.NewTriggerID(), bad)
	if got := slackErr(t, err); got != "invalid_arguments" {
		t.Errorf("long title: %q", got)
	}

	updated := resolveModal("")
	updated.Title = slack.NewTextBlockObject("plain_text", "Resolved", false, false)
	if _, err := b.api.UpdateViewContext(ctx(t), updated, "issue-1", "", ""); err != nil {
		t.Errorf("update by external_id: %v", err)
	}
	if _, err := b.api.UpdateViewContext(ctx(t), updated, "", v.Hash, v.ID); slackErr(t, err) != "hash_conflict" {
		t.Errorf("stale hash: %v", err)
	}
	if _, err := b.api.UpdateViewContext(ctx(t), updated, "", "", "V0NOPE"); slackErr(t, err) != "not_found" {
		t.Errorf("unknown view: %v", err)
	}
	if got, _ := b.fake.GetView(v.ID); got.Updates != 1 {
		t.Errorf("view after update = %+v", got)
	}
}

func TestDialogOpen(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dialog := slack.Dialog{
		Title: "Resolve Issue", CallbackID: `{"issue":1}`, SubmitLabel: "Resolve",
		Elements: []slack.DialogElement{slack.NewStaticSelectDialogInput("resolve_type", "Resolve in",
			[]slack.DialogSelectOption{{Label: "Immediately", Value: "resolved"}})},
	}
	if err := b.api.OpenDialogContext(ctx(t), b.fake.NewTriggerID(), dialog); err != nil {
		t.Fatal(err)
	}
	trigger := b.fake.NewTriggerID()
	b.clock.Advance(4 * time.Second)
	if err := b.api.OpenDialogContext(ctx(t), trigger, dialog); slackErr(t, err) != "trigger_expired" {
		t.Errorf("late: %v", err)
	}
	dialog.Title = ""
	err := b.api.OpenDialogContext(ctx(t), b.fake.NewTriggerID(), dialog)
	if err == nil || slackErr(t, err) == "" {
		t.Errorf("no title: %v", err)
	}
}

func postJSON(t *testing.T, u string, body any) (int, string) {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post(u, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(text)
}

func TestResponseURL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.fake.NewResponseURL(team, general, alice)
	msg := map[string]any{"response_type": "ephemeral", "replace_original": false, "text": "linked"}
	for i := range 5 {
		if err := slack.PostWebhookContext(ctx(t), u, &slack.WebhookMessage{Text: "linked", ResponseType: "ephemeral"}); err != nil {
			t.Fatalf("post %d: %v", i+1, err)
		}
	}
	status, body := postJSON(t, u, msg)
	if status != http.StatusNotFound || body != "Expired url" {
		t.Errorf("sixth post: %d %q", status, body)
	}
	posts := b.fake.ResponseURLPosts(u)
	if len(posts) != 6 || posts[5].Response != "Expired url" {
		t.Fatalf("posts = %+v", posts)
	}
	if eph := b.fake.Ephemerals(general); len(eph) != 5 || eph[0].Recipient != alice {
		t.Errorf("ephemerals = %+v", eph)
	}

	late := b.fake.NewResponseURL(team, general, alice)
	b.clock.Advance(30 * time.Minute)
	if status, body := postJSON(t, late, msg); status != http.StatusNotFound || body != "Expired url" {
		t.Errorf("after 30 min: %d %q", status, body)
	}

	// replace_original acts on the message the interaction came from.
	_, ts, err := b.api.PostMessageContext(ctx(t), general, slack.MsgOptionText("WEB-1 unresolved", false))
	if err != nil {
		t.Fatal(err)
	}
	act := b.fake.NewMessageResponseURL(team, general, alice, ts)
	if status, _ := postJSON(t, act, map[string]any{"replace_original": true, "text": "WEB-1 resolved"}); status != http.StatusOK {
		t.Fatalf("replace_original: %d", status)
	}
	if m, _ := b.fake.GetMessage(general, ts); m.Text != "WEB-1 resolved" || m.Edits != 1 {
		t.Errorf("message after replace_original = %+v", m)
	}
	if status, body := postJSON(t, act, map[string]any{"replace_original": true}); status != http.StatusBadRequest || body != "no_text" {
		t.Errorf("empty reply: %d %q", status, body)
	}
}
