package slackfake_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

const appToken = "xapp-1-A0TRIAGE-1-test"

var uninstalled = map[string]any{
	"type": "event_callback", "team_id": team, "api_app_id": "A0TRIAGE", "event_id": "Ev01",
	"event_time": 1714564800, "event": map[string]any{"type": "app_uninstalled"},
}

// TestSocketModeWithSlackGo drives slack-go's own Socket Mode client, to
// prove the wire format: hello, the three envelope types, acks with payloads,
// and a reconnect when Slack asks for a refresh.
func TestSocketModeWithSlackGo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddAppToken(appToken)
	// Reconnects within a second call apps.connections.open (Tier 1) more
	// often than Slack allows: this test is about the socket, not pacing.
	b.fake.SetMethodRateLimit("apps.connections.open", 0, 0)
	api := slack.New(botToken, slack.OptionAPIURL(b.fake.APIURL()), slack.OptionAppLevelToken(appToken))
	client := socketmode.New(api)
	c := ctx(t)
	go func() { _ = client.RunContext(c) }()
	go func() {
		for evt := range client.Events {
			if evt.Request == nil || evt.Request.EnvelopeID == "" {
				continue
			}
			var payload any
			if evt.Type == socketmode.EventTypeSlashCommand {
				cmd := evt.Data.(slack.SlashCommand)
				payload = map[string]any{"text": "got " + cmd.Text}
			}
			_ = client.Ack(*evt.Request, payload)
		}
	}()
	if err := b.fake.WaitForSocketConnections(c, 1); err != nil {
		t.Fatal(err)
	}
	ev := b.fake.SendEventsAPI(uninstalled)
	cmd := b.fake.SendSlashCommand(url.Values{"command": {"/triage"}, "text": {"help"}, "team_id": {team}, "user_id": {alice}})
	act := b.fake.SendInteractive(map[string]any{"type": "block_actions", "team": map[string]any{"id": team}, "user": map[string]any{"id": alice}})
	for _, id := range []string{ev, cmd, act} {
		if _, err := b.fake.WaitForAck(c, id); err != nil {
			t.Fatalf("ack %s: %v", id, err)
		}
	}
	ack, _ := b.fake.WaitForAck(c, cmd)
	var p map[string]string
	if err := json.Unmarshal(ack.Payload, &p); err != nil || p["text"] != "got help" || ack.Type != "slash_commands" {
		t.Errorf("slash command ack = %+v (%s)", ack, ack.Payload)
	}

	b.fake.SendDisconnect("refresh_requested")
	if err := b.fake.WaitForSocketConnections(c, 2); err != nil {
		t.Fatalf("no reconnect after refresh_requested: %v", err)
	}
	if _, err := b.fake.WaitForAck(c, b.fake.SendEventsAPI(uninstalled)); err != nil {
		t.Errorf("after reconnect: %v", err)
	}
}

type envelopeFrame struct {
	Type         string          `json:"type"`
	EnvelopeID   string          `json:"envelope_id"`
	Payload      json.RawMessage `json:"payload"`
	RetryAttempt int             `json:"retry_attempt"`
	RetryReason  string          `json:"retry_reason"`
	Accepts      bool            `json:"accepts_response_payload"`
}

// dial opens a raw Socket Mode connection and reads its hello.
func dial(t *testing.T, api *slack.Client) *websocket.Conn {
	t.Helper()
	_, wsURL, err := api.StartSocketModeContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx(t), wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if f := read(t, conn); f.Type != "hello" {
		t.Fatalf("first frame %+v, want hello", f)
	}
	return conn
}

func read(t *testing.T, conn *websocket.Conn) envelopeFrame {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var f envelopeFrame
	if err := conn.ReadJSON(&f); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSocketModeRedelivery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddAppToken(appToken)
	b.fake.SetMethodRateLimit("apps.connections.open", 0, 0) // reconnects at once: not about pacing
	api := slack.New("", slack.OptionAPIURL(b.fake.APIURL()), slack.OptionAppLevelToken(appToken))

	// A bot token cannot open a connection, and an app token cannot post.
	_, _, err := slack.New(botToken, slack.OptionAPIURL(b.fake.APIURL()), slack.OptionAppLevelToken(botToken)).StartSocketModeContext(ctx(t))
	if got := slackErr(t, err); got != "not_allowed_token_type" {
		t.Errorf("bot token: %q", got)
	}

	conn := dial(t, api)
	ev := b.fake.SendEventsAPI(uninstalled)
	act := b.fake.SendInteractive(map[string]any{"type": "view_submission"})
	if f := read(t, conn); f.EnvelopeID != ev || f.Type != "events_api" || f.RetryAttempt != 0 || f.Accepts {
		t.Fatalf("first delivery %+v", f)
	}
	if f := read(t, conn); f.EnvelopeID != act || !f.Accepts {
		t.Fatalf("interactive %+v", f)
	}
	b.fake.DropConnection()

	conn2 := dial(t, api)
	f := read(t, conn2)
	if f.EnvelopeID != ev || f.RetryAttempt != 1 || f.RetryReason == "" {
		t.Fatalf("redelivery %+v", f)
	}
	if err := conn2.WriteJSON(map[string]any{"envelope_id": ev}); err != nil {
		t.Fatal(err)
	}
	ack, err := b.fake.WaitForAck(ctx(t), ev)
	if err != nil || ack.RetryAttempt != 1 || ack.Unknown {
		t.Errorf("ack %+v, %v", ack, err)
	}
	// The interaction is not retried; it stays unacked.
	if got := b.fake.Unacked(); len(got) != 1 || got[0] != act {
		t.Errorf("unacked = %v", got)
	}
}
