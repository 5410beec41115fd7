package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"triage/internal/store"
)

type issueJSON struct {
	ID            string         `json:"id"`
	ShortID       string         `json:"shortId"`
	Title         string         `json:"title"`
	Culprit       string         `json:"culprit"`
	Level         string         `json:"level"`
	Status        string         `json:"status"`
	StatusDetails map[string]any `json:"statusDetails"`
	AssignedTo    *struct {
		Type, ID, Name string
	} `json:"assignedTo"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
	Permalink string    `json:"permalink"`
	Project   struct {
		ID   string `json:"id"`
		Slug string `json:"slug"`
	} `json:"project"`
}

type activityJSON struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	User *struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"user"`
	Source      string         `json:"source"`
	Data        map[string]any `json:"data"`
	DateCreated time.Time      `json:"dateCreated"`
}

func TestAPI(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setup(t, engine)
			t.Run("auth", func(t *testing.T) { testAPIAuth(t, b) })
			t.Run("outsider", func(t *testing.T) { testAPIOutsider(t, b) })
			t.Run("changes", func(t *testing.T) { testAPIChanges(t, b) })
			t.Run("list", func(t *testing.T) { testAPIList(t, b) })
			t.Run("members", func(t *testing.T) { testAPIMembers(t, b) })
			t.Run("integrations", func(t *testing.T) { testAPIIntegrations(t, b, engine) })
		})
	}
}

func testAPIAuth(t *testing.T, b *bundle) {
	p := "/api/0/issues/" + itoa(b.issue.ID) + "/"
	for name, token := range map[string]string{"none": "", "bad": "triage_nope"} {
		r := b.api(http.MethodGet, p, token, nil, nil)
		if r.status != http.StatusUnauthorized || detail(t, r) == "" || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s token: %d %q", name, r.status, r.body)
		}
	}
	// A session cookie is not an API credential.
	c := b.client()
	b.login(c, "alice")
	req, _ := http.NewRequest(http.MethodGet, b.url+p, nil)
	if r := b.do(c, req); r.status != http.StatusUnauthorized {
		t.Errorf("cookie on the API: %d, want 401", r.status)
	}
	// Unknown API paths are JSON 404s.
	if r := b.api(http.MethodGet, "/api/0/nothing/", b.tokens["alice"], nil, nil); r.status != http.StatusNotFound || detail(t, r) == "" {
		t.Errorf("unknown API path: %d %q", r.status, r.body)
	}
}

func testAPIOutsider(t *testing.T, b *bundle) {
	dave := b.tokens["dave"]
	p := "/api/0/issues/" + itoa(b.issue.ID) + "/"
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, p},
		{http.MethodGet, p + "activity/"},
		{http.MethodGet, "/api/0/organizations/acme/issues/"},
		{http.MethodGet, "/api/0/organizations/acme/members/"},
		{http.MethodGet, "/api/0/organizations/acme/integrations/"},
		{http.MethodGet, "/api/0/organizations/nope/issues/"},
		{http.MethodGet, "/api/0/issues/999999/"},
	} {
		if r := b.api(c.method, c.path, dave, nil, nil); r.status != http.StatusNotFound {
			t.Errorf("dave %s %s: %d, want 404", c.method, c.path, r.status)
		}
	}
	for _, body := range []any{map[string]any{"status": "resolved"}, map[string]any{"assignedTo": "user:" + itoa(b.dave.ID)}} {
		if r := b.api(http.MethodPut, p, dave, body, nil); r.status != http.StatusNotFound {
			t.Errorf("dave PUT %v: %d, want 404", body, r.status)
		}
	}
	if i := b.reload(b.issue); i.Status != "unresolved" || i.Assignee != nil {
		t.Fatalf("an outsider changed the issue: %s %+v", i.Status, i.Assignee)
	}
	// Carol is in acme without access to the project: she sees that it
	// exists (403), and cannot change it.
	if r := b.api(http.MethodPut, p, b.tokens["carol"], map[string]any{"status": "resolved"}, nil); r.status != http.StatusForbidden {
		t.Errorf("carol PUT: %d, want 403", r.status)
	}
}

