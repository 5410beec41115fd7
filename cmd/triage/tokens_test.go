package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

func apiStatus(t *testing.T, base, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/0/organizations/acme/issues/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestTokensAndSessions: a revoked token is refused on the next request by
// every serve process on the database; a token expires; token list shows
// the last use; a password change ends the user's browser sessions.
func TestTokensAndSessions(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			url := dbtest.URL(t, engine)
			e := env{"TRIAGE_DATABASE_URL": url, "TRIAGE_ADDR": freeAddr(t), "TRIAGE_SECRET_KEY": strings.Repeat("k", 40)}
			mustRun := func(args ...string) string {
				t.Helper()
				out, _, err := triageCmd(t, e, args...)
				if err != nil {
					t.Fatalf("triage %s: %v", strings.Join(args, " "), err)
				}
				return out
			}
			mustRun("user", "create", "--email", "ada@acme.test", "--password", "correct horse")
			mustRun("org", "create", "--slug", "acme", "--owner", "ada@acme.test")
			out := mustRun("token", "create", "--email", "ada@acme.test", "--name", "ci", "--expires", "30d")
			id := regexp.MustCompile(`created API token (\d+) `).FindStringSubmatch(out)
			if id == nil || !strings.Contains(out, "expires 20") {
				t.Fatalf("token create printed %q", out)
			}
			token := lastLine(out)
			bases := []string{startServe(t, e)}
			if engine == store.Postgres {
				// A second serve process on the same database.
				e2 := env{}
				for k, v := range e {
					e2[k] = v
				}
				e2["TRIAGE_ADDR"] = freeAddr(t)
				startChild(t, e2, filepath.Join(t.TempDir(), "serve2.log"))
				bases = append(bases, "http://"+e2["TRIAGE_ADDR"])
			}
			for _, base := range bases {
				if s := apiStatus(t, base, token); s != http.StatusOK {
					t.Fatalf("%s: a fresh token answered %d", base, s)
				}
			}
			list := mustRun("token", "list", "--email", "ada@acme.test")
			if !regexp.MustCompile(`(?m)^` + id[1] + `\tci\tcreated 20\S+\tlast used 20\S+\texpires 20`).MatchString(list) {
				t.Errorf("token list after a use:\n%s", list)
			}
			mustRun("token", "revoke", "--id", id[1])
			for _, base := range bases {
				if s := apiStatus(t, base, token); s != http.StatusUnauthorized {
					t.Errorf("%s: a revoked token answered %d, want 401", base, s)
				}
			}
			if _, _, err := triageCmd(t, e, "token", "revoke", "--id", id[1]); err == nil {
				t.Error("revoking a revoked token succeeded")
			}

			// A token that expires.
			short := lastLine(mustRun("token", "create", "--email", "ada@acme.test", "--expires", "15s"))
			if s := apiStatus(t, bases[0], short); s != http.StatusOK {
				t.Fatalf("a token with 15 s to live answered %d", s)
			}
			deadline := time.Now().Add(30 * time.Second)
			for apiStatus(t, bases[0], short) != http.StatusUnauthorized {
				if time.Now().After(deadline) {
					t.Fatal("a token created with 15 s to live still works 30 s later")
				}
				time.Sleep(200 * time.Millisecond)
			}

			// A password change ends the browser sessions, in every process.
			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := browser.PostForm(bases[0]+"/auth/login/", neturl.Values{"email": {"ada@acme.test"}, "password": {"correct horse"}})
			if err != nil || resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("login: %v %v", resp, err)
			}
			resp.Body.Close()
			page := func() int {
				resp, err := browser.Get(bases[0] + "/organizations/acme/issues/")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if s := page(); s != http.StatusOK {
				t.Fatalf("issue list after login: %d", s)
			}
			mustRun("user", "set-password", "--email", "ada@acme.test", "--password", "new horse battery")
			if s := page(); s != http.StatusSeeOther {
				t.Errorf("issue list after a password change: %d, want a redirect to the login form", s)
			}
			if _, _, err := triageCmd(t, e, "user", "set-password", "--email", "ada@acme.test", "--password", "short"); err == nil {
				t.Error("a 5-character password was accepted")
			}
		})
	}
}
