package slackfake_test

import (
	"slices"
	"testing"

	"github.com/slack-go/slack"

	"triage/internal/slack/slackfake"
)

// Slack sends a thread reply's message event only to an app whose bot is
// in the channel and whose token holds the history scope of the channel's
// kind; each rule is shown refusing (no event) beside the case it allows.
func TestReplyInThreadEventNeedsScopeAndMembership(t *testing.T) {
	t.Parallel()
	b := setup(t)
	post := func(channel string) string {
		t.Helper()
		_, ts, err := b.api.PostMessageContext(ctx(t), channel, slack.MsgOptionText("card", false))
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	card := post(general)
	ts, ev := b.fake.ReplyInThread(general, card, alice, "on it")
	if ev == nil {
		t.Fatal("a reply in a public channel with the bot and channels:history sent no event")
	}
	inner := ev["event"].(map[string]any)
	if inner["type"] != "message" || inner["thread_ts"] != card || inner["ts"] != ts || inner["user"] != alice ||
		inner["text"] != "on it" || inner["channel"] != general || inner["channel_type"] != "channel" || ev["team_id"] != team {
		t.Errorf("event = %v", ev)
	}
	if m := b.fake.Messages(general)[0]; len(m.Replies) != 1 || m.Replies[0].User != alice || m.Replies[0].BotID != "" {
		t.Errorf("the reply is not in the thread as the person's: %+v", m.Replies)
	}
	// A reply to a reply threads under the parent, as on Slack.
	if _, ev := b.fake.ReplyInThread(general, ts, bob, "me too"); ev == nil || ev["event"].(map[string]any)["thread_ts"] != card {
		t.Errorf("reply to a reply: %v", ev)
	}

	// Private channel with the bot: needs groups:history, not channels:history.
	private := post(ops)
	if _, ev := b.fake.ReplyInThread(ops, private, bob, "x"); ev == nil || ev["event"].(map[string]any)["channel_type"] != "group" {
		t.Errorf("private channel with groups:history: %v", ev)
	}

	// An install without the history scopes: the replies happen, and the
	// app hears nothing.
	old := slices.DeleteFunc(slackfake.DefaultBotScopes(), func(s string) bool { return s == "channels:history" || s == "groups:history" })
	b2 := setup(t)
	b2.fake.AddToken(slackfake.Token{Value: botToken, TeamID: team, Kind: slackfake.KindBot, Scopes: old})
	card2 := func(channel string) string {
		t.Helper()
		_, ts, err := b2.api.PostMessageContext(ctx(t), channel, slack.MsgOptionText("card", false))
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	if _, ev := b2.fake.ReplyInThread(general, card2(general), alice, "x"); ev != nil {
		t.Errorf("public channel without channels:history sent %v", ev)
	}
	if len(b2.fake.Messages(general)[0].Replies) != 1 {
		t.Error("the reply itself was lost")
	}
	withPublicOnly := append(slices.Clone(old), "channels:history")
	b2.fake.AddToken(slackfake.Token{Value: botToken, TeamID: team, Kind: slackfake.KindBot, Scopes: withPublicOnly})
	if _, ev := b2.fake.ReplyInThread(ops, card2(ops), bob, "x"); ev != nil {
		t.Errorf("private channel with only channels:history sent %v", ev)
	}

	// The bot left the channel: no event, whatever the scopes.
	b.fake.UpdateChannel(general, func(c *slackfake.Channel) { c.BotMember = false })
	if _, ev := b.fake.ReplyInThread(general, card, alice, "anyone?"); ev != nil {
		t.Errorf("channel without the bot sent %v", ev)
	}
}

// chat.postMessage refuses a thread_ts that is not a message ts.
func TestPostMessageRefusesMalformedThreadTS(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, _, err := b.api.PostMessageContext(ctx(t), general, slack.MsgOptionText("x", false), slack.MsgOptionTS("not-a-ts"))
	if got := slackErr(t, err); got != "invalid_thread_ts" {
		t.Errorf("malformed thread_ts: %q, want invalid_thread_ts", got)
	}
	if n := len(b.fake.Messages(general)); n != 0 {
		t.Errorf("%d messages posted", n)
	}
	_, ts, err := b.api.PostMessageContext(ctx(t), general, slack.MsgOptionText("card", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.api.PostMessageContext(ctx(t), general, slack.MsgOptionText("reply", false), slack.MsgOptionTS(ts)); err != nil {
		t.Errorf("a valid thread_ts refused: %v", err)
	}
}