func testAPIChanges(t *testing.T, b *bundle) {
	alice := b.tokens["alice"]
	p := "/api/0/issues/" + itoa(b.issue2.ID) + "/"
	var got issueJSON
	b.api(http.MethodGet, p, alice, nil, &got)
	want := issueJSON{
		ID: itoa(b.issue2.ID), ShortID: "WEB-2", Title: "ZeroDivisionError", Culprit: "app.handler in main", Level: "error",
		Status: "unresolved", StatusDetails: map[string]any{}, Count: 3,
		FirstSeen: b.issue2.FirstSeen, LastSeen: b.issue2.LastSeen,
		Permalink: b.url + "/organizations/acme/issues/" + itoa(b.issue2.ID) + "/",
	}
	want.Project.ID, want.Project.Slug = itoa(b.web.ID), "web"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("GET issue (-want +got):\n%s", diff)
	}

	type step struct {
		body       any
		status     string
		details    map[string]any
		assignee   string // "type:id" or ""
		activity   string // the new activity type, "" for none
		wantStatus int
		reason     string
	}
	bob, backend := "user:"+itoa(b.bob.ID), "team:"+itoa(b.backend.ID)
	steps := []step{
		{body: map[string]any{"status": "resolved"}, status: "resolved", details: map[string]any{"actor": map[string]any{"id": itoa(b.alice.ID)}}, activity: "set_resolved"},
		{body: map[string]any{"status": "resolved"}, status: "resolved", details: map[string]any{"actor": map[string]any{"id": itoa(b.alice.ID)}}},
		{body: map[string]any{"status": "ignored", "statusDetails": map[string]any{"ignoreDuration": 30}}, status: "ignored", activity: "set_ignored"},
		{body: map[string]any{"status": "ignored", "statusDetails": map[string]any{"ignoreCount": 100}}, status: "ignored", activity: "set_ignored"},
		{body: map[string]any{"status": "unresolved"}, status: "unresolved", activity: "set_unresolved"},
		{body: map[string]any{"assignedTo": bob}, status: "unresolved", assignee: bob, activity: "assigned"},
		{body: map[string]any{"assignedTo": bob}, status: "unresolved", assignee: bob},
		{body: map[string]any{"assignedTo": backend}, status: "unresolved", assignee: backend, activity: "assigned"},
		{body: map[string]any{"assignedTo": "alice@example.com"}, status: "unresolved", assignee: "user:" + itoa(b.alice.ID), activity: "assigned"},
		{body: map[string]any{"assignedTo": ""}, status: "unresolved", activity: "unassigned"},
		// Refused, with a reason.
		{body: map[string]any{"assignedTo": "user:" + itoa(b.carol.ID)}, wantStatus: 400, reason: "no access to project web"},
		{body: map[string]any{"assignedTo": "user:" + itoa(b.dave.ID)}, wantStatus: 400, reason: "no access to project web"},
		{body: map[string]any{"assignedTo": "team:" + itoa(b.frontend.ID)}, wantStatus: 400, reason: "does not own project web"},
		{body: map[string]any{"assignedTo": "user:999999"}, wantStatus: 400, reason: "no such user"},
		{body: map[string]any{"assignedTo": "nobody@example.com"}, wantStatus: 400, reason: "no such user"},
		{body: map[string]any{"assignedTo": "bogus"}, wantStatus: 400, reason: "invalid assignee"},
		{body: map[string]any{"status": "resolvedInNextRelease"}, wantStatus: 400, reason: "no releases"},
		{body: map[string]any{"status": "deleted"}, wantStatus: 400, reason: "unknown status"},
		{body: map[string]any{"status": "resolved", "bookmarked": true}, wantStatus: 400, reason: "unknown field"},
		{body: map[string]any{"status": "ignored", "statusDetails": map[string]any{"ignoreDuration": 30, "ignoreCount": 5}}, wantStatus: 400, reason: "one of them"},
		{body: `{"status": `, wantStatus: 400, reason: "not valid JSON"},
		{body: `{}`, wantStatus: 400, reason: "nothing to change"},
		{body: `{"status": 3}`, wantStatus: 400, reason: "wrong type"},
	}
	var wantTypes []string
	for _, s := range steps {
		var got issueJSON
		r := b.api(http.MethodPut, p, alice, s.body, &got)
		if s.wantStatus != 0 {
			if r.status != s.wantStatus || !strings.Contains(detail(t, r), s.reason) {
				t.Errorf("PUT %v: %d %q, want %d with %q", s.body, r.status, r.body, s.wantStatus, s.reason)
			}
			continue
		}
		if r.status != http.StatusOK {
			t.Fatalf("PUT %v: %d %s", s.body, r.status, r.body)
		}
		if got.Status != s.status {
			t.Errorf("PUT %v: status %q, want %q", s.body, got.Status, s.status)
		}
		if s.details != nil {
			if diff := cmp.Diff(s.details, got.StatusDetails); diff != "" {
				t.Errorf("PUT %v: statusDetails (-want +got):\n%s", s.body, diff)
			}
		}
		assignee := ""
		if got.AssignedTo != nil {
			assignee = got.AssignedTo.Type + ":" + got.AssignedTo.ID
		}
		if assignee != s.assignee {
			t.Errorf("PUT %v: assignedTo %q, want %q", s.body, assignee, s.assignee)
		}
		if s.activity != "" {
			wantTypes = append([]string{s.activity}, wantTypes...)
		}
	}
	var ignored issueJSON
	b.api(http.MethodPut, p, alice, map[string]any{"status": "ignored", "statusDetails": map[string]any{"ignoreDuration": 30}}, &ignored)
	wantTypes = append([]string{"set_ignored"}, wantTypes...)
	if ignored.StatusDetails["ignoreDuration"] != float64(30) || ignored.StatusDetails["ignoreUntil"] == nil {
		t.Errorf("ignoreDuration 30: statusDetails %v", ignored.StatusDetails)
	}

	var acts []activityJSON
	if r := b.api(http.MethodGet, p+"activity/", alice, nil, &acts); r.status != http.StatusOK {
		t.Fatalf("activity: %d %s", r.status, r.body)
	}
	var gotTypes []string
	for _, a := range acts {
		gotTypes = append(gotTypes, a.Type)
		if a.Source != "api" || a.User == nil || a.User.ID != itoa(b.alice.ID) || a.User.Email != "alice@example.com" || a.DateCreated.IsZero() || a.Data == nil {
			t.Errorf("activity entry %+v: want source api, user alice, a date and data", a)
		}
	}
	if diff := cmp.Diff(wantTypes, gotTypes); diff != "" {
		t.Errorf("activity types, newest first (-want +got):\n%s", diff)
	}
	for i := 1; i < len(acts); i++ {
		if acts[i].DateCreated.After(acts[i-1].DateCreated) {
			t.Errorf("activity not newest first at %d", i)
		}
	}
}

