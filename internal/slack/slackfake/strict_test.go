package slackfake_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"triage/internal/slack/slackfake"
)

// Each rule of the fake's Block Kit and attachment checks, shown refusing
// a violation, next to a valid message that differs only there.

const (
	okButton = `{"type":"button","text":{"type":"plain_text","text":"Resolve"},"action_id":"a","value":"v"}`
	okOption = `{"text":{"type":"plain_text","text":"Alice"},"value":"user:1"}`
)

func actionsBlock(elements ...string) string {
	return `[{"type":"actions","block_id":"b","elements":[` + strings.Join(elements, ",") + `]}]`
}

func options(n int) string {
	var o []string
	for i := range n {
		o = append(o, fmt.Sprintf(`{"text":{"type":"plain_text","text":"o%d"},"value":"v%d"}`, i, i))
	}
	return "[" + strings.Join(o, ",") + "]"
}

const okConfirm = `{"title":{"type":"plain_text","text":"Sure?"},"text":{"type":"mrkdwn","text":"*Really*"},` +
	`"confirm":{"type":"plain_text","text":"Yes"},"deny":{"type":"plain_text","text":"No"}}`

func TestBlockKitRulesRefuse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.SetChannelRateLimit(0, 0) // one post per case, all to one channel
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, c := range []struct {
		name, blocks, wantMsg string // wantMsg "" means valid
	}{
		{"valid actions", actionsBlock(okButton), ""},
		{"misspelled element type", actionsBlock(strings.Replace(okButton, `"button"`, `"buton"`, 1)), "unsupported type: buton"},
		{"misspelled block type", `[{"type":"sectoin","text":{"type":"mrkdwn","text":"x"}}]`, "unsupported type: sectoin"},
		{"unknown block field", `[{"type":"section","text":{"type":"mrkdwn","text":"x"},"colour":"red"}]`, "unknown field: colour"},
		{"unknown element field", actionsBlock(strings.Replace(okButton, `"value":"v"`, `"value":"v","tooltip":"t"`, 1)), "unknown field: tooltip"},
		{"unknown text field", `[{"type":"section","text":{"type":"mrkdwn","text":"x","emoji":true}}]`, "unknown field: emoji"},
		{"unmodelled block", `[{"type":"rich_text","elements":[]}]`, "not modelled by slackfake"},
		{"unmodelled element", actionsBlock(`{"type":"datepicker","action_id":"d"}`), "not modelled by slackfake"},
		{"element not allowed in block", actionsBlock(`{"type":"image","image_url":"https://x/i.png","alt_text":"i"}`), "image is not allowed here"},
		{"valid markdown", `[{"type":"markdown","text":"**hi**"}]`, ""},
		{"markdown too long", `[{"type":"markdown","text":"` + long(12001) + `"}]`, "must be less than 12001 characters"},
		{"header mrkdwn", `[{"type":"header","text":{"type":"mrkdwn","text":"x"}}]`, "must be plain_text"},
		{"header too long", `[{"type":"header","text":{"type":"plain_text","text":"` + long(151) + `"}}]`, "must be less than 151 characters"},
		{"section text too long", `[{"type":"section","text":{"type":"mrkdwn","text":"` + long(3001) + `"}}]`, "must be less than 3001 characters"},
		{"context too many", `[{"type":"context","elements":[` + strings.TrimSuffix(strings.Repeat(`{"type":"mrkdwn","text":"x"},`, 11), ",") + `]}]`, "between 1 and 10 items"},
		{"button text mrkdwn", actionsBlock(strings.Replace(okButton, `"plain_text"`, `"mrkdwn"`, 1)), "must be plain_text"},
		{"button text too long", actionsBlock(strings.Replace(okButton, `"Resolve"`, `"`+long(76)+`"`, 1)), "must be less than 76 characters"},
		{"button url too long", actionsBlock(strings.Replace(okButton, `"value":"v"`, `"url":"https://x/`+long(3000)+`"`, 1)), "must be less than 3001 characters"},
		{"button style", actionsBlock(strings.Replace(okButton, `"value":"v"`, `"style":"green"`, 1)), "must be primary or danger"},
		{"duplicate action_id", actionsBlock(okButton, okButton), "duplicate action_id"},
		{"valid confirm", actionsBlock(strings.Replace(okButton, `"value":"v"`, `"confirm":`+okConfirm, 1)), ""},
		{"confirm without deny", actionsBlock(strings.Replace(okButton, `"value":"v"`, `"confirm":`+strings.Replace(okConfirm, `,"deny":{"type":"plain_text","text":"No"}`, "", 1), 1)), "deny"},
		{"confirm title mrkdwn", actionsBlock(strings.Replace(okButton, `"value":"v"`, `"confirm":`+strings.Replace(okConfirm, `"title":{"type":"plain_text"`, `"title":{"type":"mrkdwn"`, 1), 1)), "must be plain_text"},
		{"confirm button too long", actionsBlock(strings.Replace(okButton, `"value":"v"`, `"confirm":`+strings.Replace(okConfirm, `"Yes"`, `"`+long(31)+`"`, 1), 1)), "must be less than 31 characters"},
		{"confirm unknown field", actionsBlock(strings.Replace(okButton, `"value":"v"`, `"confirm":`+strings.Replace(okConfirm, `"title"`, `"ok":1,"title"`, 1), 1)), "unknown field: ok"},
		{"valid select", actionsBlock(`{"type":"static_select","action_id":"s","placeholder":{"type":"plain_text","text":"Assign…"},"options":[` + okOption + `],"initial_option":` + okOption + `}`), ""},
		{"select option mrkdwn", actionsBlock(`{"type":"static_select","action_id":"s","options":[` + strings.Replace(okOption, "plain_text", "mrkdwn", 1) + `]}`), "must be plain_text"},
		{"select too many options", actionsBlock(`{"type":"static_select","action_id":"s","options":` + options(101) + `}`), "between 1 and 100 items"},
		{"select options and groups", actionsBlock(`{"type":"static_select","action_id":"s","options":[` + okOption + `],"option_groups":[{"label":{"type":"plain_text","text":"G"},"options":[` + okOption + `]}]}`), "not both"},
		{"select option value too long", actionsBlock(`{"type":"static_select","action_id":"s","options":[{"text":{"type":"plain_text","text":"A"},"value":"` + long(151) + `"}]}`), "value"},
		{"select option url", actionsBlock(`{"type":"static_select","action_id":"s","options":[{"text":{"type":"plain_text","text":"A"},"value":"a","url":"https://x"}]}`), "unknown field: url"},
		{"initial_option not an option", actionsBlock(`{"type":"static_select","action_id":"s","options":[` + okOption + `],"initial_option":{"text":{"type":"plain_text","text":"Bob"},"value":"user:2"}}`), "must be one of the options"},
		{"initial_option in a group", actionsBlock(`{"type":"static_select","action_id":"s","option_groups":[{"label":{"type":"plain_text","text":"People"},"options":[` + okOption + `]}],"initial_option":` + okOption + `}`), ""},
		{"group label mrkdwn", actionsBlock(`{"type":"static_select","action_id":"s","option_groups":[{"label":{"type":"mrkdwn","text":"G"},"options":[` + okOption + `]}]}`), "must be plain_text"},
		{"placeholder too long", actionsBlock(`{"type":"static_select","action_id":"s","placeholder":{"type":"plain_text","text":"` + long(151) + `"},"options":[` + okOption + `]}`), "must be less than 151 characters"},
		{"valid external select", actionsBlock(`{"type":"external_select","action_id":"e","min_query_length":0,"initial_option":` + okOption + `}`), ""},
		{"external select with options", actionsBlock(`{"type":"external_select","action_id":"e","options":[` + okOption + `]}`), "unknown field: options"},
		{"valid overflow", actionsBlock(`{"type":"overflow","action_id":"o","options":` + options(2) + `}`), ""},
		{"overflow one option", actionsBlock(`{"type":"overflow","action_id":"o","options":` + options(1) + `}`), "between 2 and 5 items"},
		{"overflow six options", actionsBlock(`{"type":"overflow","action_id":"o","options":` + options(6) + `}`), "between 2 and 5 items"},
		{"overflow option mrkdwn", actionsBlock(`{"type":"overflow","action_id":"o","options":[` + okOption + `,` + strings.Replace(okOption, "plain_text", "mrkdwn", 1) + `]}`), "must be plain_text"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := rawCall(t, b.fake, "chat.postMessage", botToken, url.Values{"channel": {general}, "text": {"x"}, "blocks": {c.blocks}})
			checkRefusal(t, resp, "invalid_blocks", c.wantMsg)
		})
	}
}

