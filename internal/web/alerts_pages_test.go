package web

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"triage"
	"triage/internal/alert"
	"triage/internal/config"
	"triage/internal/secretbox"
	"triage/internal/signing"
	"triage/internal/slack"
	"triage/internal/slack/slackfake"
	"triage/internal/store"
)

// noJobs drops the channel listings the service would queue.
type noJobs struct{}

func (noJobs) InsertMany(context.Context, *store.Tx, []river.InsertManyParams) error { return nil }

// rulePages is setup's world served with an alert service: the Slack
// workspace "Acme Slack" is installed in acme (channels #alerts and #ops
// listed; #hidden exists in Slack but is not listed yet), "Other Slack"
// in other, which has a rule of its own.
type rulePages struct {
	*bundle
	fake      *slackfake.Server
	alerts    *alert.Service
	acmeSlack int64
	otherRule *alert.Rule
}

func setupRulePages(t *testing.T, engine store.Engine) *rulePages {
	t.Helper()
	b := setup(t, engine)
	// Slack is the strict fake, reached through Triage's own integration,
	// as serve wires it.
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.AddWorkspace(slackfake.Workspace{ID: "T1", Name: "Acme Slack", Domain: "acme", BotName: "triagebot"})
	fake.AddWorkspace(slackfake.Workspace{ID: "T2", Name: "Other Slack", Domain: "other", BotName: "triagebot"})
	fake.AddChannel(slackfake.Channel{ID: "C1", TeamID: "T1", Name: "alerts", BotMember: true})
	fake.AddChannel(slackfake.Channel{ID: "C2", TeamID: "T1", Name: "ops"})
	fake.AddChannel(slackfake.Channel{ID: "C9", TeamID: "T1", Name: "hidden", IsPrivate: true, BotMember: true})
	fake.AddChannel(slackfake.Channel{ID: "C5", TeamID: "T2", Name: "other-alerts"})
	fake.AddBotToken("T1", "xoxb-acme")
	fake.AddBotToken("T2", "xoxb-other")
	cfg := &config.Config{URLPrefix: "http://triage.test", SecretKey: rulePagesKey, SlackAPIURL: fake.APIURL(),
		SlackClientID: "cid", SlackClientSecret: "csecret", SlackSigningSecret: "signing"}
	integ := slack.New(slack.Deps{Store: b.store, Signer: signing.New([]byte(rulePagesKey)), Box: secretbox.New([]byte(rulePagesKey)),
		Config: cfg, Logger: testLogger(t), HTTPClient: &http.Client{Timeout: 10 * time.Second}, Issues: b.issues})
	p := &rulePages{bundle: b, fake: fake, alerts: alert.New(alert.Deps{Store: b.store, Jobs: noJobs{}, Slack: integ.Alerts(), Logger: testLogger(t)})}

	// A server as setup builds it, with the alert service: it replaces
	// setup's own before any request.
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	srv := New(Deps{Logger: testLogger(t), Config: &config.Config{URLPrefix: base}, Store: b.store, Issues: b.issues, Alerts: p.alerts})
	t.Cleanup(func() { srv.Close() })
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	b.srv, b.ts, b.url = srv, ts, base

	p.acmeSlack = p.workspace(b.acme, "T1", "Acme Slack", "xoxb-acme", triage.SlackChannel{ID: "C1", Name: "alerts", IsMember: true},
		triage.SlackChannel{ID: "C2", Name: "ops"})
	otherSlack := p.workspace(b.other, "T2", "Other Slack", "xoxb-other", triage.SlackChannel{ID: "C5", Name: "other-alerts"})
	name := "Other's rule"
	p.otherRule = must(p.alerts.CreateRule(context.Background(), b.dave.ID, "other", "secret",
		alert.RuleInput{Name: &name, Action: &alert.ActionInput{IntegrationID: otherSlack, Channel: "C5"}}))
	return p
}

const rulePagesKey = "0123456789abcdef0123456789abcdef"