func testAPIList(t *testing.T, b *bundle) {
	alice := b.tokens["alice"]
	ids := func(q string) []string {
		t.Helper()
		var list []issueJSON
		if r := b.api(http.MethodGet, "/api/0/organizations/acme/issues/"+q, alice, nil, &list); r.status != http.StatusOK {
			t.Fatalf("list %s: %d %s", q, r.status, r.body)
		}
		out := []string{}
		for _, i := range list {
			out = append(out, i.ShortID)
		}
		return out
	}
	// WEB-2 was left ignored by the changes test (which runs first).
	for q, want := range map[string][]string{
		"":                     {"WEB-1"},
		"?query=is:unresolved": {"WEB-1"},
		"?query=is%3Aignored":  {"WEB-2"},
		"?query=is:resolved":   {},
		"?query=":              {"WEB-1"},
		"?query=is:all":        {"WEB-1", "WEB-2"},
		"?query=is:all&project=" + itoa(b.web.ID): {"WEB-1", "WEB-2"},
		"?query=is:all&limit=1":                   {"WEB-1"},
	} {
		if diff := cmp.Diff(want, ids(q)); diff != "" {
			t.Errorf("list %q (-want +got):\n%s", q, diff)
		}
	}
	// A project that does not exist is refused as one the caller may not
	// see (TestSearchSeesOnlyVisibleProjects), as Sentry does.
	if r := b.api(http.MethodGet, "/api/0/organizations/acme/issues/?query=is:all&project=999999", alice, nil, nil); r.status != http.StatusForbidden {
		t.Errorf("list ?project=999999: %d %s, want 403", r.status, r.body)
	}
	r := b.api(http.MethodGet, "/api/0/organizations/acme/issues/?query=is:all&limit=1", alice, nil, nil)
	m := regexp.MustCompile(`rel="next"; results="true"; cursor="([^"]+)"`).FindStringSubmatch(r.header.Get("Link"))
	if m == nil {
		t.Fatalf("Link header %q lacks the next cursor", r.header.Get("Link"))
	}
	if diff := cmp.Diff([]string{"WEB-2"}, ids("?query=is:all&limit=1&cursor="+m[1])); diff != "" {
		t.Errorf("the next page (-want +got):\n%s", diff)
	}
	if hits := r.header.Get("X-Hits"); hits != "2" {
		t.Errorf("X-Hits = %q, want 2", hits)
	}
	for _, q := range []string{"?query=is:bogus", "?cursor=x", "?project=x", "?limit=1000"} {
		if r := b.api(http.MethodGet, "/api/0/organizations/acme/issues/"+q, alice, nil, nil); r.status != http.StatusBadRequest {
			t.Errorf("list %s: %d, want 400", q, r.status)
		}
	}
	// Carol sees no issues of a project she has no access to.
	var carols []issueJSON
	b.api(http.MethodGet, "/api/0/organizations/acme/issues/?query=", b.tokens["carol"], nil, &carols)
	if len(carols) != 0 {
		t.Errorf("carol lists %d issues, want 0", len(carols))
	}
}

