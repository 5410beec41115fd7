package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"triage"
	"triage/internal/store"
)

func TestLoginRedirectsToFirstOrganization(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	c := b.client()
	r := b.login(c, "alice")
	if loc := r.header.Get("Location"); loc != "/organizations/acme/issues/" {
		t.Fatalf("Location = %q, want the first organization's issues", loc)
	}
	page := b.get(c, "/organizations/acme/issues/")
	if page.status != http.StatusOK || !strings.Contains(page.body, "TypeError: x is undefined") {
		t.Fatalf("issue list after login: %d\n%s", page.status, page.body)
	}
}

func TestLoginNext(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	for _, c := range []struct{ next, want string }{
		{"/organizations/acme/issues/?query=is%3Aresolved", "/organizations/acme/issues/?query=is%3Aresolved"},
		{"/organizations/acme/settings/", "/organizations/acme/settings/"},
		{"//evil.example/x", "/organizations/acme/issues/"},
		{"https://evil.example/", "/organizations/acme/issues/"},
		{`/\evil.example`, "/organizations/acme/issues/"},
		{"javascript:alert(1)", "/organizations/acme/issues/"},
		{"evil.example", "/organizations/acme/issues/"},
		{"/\t/evil.example", "/organizations/acme/issues/"},
	} {
		r := b.post(b.client(), "/auth/login/", url.Values{
			"email": {"alice@example.com"}, "password": {testPassword}, "next": {c.next},
		})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != c.want {
			t.Errorf("next=%q: %d Location %q, want 303 to %q", c.next, r.status, r.header.Get("Location"), c.want)
		}
	}
}

func TestLoginFailureSaysTheSameForUnknownEmailAndBadPassword(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	var bodies []string
	for _, form := range []url.Values{
		{"email": {"alice@example.com"}, "password": {"wrong"}},
		{"email": {"nobody@example.com"}, "password": {"wrong"}},
		{"email": {"alice@example.com"}, "password": {""}},
	} {
		c := b.client()
		r := b.post(c, "/auth/login/", form)
		if r.status != http.StatusOK {
			t.Fatalf("%v: status %d, want 200 with the form", form, r.status)
		}
		if !strings.Contains(r.body, badLogin) || !strings.Contains(r.body, `id="login-form"`) {
			t.Fatalf("%v: no error or no form:\n%s", form, r.body)
		}
		if b.get(c, "/organizations/acme/issues/").status != http.StatusSeeOther {
			t.Fatalf("%v: logged in after a failed login", form)
		}
		bodies = append(bodies, r.body)
	}
	// The message and the form are the same; only the echoed email differs.
	if strings.ReplaceAll(bodies[0], "alice@", "X@") != strings.ReplaceAll(bodies[1], "nobody@", "X@") {
		t.Errorf("unknown email and bad password answer differently")
	}
}

func TestRedirectToLoginAndBack(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	c := b.client()
	path := "/organizations/acme/issues/?query=is%3Aresolved"
	r := b.get(c, path)
	want := "/auth/login/?next=" + url.QueryEscape(path)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != want {
		t.Fatalf("GET %s logged out: %d %q, want 303 to %q", path, r.status, r.header.Get("Location"), want)
	}
	form := b.get(c, want)
	if !strings.Contains(form.body, `name="next" value="`+strings.ReplaceAll(path, "%3A", "%3a")) &&
		!strings.Contains(form.body, `name="next" value="`+path) {
		t.Fatalf("login form does not carry next:\n%s", form.body)
	}
	r = b.post(c, "/auth/login/", url.Values{"email": {"alice@example.com"}, "password": {testPassword}, "next": {path}})
	if r.header.Get("Location") != path {
		t.Fatalf("after login: Location %q, want %q", r.header.Get("Location"), path)
	}
	// Every page needs login, and so does a POST.
	for _, p := range []string{"/organizations/acme/projects/", "/organizations/acme/settings/", b.issue.Path()} {
		if r := b.get(b.client(), p); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/auth/login/?next=") {
			t.Errorf("GET %s logged out: %d %q", p, r.status, r.header.Get("Location"))
		}
	}
	if r := b.post(b.client(), b.issue.Path(), url.Values{"action": {"resolve"}}); r.status != http.StatusSeeOther ||
		!strings.HasPrefix(r.header.Get("Location"), "/auth/login/") {
		t.Errorf("POST issue action logged out: %d %q", r.status, r.header.Get("Location"))
	}
	if b.reload(b.issue).Status != triage.StatusUnresolved {
		t.Errorf("a logged-out POST changed the issue")
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	c := b.client()
	b.login(c, "alice")
	r := b.post(c, "/auth/logout/", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/auth/login/" {
		t.Fatalf("logout: %d %q", r.status, r.header.Get("Location"))
	}
	if r := b.get(c, "/organizations/acme/issues/"); r.status != http.StatusSeeOther {
		t.Fatalf("still logged in after logout: %d", r.status)
	}
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, b *bundle, wantSecure bool) string {
		r := b.login(b.client(), "alice")
		var cookie *http.Cookie
		for _, ck := range (&http.Response{Header: r.header}).Cookies() {
			if ck.Name == "triage_session" {
				cookie = ck
			}
		}
		if cookie == nil {
			t.Fatalf("no session cookie in %v", r.header["Set-Cookie"])
		}
		if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" || cookie.Secure != wantSecure {
			t.Errorf("cookie %q: HttpOnly %v SameSite %v Path %q Secure %v; want HttpOnly, Lax, /, Secure %v",
				cookie.String(), cookie.HttpOnly, cookie.SameSite, cookie.Path, cookie.Secure, wantSecure)
		}
		return cookie.Value
	}
	t.Run("http", func(t *testing.T) {
		t.Parallel()
		b := setup(t, store.SQLite)
		check(t, b, false)
		// The token is renewed at every login, and only its hash is stored.
		c := b.client()
		b.login(c, "alice")
		first := sessionCookie(t, b, c)
		b.login(c, "alice")
		if second := sessionCookie(t, b, c); second == first || second == "" {
			t.Errorf("session token not renewed on login: %q then %q", first, second)
		}
		var n int
		if err := b.store.Pool().QueryRow(`SELECT COUNT(*) FROM sessions WHERE token = $1`, first).Scan(&n); err != nil || n != 0 {
			t.Errorf("raw session token stored in the database (%d rows, %v)", n, err)
		}
	})
	t.Run("https", func(t *testing.T) {
		t.Parallel()
		check(t, setupWith(t, store.SQLite, options{urlPrefix: "https://triage.example"}), true)
	})
}