// workspace installs a Slack workspace in org, with its bot token, and a
// fresh channel list.
func (p *rulePages) workspace(org *triage.Organization, team, name, token string, chans ...triage.SlackChannel) int64 {
	p.t.Helper()
	ctx, now := context.Background(), time.Now()
	enc := must(secretbox.New([]byte(rulePagesKey)).Seal(token))
	in := must(p.store.UpsertIntegration(ctx, &triage.Integration{ExternalID: team, Name: name, InstallType: "v2",
		AccessTokenEnc: enc, BotUserID: "UBOT" + team, Scopes: strings.Join(slackfake.DefaultBotScopes(), ",")}))
	if err := p.store.AttachIntegration(ctx, org.ID, in.ID); err != nil {
		p.t.Fatal(err)
	}
	for k := range chans {
		chans[k].IntegrationID = in.ID
	}
	if err := p.store.UpsertSlackChannels(ctx, in.ID, chans, now); err != nil {
		p.t.Fatal(err)
	}
	if err := p.store.SaveChannelSync(ctx, &store.ChannelSync{IntegrationID: in.ID, StartedAt: now, FinishedAt: now, Pages: 1}); err != nil {
		p.t.Fatal(err)
	}
	return in.ID
}

// acmeRules is what the database holds for acme.
func (p *rulePages) acmeRules() []*triage.AlertRule {
	p.t.Helper()
	return must(p.store.AlertRulesForOrg(context.Background(), p.acme.ID))
}

// ruleForm is a valid form for a new rule; changes replace its fields.
func (p *rulePages) ruleForm(changes url.Values) url.Values {
	f := url.Values{
		"project": {"web"}, "name": {"Prod errors"}, "first_seen": {"1"},
		"frequency_count": {"10"}, "frequency_minutes": {"5"}, "level": {"error"}, "environment": {"production"},
		"integration": {itoa(p.acmeSlack)}, "channel": {itoa(p.acmeSlack) + ":C1"}, "channel_id": {""},
		"throttle": {"15"}, "thread": {"1"},
	}
	maps.Copy(f, changes)
	return f
}

const rulesPath = "/organizations/acme/settings/alerts/"

func TestAlertRulePages(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			p := setupRulePages(t, engine)
			alice := p.client()
			p.login(alice, "alice")
			t.Run("invalid", func(t *testing.T) { testRuleFormInvalid(t, p, alice) })
			t.Run("create edit delete", func(t *testing.T) { testRuleLifecycle(t, p, alice) })
			t.Run("permissions", func(t *testing.T) { testRulePermissions(t, p, alice) })
		})
	}
}

