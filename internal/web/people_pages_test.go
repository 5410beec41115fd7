package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"triage"
	"triage/internal/store"
)

func wantPage(t *testing.T, what string, r response, status int, texts ...string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d\n%s", what, r.status, status, r.body)
		return
	}
	for _, s := range texts {
		if !strings.Contains(r.body, s) {
			t.Errorf("%s: the page lacks %q\n%s", what, s, r.body)
		}
	}
}

// TestMembersPage: every member sees who is there; owners and admins change
// roles and remove members; a member gets 403, a stranger 404, a bad role
// 400 naming the field; the last owner stays; a removed member's session
// and token are refused on their next request.
func TestMembersPage(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setup(t, engine)
			alice, bob, dave := b.client(), b.client(), b.client()
			b.login(alice, "alice")
			b.login(bob, "bob")
			b.login(dave, "dave")
			const page = "/organizations/acme/settings/members/"
			wantPage(t, "bob's members page", b.get(bob, page), http.StatusOK, "alice@example.com", "carol@example.com", "owner")
			if r := b.get(bob, page); strings.Contains(r.body, `name="role"`) {
				t.Error("a member is offered the role form")
			}
			wantPage(t, "dave's view of acme's members", b.get(dave, page), http.StatusNotFound)

			role := func(c *http.Client, user *triage.User, to string) response {
				return b.post(c, fmt.Sprintf("%s%d/role/", page, user.ID), url.Values{"role": {to}})
			}
			wantPage(t, "bob making carol an admin", role(bob, b.carol, "admin"), http.StatusForbidden, "Only an owner or admin")
			wantPage(t, "dave changing acme's roles", role(dave, b.carol, "admin"), http.StatusNotFound)
			wantPage(t, "alice changing dave's role in acme", role(alice, b.dave, "admin"), http.StatusNotFound)
			wantPage(t, "an unknown role", role(alice, b.carol, "boss"), http.StatusBadRequest, "Role: &#34;boss&#34; is not a role")
			wantPage(t, "the last owner stepping down", role(alice, b.alice, "member"), http.StatusBadRequest, "last owner")
			if r := role(alice, b.carol, "admin"); r.status != http.StatusSeeOther {
				t.Fatalf("alice making carol an admin: %d\n%s", r.status, r.body)
			}
			wantPage(t, "after the change", b.get(alice, page), http.StatusOK, "carol@example.com is now an admin.")
			if m, _ := b.store.Member(context.Background(), b.acme.ID, b.carol.ID); m.Role != triage.RoleAdmin {
				t.Errorf("carol is %s", m.Role)
			}

			// Removal asks first, then ends the member's access at once.
			remove := fmt.Sprintf("%s%d/remove/", page, b.bob.ID)
			wantPage(t, "bob removing himself", b.post(bob, remove, url.Values{"confirm": {"yes"}}), http.StatusForbidden)
			wantPage(t, "the confirmation", b.post(alice, remove, nil), http.StatusOK, "Remove bob@example.com from Acme?")
			if m, err := b.store.Member(context.Background(), b.acme.ID, b.bob.ID); err != nil || m == nil {
				t.Fatal("the confirmation page removed bob already")
			}
			if r := b.api("GET", "/api/0/organizations/acme/issues/", b.tokens["bob"], nil, nil); r.status != http.StatusOK {
				t.Fatalf("bob's token before the removal: %d", r.status)
			}
			if r := b.post(alice, remove, url.Values{"confirm": {"yes"}}); r.status != http.StatusSeeOther {
				t.Fatalf("removing bob: %d\n%s", r.status, r.body)
			}
			if r := b.get(bob, "/organizations/acme/issues/"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/auth/login/") {
				t.Errorf("bob's session after his removal: %d %s, want a redirect to the login form", r.status, r.header.Get("Location"))
			}
			if r := b.api("GET", "/api/0/organizations/acme/issues/", b.tokens["bob"], nil, nil); r.status != http.StatusNotFound {
				t.Errorf("bob's token on acme after his removal: %d, want 404", r.status)
			}
			if r := b.api("GET", fmt.Sprintf("/api/0/issues/%d/", b.issue.ID), b.tokens["bob"], nil, nil); r.status != http.StatusNotFound {
				t.Errorf("bob's token on acme's issue after his removal: %d, want 404", r.status)
			}
			if r := b.get(alice, page); strings.Contains(r.body, "bob@example.com</td>") || !strings.Contains(r.body, "Removed bob@example.com") {
				t.Errorf("the members page after removing bob:\n%s", r.body)
			}
			wantPage(t, "removing the last owner", b.post(alice, fmt.Sprintf("%s%d/remove/", page, b.alice.ID), url.Values{"confirm": {"yes"}}),
				http.StatusBadRequest, "last owner")
		})
	}
}

