package slackfake_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"triage/internal/slack/slackfake"
)

// views.publish and direct messages: each rule Slack applies, shown
// refusing next to a valid call that differs only there.

func homeView(blocks string) string { return `{"type":"home","blocks":` + blocks + `}` }

func sections(n int) string {
	var b []string
	for i := range n {
		b = append(b, fmt.Sprintf(`{"type":"section","text":{"type":"mrkdwn","text":"issue %d"}}`, i))
	}
	return "[" + strings.Join(b, ",") + "]"
}

func TestViewsPublishRulesRefuse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddUser(slackfake.User{ID: "U0GONE", TeamID: team, Name: "gone", Deleted: true})
	b.fake.AddWorkspace(slackfake.Workspace{ID: "T0OTHER"})
	b.fake.AddUser(slackfake.User{ID: "U0STRANGER", TeamID: "T0OTHER"})
	for _, c := range []struct {
		name, user, view, wantErr, wantMsg string
	}{
		{"valid", alice, homeView(sections(3)), "", ""},
		{"100 blocks", alice, homeView(sections(100)), "", ""},
		{"101 blocks", alice, homeView(sections(101)), "invalid_arguments", "no more than 100 items"},
		{"modal type", alice, `{"type":"modal","title":{"type":"plain_text","text":"T"},"blocks":[]}`, "invalid_arguments", "must be home"},
		{"title on a home view", alice, `{"type":"home","title":{"type":"plain_text","text":"T"},"blocks":[]}`, "invalid_arguments", "unknown field: title"},
		{"no blocks", alice, `{"type":"home"}`, "invalid_arguments", "missing required field: blocks"},
		{"bad element", alice, homeView(actionsBlock(strings.Replace(okButton, `"plain_text"`, `"mrkdwn"`, 1))), "invalid_arguments", "must be plain_text"},
		{"duplicate block_id", alice, homeView(`[` + strings.Trim(actionsBlock(okButton), "[]") + `,` + strings.Trim(actionsBlock(okButton), "[]") + `]`), "invalid_arguments", "block_id"},
		{"no user", "", homeView(sections(1)), "invalid_arguments", "user_id"},
		{"unknown user", "U0NOBODY", homeView(sections(1)), "user_not_found", ""},
		{"user of another workspace", "U0STRANGER", homeView(sections(1)), "user_not_found", ""},
		{"the bot", botUser, homeView(sections(1)), "user_not_found", ""},
		{"deactivated user", "U0GONE", homeView(sections(1)), "user_disabled", ""},
		{"not JSON", alice, `{"type":`, "invalid_arguments", "parse"},
	} {
		t.Run(c.name, func(t *testing.T) {
			form := url.Values{"view": {c.view}}
			if c.user != "" {
				form.Set("user_id", c.user)
			}
			out := rawCall(t, b.fake, "views.publish", botToken, form)
			gotErr, _ := out["error"].(string)
			if gotErr != c.wantErr {
				t.Fatalf("error = %q, want %q (%v)", gotErr, c.wantErr, out)
			}
			if c.wantMsg != "" && !strings.Contains(fmt.Sprint(out["response_metadata"]), c.wantMsg) {
				t.Errorf("messages = %v, want one containing %q", out["response_metadata"], c.wantMsg)
			}
		})
	}
	h, ok := b.fake.GetHomeView(team, alice)
	if !ok || h.Publishes != 2 || !strings.Contains(string(h.JSON), "issue 99") {
		t.Errorf("alice's home = %+v, %v: want the two valid publishes, the last one kept", h, ok)
	}
}

func TestViewsPublishHash(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := slack.PublishViewContextRequest{UserID: alice, View: slack.HomeTabViewRequest{Type: slack.VTHomeTab,
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewDividerBlock()}}}}
	resp, err := b.api.PublishViewContext(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	stale := "1.stale"
	req.Hash = &stale
	_, err = b.api.PublishViewContext(ctx(t), req)
	if got := slackErr(t, err); got != "hash_conflict" {
		t.Errorf("stale hash: %q", got)
	}
	req.Hash = &resp.Hash
	if _, err := b.api.PublishViewContext(ctx(t), req); err != nil {
		t.Errorf("current hash: %v", err)
	}
}

func TestDirectMessageRulesRefuse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddUser(slackfake.User{ID: "U0GONE", TeamID: team, Name: "gone", Deleted: true})
	b.fake.AddWorkspace(slackfake.Workspace{ID: "T0OTHER"})
	b.fake.AddUser(slackfake.User{ID: "U0STRANGER", TeamID: "T0OTHER"})
	open := func(users ...string) (string, error) {
		ch, _, _, err := b.api.OpenConversationContext(ctx(t), &slack.OpenConversationParameters{Users: users})
		if err != nil {
			return "", err
		}
		return ch.ID, nil
	}
	dm, err := open(alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, ts, err := b.api.PostMessageContext(ctx(t), dm, slack.MsgOptionText("assigned to you", false)); err != nil || ts == "" {
		t.Fatalf("post to the DM: %v", err)
	}
	if msgs := b.fake.Messages(dm); len(msgs) != 1 || msgs[0].Text != "assigned to you" {
		t.Errorf("DM holds %+v", msgs)
	}
	again, err := open(alice)
	if err != nil || again != dm {
		t.Errorf("opening again = %q, %v; want the same DM %q", again, err, dm)
	}
	for _, c := range []struct {
		name  string
		users []string
		want  string
	}{
		{"nobody", nil, "users_list_not_supplied"},
		{"unknown user", []string{"U0NOBODY"}, "user_not_found"},
		{"user of another workspace", []string{"U0STRANGER"}, "user_not_found"},
		{"deactivated user", []string{"U0GONE"}, "user_disabled"},
		{"the bot itself", []string{botUser}, "cannot_dm_bot"},
	} {
		if _, err := open(c.users...); err == nil || slackErr(t, err) != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	// Without im:write a bot cannot open a DM.
	b.fake.AddToken(slackfake.Token{Value: "xoxb-no-im", TeamID: team, Scopes: []string{"chat:write"}})
	noIM := slack.New("xoxb-no-im", slack.OptionAPIURL(b.fake.APIURL()))
	_, _, _, err = noIM.OpenConversationContext(ctx(t), &slack.OpenConversationParameters{Users: []string{alice}})
	if got := slackErr(t, err); got != "missing_scope" {
		t.Errorf("without im:write: %q", got)
	}
	// Another workspace's token cannot post into this workspace's DM.
	b.fake.AddBotToken("T0OTHER", "xoxb-other")
	other := slack.New("xoxb-other", slack.OptionAPIURL(b.fake.APIURL()))
	if _, _, err := other.PostMessageContext(ctx(t), dm, slack.MsgOptionText("hi", false)); slackErr(t, err) != "channel_not_found" {
		t.Errorf("another workspace posting to the DM: %v", err)
	}
}