func sessionCookie(t *testing.T, b *bundle, c *http.Client) string {
	t.Helper()
	u, _ := url.Parse(b.url)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "triage_session" {
			return ck.Value
		}
	}
	return ""
}

func TestCrossSitePostsAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	crossSite := [][]string{
		{"Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "cross-site"},
	}
	for _, h := range crossSite {
		c := b.client()
		r := b.post(c, "/auth/login/", url.Values{"email": {"alice@example.com"}, "password": {testPassword}}, h...)
		if r.status != http.StatusForbidden {
			t.Errorf("login with %s: %s: status %d, want 403", h[0], h[1], r.status)
		}
		if sessionCookie(t, b, c) != "" {
			t.Errorf("login with %s: %s set a session cookie", h[0], h[1])
		}
	}
	c := b.client()
	b.login(c, "alice")
	for _, h := range crossSite {
		r := b.post(c, b.issue.Path(), url.Values{"action": {"resolve"}}, h...)
		if r.status != http.StatusForbidden {
			t.Errorf("issue action with %s: %s: status %d, want 403", h[0], h[1], r.status)
		}
		if r := b.post(c, "/auth/logout/", nil, h...); r.status != http.StatusForbidden {
			t.Errorf("logout with %s: %s: status %d, want 403", h[0], h[1], r.status)
		}
	}
	if st := b.reload(b.issue).Status; st != triage.StatusUnresolved {
		t.Fatalf("a cross-site POST changed the issue to %s", st)
	}
	// The same request from the site itself goes through.
	r := b.post(c, b.issue.Path(), url.Values{"action": {"resolve"}}, "Origin", b.url, "Sec-Fetch-Site", "same-origin")
	if r.status != http.StatusSeeOther || b.reload(b.issue).Status != triage.StatusResolved {
		t.Fatalf("same-origin issue action: %d, status %s", r.status, b.reload(b.issue).Status)
	}
}

func TestSetupToken(t *testing.T) {
	t.Parallel()
	b := setupWith(t, store.SQLite, options{setupToken: "s3cr3t-token", empty: true})
	c := b.client()
	if r := b.get(c, "/setup/wrong/"); r.status != http.StatusNotFound {
		t.Fatalf("wrong token: %d, want 404", r.status)
	}
	if r := b.get(c, "/setup/s3cr3t-token/"); r.status != http.StatusOK || !strings.Contains(r.body, `id="setup-form"`) {
		t.Fatalf("setup form: %d\n%s", r.status, r.body)
	}
	form := url.Values{"email": {"root@example.com"}, "password": {"long enough"}, "name": {"Root"}, "organization": {"Bad Slug"}}
	if r := b.post(c, "/setup/s3cr3t-token/", form); r.status != http.StatusOK || !strings.Contains(r.body, "invalid organization slug") {
		t.Fatalf("bad slug: %d\n%s", r.status, r.body)
	}
	if n, _ := b.store.CountUsers(t.Context()); n != 0 {
		t.Fatalf("a refused setup created %d users", n)
	}
	form.Set("organization", "acme")
	r := b.post(c, "/setup/s3cr3t-token/", form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/organizations/acme/issues/" {
		t.Fatalf("setup: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if r := b.get(c, "/organizations/acme/issues/"); r.status != http.StatusOK {
		t.Fatalf("not logged in after setup: %d", r.status)
	}
	u := must(b.store.UserByEmail(t.Context(), "root@example.com"))
	org := must(b.store.OrganizationBySlug(t.Context(), "acme"))
	m := must(b.store.Member(t.Context(), org.ID, u.ID))
	if !u.IsSuperuser || m.Role != triage.RoleOwner {
		t.Errorf("first user: superuser %v, role %s; want superuser owner", u.IsSuperuser, m.Role)
	}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		var r response
		if method == http.MethodGet {
			r = b.get(b.client(), "/setup/s3cr3t-token/")
		} else {
			r = b.post(b.client(), "/setup/s3cr3t-token/", form)
		}
		if r.status != http.StatusNotFound {
			t.Errorf("%s setup after the first user: %d, want 404", method, r.status)
		}
	}
	// Without a token there is no setup page at all.
	b2 := setupWith(t, store.SQLite, options{empty: true})
	if r := b2.get(b2.client(), "/setup/anything/"); r.status != http.StatusNotFound {
		t.Errorf("setup without a token: %d, want 404", r.status)
	}
}
