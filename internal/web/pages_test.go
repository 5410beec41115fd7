package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"triage"
	"triage/internal/store"
)

func TestIssuePages(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	alice := b.client()
	b.login(alice, "alice")

	list := b.get(alice, "/organizations/acme/issues/")
	for _, want := range []string{"WEB-1", "WEB-2", "TypeError: x is undefined", "app.handler in main", b.issue.Path()} {
		if !strings.Contains(list.body, want) {
			t.Errorf("issue list lacks %q", want)
		}
	}
	if strings.Contains(list.body, "Secret failure") {
		t.Errorf("issue list shows another organization's issue")
	}
	if i1, i2 := strings.Index(list.body, "WEB-1"), strings.Index(list.body, "WEB-2"); i1 > i2 {
		t.Errorf("issue list is not newest first")
	}
	if r := b.get(alice, "/organizations/acme/issues/?query=is:resolved"); strings.Contains(r.body, "WEB-1") {
		t.Errorf("resolved filter shows an unresolved issue")
	}
	if r := b.get(alice, "/organizations/acme/issues/?query=level:bogus"); r.status != http.StatusBadRequest ||
		!strings.Contains(r.body, `cannot search for &#34;level:bogus&#34;`) || !strings.Contains(r.body, `value="level:bogus"`) {
		t.Errorf("bad query: %d %s", r.status, r.body)
	}

	page := b.get(alice, b.issue.Path())
	for _, want := range []string{`id="resolve"`, `id="ignore-30m"`, `id="assign"`, "bob@example.com", "#backend", "Unresolved"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("issue page lacks %q", want)
		}
	}
	// Carol may not be assigned (no access), and #frontend does not own the project.
	if strings.Contains(page.body, "carol@example.com") || strings.Contains(page.body, "#frontend") {
		t.Errorf("assign menu offers someone without access")
	}

	// Resolve through the form: 303 back with a message, one activity entry.
	r := b.post(alice, b.issue.Path(), url.Values{"action": {"resolve"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != b.issue.Path() {
		t.Fatalf("resolve: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	page = b.get(alice, b.issue.Path())
	if !strings.Contains(page.body, "Issue resolved.") || !strings.Contains(page.body, "marked this issue as resolved") {
		t.Errorf("after resolve, page lacks the flash or the activity:\n%s", page.body)
	}
	acts := must(b.store.Activities(context.Background(), b.issue.ID, 10))
	if len(acts) != 1 || acts[0].Source != triage.SourceWeb || acts[0].User.ID != b.alice.ID {
		t.Fatalf("activity after web resolve: %+v", acts)
	}
	// Ignore for 2 hours, then assign to the team.
	b.post(alice, b.issue.Path(), url.Values{"action": {"ignore_2h"}})
	if i := b.reload(b.issue); i.Status != triage.StatusIgnored || i.StatusDetails.IgnoreMinutes != 120 {
		t.Errorf("after ignore_2h: %s %+v", i.Status, i.StatusDetails)
	}
	b.post(alice, b.issue.Path(), url.Values{"action": {"assign"}, "assignee": {"team:" + itoa(b.backend.ID)}})
	if i := b.reload(b.issue); i.Assignee == nil || i.Assignee.Type != "team" || i.Assignee.ID != b.backend.ID {
		t.Errorf("after assign: %+v", i.Assignee)
	}
	// A refused assignee is explained on the page.
	r = b.post(alice, b.issue.Path(), url.Values{"action": {"assign"}, "assignee": {"user:" + itoa(b.carol.ID)}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "no access to project web") {
		t.Errorf("assign to carol: %d\n%s", r.status, r.body)
	}

	// An issue of another organization, or under the wrong organization, is not there.
	if r := b.get(alice, b.secret.Path()); r.status != http.StatusNotFound {
		t.Errorf("other org's issue: %d, want 404", r.status)
	}
	if r := b.get(alice, "/organizations/acme/issues/"+itoa(b.secret.ID)+"/"); r.status != http.StatusNotFound {
		t.Errorf("other org's issue under acme: %d, want 404", r.status)
	}
	if r := b.post(alice, "/organizations/acme/issues/"+itoa(b.secret.ID)+"/", url.Values{"action": {"resolve"}}); r.status != http.StatusNotFound ||
		b.reload(b.secret).Status != triage.StatusUnresolved {
		t.Errorf("resolve other org's issue: %d", r.status)
	}
	if r := b.get(alice, "/organizations/acme/issues/nope/"); r.status != http.StatusNotFound {
		t.Errorf("bad id: %d, want 404", r.status)
	}

	// Carol is in acme without access to the project: 403 on the issue.
	carol := b.client()
	b.login(carol, "carol")
	if r := b.get(carol, b.issue.Path()); r.status != http.StatusForbidden {
		t.Errorf("carol on the issue: %d, want 403", r.status)
	}
	if r := b.get(carol, "/organizations/acme/issues/"); strings.Contains(r.body, "WEB-1") {
		t.Errorf("carol's list shows issues of a project she cannot see")
	}
	// Dave is not in acme at all: 404 everywhere, without revealing it exists.
	dave := b.client()
	b.login(dave, "dave")
	for _, p := range []string{"/organizations/acme/issues/", b.issue.Path(), "/organizations/acme/projects/", "/organizations/acme/settings/", "/organizations/nope/issues/"} {
		if r := b.get(dave, p); r.status != http.StatusNotFound || !strings.Contains(r.body, "Page not found") {
			t.Errorf("dave GET %s: %d, want the 404 page", p, r.status)
		}
	}
}

func TestProjectsAndSettingsPages(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	alice := b.client()
	b.login(alice, "alice")
	r := b.get(alice, "/organizations/acme/projects/")
	if dsn := b.web.DSN(b.url); !strings.Contains(r.body, dsn) {
		t.Errorf("projects page lacks the DSN %s:\n%s", dsn, r.body)
	}
	carol := b.client()
	b.login(carol, "carol")
	if r := b.get(carol, "/organizations/acme/projects/"); strings.Contains(r.body, b.web.PublicKey) {
		t.Errorf("carol sees the DSN of a project she has no access to")
	}
	r = b.get(alice, "/organizations/acme/settings/")
	for _, want := range []string{"alice@example.com", "bob@example.com", "owner", "Slack is not configured"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}
	// With Slack plugged in, its section is embedded.
	b2 := setupWith(t, store.SQLite, options{slack: fakeSlack{}})
	c := b2.client()
	b2.login(c, "alice")
	if r := b2.get(c, "/organizations/acme/settings/"); !strings.Contains(r.body, `<div id="fake-slack">acme as alice@example.com (owner)</div>`) {
		t.Errorf("settings page lacks the Slack section:\n%s", r.body)
	}
}

func TestHomeAndErrorPages(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	c := b.client()
	if r := b.get(c, "/"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/auth/login/" {
		t.Errorf("home logged out: %d %q", r.status, r.header.Get("Location"))
	}
	b.login(c, "bob")
	if r := b.get(c, "/"); r.header.Get("Location") != "/organizations/acme/issues/" {
		t.Errorf("home logged in: %d %q", r.status, r.header.Get("Location"))
	}
	r := b.get(c, "/no/such/page")
	if r.status != http.StatusNotFound || !strings.Contains(r.body, "Page not found") || !strings.Contains(r.body, "bob@example.com") {
		t.Errorf("404 page: %d\n%s", r.status, r.body)
	}
	if r := b.get(c, "/static/triage.css"); r.status != http.StatusOK || !strings.Contains(r.header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %q", r.status, r.header.Get("Content-Type"))
	}
}

// fakeSlack is a SlackHandlers that answers with recognisable bodies.
type fakeSlack struct{}

func (fakeSlack) text(s string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := CurrentUser(r)
		who := "anonymous"
		if u != nil {
			who = u.Email
		}
		w.Write([]byte(s + " " + who))
	})
}
func (f fakeSlack) InstallStart() http.Handler    { return f.text("install-start") }
func (f fakeSlack) InstallCallback() http.Handler { return f.text("install-callback") }
func (f fakeSlack) Remove() http.Handler          { return f.text("remove") }
func (f fakeSlack) Action() http.Handler          { return f.text("action") }
func (f fakeSlack) Event() http.Handler           { return f.text("event") }
func (f fakeSlack) Command() http.Handler         { return f.text("command") }
func (f fakeSlack) OptionsLoad() http.Handler     { return f.text("options-load") }
func (f fakeSlack) LinkIdentity() http.Handler    { return f.text("link") }
func (f fakeSlack) UnlinkIdentity() http.Handler  { return f.text("unlink") }
func (fakeSlack) SettingsSection(_ context.Context, org *triage.Organization, u *triage.User, m *triage.Member) (template.HTML, error) {
	return template.HTML(`<div id="fake-slack">` + template.HTMLEscapeString(org.Slug+" as "+u.Email+" ("+string(m.Role)+")") + `</div>`), nil
}
func (fakeSlack) IntegrationsJSON(_ context.Context, orgID int64) (any, error) {
	return []map[string]any{{
		"id": "1", "provider": "slack", "externalId": "T123", "name": "Acme", "status": "active",
		"accessToken": "xoxb-secret", "config": map[string]any{"refresh_token": "xoxe-secret", "scopes": []string{"chat:write"}},
	}}, nil
}

func TestSlackRoutes(t *testing.T) {
	t.Parallel()
	b := setupWith(t, store.SQLite, options{slack: fakeSlack{}})
	// Slack's signed callbacks: no login, no cross-origin check.
	for _, p := range []string{"action", "event", "commands", "options-load"} {
		r := b.post(b.client(), "/extensions/slack/"+p+"/", url.Values{"payload": {"{}"}}, "Origin", "https://slack.com", "Sec-Fetch-Site", "cross-site")
		if r.status != http.StatusOK || !strings.HasSuffix(r.body, " anonymous") {
			t.Errorf("POST /extensions/slack/%s/: %d %q", p, r.status, r.body)
		}
	}
	// Install and identity pages need login and come back afterwards.
	link := "/extensions/slack/link-identity/abc.def/"
	r := b.get(b.client(), link)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != LoginURL(link) {
		t.Errorf("link logged out: %d %q", r.status, r.header.Get("Location"))
	}
	c := b.client()
	b.login(c, "alice")
	for path, want := range map[string]string{
		link: "link alice@example.com", "/extensions/slack/unlink-identity/abc/": "unlink alice@example.com",
		"/organizations/acme/integrations/slack/setup/": "install-start alice@example.com",
		"/extensions/slack/setup/?code=x&state=y":       "install-callback alice@example.com",
	} {
		if r := b.get(c, path); r.body != want {
			t.Errorf("GET %s: %d %q, want %q", path, r.status, r.body, want)
		}
	}
	if r := b.post(c, link, nil); r.body != "link alice@example.com" {
		t.Errorf("POST link: %d %q", r.status, r.body)
	}
	if r := b.post(c, link, nil, "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
		t.Errorf("cross-site POST link: %d, want 403", r.status)
	}

	// Without Slack: 503 saying so.
	n := setup(t, store.SQLite)
	if r := n.post(n.client(), "/extensions/slack/action/", nil); r.status != http.StatusServiceUnavailable || !strings.Contains(detail(t, r), "Slack is not configured") {
		t.Errorf("action without Slack: %d %q", r.status, r.body)
	}
	nc := n.client()
	n.login(nc, "alice")
	if r := n.get(nc, "/organizations/acme/integrations/slack/setup/"); r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Slack is not configured") {
		t.Errorf("install without Slack: %d", r.status)
	}
}