// TestTeamsPages: create a team (400 naming the slug, 409 for a taken
// one), add and remove members, delete it; members look, only admins change.
func TestTeamsPages(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setup(t, engine)
			alice, bob, dave := b.client(), b.client(), b.client()
			b.login(alice, "alice")
			b.login(bob, "bob")
			b.login(dave, "dave")
			const teams = "/organizations/acme/settings/teams/"
			wantPage(t, "bob's teams page", b.get(bob, teams), http.StatusOK, "#backend", "#frontend", "owns web")
			if r := b.get(bob, teams); strings.Contains(r.body, `id="new-team"`) {
				t.Error("a member is offered the new team form")
			}
			wantPage(t, "bob creating a team", b.post(bob, teams, url.Values{"slug": {"ops"}}), http.StatusForbidden)
			wantPage(t, "dave creating a team in acme", b.post(dave, teams, url.Values{"slug": {"ops"}}), http.StatusNotFound)
			wantPage(t, "a bad slug", b.post(alice, teams, url.Values{"slug": {"Ops Team"}, "name": {"Ops"}}), http.StatusBadRequest,
				"Slug: invalid team slug", `value="Ops Team"`)
			wantPage(t, "a taken slug", b.post(alice, teams, url.Values{"slug": {"backend"}}), http.StatusConflict, "already has a team")
			r := b.post(alice, teams, url.Values{"slug": {"ops"}, "name": {"Operations"}})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != teams+"ops/" {
				t.Fatalf("creating ops: %d %s", r.status, r.header.Get("Location"))
			}
			wantPage(t, "the new team", b.get(alice, teams+"ops/"), http.StatusOK, "Team #ops created", "Nobody is on this team yet", "carol@example.com")
			add := func(c *http.Client, team string, u *triage.User) response {
				return b.post(c, teams+team+"/members/", url.Values{"user": {fmt.Sprint(u.ID)}})
			}
			wantPage(t, "bob adding to a team", add(bob, "ops", b.carol), http.StatusForbidden)
			wantPage(t, "adding dave, of another organization", add(alice, "ops", b.dave), http.StatusBadRequest, "User: pick a member of Acme")
			wantPage(t, "adding to an unknown team", add(alice, "nope", b.carol), http.StatusNotFound)
			if r := add(alice, "ops", b.carol); r.status != http.StatusSeeOther {
				t.Fatalf("adding carol: %d\n%s", r.status, r.body)
			}
			wantPage(t, "bob's view of ops", b.get(bob, teams+"ops/"), http.StatusOK, "carol@example.com")
			rm := fmt.Sprintf("%sops/members/%d/remove/", teams, b.carol.ID)
			wantPage(t, "bob removing from a team", b.post(bob, rm, nil), http.StatusForbidden)
			if r := b.post(alice, rm, nil); r.status != http.StatusSeeOther {
				t.Fatalf("removing carol: %d", r.status)
			}
			if ms, _ := b.store.TeamMembers(context.Background(), must(b.store.TeamBySlug(context.Background(), b.acme.ID, "ops")).ID); len(ms) != 0 {
				t.Errorf("ops still has %v", ms)
			}
			wantPage(t, "deleting asks first", b.post(alice, teams+"ops/delete/", nil), http.StatusOK, "Delete the team #ops?")
			wantPage(t, "bob deleting a team", b.post(bob, teams+"ops/delete/", url.Values{"confirm": {"yes"}}), http.StatusForbidden)
			if r := b.post(alice, teams+"ops/delete/", url.Values{"confirm": {"yes"}}); r.status != http.StatusSeeOther {
				t.Fatalf("deleting ops: %d", r.status)
			}
			wantPage(t, "the deleted team", b.get(alice, teams+"ops/"), http.StatusNotFound)
		})
	}
}