func testRuleFormInvalid(t *testing.T, p *rulePages, alice *http.Client) {
	other := itoa(p.acmeSlack + 1000)
	for _, c := range []struct {
		name    string
		changes url.Values
		errID   string
		want    string
	}{
		{"empty name", url.Values{"name": {"  "}}, "error-name", "Name is required."},
		{"negative throttle", url.Values{"throttle": {"-1"}}, "error-throttle", "The throttle must be from 0 (every time) to 10080 minutes."},
		{"no channel", url.Values{"channel": {""}}, "error-channel", "The channel is required: a channel id (C…) or a channel name such as #alerts."},
		{"channel Slack does not know", url.Values{"channel": {""}, "channel_id": {"C404"}}, "error-channel", "Slack does not show channel C404 to Triage"},
		{"channel of another workspace", url.Values{"channel": {other + ":C5"}}, "error-channel", "The channel is in another Slack workspace than the one selected"},
		{"no workspace", url.Values{"integration": {""}, "channel": {""}, "channel_id": {"C1"}}, "error-integration", "The workspace is required"},
		{"count not a number", url.Values{"frequency_count": {"many"}}, "error-frequency-count", "The count must be a whole number"},
		{"zero minutes", url.Values{"frequency_minutes": {"0"}}, "error-frequency-minutes", "The minutes must be a whole number of minutes from 1"},
		{"new and regression", url.Values{"regression": {"1"}}, "error-conditions", "A new issue is never a regression"},
		{"environment with a space", url.Values{"environment": {"prod east"}}, "error-environment", "The environment must be 1 to 64 characters"},
		{"no project", url.Values{"project": {""}}, "error-project", "Project is required: pick a project."},
		{"unknown project", url.Values{"project": {"secret"}}, "error-project", "Project must be a project of Acme: pick one from the list."},
	} {
		form := p.ruleForm(c.changes)
		r := p.post(alice, rulesPath+"new/", form)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", c.name, r.status)
			continue
		}
		if !strings.Contains(r.body, `id="`+c.errID+`">`+c.want) {
			t.Errorf("%s: no %q next to the field (#%s):\n%s", c.name, c.want, c.errID, r.body)
		}
		if !strings.Contains(r.body, "The rule was not saved") || strings.Contains(r.body, "goroutine") || strings.Contains(r.body, ".go:") {
			t.Errorf("%s: the page does not say the rule was not saved, or shows internals", c.name)
		}
		// What was typed is still there.
		for _, kept := range []string{
			`value="` + form.Get("name") + `"`, `value="` + form.Get("environment") + `"`, `value="` + form.Get("frequency_count") + `"`,
			`value="` + form.Get("frequency_minutes") + `"`, `value="` + form.Get("throttle") + `"`,
			`<option value="error" selected>`, `id="rule-first-seen" checked`, `id="rule-thread" checked`,
		} {
			if !strings.Contains(r.body, kept) {
				t.Errorf("%s: the form lost %s", c.name, kept)
			}
		}
		if ch := form.Get("channel_id"); ch != "" && !strings.Contains(r.body, `id="rule-channel-id" value="`+ch+`"`) {
			t.Errorf("%s: the form lost the typed channel %s", c.name, ch)
		}
	}
	// The picked channel comes back picked.
	r := p.post(alice, rulesPath+"new/", p.ruleForm(url.Values{"name": {""}}))
	if !strings.Contains(r.body, `<option value="`+itoa(p.acmeSlack)+`:C1" selected>#alerts</option>`) {
		t.Errorf("the form lost the picked channel:\n%s", r.body)
	}
	if rules := p.acmeRules(); len(rules) != 0 {
		t.Errorf("invalid forms stored %d rules", len(rules))
	}
}