func checkRefusal(t *testing.T, resp map[string]any, code, wantMsg string) {
	t.Helper()
	if wantMsg == "" {
		if resp["ok"] != true {
			t.Fatalf("a valid message was refused: %v", resp)
		}
		return
	}
	msgs, _ := json.Marshal(resp["response_metadata"])
	if resp["ok"] != false || resp["error"] != code || !strings.Contains(string(msgs), wantMsg) {
		t.Fatalf("got %v; want %s naming %q", resp, code, wantMsg)
	}
}

func TestAttachmentRulesRefuse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.SetChannelRateLimit(0, 0)
	att := func(actions ...string) string {
		return `[{"fallback":"f","callback_id":"{\"issue\":1}","actions":[` + strings.Join(actions, ",") + `]}]`
	}
	const button = `{"name":"status","text":"Resolve","type":"button","value":"resolved"}`
	const sel = `{"name":"assign","text":"Assign","type":"select","options":[{"text":"Alice","value":"user:1"}]}`
	for _, c := range []struct{ name, attachments, wantMsg string }{
		{"valid", att(button, sel), ""},
		{"unknown attachment field", `[{"fallback":"f","colour":"red"}]`, "unknown field: colour"},
		{"actions without callback_id", `[{"fallback":"f","actions":[` + button + `]}]`, "callback_id"},
		{"six actions", att(button, button, button, button, button, button), "no more than 5 actions"},
		{"misspelled action type", att(strings.Replace(button, `"button"`, `"buton"`, 1)), "must be button or select"},
		{"action without name", att(strings.Replace(button, `"name":"status",`, "", 1)), "missing required field: name"},
		{"action without text", att(strings.Replace(button, `"text":"Resolve",`, "", 1)), "missing required field: text"},
		{"action style", att(strings.Replace(button, `"value":"resolved"`, `"style":"green"`, 1)), "must be default, primary or danger"},
		{"unknown action field", att(strings.Replace(button, `"value":"resolved"`, `"colour":"red"`, 1)), "unknown field: colour"},
		{"static select without options", att(`{"name":"assign","text":"Assign","type":"select"}`), "must provide options or option_groups"},
		{"select option without value", att(strings.Replace(sel, `,"value":"user:1"`, "", 1)), "missing required field: value"},
		{"bad data_source", att(`{"name":"assign","text":"Assign","type":"select","data_source":"people"}`), "data_source"},
		{"confirm without text", att(strings.Replace(button, `"value":"resolved"`, `"confirm":{"title":"Sure?"}`, 1)), "missing required field: text"},
		{"blocks inside checked", `[{"fallback":"f","blocks":` + actionsBlock(strings.Replace(okButton, `"button"`, `"buton"`, 1)) + `}]`, "unsupported type: buton"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := rawCall(t, b.fake, "chat.postMessage", botToken, url.Values{"channel": {general}, "text": {"x"}, "attachments": {c.attachments}})
			checkRefusal(t, resp, "invalid_attachments", c.wantMsg)
		})
	}
}