// TestProjectPages: create a project without a team (members do not see
// it), give it a team from its page (its members then do), keys (create,
// disable, rotate), rename, and the refusals; deletion's refusals.
func TestProjectPages(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setup(t, engine)
			ctx := context.Background()
			alice, carol, dave := b.client(), b.client(), b.client()
			b.login(alice, "alice")
			b.login(carol, "carol")
			b.login(dave, "dave")
			const projects = "/organizations/acme/projects/"
			wantPage(t, "carol's new project form", b.get(carol, projects+"new/"), http.StatusForbidden)
			wantPage(t, "carol creating a project", b.post(carol, projects+"new/", url.Values{"slug": {"shop"}}), http.StatusForbidden)
			wantPage(t, "dave creating in acme", b.post(dave, projects+"new/", url.Values{"slug": {"shop"}}), http.StatusNotFound)
			wantPage(t, "a bad slug", b.post(alice, projects+"new/", url.Values{"slug": {"My Shop"}}), http.StatusBadRequest, "Slug: invalid project slug")
			wantPage(t, "a taken slug", b.post(alice, projects+"new/", url.Values{"slug": {"web"}}), http.StatusConflict, "already has a project")
			wantPage(t, "an unknown team", b.post(alice, projects+"new/", url.Values{"slug": {"shop"}, "team": {"nope"}}), http.StatusBadRequest, "Team: Acme has no team")
			r := b.post(alice, projects+"new/", url.Values{"slug": {"shop"}, "name": {"Shop"}, "team": {""}})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != projects+"shop/#setup" {
				t.Fatalf("creating shop: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
			}
			shop := must(b.store.ProjectBySlug(ctx, b.acme.ID, "shop"))
			dsn := shop.DSN(b.url)
			page := b.get(alice, projects+"shop/")
			wantPage(t, "the new project's page", page, http.StatusOK, "Project shop created", dsn, `id="copy-dsn"`,
				"sentry_sdk.init", "Sentry.init", "sentry.Init", "SentrySdk.Init", `\Sentry\init`, "io.sentry.Sentry", "@sentry/browser", "@sentry/node",
				"No team owns this project")

			// Carol, on no team, sees neither the project nor its key.
			if r := b.get(carol, projects); strings.Contains(r.body, shop.PublicKey) || strings.Contains(r.body, `data-slug="shop"`) {
				t.Error("carol sees a project no team of hers owns")
			}
			wantPage(t, "carol's view of shop", b.get(carol, projects+"shop/"), http.StatusForbidden)
			wantPage(t, "dave's view of shop", b.get(dave, projects+"shop/"), http.StatusNotFound)

			// Give it to #frontend, with carol on it: now she sees it.
			if err := b.store.AddTeamMember(ctx, b.frontend.ID, b.carol.ID); err != nil {
				t.Fatal(err)
			}
			wantPage(t, "carol giving it a team", b.post(carol, projects+"shop/teams/", url.Values{"team": {"frontend"}}), http.StatusForbidden)
			wantPage(t, "an unknown team", b.post(alice, projects+"shop/teams/", url.Values{"team": {"nope"}}), http.StatusBadRequest, "Team: Acme has no team")
			if r := b.post(alice, projects+"shop/teams/", url.Values{"team": {"frontend"}}); r.status != http.StatusSeeOther {
				t.Fatalf("giving shop to frontend: %d\n%s", r.status, r.body)
			}
			wantPage(t, "carol's projects", b.get(carol, projects), http.StatusOK, `data-slug="shop"`, dsn)
			wantPage(t, "carol's view of shop", b.get(carol, projects+"shop/"), http.StatusOK, dsn)
			if r := b.get(carol, projects+"shop/"); strings.Contains(r.body, "rotate-key") || strings.Contains(r.body, "delete-project-link") {
				t.Error("a member is offered key and delete controls")
			}

			// Keys.
			keys := must(b.store.ProjectKeys(ctx, shop.ID))
			keyURL := fmt.Sprintf("%sshop/keys/%d/", projects, keys[0].ID)
			wantPage(t, "carol disabling a key", b.post(carol, keyURL, url.Values{"action": {"disable"}}), http.StatusForbidden)
			wantPage(t, "an unknown action", b.post(alice, keyURL, url.Values{"action": {"explode"}}), http.StatusBadRequest, "Action: use enable or disable")
			secret := must(b.store.ProjectBySlug(ctx, b.other.ID, "secret"))
			otherKey := must(b.store.ProjectKeys(ctx, secret.ID))[0]
			wantPage(t, "disabling another organization's key", b.post(alice, fmt.Sprintf("%sshop/keys/%d/", projects, otherKey.ID), url.Values{"action": {"disable"}}), http.StatusNotFound)
			if r := b.post(alice, projects+"shop/keys/", url.Values{"label": {"staging"}}); r.status != http.StatusSeeOther {
				t.Fatalf("creating a key: %d", r.status)
			}
			if r := b.post(alice, keyURL, url.Values{"action": {"disable"}}); r.status != http.StatusSeeOther {
				t.Fatalf("disabling a key: %d", r.status)
			}
			enabled := must(b.store.EnabledKeys(ctx, shop.ID))
			if len(enabled) != 1 || enabled[0] == keys[0].PublicKey {
				t.Errorf("enabled keys after disabling the first: %v", enabled)
			}
			wantPage(t, "the page after disabling", b.get(alice, projects+"shop/"), http.StatusOK, "Key disabled", "Disabled", "staging")
			wantPage(t, "rotating asks first", b.post(alice, keyURL+"rotate/", nil), http.StatusOK, "Rotate Default?", "old DSN")
			if r := b.post(alice, keyURL+"rotate/", url.Values{"confirm": {"yes"}}); r.status != http.StatusSeeOther {
				t.Fatalf("rotating: %d", r.status)
			}
			if k := must(b.store.ProjectKeyByID(ctx, shop.ID, keys[0].ID)); k.PublicKey == keys[0].PublicKey {
				t.Error("the rotated key kept its value")
			}

			// Rename.
			wantPage(t, "carol renaming", b.post(carol, projects+"shop/", url.Values{"slug": {"store"}, "name": {"Store"}}), http.StatusForbidden)
			wantPage(t, "renaming to a taken slug", b.post(alice, projects+"shop/", url.Values{"slug": {"web"}, "name": {"Shop"}}), http.StatusConflict, `value="web"`)
			if r := b.post(alice, projects+"shop/", url.Values{"slug": {"store"}, "name": {"Store"}}); r.status != http.StatusSeeOther || r.header.Get("Location") != projects+"store/" {
				t.Fatalf("renaming: %d %s", r.status, r.header.Get("Location"))
			}
			wantPage(t, "the renamed project", b.get(alice, projects+"store/"), http.StatusOK, "Store")

			// Deletion's refusals (the deletion itself runs in cmd/triage's tests, with River).
			wantPage(t, "carol's delete page", b.get(carol, projects+"store/delete/"), http.StatusForbidden)
			wantPage(t, "the delete page", b.get(alice, projects+"store/delete/"), http.StatusOK, "Type <strong>store</strong> to confirm")
			wantPage(t, "a mistyped slug", b.post(alice, projects+"store/delete/", url.Values{"confirm": {"stor"}}), http.StatusBadRequest,
				"Confirmation: type the project&#39;s slug, store")
			wantPage(t, "carol deleting", b.post(carol, projects+"store/delete/", url.Values{"confirm": {"store"}}), http.StatusForbidden)
			wantPage(t, "dave deleting", b.post(dave, projects+"store/delete/", url.Values{"confirm": {"store"}}), http.StatusNotFound)

			// Detach: carol loses it again.
			if r := b.post(alice, projects+"store/teams/frontend/remove/", nil); r.status != http.StatusSeeOther {
				t.Fatalf("detaching: %d", r.status)
			}
			wantPage(t, "carol after the detach", b.get(carol, projects+"store/"), http.StatusForbidden)
		})
	}
}

