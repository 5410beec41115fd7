package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"triage"
	"triage/internal/config"
	"triage/internal/directory"
	"triage/internal/issues"
	"triage/internal/password"
	"triage/internal/store"
	"triage/internal/testutil/mailpit"
	"triage/internal/testutil/pgtest"

	"github.com/prometheus/client_golang/prometheus/collectors"
)

// engines are the databases every API test runs on; PostgreSQL is skipped
// without TRIAGE_TEST_DATABASE_URL (and fails under CI=true).
var engines = []store.Engine{store.SQLite, store.Postgres}

// testParams keeps password hashing cheap in tests.
var testParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const testPassword = "correct horse battery"

// bundle is a running server over a seeded database:
//
//	acme (org): alice owner; bob member of team backend; carol member of no team
//	  project web, owned by backend; team frontend owns nothing
//	  issues: issue (WEB-1) and issue2 (WEB-2)
//	other (org): dave owner; project secret with otherIssue
type bundle struct {
	t        *testing.T
	store    *store.Store
	issues   *issues.Service
	srv      *Server
	ts       *httptest.Server
	url      string
	alice    *triage.User
	bob      *triage.User
	carol    *triage.User
	dave     *triage.User
	acme     *triage.Organization
	other    *triage.Organization
	backend  *triage.Team
	frontend *triage.Team
	web      *triage.Project
	issue    *triage.Issue
	issue2   *triage.Issue
	secret   *triage.Issue
	tokens   map[string]string // by first name
}

type options struct {
	urlPrefix  string
	setupToken string
	slack      SlackHandlers
	empty      bool // no seed data
	// mail sends the invite and reset emails to this Mailpit (nil: email
	// is not configured).
	mail *mailpit.Server
}

func openStore(t *testing.T, engine store.Engine) *store.Store {
	t.Helper()
	s, _ := openStoreURL(t, engine)
	return s
}

// openStoreURL is openStore that also returns the database's URL.
func openStoreURL(t *testing.T, engine store.Engine) (*store.Store, string) {
	t.Helper()
	ctx := context.Background()
	var dsn string
	if engine == store.Postgres {
		dsn = pgtest.New(t)
	} else {
		dsn = filepath.Join(t.TempDir(), "triage.db")
	}
	s, err := store.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatalf("open %s store: %v", engine, err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s, dsn
}

// testLogger writes warnings and errors into the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func setup(t *testing.T, engine store.Engine) *bundle {
	return setupWith(t, engine, options{})
}

func setupWith(t *testing.T, engine store.Engine, o options) *bundle {
	t.Helper()
	s, dsn := openStoreURL(t, engine)
	b := &bundle{t: t, store: s, issues: issues.New(s, nil), tokens: map[string]string{}}
	ts := httptest.NewUnstartedServer(nil)
	b.url = "http://" + ts.Listener.Addr().String()
	prefix := o.urlPrefix
	if prefix == "" {
		prefix = b.url
	}
	invites, resets := accountServices(t, s, dsn, prefix, o.mail)
	b.srv = New(Deps{
		Logger:     testLogger(t),
		Config:     &config.Config{URLPrefix: prefix},
		Store:      s,
		Issues:     b.issues,
		SetupToken: o.setupToken,
		Slack:      o.slack,
		DBStats:    collectors.NewDBStatsCollector(s.Pool(), string(engine)),
		Invites:    invites,
		Resets:     resets,
		Directory: directory.New(directory.Deps{Store: s, HashPassword: func(pw string) (string, error) {
			return password.HashWithParams(pw, testParams)
		}}),
	})
	t.Cleanup(func() { b.srv.Close() })
	ts.Config.Handler = b.srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	b.ts = ts
	if !o.empty {
		b.seed()
	}
	return b
}