func testAPIMembers(t *testing.T, b *bundle) {
	type member struct {
		ID   string `json:"id"`
		Role string `json:"role"`
		User struct {
			ID    string `json:"id"`
			Email string `json:"email"`
			Name  string `json:"name"`
		} `json:"user"`
	}
	var got []member
	if r := b.api(http.MethodGet, "/api/0/organizations/acme/members/", b.tokens["bob"], nil, &got); r.status != http.StatusOK {
		t.Fatalf("members: %d %s", r.status, r.body)
	}
	var summary []string
	for _, m := range got {
		if m.ID == "" || strings.Trim(m.ID, "0123456789") != "" {
			t.Errorf("member id %q is not a string of digits", m.ID)
		}
		summary = append(summary, m.User.Email+" "+m.User.Name+" "+m.Role+" "+m.User.ID)
	}
	want := []string{
		"alice@example.com Alice owner " + itoa(b.alice.ID),
		"bob@example.com Bob member " + itoa(b.bob.ID),
		"carol@example.com Carol member " + itoa(b.carol.ID),
	}
	if diff := cmp.Diff(want, summary); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
}

func testAPIIntegrations(t *testing.T, b *bundle, engine store.Engine) {
	r := b.api(http.MethodGet, "/api/0/organizations/acme/integrations/", b.tokens["alice"], nil, nil)
	if r.status != http.StatusOK || strings.TrimSpace(r.body) != "[]" {
		t.Errorf("integrations without Slack: %d %q, want []", r.status, r.body)
	}
	s := setupWith(t, engine, options{slack: fakeSlack{}})
	var got []map[string]any
	if r := s.api(http.MethodGet, "/api/0/organizations/acme/integrations/", s.tokens["alice"], nil, &got); r.status != http.StatusOK {
		t.Fatalf("integrations: %d %s", r.status, r.body)
	}
	if len(got) != 1 || got[0]["provider"] != "slack" || got[0]["externalId"] != "T123" {
		t.Errorf("integrations: %v", got)
	}
	if r := s.api(http.MethodGet, "/api/0/organizations/acme/integrations/", s.tokens["alice"], nil, nil); strings.Contains(r.body, "xox") || strings.Contains(strings.ToLower(r.body), "token") {
		t.Errorf("integrations answer carries a token: %s", r.body)
	}
}

func TestAPIResolveInRelease(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	if err := b.store.RecordRelease(t.Context(), b.web.ID, "1.0"); err != nil {
		t.Fatal(err)
	}
	p, alice := "/api/0/issues/"+itoa(b.issue.ID)+"/", b.tokens["alice"]
	var got issueJSON
	if r := b.api(http.MethodPut, p, alice, map[string]any{"status": "resolvedInNextRelease"}, &got); r.status != 200 || got.StatusDetails["inNextRelease"] != true {
		t.Fatalf("resolvedInNextRelease: %d %s", r.status, r.body)
	}
	if r := b.api(http.MethodPut, p, alice, map[string]any{"status": "resolved", "statusDetails": map[string]any{"inRelease": "latest"}}, &got); r.status != 200 || got.StatusDetails["inRelease"] != "1.0" {
		t.Fatalf("inRelease latest: %d %s", r.status, r.body)
	}
	if r := b.api(http.MethodPut, p, alice, map[string]any{"status": "resolved", "statusDetails": map[string]any{"inRelease": "0.9"}}, nil); r.status != 400 || !strings.Contains(detail(t, r), "not the current release") {
		t.Fatalf("inRelease 0.9: %d %s", r.status, r.body)
	}
	var acts []activityJSON
	b.api(http.MethodGet, p+"activity/", alice, nil, &acts)
	if len(acts) != 2 || acts[0].Type != "set_resolved_in_release" || acts[0].Data["version"] != "1.0" || acts[1].Data["inNextRelease"] != true {
		t.Fatalf("activity: %+v", acts)
	}
}
