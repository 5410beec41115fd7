package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"triage"
	"triage/internal/store"
)

// TestCommentsAPI: notes through the API, their shape and refusals, and
// that they are activity entries of type note with their author.
func TestCommentsAPI(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setup(t, engine)
			path := "/api/0/issues/" + itoa(b.issue.ID) + "/comments/"

			var note activityJSON
			r := b.api("POST", path, b.tokens["bob"], map[string]string{"text": "Deploy 42 broke it."}, &note)
			if r.status != http.StatusCreated {
				t.Fatalf("POST comment: %d %s", r.status, r.body)
			}
			if note.Type != "note" || note.Data["text"] != "Deploy 42 broke it." || note.User == nil ||
				note.User.Email != "bob@example.com" || note.User.ID != itoa(b.bob.ID) || note.Source != "api" || note.ID == "" || note.DateCreated.IsZero() {
				t.Errorf("created note %+v", note)
			}

			var acts []activityJSON
			b.api("GET", "/api/0/issues/"+itoa(b.issue.ID)+"/activity/", b.tokens["alice"], nil, &acts)
			if len(acts) != 1 || acts[0].Type != "note" || acts[0].ID != note.ID || acts[0].User == nil || acts[0].User.Email != "bob@example.com" {
				t.Errorf("activity after the comment: %+v", acts)
			}
			var notes []activityJSON
			if r := b.api("GET", path, b.tokens["alice"], nil, &notes); r.status != 200 || len(notes) != 1 || notes[0].Data["text"] != "Deploy 42 broke it." {
				t.Errorf("GET comments: %d %+v", r.status, notes)
			}

			for _, c := range []struct {
				name, who, path string
				body            any
				status          int
			}{
				{"empty text", "bob", path, map[string]string{"text": ""}, 400},
				{"blank text", "bob", path, map[string]string{"text": "  \n "}, 400},
				{"no text", "bob", path, map[string]string{}, 400},
				{"unknown field", "bob", path, map[string]string{"txt": "hi"}, 400},
				{"another organization's issue", "bob", "/api/0/issues/" + itoa(b.secret.ID) + "/comments/", map[string]string{"text": "hi"}, 404},
				{"an outsider", "dave", path, map[string]string{"text": "hi"}, 404},
				{"a member without the project", "carol", path, map[string]string{"text": "hi"}, 403},
				{"no token", "", path, map[string]string{"text": "hi"}, 401},
			} {
				r := b.api("POST", c.path, b.tokens[c.who], c.body, nil)
				if r.status != c.status {
					t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
				} else if c.status != 401 && detail(t, r) == "" {
					t.Errorf("%s: no detail", c.name)
				}
			}
			if r := b.api("GET", "/api/0/issues/"+itoa(b.secret.ID)+"/comments/", b.tokens["bob"], nil, nil); r.status != 404 {
				t.Errorf("GET another organization's comments: %d", r.status)
			}
			b.api("GET", "/api/0/issues/"+itoa(b.issue.ID)+"/activity/", b.tokens["alice"], nil, &acts)
			if len(acts) != 1 {
				t.Errorf("refused comments left %d activities, want the one note", len(acts))
			}
		})
	}
}

