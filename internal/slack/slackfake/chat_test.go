package slackfake_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"triage/internal/slack/slackfake"
)

var tsPattern = regexp.MustCompile(`^\d{10}\.\d{6}$`)

func TestPostMessageAndThread(t *testing.T) {
	t.Parallel()
	b := setup(t)
	blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*WEB-1* boom", false, false), nil, nil))
	ch, ts, err := b.api.PostMessageContext(ctx(t), general, slack.MsgOptionText("WEB-1 boom", false), blocks)
	if err != nil {
		t.Fatal(err)
	}
	if ch != general || !tsPattern.MatchString(ts) {
		t.Fatalf("got channel %q ts %q", ch, ts)
	}
	_, reply, err := b.api.PostMessageContext(ctx(t), general, slack.MsgOptionText("again", false), slack.MsgOptionTS(ts))
	if err != nil {
		t.Fatal(err)
	}
	// A reply to a reply lands in the parent's thread, as on Slack.
	if _, _, err := b.api.PostMessageContext(ctx(t), general, slack.MsgOptionText("third", false), slack.MsgOptionTS(reply)); err != nil {
		t.Fatal(err)
	}
	if reply <= ts {
		t.Errorf("reply ts %s not after parent %s", reply, ts)
	}

	msgs := b.fake.Messages(general)
	if len(msgs) != 1 {
		t.Fatalf("got %d top-level messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Text != "WEB-1 boom" || m.User != botUser || m.BotID == "" || m.Blocks == nil {
		t.Errorf("message = %+v", m)
	}
	var got []string
	for _, r := range m.Replies {
		if r.ThreadTS != ts {
			t.Errorf("reply %s has thread_ts %s, want %s", r.TS, r.ThreadTS, ts)
		}
		got = append(got, r.Text)
	}
	if diff := cmp.Diff([]string{"again", "third"}, got); diff != "" {
		t.Errorf("replies (-want +got):\n%s", diff)
	}

	calls := b.fake.Calls("chat.postMessage")
	if len(calls) != 3 || calls[0].Token != botToken || calls[0].Params["channel"] != general {
		t.Fatalf("calls = %+v", calls)
	}
	var decoded []map[string]any
	if err := calls[0].Decode("blocks", &decoded); err != nil || decoded[0]["type"] != "section" {
		t.Errorf("decoded blocks %v, %v", decoded, err)
	}
}

func TestPostMessageErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.SetChannelRateLimit(0, 0) // many posts to one channel, on a clock that stands still
	text := slack.MsgOptionText("hi", false)
	noPublic := "xoxb-no-public"
	b.fake.AddToken(slackfake.Token{Value: noPublic, TeamID: team, Scopes: []string{"chat:write"}})
	noChat := "xoxb-no-chat"
	b.fake.AddToken(slackfake.Token{Value: noChat, TeamID: team, Scopes: []string{"channels:read"}})
	revoked := "xoxb-revoked"
	b.fake.AddBotToken(team, revoked)
	if _, err := slack.New(revoked, slack.OptionAPIURL(b.fake.APIURL())).SendAuthRevokeContext(ctx(t), revoked); err != nil {
		t.Fatal(err)
	}
	badSection := slack.MsgOptionBlocks(&slack.SectionBlock{Type: slack.MBTSection})
	tests := []struct {
		name    string
		token   string
		channel string
		opts    []slack.MsgOption
		want    string
	}{
		{"unknown channel", botToken, "C0NOPE", nil, "channel_not_found"},
		{"no channel", botToken, "", nil, "channel_not_found"},
		{"private without bot", botToken, secret, nil, "channel_not_found"},
		{"archived", botToken, old, nil, "is_archived"},
		{"public without bot or chat:write.public", noPublic, random, nil, "not_in_channel"},
		{"no text", botToken, general, []slack.MsgOption{}, "no_text"},
		{"empty blocks", botToken, general, []slack.MsgOption{slack.MsgOptionBlocks()}, "no_text"},
		{"invalid blocks", botToken, general, []slack.MsgOption{text, badSection}, "invalid_blocks"},
		{"missing token", "", general, nil, "not_authed"},
		{"unknown token", "xoxb-nope", general, nil, "invalid_auth"},
		{"revoked token", revoked, general, nil, "token_revoked"},
		{"missing scope", noChat, general, nil, "missing_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if opts == nil {
				opts = []slack.MsgOption{text}
			}
			api := slack.New(tc.token, slack.OptionAPIURL(b.fake.APIURL()))
			_, _, err := api.PostMessageContext(ctx(t), tc.channel, opts...)
			if got := slackErr(t, err); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// chat:write.public lets the bot post where it is not a member.
	if _, _, err := b.api.PostMessageContext(ctx(t), random, text); err != nil {
		t.Errorf("public channel with chat:write.public: %v", err)
	}
	// Malformed JSON in blocks.
	resp := rawCall(t, b.fake, "chat.postMessage", botToken, url.Values{"channel": {general}, "text": {"x"}, "blocks": {"[{"}})
	if resp["error"] != "invalid_blocks_format" {
		t.Errorf("bad blocks JSON: got %v", resp)
	}
}

func TestMissingScopeNamesIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddToken(slackfake.Token{Value: "xoxb-narrow", TeamID: team, Scopes: []string{"channels:read"}})
	api := slack.New("xoxb-narrow", slack.OptionAPIURL(b.fake.APIURL()))
	_, _, err := api.PostMessageContext(ctx(t), general, slack.MsgOptionText("x", false))
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "missing_scope" || se.Needed != "chat:write" || se.Provided != "channels:read" {
		t.Fatalf("got %#v", err)
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, ts, err := b.api.PostMessageContext(ctx(t), general, slack.MsgOptionText("v1", false),
		slack.MsgOptionAttachments(slack.Attachment{Text: "att"}))
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Minute)
	if _, _, _, err := b.api.UpdateMessageContext(ctx(t), general, ts, slack.MsgOptionText("v2", false)); err != nil {
		t.Fatal(err)
	}
	m, ok := b.fake.GetMessage(general, ts)
	if !ok || m.Text != "v2" || m.Edits != 1 || m.Attachments == nil {
		t.Errorf("after update: %+v (attachments are kept when not sent, as on Slack)", m)
	}
	_, _, _, err = b.api.UpdateMessageContext(ctx(t), general, "1700000000.000001", slack.MsgOptionText("x", false))
	if got := slackErr(t, err); got != "message_not_found" {
		t.Errorf("unknown ts: got %q", got)
	}
	userTS := b.fake.PostUserMessage(general, alice, "mine")
	_, _, _, err = b.api.UpdateMessageContext(ctx(t), general, userTS, slack.MsgOptionText("x", false))
	if got := slackErr(t, err); got != "cant_update_message" {
		t.Errorf("someone else's message: got %q", got)
	}
}

