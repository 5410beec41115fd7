package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"

	"triage/internal/slack/slackfake"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// channelsWorld is alertWorld with what channel features need: Mel linked
// in Slack as U2 (a member, not an admin), Zed (U9) in Slack only,
// #core-team (C4) and #checkout (C5) with the bot in them, and Socket Mode
// on beside the HTTP endpoints.
type channelsWorld struct {
	*alertWorld
	teamID string
	hub    *sentry.Hub
}

func setupChannels(t *testing.T, engine store.Engine, scopes []string) *channelsWorld {
	t.Helper()
	w, e := prepareAlerts(t, engine)
	w.fake.AddUser(slackfake.User{ID: "U2", TeamID: "T1", Name: "mel"})
	w.fake.AddUser(slackfake.User{ID: "U9", TeamID: "T1", Name: "zed", RealName: "Zed Zero"})
	for _, c := range []slackfake.Channel{
		{ID: "C4", TeamID: "T1", Name: "core-team", BotMember: true, Members: []string{"U1", "U2", "U9"}},
		{ID: "C5", TeamID: "T1", Name: "checkout", BotMember: true, Members: []string{"U1", "U2", "U9"}},
	} {
		w.fake.AddChannel(c)
	}
	w.fake.AddAppToken("xapp-1-channels")
	e["SLACK_APP_TOKEN"] = "xapp-1-channels"
	ctx := context.Background()
	s, err := store.Open(ctx, w.dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mel, _ := s.UserByEmail(ctx, "mel@acme.test")
	integrationID, _ := strconv.ParseInt(w.integrationID, 10, 64)
	if _, err := s.LinkIdentity(ctx, integrationID, "U2", mel.ID); err != nil {
		t.Fatal(err)
	}
	org, _ := s.OrganizationBySlug(ctx, "acme")
	team, err := s.TeamBySlug(ctx, org.ID, "core")
	if err != nil {
		t.Fatal(err)
	}
	if scopes != nil {
		// A workspace installed before the history scopes existed.
		if _, err := s.Pool().ExecContext(ctx, `UPDATE integrations SET scopes = $1`, strings.Join(scopes, ",")); err != nil {
			t.Fatal(err)
		}
		w.fake.AddToken(slackfake.Token{Value: "xoxb-acme", TeamID: "T1", Kind: slackfake.KindBot, Scopes: scopes})
	}
	w.base = startServe(t, e)
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := w.fake.WaitForSocketConnections(wctx, 1); err != nil {
		t.Fatalf("no Socket Mode connection: %v", err)
	}
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: w.dsn, Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	return &channelsWorld{alertWorld: w, teamID: strconv.FormatInt(team.ID, 10), hub: sentry.NewHub(client, sentry.NewScope())}
}

// signed posts body to a Slack endpoint of serve, signed as Slack signs.
func (w *channelsWorld) signed(path, contentType, body string) *http.Response {
	w.t.Helper()
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(w.signingSecret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	req, _ := http.NewRequest("POST", w.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	return resp
}

func commandForm(user, channel, name, text string) url.Values {
	return url.Values{"team_id": {"T1"}, "user_id": {user}, "channel_id": {channel}, "channel_name": {name},
		"command": {"/triage"}, "text": {text}, "trigger_id": {"1.2.3"}}
}

// command runs /triage over HTTP and returns the ephemeral reply.
func (w *channelsWorld) command(user, channel, text string) string {
	w.t.Helper()
	resp := w.signed("/extensions/slack/commands/", "application/x-www-form-urlencoded", commandForm(user, channel, "x", text).Encode())
	defer resp.Body.Close()
	var reply struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil || resp.StatusCode != 200 || reply.ResponseType != "ephemeral" {
		w.t.Fatalf("/triage %s: %d %v %+v", text, resp.StatusCode, err, reply)
	}
	return reply.Text
}

// socketCommand runs /triage over Socket Mode and returns the ack's text.
func (w *channelsWorld) socketCommand(user, channel, text string) string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ack, err := w.fake.WaitForAck(ctx, w.fake.SendSlashCommand(commandForm(user, channel, "x", text)))
	if err != nil {
		w.t.Fatal(err)
	}
	var reply struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(ack.Payload, &reply); err != nil {
		w.t.Fatalf("ack payload %s: %v", ack.Payload, err)
	}
	return reply.Text
}

// event delivers an Events API body over HTTP.
func (w *channelsWorld) event(body map[string]any) {
	w.t.Helper()
	js, _ := json.Marshal(body)
	resp := w.signed("/extensions/slack/event/", "application/json", string(js))
	resp.Body.Close()
	if resp.StatusCode != 200 {
		w.t.Fatalf("event: %d", resp.StatusCode)
	}
}

// socketEvent delivers an Events API body over Socket Mode.
func (w *channelsWorld) socketEvent(body map[string]any) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := w.fake.WaitForAck(ctx, w.fake.SendEventsAPI(body)); err != nil {
		w.t.Fatal(err)
	}
}

// settle waits until no notification, reply, rebuild or thread job is
// queued, running or waiting for a retry: nothing the test did can still
// reach Slack.
func (w *channelsWorld) settle() {
	w.t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, w.dbURL, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	defer s.Close()
	w.waitFor("background work to finish", func() bool {
		var n int64
		err := s.Pool().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')
			AND kind IN ('alert.notify', 'alert.deliver', 'alert.reply', 'alert.cards', 'issue.created', 'issue.regressed', 'event.received',
			'slack.thread_reply', 'slack.update_cards', 'slack.respond', 'slack.dm', 'slack.publish_home', 'slack.home_project')`).Scan(&n)
		return err == nil && n == 0
	})
}

// cardOf returns the top-level message of the channel that shows text.
func (w *channelsWorld) cardOf(channel, text string) (slackfake.Message, bool) {
	for _, m := range w.fake.Messages(channel) {
		if strings.Contains(string(m.Blocks), text) {
			return m, true
		}
	}
	return slackfake.Message{}, false
}

// replies lists the texts of the replies under a card.
func (w *channelsWorld) replies(channel, ts string) []string {
	m, _ := w.fake.GetMessage(channel, ts)
	var out []string
	for _, r := range m.Replies {
		who := "person"
		if r.BotID != "" {
			who = "bot"
		}
		out = append(out, who+": "+r.Text)
	}
	return out
}

func hasReply(replies []string, want string) bool {
	return slices.ContainsFunc(replies, func(r string) bool { return strings.Contains(r, want) })
}

func (w *channelsWorld) issueID(title string) string {
	w.t.Helper()
	var list []struct{ ID, Title string }
	w.api("GET", "/api/0/organizations/acme/issues/?query=is:all", w.adaToken, "", &list)
	for _, is := range list {
		if strings.Contains(is.Title, title) {
			return is.ID
		}
	}
	w.t.Fatalf("no issue %q in %+v", title, list)
	return ""
}

type apiComment struct {
	Type string
	User *struct{ Email string }
	Data map[string]any
}

func (w *channelsWorld) comments(issueID string) []apiComment {
	w.t.Helper()
	var out []apiComment
	if code := w.api("GET", "/api/0/issues/"+issueID+"/comments/", w.adaToken, "", &out); code != 200 {
		w.t.Fatalf("comments: %d", code)
	}
	return out
}

func (w *channelsWorld) browser(email, password string) *http.Client {
	w.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(w.base+"/auth/login/", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		w.t.Fatalf("login as %s: %d", email, resp.StatusCode)
	}
	return c
}

// TestSlackChannelsEndToEnd drives triage serve as Slack would, over HTTP
// and Socket Mode: /triage link team and subscribe (refusals included),
// issues routed to the right channels (a query keeps an issue out), a 429
// waited out, a team assignment reaching the team's channel, thread
// replies becoming comments with the right author (linked, and "Slack
// user" with one link prompt), a web comment in every thread of the
// issue and never an echo, the settings page editing a subscription, and
// /triage unsubscribe.
func TestSlackChannelsEndToEnd(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := setupChannels(t, engine, nil)

			// Refusals first, each saying why.
			if got := w.command("U9", "C5", "subscribe api"); !strings.Contains(got, "/extensions/slack/link-identity/") {
				t.Errorf("unlinked subscribe: %q, want the link prompt", got)
			}
			if got := w.command("U2", "C4", "link team core"); !strings.Contains(got, "Only an owner or admin") {
				t.Errorf("member linking a team: %q, want a refusal saying who may", got)
			}
			if got := w.command("U1", "C5", "subscribe api level:loud"); !strings.Contains(got, `cannot search for "level:loud"`) {
				t.Errorf("bad query: %q, want the parser's message", got)
			}
			if got := w.command("U1", "C5", "subscribe nope"); !strings.Contains(got, `no project "nope"`) {
				t.Errorf("unknown project: %q", got)
			}
			if got := w.command("U1", "C4", "link team core"); !strings.Contains(got, "#core") {
				t.Fatalf("link team: %q", got)
			}
			// Over Socket Mode, the same command handler.
			if got := w.socketCommand("U1", "C5", "subscribe api payment"); !strings.Contains(got, "matching `payment`") {
				t.Fatalf("subscribe over Socket Mode: %q", got)
			}

			// The first post is refused with a 429: it waits out Retry-After.
			w.fake.FailNextHTTP("chat.postMessage", 429)
			w.hub.CaptureMessage("payment declined for order")
			w.hub.Flush(10 * time.Second)
			w.waitFor("the subscribed card in #checkout", func() bool { _, ok := w.cardOf("C5", "payment declined"); return ok })
			payment, _ := w.cardOf("C5", "payment declined")
			paymentID := w.issueID("payment declined")
			if st := w.fake.RateLimitStats(); st.Limited < 1 || st.Unhonoured != 0 {
				t.Errorf("rate limits: %+v, want the 429 sent and honoured", st)
			}

			// Assigned to the team: its card comes to the team's channel.
			if code := w.api("PUT", "/api/0/issues/"+paymentID+"/", w.adaToken, `{"assignedTo": "team:`+w.teamID+`"}`, nil); code != 200 {
				t.Fatalf("assign: %d", code)
			}
			w.waitFor("the assigned card in #core-team", func() bool { _, ok := w.cardOf("C4", "payment declined"); return ok })
			teamCard, _ := w.cardOf("C4", "payment declined")
			w.waitFor("the assignment said in both threads", func() bool {
				return hasReply(w.replies("C4", teamCard.TS), "Assigned to #core by <@U1>") &&
					hasReply(w.replies("C5", payment.TS), "Assigned to #core by <@U1>")
			})

			// A rule posting to the team's channel; the subscription's query
			// keeps the disk error out of #checkout.
			var rule apiRuleOut
			body := `{"name": "New to the team", "conditions": {"firstSeen": true}, "action": {"integrationId": "` + w.integrationID + `", "target": "team"}}`
			if code := w.api("POST", "/api/0/projects/acme/api/rules/", w.adaToken, body, &rule); code != 201 {
				t.Fatalf("team rule: %d %+v", code, rule)
			}
			w.hub.CaptureMessage("disk almost full")
			w.hub.Flush(10 * time.Second)
			w.waitFor("the disk card in #core-team", func() bool { _, ok := w.cardOf("C4", "disk almost full"); return ok })
			// The same job judged the subscription: it is done.
			if _, ok := w.cardOf("C5", "disk almost full"); ok || len(w.fake.Messages("C5")) != 1 {
				t.Errorf("#checkout has %d cards; the query should keep the disk error out", len(w.fake.Messages("C5")))
			}
			if got := w.command("U1", "C5", "subscriptions"); !strings.Contains(got, "acme/api") || !strings.Contains(got, "payment") {
				t.Errorf("subscriptions in #checkout: %q", got)
			}
			if got := w.command("U2", "C4", "subscriptions"); !strings.Contains(got, "#core") {
				t.Errorf("subscriptions in #core-team: %q", got)
			}

			// Ada replies in #checkout's thread (HTTP events): a comment by
			// Ada, told in #core-team's thread and not back in #checkout's.
			_, ev := w.fake.ReplyInThread("C5", payment.TS, "U1", "looking into it")
			if ev == nil {
				t.Fatal("the fake sent no event for the reply")
			}
			w.event(ev)
			w.waitFor("Ada's comment", func() bool {
				c := w.comments(paymentID)
				return len(c) == 1 && c[0].User != nil && c[0].User.Email == "ada@acme.test" && c[0].Data["text"] == "looking into it"
			})
			w.waitFor("the comment in #core-team's thread", func() bool {
				return hasReply(w.replies("C4", teamCard.TS), "bot: :speech_balloon: <@U1>: looking into it")
			})

			// Zed is not linked (Socket Mode events): kept as "Slack user",
			// offered the link once.
			for _, text := range []string{"seen this on mobile too", "and on tablets"} {
				_, ev := w.fake.ReplyInThread("C5", payment.TS, "U9", text)
				w.socketEvent(ev)
			}
			w.waitFor("Zed's comments", func() bool { return len(w.comments(paymentID)) == 3 })
			for _, c := range w.comments(paymentID)[:2] {
				if c.User != nil || c.Data["slackName"] != "Zed Zero" || c.Data["slackUser"] != "U9" {
					t.Errorf("unlinked comment %+v", c)
				}
			}

			// A comment on the web (the API here, as Mel): in every thread.
			if code := w.api("POST", "/api/0/issues/"+paymentID+"/comments/", w.melToken, `{"text": "fixed in 1.2"}`, nil); code != 201 {
				t.Fatalf("comment: %d", code)
			}
			w.waitFor("the web comment in both threads", func() bool {
				return hasReply(w.replies("C4", teamCard.TS), "fixed in 1.2") && hasReply(w.replies("C5", payment.TS), "fixed in 1.2")
			})
			w.settle()
			checkout := w.replies("C5", payment.TS)
			for _, echo := range []string{"bot: :speech_balloon: <@U1>: looking into it", "bot: :speech_balloon: *Slack user Zed Zero*"} {
				if hasReply(checkout, echo) {
					t.Errorf("#checkout's thread echoes a reply made in it: %q", checkout)
				}
			}
			if team := w.replies("C4", teamCard.TS); !hasReply(team, "*Slack user Zed Zero*: seen this on mobile too") {
				t.Errorf("#core-team's thread lacks Zed's reply: %q", team)
			}
			prompts := 0
			for _, e := range w.fake.Ephemerals("C5") {
				if e.Recipient == "U9" && strings.Contains(e.Text, "/extensions/slack/link-identity/") {
					prompts++
				}
			}
			if prompts != 1 {
				t.Errorf("Zed got %d link prompts, want 1", prompts)
			}
			if n := len(w.comments(paymentID)); n != 4 {
				t.Errorf("%d comments, want 4 (Triage's own posts never become comments)", n)
			}

			// The settings page lists and edits the subscription.
			ada := w.browser("ada@acme.test", "correct horse")
			page := w.get(ada, "/organizations/acme/settings/slack/")
			for _, want := range []string{"#checkout", `value="payment"`, "#core → #core-team"} {
				if !strings.Contains(page, want) {
					t.Errorf("Slack channels page lacks %q", want)
				}
			}
			if !strings.Contains(w.get(ada, "/organizations/acme/settings/"), "/organizations/acme/settings/slack/") {
				t.Error("the settings page does not link to the Slack channels page")
			}
			subID := page[strings.Index(page, `data-subscription="`)+len(`data-subscription="`):]
			subID = subID[:strings.Index(subID, `"`)]
			form := func(q string) *http.Response {
				resp, err := ada.PostForm(w.base+"/organizations/acme/settings/slack/subscriptions/"+subID+"/", url.Values{"query": {q}})
				if err != nil {
					t.Fatal(err)
				}
				return resp
			}
			resp := form("level:loud")
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Errorf("bad query from the page: %d, want 400", resp.StatusCode)
			}
			resp = form("payment declined")
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("saving the query: %d", resp.StatusCode)
			}
			if got := w.command("U1", "C5", "subscriptions"); !strings.Contains(got, "payment declined") {
				t.Errorf("after the edit: %q", got)
			}

			if got := w.command("U1", "C5", "unsubscribe api"); !strings.Contains(got, "no longer") {
				t.Errorf("unsubscribe: %q", got)
			}
			if got := w.command("U1", "C5", "subscriptions"); !strings.Contains(got, "nothing") {
				t.Errorf("after unsubscribe: %q", got)
			}
			if got := w.command("U1", "C4", "unlink team"); !strings.Contains(got, "#core") {
				t.Errorf("unlink team: %q", got)
			}
		})
	}
}

