package slack_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"triage"
	"triage/internal/eventwriter"
	"triage/internal/ingest"
	"triage/internal/issues"
)

// publishes counts the views.publish calls for user so far.
func (w *world) publishes(user string) int {
	n := 0
	for _, c := range w.fake.Calls("views.publish") {
		if c.Params["user_id"] == user {
			n++
		}
	}
	return n
}

// TestHomeTabFollowsNewIssues (issue 17): the Home tab is republished
// when an issue it should show appears: new issues, born in the event
// writer, reach the "new and regressed" section of everyone linked who
// sees their project. A burst of new issues gives one republish per
// person per window (two when the burst straddles a window's end),
// showing the last state: every issue of the burst. Nobody who cannot see
// the project, and nobody not linked, is published to. A deleted issue
// leaves the tabs that showed it.
func TestHomeTabFollowsNewIssues(t *testing.T) {
	t.Parallel()
	eachWorld(t, func(t *testing.T, w *world) {
		// Home windows follow the wall clock River schedules by.
		w.clock.Advance(time.Since(w.clock.Now()))
		// No alert rules here: no alert jobs.
		none := func(context.Context, int64) (bool, error) { return false, nil }
		wr := eventwriter.New(w.s, w.jobs, w.svc, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now,
			eventwriter.EventJobFilter(none), eventwriter.CreatedJobFilter(none), eventwriter.NewIssueJob(w.integ.NewIssueJob))
		go wr.Run(w.ctx)
		w.postEvent(homeOpened("T1", "U2", "EvNew1"), 0)
		w.home("U2", 1)
		w.settle()
		before := w.publishes("U2")

		const n = 6
		for k := range n {
			body := fmt.Sprintf(`{"event_id":"%032x","level":"error","platform":"go","exception":[{"type":"BurstError%d","value":"burst %d",
				"stacktrace":{"frames":[{"module":"example.com/app","function":"f%d","filename":"app.go","lineno":7,"in_app":true}]}}]}`, k+1, k, k, k)
			e, err := ingest.ParseStore([]byte(body), time.Now().UTC())
			if err != nil {
				t.Fatal(err)
			}
			if err := wr.Save(w.ctx, w.api.ID, []*ingest.Event{e}); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			h, _ := w.fake.GetHomeView("T1", "U2")
			if strings.Count(plainJSON(h.JSON), "BurstError") >= n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("U2's Home tab never showed the %d new issues: %s", n, h.JSON)
			}
			time.Sleep(50 * time.Millisecond)
		}
		w.settle()
		if got := w.publishes("U2") - before; got < 1 || got > 2 {
			t.Errorf("%d republishes of U2's Home tab for a burst of %d new issues, want 1 (2 across a window's end)", got, n)
		}
		// U1 (the owner) sees the project too; U3 is not linked.
		if h, _ := w.fake.GetHomeView("T1", "U1"); strings.Count(plainJSON(h.JSON), "BurstError") < n {
			t.Errorf("the owner's Home tab lacks the new issues: %s", h.JSON)
		}
		if got := w.publishes("U3"); got != 0 {
			t.Errorf("%d publishes to U3, who is not linked", got)
		}

		// Resolved by someone else, a new issue leaves U2's tab; reopened,
		// it comes back into the "new and regressed" section.
		var burstID int64
		if err := w.s.Pool().QueryRowContext(w.ctx, `SELECT id FROM issues WHERE title LIKE 'BurstError1%'`).Scan(&burstID); err != nil {
			t.Fatal(err)
		}
		burst := &triage.Issue{ID: burstID}
		setStatus := func(st triage.Status) {
			t.Helper()
			if _, err := w.svc.Update(w.ctx, triage.Actor{UserID: w.owner.ID, Source: triage.SourceWeb}, burstID,
				issues.Update{Status: &issues.StatusChange{Status: st}}); err != nil {
				t.Fatal(err)
			}
		}
		before = w.publishes("U2")
		setStatus(triage.StatusResolved)
		if h := w.home("U2", before+1); strings.Contains(plainJSON(h.JSON), issueBlock(burst)) {
			t.Errorf("the resolved issue is still on U2's Home tab")
		}
		w.settle()
		before = w.publishes("U2")
		setStatus(triage.StatusUnresolved)
		if h := w.home("U2", before+1); !strings.Contains(plainJSON(h.JSON), issueBlock(burst)) {
			t.Errorf("the reopened new issue is not back on U2's Home tab: %s", h.JSON)
		}
		w.settle()

		// A deleted issue leaves the tab.
		before = w.publishes("U2")
		if err := w.svc.Delete(w.ctx, issues.Origin{Actor: triage.Actor{UserID: w.owner.ID, Source: triage.SourceWeb}}, w.plain.ID); err != nil {
			t.Fatal(err)
		}
		h := w.home("U2", before+1)
		if strings.Contains(plainJSON(h.JSON), issueBlock(w.plain)) {
			t.Errorf("the deleted issue is still on U2's Home tab")
		}
	})
}