// TestBulkAndDeleteAPI: one PUT changes many issues, one activity per
// changed issue; ids the caller cannot see are ignored (204 when none is
// left); DELETE is for owners and admins, and the issue is 404 at once.
func TestBulkAndDeleteAPI(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setup(t, engine)
			ids := func(is ...*triage.Issue) string {
				q := url.Values{}
				for _, i := range is {
					q.Add("id", itoa(i.ID))
				}
				return "?" + q.Encode()
			}
			bulk := "/api/0/organizations/acme/issues/"
			activities := func(i *triage.Issue) []activityJSON {
				t.Helper()
				var acts []activityJSON
				if r := b.api("GET", "/api/0/issues/"+itoa(i.ID)+"/activity/", b.tokens["alice"], nil, &acts); r.status != 200 {
					t.Fatalf("activity of %d: %d", i.ID, r.status)
				}
				return acts
			}

			var out map[string]any
			r := b.api("PUT", bulk+ids(b.issue, b.issue2, b.secret), b.tokens["bob"], `{"status": "resolved"}`, &out)
			if r.status != 200 || out["status"] != "resolved" {
				t.Fatalf("bulk resolve: %d %s", r.status, r.body)
			}
			for _, i := range []*triage.Issue{b.issue, b.issue2} {
				if st := b.reload(i).Status; st != triage.StatusResolved {
					t.Errorf("%s is %s", i.ShortID(), st)
				}
				if acts := activities(i); len(acts) != 1 || acts[0].Type != "set_resolved" || acts[0].User == nil || acts[0].User.Email != "bob@example.com" || acts[0].Source != "api" {
					t.Errorf("activity of %s: %+v", i.ShortID(), acts)
				}
			}
			if st := b.reload(b.secret).Status; st != triage.StatusUnresolved {
				t.Errorf("another organization's issue became %s", st)
			}

			// Again, and one was unresolved meanwhile: only it changes.
			b.api("PUT", "/api/0/issues/"+itoa(b.issue2.ID)+"/", b.tokens["bob"], `{"status": "unresolved"}`, nil)
			if r := b.api("PUT", bulk+ids(b.issue, b.issue2), b.tokens["bob"], `{"status": "resolved"}`, nil); r.status != 200 {
				t.Fatalf("bulk resolve again: %d %s", r.status, r.body)
			}
			if n1, n2 := len(activities(b.issue)), len(activities(b.issue2)); n1 != 1 || n2 != 3 {
				t.Errorf("activities after the second bulk resolve: %d and %d, want 1 (unchanged) and 3", n1, n2)
			}

			// Assign, with the answer saying to whom.
			out = nil
			if r := b.api("PUT", bulk+ids(b.issue, b.issue2), b.tokens["alice"], `{"assignedTo": "user:`+itoa(b.bob.ID)+`"}`, &out); r.status != 200 {
				t.Fatalf("bulk assign: %d %s", r.status, r.body)
			} else if a, _ := out["assignedTo"].(map[string]any); a["id"] != itoa(b.bob.ID) || a["type"] != "user" {
				t.Errorf("bulk assign answered %s", r.body)
			}
			for _, i := range []*triage.Issue{b.issue, b.issue2} {
				if a := b.reload(i).Assignee; a == nil || a.ID != b.bob.ID {
					t.Errorf("%s assigned to %+v", i.ShortID(), a)
				}
			}

			for _, c := range []struct {
				name, who, path, body string
				status                int
			}{
				{"only ids the caller cannot see", "bob", bulk + ids(b.secret), `{"status": "ignored"}`, 204},
				{"a member without the project", "carol", bulk + ids(b.issue), `{"status": "ignored"}`, 204},
				{"an organization the caller is not in", "dave", bulk + ids(b.issue), `{"status": "ignored"}`, 404},
				{"no ids", "bob", bulk, `{"status": "ignored"}`, 400},
				{"a bad id", "bob", bulk + "?id=x", `{"status": "ignored"}`, 400},
				{"nothing to change", "bob", bulk + ids(b.issue), `{}`, 400},
				{"a bad status", "bob", bulk + ids(b.issue), `{"status": "gone"}`, 400},
				{"an assignee without access", "alice", bulk + ids(b.issue), `{"assignedTo": "user:` + itoa(b.carol.ID) + `"}`, 400},
			} {
				r := b.api("PUT", c.path, b.tokens[c.who], c.body, nil)
				if r.status != c.status {
					t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
				}
				if c.status == 204 && r.body != "" {
					t.Errorf("%s: 204 with a body %q", c.name, r.body)
				}
			}
			if st := b.reload(b.issue).Status; st != triage.StatusResolved {
				t.Errorf("refused bulk changes left WEB-1 %s", st)
			}

			// Delete: refused for members, 404 for another organization's
			// issue, then gone at once.
			del := func(who string, i *triage.Issue) response {
				return b.api("DELETE", "/api/0/issues/"+itoa(i.ID)+"/", b.tokens[who], nil, nil)
			}
			if r := del("bob", b.issue); r.status != 403 || !strings.Contains(detail(t, r), "owner or admin") {
				t.Errorf("member deleting: %d %s", r.status, r.body)
			}
			if r := del("carol", b.issue); r.status != 403 {
				t.Errorf("member without the project deleting: %d %s", r.status, r.body)
			}
			if r := del("alice", b.secret); r.status != 404 {
				t.Errorf("deleting another organization's issue: %d %s", r.status, r.body)
			}
			if r := b.api("GET", "/api/0/issues/"+itoa(b.issue.ID)+"/", b.tokens["alice"], nil, nil); r.status != 200 {
				t.Fatalf("refused deletes: the issue answers %d", r.status)
			}
			if r := del("alice", b.issue); r.status != 202 || r.body != "" {
				t.Fatalf("owner deleting: %d %q", r.status, r.body)
			}
			for _, p := range []string{"/", "/activity/", "/comments/"} {
				if r := b.api("GET", "/api/0/issues/"+itoa(b.issue.ID)+p, b.tokens["alice"], nil, nil); r.status != 404 {
					t.Errorf("GET %s of the deleted issue: %d", p, r.status)
				}
			}
			var list []issueJSON
			b.api("GET", "/api/0/organizations/acme/issues/?query=", b.tokens["alice"], nil, &list)
			for _, i := range list {
				if i.ID == itoa(b.issue.ID) {
					t.Errorf("the deleted issue is still listed")
				}
			}
			if r := del("alice", b.issue); r.status != 404 {
				t.Errorf("deleting it again: %d", r.status)
			}
		})
	}
}

