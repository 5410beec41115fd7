package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pickerOptions are the labels of a select on a page.
func pickerOptions(t *testing.T, body, id string) []string {
	t.Helper()
	sel := regexp.MustCompile(`(?s)<select name="[a-z]+" id="` + id + `"[^>]*>(.*?)</select>`).FindStringSubmatch(body)
	if sel == nil {
		t.Fatalf("no select #%s on the page", id)
	}
	var out []string
	for _, m := range regexp.MustCompile(`<option[^>]*>([^<]*)</option>`).FindAllStringSubmatch(sel[1], -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// TestSearchSeesOnlyVisibleProjects: a member of team backend (bob) sees
// only backend's project in the issue list's pickers, its environments
// only, and cannot reach team frontend's project through project:<slug>
// or ?project=: he gets the answer a project that does not exist gets.
// Carol, on frontend, sees the other way round; alice, the owner, both.
func TestSearchSeesOnlyVisibleProjects(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setup(t, engine)
			ctx := context.Background()
			if err := b.store.AddTeamMember(ctx, b.frontend.ID, b.carol.ID); err != nil {
				t.Fatal(err)
			}
			ops := must(b.store.CreateProject(ctx, b.acme.ID, "ops", "Ops", b.frontend.ID))
			opsIssue := b.newIssue(ops.ID, "o1", "OpsOnlyFailure in the deploy robot", time.Now())
			if err := b.store.RecordEnvironments(ctx, ops.ID, []string{"ops-lab"}); err != nil {
				t.Fatal(err)
			}
			if err := b.store.RecordEnvironments(ctx, b.web.ID, []string{"production"}); err != nil {
				t.Fatal(err)
			}

			page := func(who, query string) response {
				t.Helper()
				c := b.client()
				b.login(c, who)
				return b.get(c, "/organizations/acme/issues/?"+query)
			}
			for who, want := range map[string][2][]string{
				"bob":   {{"All projects", "web"}, {"All environments", "production"}},
				"carol": {{"All projects", "ops"}, {"All environments", "ops-lab"}},
				"alice": {{"All projects", "ops", "web"}, {"All environments", "ops-lab", "production"}},
			} {
				r := page(who, "")
				if r.status != http.StatusOK {
					t.Fatalf("%s's issue list: %d", who, r.status)
				}
				if diff := cmp.Diff(want[0], pickerOptions(t, r.body, "project")); diff != "" {
					t.Errorf("%s's project picker (-want +got):\n%s", who, diff)
				}
				if diff := cmp.Diff(want[1], pickerOptions(t, r.body, "environment")); diff != "" {
					t.Errorf("%s's environment picker (-want +got):\n%s", who, diff)
				}
				if sees := strings.Contains(r.body, "OpsOnlyFailure"); sees != (who != "bob") {
					t.Errorf("%s's list shows ops's issue: %v", who, sees)
				}
			}

			// project:ops for bob: the answer project:nope gets, naming the term.
			for _, slug := range []string{"ops", "nope"} {
				r := page("bob", "query="+url.QueryEscape("project:"+slug))
				body := html.UnescapeString(r.body)
				if r.status != http.StatusBadRequest || !strings.Contains(body, `cannot search for "project:`+slug+`": you have no project with that slug`) {
					t.Errorf("bob's page for project:%s: %d, want 400 naming the term\n%s", slug, r.status, body)
				}
				if strings.Contains(body, "OpsOnlyFailure") || !strings.Contains(body, `value="project:`+slug+`"`) {
					t.Errorf("bob's page for project:%s shows ops's issue or loses the query", slug)
				}
				a := b.api(http.MethodGet, "/api/0/organizations/acme/issues/?query="+url.QueryEscape("is:all project:"+slug), b.tokens["bob"], nil, nil)
				if want := `cannot search for "project:` + slug + `": you have no project with that slug`; a.status != http.StatusBadRequest || detail(t, a) != want {
					t.Errorf("bob's API for project:%s: %d %s, want 400 %q", slug, a.status, a.body, want)
				}
			}
			// ?project= for bob: ops, another organization's project and
			// no project at all are refused alike, as Sentry does.
			secretProject := b.reload(b.secret).ProjectID
			var details []string
			for _, id := range []int64{ops.ID, secretProject, 987654} {
				a := b.api(http.MethodGet, "/api/0/organizations/acme/issues/?project="+itoa(id), b.tokens["bob"], nil, nil)
				if a.status != http.StatusForbidden {
					t.Errorf("bob's API for project=%d: %d %s, want 403", id, a.status, a.body)
					continue
				}
				details = append(details, strings.Replace(detail(t, a), itoa(id), "N", 1))
				if r := page("bob", "project="+itoa(id)); r.status != http.StatusForbidden || strings.Contains(r.body, "OpsOnlyFailure") ||
					!strings.Contains(r.body, `id="error"`) {
					t.Errorf("bob's page for project=%d: %d, want 403 with the message beside the search box", id, r.status)
				}
			}
			if len(slices.Compact(slices.Clone(details))) != 1 {
				t.Errorf("the refusals differ: %q", details)
			}

			// Bob's lists never hold ops's issue; carol and alice find it by slug.
			var list []struct {
				ID string `json:"id"`
			}
			if r := b.api(http.MethodGet, "/api/0/organizations/acme/issues/?query=is:all", b.tokens["bob"], nil, &list); r.status != http.StatusOK {
				t.Fatalf("bob's list: %d %s", r.status, r.body)
			}
			for _, i := range list {
				if i.ID == itoa(opsIssue.ID) {
					t.Errorf("bob's API list holds ops's issue")
				}
			}
			if len(list) != 2 {
				t.Errorf("bob's API list has %d issues, want web's 2", len(list))
			}
			for _, who := range []string{"carol", "alice"} {
				list = nil
				r := b.api(http.MethodGet, "/api/0/organizations/acme/issues/?query=project:ops", b.tokens[who], nil, &list)
				if r.status != http.StatusOK || len(list) != 1 || list[0].ID != itoa(opsIssue.ID) {
					t.Errorf("%s's project:ops: %d %s, want ops's issue", who, r.status, r.body)
				}
				list = nil
				if r := b.api(http.MethodGet, "/api/0/organizations/acme/issues/?project="+itoa(ops.ID), b.tokens[who], nil, &list); r.status != http.StatusOK || len(list) != 1 {
					t.Errorf("%s's project=%d: %d %s, want ops's issue", who, ops.ID, r.status, r.body)
				}
			}
		})
	}
}