func TestPostEphemeral(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ts, err := b.api.PostEphemeralContext(ctx(t), general, alice, slack.MsgOptionText("only you", false))
	if err != nil || !tsPattern.MatchString(ts) {
		t.Fatalf("ts %q, err %v", ts, err)
	}
	eph := b.fake.Ephemerals(general)
	if len(eph) != 1 || eph[0].Recipient != alice || eph[0].Text != "only you" {
		t.Errorf("ephemerals = %+v", eph)
	}
	if len(b.fake.Messages(general)) != 0 {
		t.Error("an ephemeral message became a channel message")
	}
	// bob is in the workspace but not in #random; U0NOBODY is nowhere.
	for _, user := range []string{"U0NOBODY", bob} {
		_, err := b.api.PostEphemeralContext(ctx(t), random, user, slack.MsgOptionText("x", false))
		if got := slackErr(t, err); got != "user_not_in_channel" {
			t.Errorf("user %s: got %q", user, got)
		}
	}
}

func TestUnfurl(t *testing.T) {
	t.Parallel()
	b := setup(t)
	link := "https://triage.example.com/organizations/acme/issues/42/"
	ts := b.fake.PostUserMessage(general, alice, "look <"+link+">")
	card := map[string]slack.Attachment{link: {Title: "WEB-1 boom"}}
	if _, _, _, err := b.api.UnfurlMessageContext(ctx(t), general, ts, card); err != nil {
		t.Fatal(err)
	}
	m, _ := b.fake.GetMessage(general, ts)
	var att slack.Attachment
	if err := json.Unmarshal(m.Unfurls[link], &att); err != nil || att.Title != "WEB-1 boom" {
		t.Errorf("unfurl stored %s (%v)", m.Unfurls[link], err)
	}

	other := map[string]slack.Attachment{"https://elsewhere.example.com/": {Title: "x"}}
	_, _, _, err := b.api.UnfurlMessageContext(ctx(t), general, ts, other)
	if got := slackErr(t, err); got != "cannot_unfurl_url" {
		t.Errorf("URL not in the message: got %q", got)
	}
	_, _, _, err = b.api.UnfurlMessageContext(ctx(t), general, "1700000000.000009", card)
	if got := slackErr(t, err); got != "cannot_find_message" {
		t.Errorf("unknown ts: got %q", got)
	}
	_, _, _, err = b.api.UnfurlMessageContext(ctx(t), general, ts, nil)
	if got := slackErr(t, err); got != "invalid_unfurls_format" {
		t.Errorf("null unfurls: got %q", got)
	}

	id := b.fake.NewUnfurlID(team, general, alice, link)
	if _, _, _, err := b.api.UnfurlMessageByIDContext(ctx(t), id, "composer", card); err != nil {
		t.Fatalf("unfurl by id: %v", err)
	}
	if got := b.fake.UnfurlsByID(id); got[link] == nil {
		t.Errorf("unfurls by id = %v", got)
	}
	_, _, _, err = b.api.UnfurlMessageByIDContext(ctx(t), "U0ALICE-nope", "composer", card)
	if got := slackErr(t, err); got != "invalid_unfurl_id" {
		t.Errorf("unknown unfurl id: got %q", got)
	}
}

func TestPostToUserOpensDM(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ch, _, _, err := b.api.OpenConversationContext(ctx(t), &slack.OpenConversationParameters{Users: []string{alice}})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := b.api.PostMessageContext(ctx(t), alice, slack.MsgOptionText("hello", false))
	if err != nil || got != ch.ID || ch.ID[0] != 'D' {
		t.Fatalf("posted to %q (DM %q): %v", got, ch.ID, err)
	}
	if msgs := b.fake.Messages(ch.ID); len(msgs) != 1 {
		t.Errorf("DM holds %d messages", len(msgs))
	}
}

func TestJSONBody(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := `{"channel":"` + general + `","blocks":[{"type":"divider"}],"text":"fallback","reply_broadcast":false}`
	req, _ := http.NewRequest(http.MethodPost, b.fake.APIURL()+"chat.postMessage", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+botToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c := b.fake.Calls("chat.postMessage")[0]
	if c.Error != "" || c.Token != botToken || c.Params["text"] != "fallback" || string(c.Raw["blocks"]) != `[{"type":"divider"}]` {
		t.Fatalf("call = %+v", c)
	}
	if m := b.fake.Messages(general); len(m) != 1 || string(m[0].Blocks) != `[{"type":"divider"}]` {
		t.Errorf("messages = %+v", m)
	}
}