// must is for seeding: a failure there is a broken test, and the panic
// fails it with a stack.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func (b *bundle) seed() {
	t, ctx, s := b.t, context.Background(), b.store
	hash := must(password.HashWithParams(testPassword, testParams))
	user := func(name string) *triage.User {
		u := must(s.CreateUser(ctx, name+"@example.com", strings.ToUpper(name[:1])+name[1:], hash, false))
		plain, th := password.NewToken()
		must(s.CreateAPIToken(ctx, u.ID, "test", th, time.Time{}))
		b.tokens[name] = plain
		return u
	}
	b.alice, b.bob, b.carol, b.dave = user("alice"), user("bob"), user("carol"), user("dave")
	b.acme = must(s.CreateOrganization(ctx, "acme", "Acme", b.alice.ID))
	b.other = must(s.CreateOrganization(ctx, "other", "Other", b.dave.ID))
	must(s.AddMember(ctx, b.acme.ID, b.bob.ID, triage.RoleMember))
	must(s.AddMember(ctx, b.acme.ID, b.carol.ID, triage.RoleMember))
	b.backend = must(s.CreateTeam(ctx, b.acme.ID, "backend", "Backend"))
	b.frontend = must(s.CreateTeam(ctx, b.acme.ID, "frontend", "Frontend"))
	if err := s.AddTeamMember(ctx, b.backend.ID, b.bob.ID); err != nil {
		t.Fatal(err)
	}
	b.web = must(s.CreateProject(ctx, b.acme.ID, "web", "Web", b.backend.ID))
	secretProject := must(s.CreateProject(ctx, b.other.ID, "secret", "Secret"))
	now := time.Now()
	b.issue = b.newIssue(b.web.ID, "h1", "TypeError: x is undefined", now.Add(-time.Hour))
	b.issue2 = b.newIssue(b.web.ID, "h2", "ZeroDivisionError", now.Add(-2*time.Hour))
	b.secret = b.newIssue(secretProject.ID, "s1", "Secret failure", now)
}

func (b *bundle) newIssue(projectID int64, hash, title string, seen time.Time) *triage.Issue {
	b.t.Helper()
	var i *triage.Issue
	err := b.store.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		i, err = tx.CreateIssue(context.Background(), store.NewIssue{
			ProjectID: projectID, GroupHash: hash, Title: title, Culprit: "app.handler in main", Level: "error", SeenAt: seen,
		})
		if err != nil {
			return err
		}
		_, err = tx.CountIssuesEvents(context.Background(), []store.IssueCount{{IssueID: i.ID, N: 3, LastSeen: seen, Level: "error"}})
		return err
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return must(b.store.IssueByID(context.Background(), i.ID))
}

func (b *bundle) reload(i *triage.Issue) *triage.Issue {
	b.t.Helper()
	return must(b.store.IssueByID(context.Background(), i.ID))
}

// client is a browser-like client: it keeps cookies and does not follow
// redirects, so tests see each 303.
func (b *bundle) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (b *bundle) do(c *http.Client, req *http.Request) response {
	b.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(body)}
}

func (b *bundle) get(c *http.Client, path string) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.url+path, nil)
	return b.do(c, req)
}

// post submits a form; headers are name, value pairs.
func (b *bundle) post(c *http.Client, path string, form url.Values, headers ...string) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(c, req)
}

// login logs c in as name@example.com and checks the 303.
func (b *bundle) login(c *http.Client, name string) response {
	b.t.Helper()
	r := b.post(c, "/auth/login/", url.Values{"email": {name + "@example.com"}, "password": {testPassword}})
	if r.status != http.StatusSeeOther {
		b.t.Fatalf("login as %s: status %d, want 303\n%s", name, r.status, r.body)
	}
	return r
}

// api calls the JSON API with a bearer token ("" for none) and decodes the
// answer into out when out is not nil.
func (b *bundle) api(method, path, token string, body any, out any) response {
	b.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		buf, err := json.Marshal(v)
		if err != nil {
			b.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, _ := http.NewRequest(method, b.url+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	r := b.do(b.ts.Client(), req)
	if out != nil && r.status < 300 {
		if err := json.Unmarshal([]byte(r.body), out); err != nil {
			b.t.Fatalf("%s %s: decode %q: %v", method, path, r.body, err)
		}
	}
	return r
}

func detail(t *testing.T, r response) string {
	t.Helper()
	var d struct {
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal([]byte(r.body), &d); err != nil {
		t.Fatalf("error body %q is not {\"detail\": …}: %v", r.body, err)
	}
	return d.Detail
}
