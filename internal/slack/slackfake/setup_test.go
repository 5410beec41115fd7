package slackfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"triage/internal/slack/slackfake"
)

const (
	team     = "T0ACME"
	botUser  = "U0BOT"
	botToken = "xoxb-test-token"
	alice    = "U0ALICE"
	bob      = "U0BOB"
	// Channels: general has the bot; random does not; secret is private
	// without the bot; ops is private with it; old is archived.
	general = "C0GENERAL"
	random  = "C0RANDOM"
	secret  = "C0SECRET"
	ops     = "C0OPS"
	old     = "C0OLD"
)

type bundle struct {
	fake  *slackfake.Server
	clock *slackfake.ManualClock
	api   *slack.Client
}

// setup starts a fake with one workspace, two people, five channels and a
// bot token, and a slack-go client pointed at it.
func setup(t *testing.T) bundle {
	t.Helper()
	clock := slackfake.NewManualClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	fake := slackfake.New(slackfake.WithClock(clock.Now))
	t.Cleanup(fake.Close)
	fake.AddWorkspace(slackfake.Workspace{
		ID: team, Name: "Acme", Domain: "acme", IconURL: "https://example.com/acme-132.png",
		BotUserID: botUser, AppID: "A0TRIAGE",
	})
	fake.AddUser(slackfake.User{ID: alice, TeamID: team, Name: "alice", RealName: "Alice", Email: "alice@example.com"})
	fake.AddUser(slackfake.User{ID: bob, TeamID: team, Name: "bob", RealName: "Bob", Email: "bob@example.com"})
	for _, c := range []slackfake.Channel{
		{ID: general, TeamID: team, Name: "general", BotMember: true, Members: []string{alice, bob}},
		{ID: random, TeamID: team, Name: "random", Members: []string{alice}},
		{ID: secret, TeamID: team, Name: "secret", IsPrivate: true, Members: []string{alice}},
		{ID: ops, TeamID: team, Name: "ops", IsPrivate: true, BotMember: true, Members: []string{bob}},
		{ID: old, TeamID: team, Name: "old", IsArchived: true, BotMember: true},
	} {
		fake.AddChannel(c)
	}
	fake.AddBotToken(team, botToken)
	return bundle{fake: fake, clock: clock, api: slack.New(botToken, slack.OptionAPIURL(fake.APIURL()))}
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// rawCall posts a form to a Web API method, for what slack-go cannot send,
// and returns the decoded answer.
func rawCall(t *testing.T, fake *slackfake.Server, method, token string, form url.Values) map[string]any {
	t.Helper()
	if token != "" {
		form.Set("token", token)
	}
	resp, err := http.PostForm(fake.APIURL()+method, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return out
}

// slackErr returns Slack's error code in err, or fails the test.
func slackErr(t *testing.T, err error) string {
	t.Helper()
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		t.Fatalf("got error %v (%T), want a Slack error response", err, err)
	}
	return se.Err
}
