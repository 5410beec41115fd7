package slackfake_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"triage/internal/slack/slackfake"
)

func TestConversationsListPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 7 {
		b.fake.AddChannel(slackfake.Channel{ID: fmt.Sprintf("C1%02d", i), TeamID: team, Name: fmt.Sprintf("team-%d", i)})
	}
	list := func(types ...string) (names []string, pages int, short bool) {
		cursor := ""
		for {
			chans, next, err := b.api.GetConversationsContext(ctx(t), &slack.GetConversationsParameters{
				Types: types, Limit: 3, Cursor: cursor, ExcludeArchived: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			short = short || (len(chans) < 3 && next != "")
			for _, c := range chans {
				names = append(names, c.Name)
			}
			if next == "" {
				return names, pages, short
			}
			cursor = next
		}
	}
	names, pages, short := list("public_channel", "private_channel")
	slices.Sort(names)
	want := []string{"general", "ops", "random", "team-0", "team-1", "team-2", "team-3", "team-4", "team-5", "team-6"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("channels (-want +got):\n%s", diff)
	}
	if pages < 4 || !short {
		t.Errorf("%d pages, short page seen %v: paging must go on past short pages", pages, short)
	}
	private, _, _ := list("private_channel")
	if diff := cmp.Diff([]string{"ops"}, private); diff != "" {
		t.Errorf("private channels the bot sees (-want +got):\n%s", diff)
	}
	_, _, err := b.api.GetConversationsContext(ctx(t), &slack.GetConversationsParameters{Cursor: "bogus!"})
	if got := slackErr(t, err); got != "invalid_cursor" {
		t.Errorf("bad cursor: %q", got)
	}
}

func TestConversationsInfo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ch, err := b.api.GetConversationInfoContext(ctx(t), &slack.GetConversationInfoInput{ChannelID: ops})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Name != "ops" || !ch.IsPrivate || !ch.IsMember {
		t.Errorf("ops = %+v", ch)
	}
	_, err = b.api.GetConversationInfoContext(ctx(t), &slack.GetConversationInfoInput{ChannelID: secret})
	if got := slackErr(t, err); got != "channel_not_found" {
		t.Errorf("private channel without the bot: %q", got)
	}
	b.fake.UpdateChannel(secret, func(c *slackfake.Channel) { c.BotMember = true })
	if _, err := b.api.GetConversationInfoContext(ctx(t), &slack.GetConversationInfoInput{ChannelID: secret}); err != nil {
		t.Errorf("after /invite: %v", err)
	}
}

func TestUsers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u, err := b.api.GetUserInfoContext(ctx(t), alice)
	if err != nil || u.Name != "alice" || u.Profile.Email != "alice@example.com" {
		t.Fatalf("users.info = %+v, %v", u, err)
	}
	u, err = b.api.GetUserByEmailContext(ctx(t), "BOB@example.com")
	if err != nil || u.ID != bob {
		t.Fatalf("lookupByEmail = %+v, %v", u, err)
	}
	_, err = b.api.GetUserByEmailContext(ctx(t), "nobody@example.com")
	if got := slackErr(t, err); got != "users_not_found" {
		t.Errorf("unknown email: %q", got)
	}
	_, err = b.api.GetUserInfoContext(ctx(t), "U0NOBODY")
	if got := slackErr(t, err); got != "user_not_found" {
		t.Errorf("unknown user: %q", got)
	}
}