// TestCommentAndBulkPages: the issue page's comment form, the list's
// checkboxes and toolbar, and the delete confirmation for owners only.
func TestCommentAndBulkPages(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	bob := b.client()
	b.login(bob, "bob")
	issuePath := b.issue.Path()

	r := b.post(bob, issuePath+"comments/", url.Values{"text": {"<b>Looks</b> like the cache\nagain"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != issuePath+"#activity" {
		t.Fatalf("comment: %d %s", r.status, r.header.Get("Location"))
	}
	page := b.get(bob, issuePath)
	if !strings.Contains(page.body, "Comment added.") || !strings.Contains(page.body, "<strong>Bob</strong> commented") ||
		!strings.Contains(page.body, "&lt;b&gt;Looks&lt;/b&gt; like the cache\nagain") {
		t.Errorf("issue page after the comment:\n%s", page.body)
	}
	if r := b.post(bob, issuePath+"comments/", url.Values{"text": {"   "}}); r.status != 400 || !strings.Contains(r.body, "text must not be empty") {
		t.Errorf("empty comment: %d", r.status)
	}
	if r := b.post(bob, b.secret.Path()+"comments/", url.Values{"text": {"hi"}}); r.status != 404 {
		t.Errorf("comment on another organization's issue: %d", r.status)
	}

	list := b.get(bob, "/organizations/acme/issues/")
	for _, want := range []string{`id="bulk-resolve"`, `form="bulk"`, `value="` + itoa(b.issue2.ID) + `"`} {
		if !strings.Contains(list.body, want) {
			t.Errorf("issue list lacks %s", want)
		}
	}
	if strings.Contains(list.body, `id="bulk-delete"`) {
		t.Errorf("a member is offered Delete")
	}
	r = b.post(bob, "/organizations/acme/issues/", url.Values{
		"id": {itoa(b.issue.ID), itoa(b.issue2.ID)}, "action": {"ignore"}, "back": {"/organizations/acme/issues/?query=is%3Aunresolved"},
	})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/organizations/acme/issues/?query=is%3Aunresolved" {
		t.Fatalf("bulk ignore: %d %s", r.status, r.header.Get("Location"))
	}
	if page := b.get(bob, "/organizations/acme/issues/?query=is%3Aignored"); !strings.Contains(page.body, "2 issues ignored.") {
		t.Errorf("after the bulk ignore:\n%s", page.body)
	}
	for _, i := range []*triage.Issue{b.issue, b.issue2} {
		if st := b.reload(i).Status; st != triage.StatusIgnored {
			t.Errorf("%s is %s", i.ShortID(), st)
		}
	}
	// A link elsewhere as "back" is not followed.
	r = b.post(bob, "/organizations/acme/issues/", url.Values{"id": {itoa(b.issue.ID)}, "action": {"assign"}, "assignee": {"user:" + itoa(b.bob.ID)}, "back": {"https://evil.example/"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/organizations/acme/issues/" {
		t.Errorf("bulk assign with a foreign back: %d %s", r.status, r.header.Get("Location"))
	}
	if a := b.reload(b.issue).Assignee; a == nil || a.ID != b.bob.ID {
		t.Errorf("bulk assign: %+v", a)
	}
	if r := b.post(bob, "/organizations/acme/issues/", url.Values{"id": {itoa(b.issue.ID)}, "action": {"delete"}}); r.status != 403 {
		t.Errorf("member deleting from the list: %d", r.status)
	}

	alice := b.client()
	b.login(alice, "alice")
	if page := b.get(alice, "/organizations/acme/issues/?query=is:all"); !strings.Contains(page.body, `id="bulk-delete"`) {
		t.Errorf("the owner is not offered Delete")
	}
	form := url.Values{"id": {itoa(b.issue.ID), itoa(b.secret.ID)}, "action": {"delete"}, "back": {"/organizations/acme/issues/?query="}}
	confirm := b.post(alice, "/organizations/acme/issues/", form)
	if confirm.status != 200 || !strings.Contains(confirm.body, "WEB-1") || strings.Contains(confirm.body, "Secret failure") ||
		!strings.Contains(confirm.body, `id="confirm-delete"`) {
		t.Fatalf("delete confirmation: %d\n%s", confirm.status, confirm.body)
	}
	if _, err := b.issues.Get(context.Background(), b.alice.ID, b.issue.ID); err != nil {
		t.Fatalf("the confirmation page deleted already: %v", err)
	}
	form.Set("confirm", "yes")
	if r := b.post(alice, "/organizations/acme/issues/", form); r.status != http.StatusSeeOther {
		t.Fatalf("confirmed delete: %d", r.status)
	}
	if page := b.get(alice, "/organizations/acme/issues/?query=is:all"); !strings.Contains(page.body, "1 issue deleted.") || strings.Contains(page.body, ">WEB-1<") {
		t.Errorf("list after the delete:\n%s", page.body)
	}
	if r := b.get(alice, issuePath); r.status != 404 {
		t.Errorf("deleted issue page: %d", r.status)
	}
	if _, err := b.store.IssueByID(context.Background(), b.secret.ID); err != nil {
		t.Errorf("another organization's issue: %v", err)
	}
}
