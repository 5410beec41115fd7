package slack_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"triage"
)

// listRows reads the rows of a /triage issues list: each actions block's
// issue and its buttons' action ids, in order.
func listRows(t *testing.T, blocks json.RawMessage) (ids []string, buttons map[string][]string) {
	t.Helper()
	var bs []struct {
		Type     string           `json:"type"`
		BlockID  string           `json:"block_id"`
		Elements []map[string]any `json:"elements"`
	}
	if err := json.Unmarshal(blocks, &bs); err != nil {
		t.Fatalf("%v in %s", err, blocks)
	}
	buttons = map[string][]string{}
	for _, b := range bs {
		if b.Type != "actions" {
			continue
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(b.BlockID, "issue:"), ";")
		ids = append(ids, id)
		for _, el := range b.Elements {
			if a, ok := el["action_id"].(string); ok {
				buttons[id] = append(buttons[id], a)
			}
		}
	}
	return ids, buttons
}

// TestIssuesListClickKeepsTheList (issue 17): a click on a row of the
// ephemeral /triage issues list changes that issue and redraws the list
// in place (the response URL's replace_original): every row is still
// there in its order, the clicked one in its new state. Over HTTP and
// over Socket Mode, and through the ignore modal opened from a row.
func TestIssuesListClickKeepsTheList(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		_, blocks := w.command("U2", "issues")
		before, _ := listRows(t, blocks)
		if len(before) != 2 {
			t.Fatalf("list rows %v in %s", before, blocks)
		}
		plain := strconv.FormatInt(w.plain.ID, 10)
		other := strconv.FormatInt(w.issue.ID, 10)
		click := func(ru, actionID, value string, viaSocket bool) {
			t.Helper()
			blockID, _ := element(t, blocks, actionID)
			if !strings.HasPrefix(blockID, "issue:"+plain) {
				t.Fatalf("%s is on row %q, want issue %s", actionID, blockID, plain)
			}
			p := w.blockAction("U2", map[string]any{"type": "message", "message_ts": "1700000001.000100", "channel_id": "C1", "is_ephemeral": true}, ru,
				map[string]any{"action_id": actionID, "block_id": blockID, "type": "button", "value": value})
			if viaSocket {
				w.ack(w.fake.SendInteractive(p))
			} else if rec := w.postAction(p); rec.Code != http.StatusOK {
				t.Fatalf("click: %d %s", rec.Code, rec.Body)
			}
		}
		redrawn := func(ru string, wantButton string) json.RawMessage {
			t.Helper()
			post := w.responsePost(ru, 1)
			var body struct {
				Replace bool            `json:"replace_original"`
				Blocks  json.RawMessage `json:"blocks"`
			}
			if err := json.Unmarshal(post.Body, &body); err != nil || !body.Replace {
				t.Fatalf("response post %s: want the list replaced", post.Body)
			}
			ids, buttons := listRows(t, body.Blocks)
			if strings.Join(ids, ",") != strings.Join(before, ",") {
				t.Errorf("rows after the click %v, want the list kept %v", ids, before)
			}
			if !strings.Contains(strings.Join(buttons[plain], " "), wantButton) {
				t.Errorf("clicked row's controls %v, want %s", buttons[plain], wantButton)
			}
			if strings.Contains(strings.Join(buttons[other], " "), "unresolve") {
				t.Errorf("the other row changed: %v", buttons[other])
			}
			return body.Blocks
		}

		// HTTP: Resolve on one row.
		ru := w.fake.NewResponseURL("T1", "C1", "U2")
		click(ru, "status:resolve", "resolved", false)
		blocks = redrawn(ru, "status:unresolve")
		if got := w.reload(w.plain).Status; got != triage.StatusResolved {
			t.Fatalf("clicked issue is %s", got)
		}
		if !strings.Contains(string(blocks), "*Resolved*") {
			t.Errorf("the redrawn row does not say Resolved: %s", blocks)
		}

		// Socket Mode: Unresolve on the redrawn list's row.
		w.runSocket(w.integ, 1)
		ru = w.fake.NewResponseURL("T1", "C1", "U2")
		click(ru, "status:unresolve", "unresolved", true)
		blocks = redrawn(ru, "status:resolve")
		if got := w.reload(w.plain).Status; got != triage.StatusUnresolved {
			t.Fatalf("clicked issue is %s after Unresolve", got)
		}

		// The ignore modal opened from a row keeps the list too.
		ru = w.fake.NewResponseURL("T1", "C1", "U2")
		click(ru, "ignore_dialog", "ignore", false)
		var meta string
		for _, c := range w.fake.Calls("views.open") {
			var v struct {
				PrivateMetadata string `json:"private_metadata"`
			}
			_ = json.Unmarshal([]byte(c.Params["view"]), &v)
			meta = v.PrivateMetadata
		}
		if !strings.Contains(meta, `"list"`) {
			t.Fatalf("modal metadata %q does not name the list", meta)
		}
		rec := w.postAction(map[string]any{
			"type": "view_submission", "team": map[string]any{"id": "T1"}, "user": map[string]any{"id": "U2", "team_id": "T1"},
			"view": map[string]any{"id": "V1", "callback_id": "ignore", "private_metadata": meta,
				"state": map[string]any{"values": map[string]any{"ignore_type": map[string]any{"ignore_type": map[string]any{
					"type": "static_select", "selected_option": map[string]any{"value": "ignored"}}}}}},
		})
		if rec.Code != http.StatusOK {
			t.Fatalf("ignore submission: %d %s", rec.Code, rec.Body)
		}
		redrawn(ru, "status:unignore")
		if got := w.reload(w.plain).Status; got != triage.StatusIgnored {
			t.Errorf("clicked issue is %s after Ignore", got)
		}
	})
}