// TestAccountPage: name, password (the old one asked; other sessions end,
// this one stays), and API tokens (shown once, listed without the token,
// refused once revoked; someone else's token is not found).
func TestAccountPage(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setup(t, engine)
			bob, bobElsewhere, carol := b.client(), b.client(), b.client()
			b.login(bob, "bob")
			b.login(bobElsewhere, "bob")
			b.login(carol, "carol")
			wantPage(t, "the account page", b.get(bob, "/account/"), http.StatusOK, "Your account", `value="Bob"`, "test")
			if r := b.post(bob, "/account/", url.Values{"name": {"Robert"}}); r.status != http.StatusSeeOther {
				t.Fatalf("saving the name: %d", r.status)
			}
			if u := must(b.store.UserByID(context.Background(), b.bob.ID)); u.Name != "Robert" {
				t.Errorf("name %q", u.Name)
			}
			wantPage(t, "a name on two lines", b.post(bob, "/account/", url.Values{"name": {"a\nb"}}), http.StatusBadRequest, "Name: use at most")

			// Password.
			wantPage(t, "a wrong current password", b.post(bob, "/account/password/", url.Values{"old_password": {"guess"}, "password": {"brand new password"}}),
				http.StatusBadRequest, "Current password: that is not your current password")
			wantPage(t, "a short new one", b.post(bob, "/account/password/", url.Values{"old_password": {testPassword}, "password": {"short"}}),
				http.StatusBadRequest, "New password: choose at least 8 characters")
			if r := b.post(bob, "/account/password/", url.Values{"old_password": {testPassword}, "password": {"brand new password"}}); r.status != http.StatusSeeOther {
				t.Fatalf("changing the password: %d\n%s", r.status, r.body)
			}
			wantPage(t, "this browser after the change", b.get(bob, "/account/"), http.StatusOK, "Password changed")
			if r := b.get(bobElsewhere, "/account/"); r.status != http.StatusSeeOther {
				t.Errorf("bob's other session after the change: %d, want a redirect to log in", r.status)
			}
			if r := b.get(carol, "/account/"); r.status != http.StatusOK {
				t.Errorf("carol's session after bob's change: %d", r.status)
			}
			if r := b.post(b.client(), "/auth/login/", url.Values{"email": {"bob@example.com"}, "password": {"brand new password"}}); r.status != http.StatusSeeOther {
				t.Errorf("logging in with the new password: %d", r.status)
			}

			// Tokens.
			wantPage(t, "a token without a name", b.post(bob, "/account/tokens/", url.Values{"name": {" "}}), http.StatusBadRequest, "Name: give the token a name")
			wantPage(t, "an unknown lifetime", b.post(bob, "/account/tokens/", url.Values{"name": {"ci"}, "expires": {"forever"}}), http.StatusBadRequest, "Expires:")
			r := b.post(bob, "/account/tokens/", url.Values{"name": {"deploy script"}, "expires": {"90d"}})
			wantPage(t, "creating a token", r, http.StatusCreated, "shown only this once", "deploy script")
			tok := regexp.MustCompile(`id="new-token" class="dsn" readonly value="(triage_[^"]+)"`).FindStringSubmatch(r.body)
			if tok == nil {
				t.Fatalf("no token on the page:\n%s", r.body)
			}
			if r := b.api("GET", "/api/0/organizations/acme/issues/", tok[1], nil, nil); r.status != http.StatusOK {
				t.Fatalf("the new token on the API: %d", r.status)
			}
			list := b.get(bob, "/account/")
			if strings.Contains(list.body, tok[1]) {
				t.Error("the account page shows the token again")
			}
			if !strings.Contains(list.body, "deploy script") || strings.Count(list.body, "revoke-token") != 2 {
				t.Errorf("the token list:\n%s", list.body)
			}
			var id int64
			for _, at := range must(b.store.APITokens(context.Background(), b.bob.ID)) {
				if at.Name == "deploy script" {
					id = at.ID
					if at.LastUsedAt.IsZero() || at.ExpiresAt.IsZero() {
						t.Errorf("token record %+v: want a last use and an expiry", at)
					}
				}
			}
			revoke := fmt.Sprintf("/account/tokens/%d/revoke/", id)
			wantPage(t, "carol revoking bob's token", b.post(carol, revoke, nil), http.StatusNotFound)
			if r := b.api("GET", "/api/0/organizations/acme/issues/", tok[1], nil, nil); r.status != http.StatusOK {
				t.Fatalf("carol's attempt revoked bob's token: %d", r.status)
			}
			if r := b.post(bob, revoke, nil); r.status != http.StatusSeeOther {
				t.Fatalf("revoking: %d", r.status)
			}
			if r := b.api("GET", "/api/0/organizations/acme/issues/", tok[1], nil, nil); r.status != http.StatusUnauthorized {
				t.Errorf("a revoked token answered %d, want 401", r.status)
			}
		})
	}
}

// TestPeoplePagesNeedLogin: every new page sends a visitor to the login
// form, and a cross-site form post is refused.
func TestPeoplePagesNeedLogin(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	for _, p := range []string{"/account/", "/organizations/acme/settings/members/", "/organizations/acme/settings/teams/",
		"/organizations/acme/projects/new/", "/organizations/acme/projects/web/"} {
		if r := b.get(b.client(), p); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/auth/login/") {
			t.Errorf("a visitor on %s: %d %s", p, r.status, r.header.Get("Location"))
		}
	}
	alice := b.client()
	b.login(alice, "alice")
	r := b.post(alice, fmt.Sprintf("/organizations/acme/settings/members/%d/role/", b.bob.ID), url.Values{"role": {"owner"}},
		"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if r.status != http.StatusForbidden {
		t.Errorf("a cross-site role change: %d, want 403", r.status)
	}
	if m, _ := b.store.Member(context.Background(), b.acme.ID, b.bob.ID); m.Role != triage.RoleMember {
		t.Errorf("a cross-site post made bob %s", m.Role)
	}
}