func testRuleLifecycle(t *testing.T, p *rulePages, alice *http.Client) {
	list := p.get(alice, rulesPath)
	if !strings.Contains(list.body, `id="new-rule"`) || !strings.Contains(list.body, "No alert rules yet.") {
		t.Fatalf("the empty list has no New rule link:\n%s", list.body)
	}
	form := p.get(alice, rulesPath+"new/")
	for _, want := range []string{`<option value="web" selected>Web (web)</option>`, `<option value="` + itoa(p.acmeSlack) + `" selected>Acme Slack</option>`,
		`#ops`, `id="rule-throttle" min="0" value="30"`, `id="rule-thread" checked`} {
		if form.status != http.StatusOK || !strings.Contains(form.body, want) {
			t.Errorf("new rule form (%d) lacks %s", form.status, want)
		}
	}

	// Create.
	r := p.post(alice, rulesPath+"new/", p.ruleForm(nil))
	if r.status != http.StatusSeeOther || r.header.Get("Location") != rulesPath {
		t.Fatalf("create: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	list = p.get(alice, rulesPath)
	for _, want := range []string{"Alert rule “Prod errors” created.", "<td>Prod errors</td>",
		"a new issue, seen more than 10 times in 5 min, level at least error, in production; at most once per 15 min per issue",
		"#alerts", "Acme Slack"} {
		if !strings.Contains(list.body, want) {
			t.Errorf("after create, the list lacks %q", want)
		}
	}
	rules := p.acmeRules()
	if len(rules) != 1 || rules[0].Name != "Prod errors" || rules[0].ChannelID != "C1" || rules[0].ThrottleMinutes != 15 || !rules[0].Thread {
		t.Fatalf("stored after create: %+v", rules)
	}
	id := itoa(rules[0].ID)
	edit := rulesPath + id + "/"
	if !strings.Contains(list.body, `href="`+edit+`"`) || !strings.Contains(list.body, `action="`+edit+`delete/"`) {
		t.Errorf("the list has no Edit link or Delete button for the rule")
	}

	// The edit form shows the rule; an invalid change is refused and kept.
	form = p.get(alice, edit)
	for _, want := range []string{`value="Prod errors"`, `<option value="` + itoa(p.acmeSlack) + `:C1" selected>`, `value="production"`, `id="rule-first-seen" checked`} {
		if form.status != http.StatusOK || !strings.Contains(form.body, want) {
			t.Errorf("edit form (%d) lacks %s", form.status, want)
		}
	}
	r = p.post(alice, edit, p.ruleForm(url.Values{"name": {"Renamed"}, "environment": {"a/b"}}))
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="error-environment"`) || !strings.Contains(r.body, `value="Renamed"`) {
		t.Errorf("invalid edit: %d\n%s", r.status, r.body)
	}
	if got := p.acmeRules()[0].Name; got != "Prod errors" {
		t.Errorf("an invalid edit changed the name to %q", got)
	}

	// A valid edit, to a channel typed by id that is not listed yet.
	r = p.post(alice, edit, url.Values{"name": {"Regressions"}, "regression": {"1"}, "level": {""}, "environment": {""},
		"integration": {itoa(p.acmeSlack)}, "channel": {""}, "channel_id": {"C9"}, "throttle": {"0"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != rulesPath {
		t.Fatalf("edit: %d\n%s", r.status, r.body)
	}
	list = p.get(alice, rulesPath)
	for _, want := range []string{"Alert rule “Regressions” saved.", "<td>Regressions</td>", "a regression; every time</td>", "#hidden"} {
		if !strings.Contains(list.body, want) {
			t.Errorf("after edit, the list lacks %q", want)
		}
	}
	if strings.Contains(list.body, "Prod errors") {
		t.Errorf("after edit, the list still shows the old name")
	}
	if rl := p.acmeRules(); len(rl) != 1 || rl[0].ChannelID != "C9" || rl[0].ChannelName != "hidden" || rl[0].Thread || rl[0].ThrottleMinutes != 0 {
		t.Errorf("stored after edit: %+v", rl[0])
	}

	// Delete asks first, then deletes.
	r = p.post(alice, edit+"delete/", nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, "Delete this alert rule?") || !strings.Contains(r.body, "<strong>Regressions</strong>") {
		t.Errorf("delete without confirming: %d\n%s", r.status, r.body)
	}
	if len(p.acmeRules()) != 1 {
		t.Fatalf("the rule was deleted before it was confirmed")
	}
	r = p.post(alice, edit+"delete/", url.Values{"confirm": {"yes"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != rulesPath {
		t.Fatalf("delete: %d\n%s", r.status, r.body)
	}
	list = p.get(alice, rulesPath)
	if !strings.Contains(list.body, "Alert rule “Regressions” deleted.") || strings.Contains(list.body, "<td>Regressions</td>") || !strings.Contains(list.body, "No alert rules yet.") {
		t.Errorf("after delete, the list:\n%s", list.body)
	}
	if n := len(p.acmeRules()); n != 0 {
		t.Errorf("%d rules stored after delete", n)
	}
}

func testRulePermissions(t *testing.T, p *rulePages, alice *http.Client) {
	ctx := context.Background()
	name := "Alice's rule"
	rule := must(p.alerts.CreateRule(ctx, p.alice.ID, "acme", "web",
		alert.RuleInput{Name: &name, Action: &alert.ActionInput{IntegrationID: p.acmeSlack, Channel: "C2"}}))
	edit := rulesPath + itoa(rule.ID) + "/"

	// Bob is a member with access to the project: he sees the rule, and
	// no way to change it.
	bob := p.client()
	p.login(bob, "bob")
	list := p.get(bob, rulesPath)
	if !strings.Contains(list.body, "Alice&#39;s rule") || !strings.Contains(list.body, `id="member-hint"`) {
		t.Errorf("bob's list lacks the rule or the hint:\n%s", list.body)
	}
	for _, no := range []string{`id="new-rule"`, `class="edit-rule"`, `class="link delete-rule"`, `id="api-hint"`} {
		if strings.Contains(list.body, no) {
			t.Errorf("bob's list offers %s", no)
		}
	}
	forbidden := "Only an owner or admin of Acme can change alert rules."
	for _, r := range []response{
		p.get(bob, rulesPath+"new/"),
		p.post(bob, rulesPath+"new/", p.ruleForm(nil)),
		p.get(bob, edit),
		p.post(bob, edit, p.ruleForm(url.Values{"name": {"Bob's now"}})),
		p.post(bob, edit+"delete/", url.Values{"confirm": {"yes"}}),
	} {
		if r.status != http.StatusForbidden || !strings.Contains(r.body, forbidden) {
			t.Errorf("bob: %d, want the 403 page\n%s", r.status, r.body)
		}
	}
	if rules := p.acmeRules(); len(rules) != 1 || rules[0].Name != name {
		t.Errorf("bob changed the rules: %+v", rules)
	}

	// Another organization's rule is not found under acme, nor is acme
	// there for Dave.
	other := rulesPath + itoa(p.otherRule.ID) + "/"
	for _, r := range []response{
		p.get(alice, other),
		p.post(alice, other, p.ruleForm(nil)),
		p.post(alice, other+"delete/", url.Values{"confirm": {"yes"}}),
		p.get(alice, rulesPath+"999999/"),
		p.get(alice, rulesPath+"nope/"),
		p.get(alice, "/organizations/other/settings/alerts/"+itoa(p.otherRule.ID)+"/"),
	} {
		if r.status != http.StatusNotFound || !strings.Contains(r.body, "Page not found") {
			t.Errorf("another organization's rule: %d, want the 404 page", r.status)
		}
	}
	if got := must(p.store.AlertRuleByID(ctx, p.otherRule.ID)); got.Name != p.otherRule.Name {
		t.Errorf("the other organization's rule changed: %+v", got)
	}
	dave := p.client()
	p.login(dave, "dave")
	if r := p.get(dave, rulesPath+"new/"); r.status != http.StatusNotFound {
		t.Errorf("dave, outside acme, on the new rule form: %d, want 404", r.status)
	}
}

// TestRulePagesWithoutAlerts: a server without the alert service says so.
func TestRulePagesWithoutAlerts(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	alice := b.client()
	b.login(alice, "alice")
	if r := b.get(alice, rulesPath+"new/"); r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Alert rules are not available") {
		t.Errorf("new rule form without alerts: %d\n%s", r.status, r.body)
	}
	if r := b.get(alice, rulesPath); strings.Contains(r.body, `id="new-rule"`) {
		t.Errorf("the list offers New rule without alerts")
	}
}

// TestRulePagesWithoutEmail: on a server without TRIAGE_SMTP_URL the rule
// form says so and cannot pick email; a form that asks for it anyway is
// refused next to the action, and no rule is made.
func TestRulePagesWithoutEmail(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			p := setupRulePages(t, engine)
			alice := p.client()
			p.login(alice, "alice")
			r := p.get(alice, rulesPath+"new/")
			if r.status != http.StatusOK || !strings.Contains(r.body, `id="no-email"`) || !strings.Contains(r.body, "Email is not configured on this server") {
				t.Fatalf("new rule form without email: %d, want it to say email is off\n%s", r.status, r.body)
			}
			if !strings.Contains(r.body, `id="rule-action-email" disabled`) {
				t.Errorf("the email action can be picked without email:\n%s", r.body)
			}
			before := len(p.acmeRules())
			r = p.post(alice, rulesPath+"new/", p.ruleForm(url.Values{"action": {"email"}, "email_target": {"teams"},
				"integration": {""}, "channel": {""}}))
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="error-action-type">Email is not configured on this server`) {
				t.Errorf("an email rule without email: %d, want 400 next to the action\n%s", r.status, r.body)
			}
			if !strings.Contains(r.body, `id="rule-action-slack" checked`) {
				t.Errorf("the refused form does not keep Slack picked (email cannot be):\n%s", r.body)
			}
			if n := len(p.acmeRules()); n != before {
				t.Errorf("acme has %d rules after the refusal, want %d", n, before)
			}
		})
	}
}
