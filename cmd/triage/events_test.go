package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"triage/internal/store"
	"triage/internal/testutil/dbtest"
	"triage/internal/testutil/realworld"
)

// post sends an SDK payload to the ingestion endpoint and returns the
// event id Triage answered with.
func (b *ingestBundle) post(t *testing.T, body []byte, envelope bool) string {
	t.Helper()
	u, err := url.Parse(b.dsn)
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "/store/"
	if envelope {
		endpoint = "/envelope/"
	}
	req, _ := http.NewRequest("POST", b.base+"/api/"+b.projectID+endpoint, bytes.NewReader(body))
	req.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_key="+u.User.Username())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(raw, &out) != nil || out.ID == "" {
		t.Fatalf("ingest answered %d %s", resp.StatusCode, raw)
	}
	return out.ID
}

// apiGet decodes a JSON API answer into out and returns the status.
func (b *ingestBundle) apiGet(t *testing.T, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == 200 && out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// loginClient logs ada in and returns a client that keeps her session.
func (b *ingestBundle) loginClient(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(b.base+"/auth/login/", url.Values{"email": {"ada@acme.test"}, "password": {"correct horse"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return c
}

func getPage(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventIssues maps every stored event id to its issue, through the API.
func (b *ingestBundle) eventIssues(t *testing.T, want int) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	deadline := time.Now().Add(15 * time.Second)
	for len(out) < want && time.Now().Before(deadline) {
		if len(out) > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		for _, issue := range b.issues(t) {
			var events []map[string]any
			b.apiGet(t, fmt.Sprintf("/api/0/issues/%v/events/", issue["id"]), &events)
			for _, e := range events {
				out[fmt.Sprint(e["eventID"])] = issue
			}
		}
	}
	return out
}

// sections are the page sections an event shows when its JSON carries the
// member: the section's element id by member name.
var sections = map[string]string{
	"breadcrumbs": `id="breadcrumbs"`, "request": `id="request"`, "user": `id="user"`, "contexts": `id="contexts"`,
	"tags": `id="tags"`, "extra": `id="extra"`, "threads": `id="threads"`, "sdk": `id="sdk"`, "logger": `id="logger"`,
	"fingerprint": `id="fingerprint"`, "exception": `id="exception"`, "logentry": `id="message"`, "message": `id="message"`,
}

// carries tells whether a payload member holds anything to show.
func carries(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case map[string]any:
		if vals, ok := t["values"]; ok {
			return carries(vals)
		}
		return len(t) > 0
	}
	return true
}

// eventJSON is the event object of a payload.
func eventJSON(t *testing.T, p realworld.Payload) map[string]any {
	t.Helper()
	var ev map[string]any
	if !p.Envelope {
		if err := json.Unmarshal(p.Body, &ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	for _, line := range bytes.Split(p.Body, []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(line, &m) == nil && (m["exception"] != nil || m["message"] != nil || m["platform"] != nil) {
			return m
		}
	}
	t.Fatalf("%s: no event in the envelope", p.Name)
	return nil
}

// TestRealworldEventPages sends every payload real SDKs sent and checks
// that each became an issue with Sentry's title, and that its event's page
// shows every section the event carries, on both engines.
func TestRealworldEventPages(t *testing.T) {
	t.Parallel()
	payloads, err := realworld.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setupIngest(t, engine)
			ids := map[string]string{}
			for _, p := range payloads {
				ids[p.Name] = b.post(t, p.Body, p.Envelope)
			}
			byEvent := b.eventIssues(t, len(payloads))
			web := b.loginClient(t)
			for _, p := range payloads {
				id := ids[p.Name]
				issue, ok := byEvent[id]
				if !ok {
					t.Errorf("%s: event %s is in no issue", p.Name, id)
					continue
				}
				if p.Title != "" && issue["title"] != p.Title {
					t.Errorf("%s: issue titled %q, Sentry's %q", p.Name, issue["title"], p.Title)
				}
				pageURL := fmt.Sprintf("%s/organizations/acme/issues/%v/events/%s/", b.base, issue["id"], id)
				status, page := getPage(t, web, pageURL)
				if status != 200 {
					t.Errorf("%s: event page answered %d", p.Name, status)
					continue
				}
				ev := eventJSON(t, p)
				for member, marker := range sections {
					if carries(ev[member]) && !strings.Contains(page, marker) {
						t.Errorf("%s: the event carries %s, its page lacks %s", p.Name, member, marker)
					}
				}
				for _, always := range []string{`id="grouping"`, `id="raw"`, `id="event-nav"`, id} {
					if !strings.Contains(page, always) {
						t.Errorf("%s: page lacks %s", p.Name, always)
					}
				}
				status, raw := getPage(t, web, pageURL+"json/")
				var doc map[string]any
				if status != 200 || json.Unmarshal([]byte(raw), &doc) != nil {
					t.Errorf("%s: raw JSON answered %d %.100s", p.Name, status, raw)
				}
				var apiEv map[string]any
				if st := b.apiGet(t, fmt.Sprintf("/api/0/issues/%v/events/%s/", issue["id"], id), &apiEv); st != 200 || apiEv["eventID"] != id {
					t.Errorf("%s: events API answered %d %v", p.Name, st, apiEv["eventID"])
				}
			}
		})
	}
}

// TestEventsAPI pages through an issue's events and checks what a caller
// without access to it sees.
func TestEventsAPI(t *testing.T) {
	t.Parallel()
	b := setupIngest(t, store.SQLite)
	var sent []string
	for i := range 3 {
		body := fmt.Sprintf(`{"event_id":"%032x","platform":"python","tags":{"n":"%d"},"request":{"url":"http://x.test/a?token=hunter2&page=2","headers":{"Authorization":"Bearer s3cret","Accept":"*/*"}},
			"exception":{"values":[{"type":"KeyError","value":"k%d","stacktrace":{"frames":[{"module":"app","function":"f","filename":"app.py","lineno":3,"in_app":true}]}}]}}`, i+1, i, i)
		sent = append(sent, b.post(t, []byte(body), false))
	}
	byEvent := b.eventIssues(t, 3)
	issueID := byEvent[sent[0]]["id"]
	var page1, page2 []map[string]any
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/0/issues/%v/events/?limit=2", b.base, issueID), nil)
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	link := resp.Header.Get("Link")
	_ = json.NewDecoder(resp.Body).Decode(&page1)
	resp.Body.Close()
	if len(page1) != 2 || page1[0]["eventID"] != sent[2] || page1[1]["eventID"] != sent[1] {
		t.Fatalf("first page %v, want the two newest", page1)
	}
	if !strings.Contains(link, `rel="next"; results="true"; cursor="0:2:0"`) {
		t.Errorf("Link %q does not point to the next page", link)
	}
	b.apiGet(t, fmt.Sprintf("/api/0/issues/%v/events/?limit=2&cursor=0:2:0", issueID), &page2)
	if len(page2) != 1 || page2[0]["eventID"] != sent[0] {
		t.Errorf("second page %v, want the oldest", page2)
	}
	for which, want := range map[string]string{"latest": sent[2], "oldest": sent[0], sent[1]: sent[1]} {
		var ev map[string]any
		if st := b.apiGet(t, fmt.Sprintf("/api/0/issues/%v/events/%s/", issueID, which), &ev); st != 200 || ev["eventID"] != want || ev["id"] != want {
			t.Errorf("%s: %d %v, want %s", which, st, ev["eventID"], want)
		}
		if ev["dateCreated"] == nil || ev["dateReceived"] == nil || ev["entries"] == nil {
			t.Errorf("%s: lacks dateCreated, dateReceived or entries: %v", which, ev)
		}
		raw, _ := json.Marshal(ev)
		if strings.Contains(string(raw), "hunter2") || strings.Contains(string(raw), "s3cret") {
			t.Errorf("%s: a secret of the request is in the API's answer", which)
		}
	}
	for _, path := range []string{fmt.Sprintf("/api/0/issues/%v/events/%032x/", issueID, 99), fmt.Sprintf("/api/0/issues/%v/events/nope/", issueID)} {
		if st := b.apiGet(t, path, nil); st != 404 {
			t.Errorf("%s: %d, want 404", path, st)
		}
	}
	// Someone in no organization of the issue's sees nothing of it.
	if _, _, err := triageCmd(t, env{"TRIAGE_DATABASE_URL": b.url, "TRIAGE_SECRET_KEY": strings.Repeat("k", 40)},
		"user", "create", "--email", "eve@else.test", "--password", "correct horse"); err != nil {
		t.Fatal(err)
	}
	out, _, err := triageCmd(t, env{"TRIAGE_DATABASE_URL": b.url, "TRIAGE_SECRET_KEY": strings.Repeat("k", 40)}, "token", "create", "--email", "eve@else.test")
	if err != nil {
		t.Fatal(err)
	}
	eve := &ingestBundle{base: b.base, token: lastLine(out)}
	for _, path := range []string{"/api/0/issues/%v/events/", "/api/0/issues/%v/events/latest/"} {
		if st := eve.apiGet(t, fmt.Sprintf(path, issueID), nil); st != 404 {
			t.Errorf("a stranger: %s answered %d, want 404", path, st)
		}
	}
}
