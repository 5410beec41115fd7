package message

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"triage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares v, as indented JSON, with testdata/name.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	// slack-go escapes <, > and & inside strings; unescape for reading.
	out := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(buf.String())
	buf.Reset()
	buf.WriteString(out)
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Errorf("%s differs from the golden file; got:\n%s", path, buf.Bytes())
	}
}

var (
	first = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	last  = time.Date(2026, 3, 2, 17, 5, 0, 0, time.UTC)
	alice = &triage.User{ID: 1, Email: "alice@example.com", Name: "Alice"}
	bob   = &triage.User{ID: 2, Email: "bob@example.com"}
	team  = &triage.Team{ID: 3, OrgID: 1, Slug: "backend", Name: "Backend"}
)

// testCard is an issue as a card would show it, with Alice linked as
// U1 and Bob not linked.
func testCard(mod func(c *Card)) *Card {
	c := &Card{
		Issue: &triage.Issue{
			ID: 42, ProjectID: 7, OrgID: 1, ProjectSlug: "web", OrgSlug: "acme", ShortNum: 3,
			Title: "TypeError: Cannot read properties of undefined (reading 'id')", Culprit: "app/checkout.js in submit",
			Level: "error", Status: triage.StatusUnresolved, TimesSeen: 12, FirstSeen: first, LastSeen: last,
		},
		URL:        "https://triage.example.com/organizations/acme/issues/42/?referrer=slack",
		HasRelease: true,
		Teams:      []*triage.Team{team},
		Users:      []*triage.User{alice, bob},
		SlackIDs:   map[int64]string{alice.ID: "U1"},
	}
	if mod != nil {
		mod(c)
	}
	return c
}

func activity(typ string, by *triage.User, data map[string]any) *triage.Activity {
	return &triage.Activity{ID: 9, IssueID: 42, Type: typ, User: by, Source: triage.SourceSlack, Data: data, CreatedAt: last}
}

func TestCardGoldens(t *testing.T) {
	t.Parallel()
	cases := map[string]func(c *Card){
		"unresolved": nil,
		"no_release": func(c *Card) {
			c.HasRelease = false
			c.Issue.Level, c.Issue.Title, c.Issue.Culprit = "warning", "Slow checkout <script>&", ""
		},
		"resolved_next_release": func(c *Card) {
			c.Issue.Status, c.Issue.StatusDetails = triage.StatusResolved, triage.StatusDetails{InNextRelease: true}
			c.Last = activity(triage.ActivitySetResolvedInRel, alice, map[string]any{"inNextRelease": true})
		},
		"ignored_count_by_unlinked": func(c *Card) {
			c.Issue.Status, c.Issue.StatusDetails = triage.StatusIgnored, triage.StatusDetails{IgnoreCount: 100}
			c.Last = activity(triage.ActivitySetIgnored, bob, map[string]any{"ignoreCount": 100})
		},
		"ignored_until": func(c *Card) {
			until := last.Add(30 * time.Minute)
			c.Issue.Status, c.Issue.StatusDetails = triage.StatusIgnored, triage.StatusDetails{IgnoreMinutes: 30, IgnoreUntil: &until}
			c.Issue.Level = "fatal"
		},
		"reopened": func(c *Card) {
			c.Last = activity(triage.ActivitySetUnresolved, alice, nil)
		},
		"assigned_user": func(c *Card) {
			c.Issue.Assignee = &triage.Assignee{Type: "user", ID: alice.ID, Name: "Alice"}
			c.Last = activity(triage.ActivityAssigned, bob, map[string]any{"assignee": "1", "assigneeType": "user", "assigneeName": "Alice"})
		},
		"assigned_team": func(c *Card) {
			c.Issue.Assignee = &triage.Assignee{Type: "team", ID: team.ID, Name: "backend"}
			c.Last = activity(triage.ActivityAssigned, alice, map[string]any{"assignee": "3", "assigneeType": "team", "assigneeName": "backend"})
		},
		"unassigned": func(c *Card) {
			c.Last = activity(triage.ActivityUnassigned, alice, nil)
		},
		"many_people": func(c *Card) {
			c.Users = nil
			for k := range 120 {
				c.Users = append(c.Users, &triage.User{ID: int64(100 + k), Email: fmt.Sprintf("p%03d@example.com", k)})
			}
			c.Issue.Assignee = &triage.Assignee{Type: "user", ID: 105, Name: "p005@example.com"}
		},
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := testCard(mod)
			golden(t, "blockkit_"+name+".json", map[string]any{"text": c.Fallback(), "blocks": c.Blocks(), "unfurl_color": c.UnfurlAttachment().Color})
			golden(t, "legacy_"+name+".json", c.LegacyReply(true))
		})
	}
}

func TestCardLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		act  *triage.Activity
		want string
	}{
		{activity(triage.ActivitySetResolved, alice, nil), "*Resolved by <@U1>*"},
		{activity(triage.ActivitySetIgnored, alice, nil), "*Ignored by <@U1>*"},
		{activity(triage.ActivitySetUnresolved, bob, nil), "*Reopened by bob@example.com*"},
		{activity(triage.ActivityAssigned, alice, map[string]any{"assignee": "2", "assigneeType": "user", "assigneeName": "bob@example.com"}), "*Assigned to bob@example.com by <@U1>*"},
		{activity(triage.ActivityAssigned, bob, map[string]any{"assignee": "1", "assigneeType": "user", "assigneeName": "Alice"}), "*Assigned to <@U1> by bob@example.com*"},
		{activity(triage.ActivityAssigned, alice, map[string]any{"assignee": "3", "assigneeType": "team", "assigneeName": "backend"}), "*Assigned to #backend by <@U1>*"},
		{activity(triage.ActivityUnassigned, alice, nil), "*Unassigned by <@U1>*"},
		{activity(triage.ActivitySetRegression, nil, nil), ""},
		{activity(triage.ActivityFirstSeen, nil, nil), ""},
	} {
		c := testCard(func(c *Card) { c.Last = tc.act })
		if got := c.line(); got != tc.want {
			t.Errorf("%s: line = %q, want %q", tc.act.Type, got, tc.want)
		}
	}
	// The colour turns neutral once acted on.
	if c := testCard(nil); c.color() != levelColors["error"] {
		t.Errorf("fresh colour = %s", c.color())
	}
	if c := testCard(func(c *Card) { c.Issue.Status = triage.StatusResolved }); c.color() != neutralColor {
		t.Errorf("resolved colour = %s", c.color())
	}
}

func TestModalAndDialogGoldens(t *testing.T) {
	t.Parallel()
	c := testCard(nil)
	meta := ModalMeta{Issue: 42, Channel: "C1", TS: "1700000000.000100", ResponseURL: "https://hooks.slack.com/actions/T1/1/abc"}
	golden(t, "modal_resolve.json", ChoiceModal(ModalResolve, meta, c.Issue, c.URL))
	golden(t, "modal_ignore.json", ChoiceModal(ModalIgnore, meta, c.Issue, c.URL))
	dlg, err := ResolveDialog("trigger", DialogCallback{Issue: 42, OrigResponseURL: "https://hooks.slack.com/actions/T1/1/abc", IsMessage: true})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "dialog_resolve.json", dlg)
	if _, err := ResolveDialog("t", DialogCallback{Issue: 42, OrigResponseURL: strings.Repeat("x", 300)}); err == nil {
		t.Error("an over-long callback_id was accepted")
	}
	big := meta
	big.UnfurlURL = "https://triage.example.com/organizations/acme/issues/42/?" + strings.Repeat("a", 3000)
	var md ModalMeta
	if err := json.Unmarshal([]byte(ChoiceModal(ModalIgnore, big, c.Issue, c.URL).PrivateMetadata), &md); err != nil || md.UnfurlURL != "" || md.ResponseURL == "" {
		t.Errorf("over-long metadata: %+v %v", md, err)
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	for v, ok := range map[string]bool{
		"resolved": true, "resolved:inNextRelease": true, "resolved:inCurrentRelease": true, "unresolved": true,
		"ignored": true, "ignored:minutes:30": true, "ignored:count:100": true, "ignored:until:2026-03-01T00:00:00Z": true,
		"": false, "resolvedx": false, "ignored:minutes:": false, "ignored:minutes:-1": false, "ignored:count:x": false,
		"ignored:hours:2": false, "ignored:until:tomorrow": false, "minutes:30": false,
	} {
		if _, got := ParseStatus(v); got != ok {
			t.Errorf("parseStatus(%q) ok = %v, want %v", v, got, ok)
		}
	}
	for _, c := range append(append([]Choice{}, ignoreChoices...), resolveChoices...) {
		if _, ok := ParseStatus(c.Value); !ok {
			t.Errorf("menu value %q does not parse", c.Value)
		}
	}
}