// TestUnfurlURLsExact: chat.unfurl may unfurl a link of the message only
// as written there: not a prefix of it, not a longer URL containing it.
func TestUnfurlURLsExact(t *testing.T) {
	t.Parallel()
	b := setup(t)
	link := "https://triage.example.com/organizations/acme/issues/42/"
	ts := b.fake.PostUserMessage(general, alice, "see <"+link+"|WEB-1> and https://example.com/x")
	unfurl := func(u string) map[string]any {
		js, _ := json.Marshal(map[string]any{u: map[string]any{"fallback": "f", "blocks": json.RawMessage(`[{"type":"section","text":{"type":"mrkdwn","text":"card"}}]`)}})
		return rawCall(t, b.fake, "chat.unfurl", botToken, url.Values{"channel": {general}, "ts": {ts}, "unfurls": {string(js)}})
	}
	for _, bad := range []string{
		"https://triage.example.com/organizations/acme/issues/4",    // a prefix of the link
		"https://triage.example.com/organizations/acme/issues/42/x", // longer
		"https://example.com/", // a prefix of the bare one
		"WEB-1",                // the label
	} {
		if r := unfurl(bad); r["error"] != "cannot_unfurl_url" {
			t.Errorf("unfurl of %q: %v, want cannot_unfurl_url", bad, r)
		}
	}
	for _, good := range []string{link, "https://example.com/x"} {
		if r := unfurl(good); r["ok"] != true {
			t.Errorf("unfurl of %q: %v", good, r)
		}
	}
	// An unfurl is an attachment: its blocks and fields are checked.
	js := `{"` + link + `":{"fallback":"f","blocks":[{"type":"sectoin"}]}}`
	if r := rawCall(t, b.fake, "chat.unfurl", botToken, url.Values{"channel": {general}, "ts": {ts}, "unfurls": {js}}); r["error"] != "invalid_unfurls" {
		t.Errorf("bad unfurl blocks: %v", r)
	}
}

