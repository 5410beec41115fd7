package slack_test

import (
	"testing"

	"triage"
	"triage/internal/slack"
)

// TestThreadRepliesBecomeComments: only a person's reply in the thread of
// a Triage card becomes a comment, by the linked person; top-level
// messages, Triage's own posts (bot_id), edits and joins (subtype), and
// replies under other messages never do, and Slack's retry of an event
// adds nothing.
func TestThreadRepliesBecomeComments(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		card, err := w.integ.PostCard(w.ctx, w.in.ID, "C1", "", w.issue.ID)
		if err != nil {
			t.Fatal(err)
		}
		other := w.fake.PostUserMessage("C1", "U2", "lunch?")
		msg := func(id string, ev map[string]any) map[string]any {
			ev["type"], ev["channel"], ev["channel_type"] = "message", "C1", "channel"
			return map[string]any{"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
				"event_id": id, "event_time": 1700000000, "event": ev}
		}
		for _, ev := range []map[string]any{
			msg("Ev1", map[string]any{"user": "U2", "text": "top level", "ts": "1800000000.000001"}),
			msg("Ev2", map[string]any{"user": "U1BOT", "bot_id": "B1", "text": "*Resolved by <@U1>*", "ts": "1800000000.000002", "thread_ts": card}),
			msg("Ev3", map[string]any{"user": "U2", "subtype": "thread_broadcast", "text": "x", "ts": "1800000000.000003", "thread_ts": card}),
			msg("Ev4", map[string]any{"user": "U2", "text": "not a card's thread", "ts": "1800000000.000004", "thread_ts": other}),
			msg("Ev5", map[string]any{"user": "U2", "text": "on it &amp; &lt;soon&gt;", "ts": "1800000000.000005", "thread_ts": card}),
		} {
			if rec := w.postEvent(ev, 0); rec.Code != 200 {
				t.Fatalf("event: %d %s", rec.Code, rec.Body)
			}
		}
		// Slack's retry of the last one.
		if rec := w.postEvent(msg("Ev5", map[string]any{"user": "U2", "text": "on it &amp; &lt;soon&gt;", "ts": "1800000000.000005", "thread_ts": card}), 1); rec.Code != 200 {
			t.Fatalf("retry: %d", rec.Code)
		}
		w.settle()
		var notes []*triage.Activity
		for _, a := range w.activities(w.issue) {
			if a.Type == triage.ActivityNote {
				notes = append(notes, a)
			}
		}
		if len(notes) != 1 {
			t.Fatalf("%d comments, want the one reply by a person in the card's thread: %+v", len(notes), notes)
		}
		n := notes[0]
		if n.User == nil || n.User.ID != w.member.ID || n.Source != triage.SourceSlack || n.Data["text"] != "on it & <soon>" || n.Data["slackUser"] != "U2" {
			t.Errorf("comment %+v (user %+v)", n, n.User)
		}
	})
}

func TestMissingFeatures(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		granted string
		want    int
	}{
		{"channels:read,chat:write", 2},
		{"channels:read,channels:history", 1},
		{"channels:history groups:history", 0}, // the workspace flow's spaces
		{"", 2},
	} {
		if got := slack.MissingFeatures(c.granted); len(got) != c.want {
			t.Errorf("MissingFeatures(%q) = %q, want %d features", c.granted, got, c.want)
		}
	}
	if got := slack.MissingFeatures(""); len(got) == 0 || got[0] == "" {
		t.Error("features without a description")
	}
}
