package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/getsentry/sentry-go"

	"triage/internal/store"
	chromium "triage/internal/testutil/browser"
	"triage/internal/testutil/dbtest"
)

// peopleEnv makes acme with ada (owner) and bob (member of #backend), a
// project web owned by #backend, and an API token for each; it returns the
// environment, web's DSN and the tokens.
func peopleEnv(t *testing.T, engine store.Engine) (env, string, map[string]string) {
	t.Helper()
	e := env{"TRIAGE_DATABASE_URL": dbtest.URL(t, engine), "TRIAGE_ADDR": freeAddr(t), "TRIAGE_SECRET_KEY": strings.Repeat("k", 40)}
	mustRun := func(args ...string) string {
		t.Helper()
		out, _, err := triageCmd(t, e, args...)
		if err != nil {
			t.Fatalf("triage %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	mustRun("user", "create", "--email", "ada@acme.test", "--password", "correct horse", "--name", "Ada")
	mustRun("user", "create", "--email", "bob@acme.test", "--password", "battery staple", "--name", "Bob")
	mustRun("org", "create", "--slug", "acme", "--name", "Acme", "--owner", "ada@acme.test")
	mustRun("member", "add", "--org", "acme", "--email", "bob@acme.test")
	mustRun("team", "create", "--org", "acme", "--slug", "backend", "--member", "bob@acme.test")
	dsn := lastLine(mustRun("project", "create", "--org", "acme", "--slug", "web", "--team", "backend"))
	tokens := map[string]string{
		"ada": lastLine(mustRun("token", "create", "--email", "ada@acme.test")),
		"bob": lastLine(mustRun("token", "create", "--email", "bob@acme.test")),
	}
	return e, dsn, tokens
}

func apiGet(t *testing.T, base, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// formClient is a browser without JavaScript: cookies, no redirects followed.
type formClient struct {
	t    *testing.T
	c    *http.Client
	base string
}

func newFormClient(t *testing.T, base, email, password string) *formClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	f := &formClient{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if status, _ := f.post("/auth/login/", neturl.Values{"email": {email}, "password": {password}}); status != http.StatusSeeOther {
		t.Fatalf("login of %s on %s: %d", email, base, status)
	}
	return f
}

func (f *formClient) get(path string) (int, string) {
	f.t.Helper()
	resp, err := f.c.Get(f.base + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *formClient) post(path string, form neturl.Values) (int, string) {
	f.t.Helper()
	resp, err := f.c.PostForm(f.base+path, form)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// userID reads a member's user id from the members API.
func userID(t *testing.T, base, token, email string) string {
	t.Helper()
	id, _ := memberOf(t, base, token, email)
	return id
}

// memberOf reads a member's user id and role from the members API.
func memberOf(t *testing.T, base, token, email string) (string, string) {
	t.Helper()
	status, body := apiGet(t, base, "/api/0/organizations/acme/members/", token)
	var ms []struct {
		Role string `json:"role"`
		User struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"user"`
	}
	if status != http.StatusOK || json.Unmarshal([]byte(body), &ms) != nil {
		t.Fatalf("members API: %d %s", status, body)
	}
	for _, m := range ms {
		if m.User.Email == email {
			return m.User.ID, m.Role
		}
	}
	return "", ""
}

// TestRemovedMemberAndRevokedTokenOnSecondProcess: two serve processes on
// one PostgreSQL database. A member removed, a token revoked and a DSN key
// disabled through the pages of one process are refused by the other on
// the very next request (the key: at once by the process that disabled it,
// within seconds by the other).
func TestRemovedMemberAndRevokedTokenOnSecondProcess(t *testing.T) {
	t.Parallel()
	e, dsn, tokens := peopleEnv(t, store.Postgres)
	one := startServe(t, e)
	e2 := env{}
	for k, v := range e {
		e2[k] = v
	}
	e2["TRIAGE_ADDR"] = freeAddr(t)
	startChild(t, e2, filepath.Join(t.TempDir(), "serve2.log"))
	two := "http://" + e2["TRIAGE_ADDR"]

	bob := newFormClient(t, two, "bob@acme.test", "battery staple")
	if status, _ := bob.get("/organizations/acme/issues/"); status != http.StatusOK {
		t.Fatalf("bob's issue list on the second process: %d", status)
	}
	if status, _ := apiGet(t, two, "/api/0/organizations/acme/issues/", tokens["bob"]); status != http.StatusOK {
		t.Fatalf("bob's token on the second process: %d", status)
	}
	ada := newFormClient(t, one, "ada@acme.test", "correct horse")
	bobID := userID(t, one, tokens["ada"], "bob@acme.test")
	if status, body := ada.post("/organizations/acme/settings/members/"+bobID+"/remove/", neturl.Values{"confirm": {"yes"}}); status != http.StatusSeeOther {
		t.Fatalf("removing bob on the first process: %d\n%s", status, body)
	}
	if status, _ := bob.get("/organizations/acme/issues/"); status != http.StatusSeeOther {
		t.Errorf("bob's session on the second process after his removal: %d, want a redirect to log in", status)
	}
	if status, _ := apiGet(t, two, "/api/0/organizations/acme/issues/", tokens["bob"]); status != http.StatusNotFound {
		t.Errorf("bob's token on acme on the second process after his removal: %d, want 404", status)
	}

	// A token made and revoked on the account page of the first process.
	status, body := ada.post("/account/tokens/", neturl.Values{"name": {"laptop"}})
	tok := regexp.MustCompile(`value="(triage_[^"]+)"`).FindStringSubmatch(body)
	if status != http.StatusCreated || tok == nil {
		t.Fatalf("creating a token: %d\n%s", status, body)
	}
	if status, _ := apiGet(t, two, "/api/0/organizations/acme/issues/", tok[1]); status != http.StatusOK {
		t.Fatalf("the new token on the second process: %d", status)
	}
	id := regexp.MustCompile(`id="token-(\d+)" data-name="laptop"`).FindStringSubmatch(body)
	if id == nil {
		t.Fatalf("no laptop token in the list:\n%s", body)
	}
	if status, _ := ada.post("/account/tokens/"+id[1]+"/revoke/", nil); status != http.StatusSeeOther {
		t.Fatalf("revoking: %d", status)
	}
	if status, _ := apiGet(t, two, "/api/0/organizations/acme/issues/", tok[1]); status != http.StatusUnauthorized {
		t.Errorf("the revoked token on the second process: %d, want 401", status)
	}

	// A DSN key disabled on the first process.
	send := func(base string) int {
		t.Helper()
		key := dsn[strings.Index(dsn, "://")+3 : strings.Index(dsn, "@")]
		project := dsn[strings.LastIndex(dsn, "/")+1:]
		body := fmt.Sprintf(`{"event_id":"%032x","message":"key check","platform":"go"}`, time.Now().UnixNano())
		req, _ := http.NewRequest("POST", base+"/api/"+project+"/store/", strings.NewReader(body))
		req.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_key="+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, base := range []string{one, two} {
		if s := send(base); s != http.StatusOK {
			t.Fatalf("an event to %s with the key: %d", base, s)
		}
	}
	status, body = ada.get("/organizations/acme/projects/web/")
	keyID := regexp.MustCompile(`<tr id="key-(\d+)"`).FindStringSubmatch(body)
	if status != http.StatusOK || keyID == nil {
		t.Fatalf("the project page: %d\n%s", status, body)
	}
	if status, _ := ada.post("/organizations/acme/projects/web/keys/"+keyID[1]+"/", neturl.Values{"action": {"disable"}}); status != http.StatusSeeOther {
		t.Fatalf("disabling the key: %d", status)
	}
	if s := send(one); s < 400 || s >= 500 {
		t.Errorf("an event with the disabled key on the process that disabled it: %d, want a refusal", s)
	}
	deadline := time.Now().Add(20 * time.Second)
	for s := send(two); s == http.StatusOK; s = send(two) {
		if time.Now().After(deadline) {
			t.Fatal("the second process still accepts the disabled key after 20 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestPeopleAndProjectsInBrowser drives Chromium as an owner would: change
// a member's role; create a project, copy its DSN from the setup panel and
// send an event with the real sentry-go SDK; create an API token, use it,
// revoke it (401 after); delete the project by typing its slug. On both
// engines.
func TestPeopleAndProjectsInBrowser(t *testing.T) {
	t.Parallel()
	chromium.Require(t)
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			peopleAndProjectsInBrowser(t, engine)
		})
	}
}

func peopleAndProjectsInBrowser(t *testing.T, engine store.Engine) {
	e, _, tokens := peopleEnv(t, engine)
	base := startServe(t, e)
	// Four flows in one browser: a longer deadline than one page's, for a
	// machine that is busy with other work.
	ctx := chromium.NewTimeout(t, 4*time.Minute)

	click := func(t *testing.T, sel string) {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
		if resp.Status >= 400 {
			t.Fatalf("click %s: the page answered %d", sel, resp.Status)
		}
	}
	text := func(t *testing.T, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	do := func(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}

	// Log in on the members page.
	do(t, chromedp.Navigate(base+"/organizations/acme/settings/members/"),
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@acme.test"),
		chromedp.SendKeys(chromedp.CSS("#password"), "correct horse"))
	click(t, "#login")

	t.Run("role change", func(t *testing.T) {
		bobID := userID(t, base, tokens["ada"], "bob@acme.test")
		do(t, chromedp.SetValue(chromedp.CSS("#member-"+bobID+" select[name=role]"), "admin"))
		click(t, "#member-"+bobID+" button.save-role")
		if got := text(t, "#flash"); got != "bob@acme.test is now an admin." {
			t.Errorf("flash after the role change: %q", got)
		}
		if _, role := memberOf(t, base, tokens["ada"], "bob@acme.test"); role != "admin" {
			t.Errorf("bob's role after the change: %q", role)
		}
	})

	var issueProject string
	t.Run("project, DSN, event", func(t *testing.T) {
		do(t, chromedp.Navigate(base+"/organizations/acme/projects/"))
		click(t, "#new-project")
		do(t, chromedp.SendKeys(chromedp.CSS("#project-slug"), "shop"),
			chromedp.SendKeys(chromedp.CSS("#project-name"), "Shop"),
			chromedp.SetValue(chromedp.CSS("#project-team"), "backend"))
		click(t, "#create-project")
		if got := text(t, "#flash"); !strings.Contains(got, "Project shop created") {
			t.Fatalf("flash after creating: %q", got)
		}
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: "clipboard-read"}, Setting: browser.PermissionSettingGranted}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: "clipboard-write"}, Setting: browser.PermissionSettingGranted}); err != nil {
			t.Fatal(err)
		}
		do(t, chromedp.Click(chromedp.CSS("#copy-dsn")))
		var dsn string
		deadline := time.Now().Add(30 * time.Second)
		for !strings.HasPrefix(dsn, "http") {
			if time.Now().After(deadline) {
				t.Fatalf("the clipboard holds %q after Copy DSN", dsn)
			}
			got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatal(err)
			}
			dsn = got
		}
		if b := text(t, "#copy-dsn"); b != "Copied" {
			t.Errorf("the button says %q after copying", b)
		}
		issueProject = dsn[strings.LastIndex(dsn, "/")+1:]
		client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn})
		if err != nil {
			t.Fatalf("the copied DSN %q: %v", dsn, err)
		}
		hub := sentry.NewHub(client, sentry.NewScope())
		hub.CaptureException(fmt.Errorf("checkout failed: card declined"))
		if !hub.Flush(10 * time.Second) {
			t.Fatal("the SDK did not flush")
		}
		deadline = time.Now().Add(60 * time.Second)
		for {
			_, body := apiGet(t, base, "/api/0/organizations/acme/issues/?query=project:shop", tokens["ada"])
			if strings.Contains(body, "card declined") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the event sent with the copied DSN never arrived: %s", body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("token create, use, revoke", func(t *testing.T) {
		do(t, chromedp.Navigate(base+"/account/"))
		do(t, chromedp.SendKeys(chromedp.CSS("#token-name"), "deploy"))
		click(t, "#create-token")
		tok, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#new-token")))
		if err != nil || !strings.HasPrefix(tok, "triage_") {
			t.Fatalf("the token shown: %q %v", tok, err)
		}
		if status, _ := apiGet(t, base, "/api/0/organizations/acme/issues/", tok); status != http.StatusOK {
			t.Fatalf("the new token on the API: %d", status)
		}
		do(t, chromedp.Navigate(base+"/account/"))
		if list := text(t, "#token-list"); strings.Contains(list, tok) || !strings.Contains(list, "deploy") {
			t.Errorf("the token list: %q", list)
		}
		click(t, `#token-list tr[data-name="deploy"] button.revoke-token`)
		if got := text(t, "#flash"); !strings.Contains(got, "Token revoked") {
			t.Errorf("flash after revoking: %q", got)
		}
		if status, _ := apiGet(t, base, "/api/0/organizations/acme/issues/", tok); status != http.StatusUnauthorized {
			t.Errorf("the revoked token: %d, want 401", status)
		}
	})

	t.Run("delete project", func(t *testing.T) {
		if issueProject == "" {
			t.Skip("no project from the earlier step")
		}
		do(t, chromedp.Navigate(base+"/organizations/acme/projects/shop/"))
		click(t, "#delete-project-link")
		do(t, chromedp.SendKeys(chromedp.CSS("#confirm-slug"), "shop"))
		click(t, "#delete-project")
		if got := text(t, "#flash"); !strings.Contains(got, "shop is being deleted") {
			t.Errorf("flash after deleting: %q", got)
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#projects li[data-slug="shop"]').length`))
		if err != nil || n != 0 {
			t.Errorf("the projects list still shows shop (%d, %v)", n, err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			_, body := apiGet(t, base, "/api/0/organizations/acme/issues/?query=is:all", tokens["ada"])
			if !strings.Contains(body, "card declined") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the deleted project's issue is still listed")
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The background deletion ends and the progress goes away.
		deadline = time.Now().Add(60 * time.Second)
		for {
			do(t, chromedp.Navigate(base+"/organizations/acme/projects/"))
			n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#deletions li').length`))
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the deletion still shows as in progress after 60 s")
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}