// TestAuthorizeGrantsWhatWasAsked: the code from Authorize grants the
// scopes in the authorize URL, so a scope the app did not ask for is
// missing_scope when it is used.
func TestAuthorizeGrantsWhatWasAsked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.SetOAuthApp("cid", "csecret")
	redirect := "https://triage.example.com/extensions/slack/setup/"
	authorize := func(scopes string) string {
		u := "https://slack.com/oauth/v2/authorize?" + url.Values{"client_id": {"cid"}, "scope": {scopes}, "redirect_uri": {redirect}, "state": {"s"}}.Encode()
		code, err := b.fake.Authorize(u, slackfake.Grant{TeamID: team, UserID: alice})
		if err != nil {
			t.Fatal(err)
		}
		resp := rawCall(t, b.fake, "oauth.v2.access", "", url.Values{"client_id": {"cid"}, "client_secret": {"csecret"}, "code": {code}, "redirect_uri": {redirect}})
		if resp["ok"] != true {
			t.Fatalf("exchange: %v", resp)
		}
		if resp["scope"] != scopes {
			t.Errorf("granted %v, asked for %s", resp["scope"], scopes)
		}
		return resp["access_token"].(string)
	}
	full := authorize("chat:write,team:read")
	if r := rawCall(t, b.fake, "team.info", full, url.Values{}); r["ok"] != true {
		t.Errorf("team.info with team:read: %v", r)
	}
	dropped := authorize("chat:write")
	if r := rawCall(t, b.fake, "team.info", dropped, url.Values{}); r["error"] != "missing_scope" || r["needed"] != "team:read" {
		t.Errorf("team.info without team:read: %v", r)
	}
	if _, err := b.fake.Authorize("https://slack.com/oauth/v2/authorize?client_id=other&scope=chat:write", slackfake.Grant{TeamID: team, UserID: alice}); err == nil {
		t.Error("a wrong client_id was authorized")
	}
	if _, err := b.fake.Authorize("https://slack.com/oauth/v2/authorize?client_id=cid&scope=chat:write",
		slackfake.Grant{TeamID: team, UserID: alice, Scopes: slackfake.DefaultBotScopes()}); err == nil {
		t.Error("Authorize took scopes from the grant instead of the URL")
	}
}

// TestRateLimitsOnByDefault: without any setup, a method answers 429 with
// Retry-After past its tier's burst, and chat.postMessage past one
// channel's burst; RaiseRateLimits lifts both.
func TestRateLimitsOnByDefault(t *testing.T) {
	t.Parallel()
	b := setup(t) // a clock that stands still: no refill during the test
	limited := func(method string, n int, form func() url.Values) int {
		for i := range n {
			resp, err := http.PostForm(b.fake.APIURL()+method, withToken(form()))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				if resp.Header.Get("Retry-After") == "" {
					t.Errorf("%s: 429 without Retry-After", method)
				}
				return i
			}
		}
		return -1
	}
	post := func() url.Values { return url.Values{"channel": {general}, "text": {"hi"}} }
	if n := limited("chat.postMessage", 10, post); n != 3 {
		t.Errorf("chat.postMessage to one channel limited after %d posts, want 3 (1/s, bursts of 3)", n)
	}
	if n := limited("conversations.list", 30, func() url.Values { return url.Values{} }); n != 20 {
		t.Errorf("conversations.list (Tier 2) limited after %d calls, want 20", n)
	}
	if n := limited("team.info", 60, func() url.Values { return url.Values{} }); n != 50 {
		t.Errorf("team.info (Tier 3) limited after %d calls, want 50", n)
	}
	b.fake.Reset()
	b.fake.RaiseRateLimits(100)
	if n := limited("chat.postMessage", 100, post); n != -1 {
		t.Errorf("raised: chat.postMessage limited after %d posts", n)
	}
}

func withToken(v url.Values) url.Values {
	v.Set("token", botToken)
	return v
}