// TestSlackOldScopesWorkspace: a workspace installed before thread replies
// (no channels:history, groups:history) keeps working for everything its
// scopes allow, and the settings page says what needs a reinstall and
// offers it.
func TestSlackOldScopesWorkspace(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			old := slices.DeleteFunc(slackfake.DefaultBotScopes(), func(s string) bool { return strings.HasSuffix(s, ":history") })
			w := setupChannels(t, engine, old)

			ada := w.browser("ada@acme.test", "correct horse")
			page := w.get(ada, "/organizations/acme/settings/")
			for _, want := range []string{"need a reinstall", "replies in the threads of cards in public channels become comments",
				"private channels", `class="reinstall" href="/organizations/acme/integrations/slack/setup/"`} {
				if !strings.Contains(page, want) {
					t.Errorf("settings page lacks %q", want)
				}
			}
			mel := w.browser("mel@acme.test", "battery staple")
			if page := w.get(mel, "/organizations/acme/settings/"); !strings.Contains(page, "need a reinstall") || strings.Contains(page, `class="reinstall"`) {
				t.Errorf("a member should see what needs a reinstall, without the button")
			}

			// Subscriptions and comments into threads need no new scope.
			if got := w.command("U1", "C5", "subscribe api"); !strings.Contains(got, "every new and regressed issue") {
				t.Fatalf("subscribe: %q", got)
			}
			w.hub.CaptureMessage("payment declined for order")
			w.hub.Flush(10 * time.Second)
			w.waitFor("the card", func() bool { _, ok := w.cardOf("C5", "payment declined"); return ok })
			card, _ := w.cardOf("C5", "payment declined")
			id := w.issueID("payment declined")
			if code := w.api("POST", "/api/0/issues/"+id+"/comments/", w.adaToken, `{"text": "on it"}`, nil); code != 201 {
				t.Fatalf("comment: %d", code)
			}
			w.waitFor("the comment in the thread", func() bool { return hasReply(w.replies("C5", card.TS), "on it") })
			// Slack sends such a workspace no message events: a reply in
			// Slack stays in Slack, and nothing breaks.
			if _, ev := w.fake.ReplyInThread("C5", card.TS, "U1", "from slack"); ev != nil {
				t.Fatalf("the fake sent a message event without the scope: %v", ev)
			}
			var integrations []struct{ Status string }
			w.api("GET", "/api/0/organizations/acme/integrations/", w.adaToken, "", &integrations)
			if len(integrations) != 1 || integrations[0].Status != "active" {
				t.Errorf("integrations %+v, want active", integrations)
			}
		})
	}
}
