package alert_test

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"triage"
	"triage/internal/eventwriter"
	"triage/internal/issues"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestCardLifecycle: an event fires a rule and the card lands in its
// channel; a resolve (as the web or Slack does it, through the issue
// service) rebuilds the card and says who resolved it in the thread; the
// error coming back regresses the issue and the thread says so; a repeated
// alert goes to the card's thread instead of a new card.
func TestCardLifecycle(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{})
			w.rule(`{"name": "New issues", "conditions": {"firstSeen": true}, "action": {"integrationId": "` +
				itoa(w.integrationID) + `", "channel": "C1"}}`)
			w.send("checkout", "error", "production", "1.0")
			w.waitFor("the card", func() bool { return len(w.messages("C1")) == 1 })
			card := w.messages("C1")[0]
			issue := w.issueOf("checkout")
			if !strings.Contains(string(card.Blocks), "checkout failed") || card.BotID == "" {
				t.Fatalf("card: %s", card.Blocks)
			}

			// Ada (linked as U1) resolves it on the web.
			_, err := w.issues.Update(w.ctx, triage.Actor{UserID: w.admin.ID, Source: triage.SourceWeb}, issue.ID,
				issues.Update{Status: &issues.StatusChange{Status: triage.StatusResolved}})
			if err != nil {
				t.Fatal(err)
			}
			w.waitFor("the resolve reply and the rebuilt card", func() bool {
				m := w.messages("C1")[0]
				return len(m.Replies) == 1 && strings.Contains(string(m.Blocks), "*Resolved*")
			})
			if got := w.messages("C1")[0].Replies[0].Text; got != "*Resolved by <@U1>*" {
				t.Errorf("reply %q, want *Resolved by <@U1>*", got)
			}

			// Mel is not linked: named, with where they acted from.
			_, err = w.issues.Update(w.ctx, triage.Actor{UserID: w.member.ID, Source: triage.SourceAPI}, issue.ID,
				issues.Update{Status: &issues.StatusChange{Status: triage.StatusUnresolved}})
			if err != nil {
				t.Fatal(err)
			}
			w.waitFor("the reopen reply", func() bool { return len(w.messages("C1")[0].Replies) == 2 })
			if got := w.messages("C1")[0].Replies[1].Text; got != "*Reopened by Mel (through the API)*" {
				t.Errorf("reply %q", got)
			}
			_, err = w.issues.Update(w.ctx, triage.Actor{UserID: w.member.ID, Source: triage.SourceWeb}, issue.ID,
				issues.Update{Status: &issues.StatusChange{Status: triage.StatusResolved}})
			if err != nil {
				t.Fatal(err)
			}
			w.waitFor("the second resolve reply", func() bool { return len(w.messages("C1")[0].Replies) == 3 })

			// The error comes back in a new release: a regression.
			w.send("checkout", "error", "production", "1.1")
			w.waitFor("the regression reply", func() bool { return len(w.messages("C1")[0].Replies) == 4 })
			if got := w.messages("C1")[0].Replies[3].Text; !strings.HasPrefix(got, "*Regressed* in 1.1") {
				t.Errorf("reply %q, want Regressed in 1.1", got)
			}
			w.waitFor("the card showing Unresolved again", func() bool {
				return strings.Contains(string(w.messages("C1")[0].Blocks), "*Unresolved*")
			})

			// A rule on every event, threaded: the next alert is a reply.
			w.rule(`{"name": "Every event", "throttleMinutes": 0, "action": {"integrationId": "` +
				itoa(w.integrationID) + `", "channel": "#alerts"}}`)
			w.send("checkout", "error", "production", "1.1")
			w.waitFor("the repeat in the thread", func() bool { return len(w.messages("C1")[0].Replies) == 5 })
			if got := w.messages("C1")[0].Replies[4].Text; !strings.Contains(got, "*Seen again*") || !strings.Contains(got, "Every event") {
				t.Errorf("repeat %q", got)
			}
			if n := len(w.messages("C1")); n != 1 {
				t.Errorf("%d top-level messages, want the one card", n)
			}
			if v := w.metric("triage_alert_notifications_total", "result", "posted"); v != 1 {
				t.Errorf("posted = %v, want 1", v)
			}
			list, err := w.s.AlertCards(w.ctx, issue.ID)
			if err != nil || len(list) != 1 || list[0] != (store.AlertCard{IntegrationID: w.integrationID, ChannelID: "C1", TS: card.TS}) {
				t.Errorf("cards %+v, %v", list, err)
			}
		})
	}
}

// TestChangeWhileCardInFlight: a change made while the card is still on
// its way reaches the card's thread once it is out, and the card shows
// the change.
func TestChangeWhileCardInFlight(t *testing.T) {
	t.Parallel()
	w := newWorld(t, store.SQLite, worldOpts{})
	w.rule(`{"name": "New issues", "conditions": {"firstSeen": true}, "action": {"integrationId": "` +
		itoa(w.integrationID) + `", "channel": "C1"}}`)
	w.fake.SetLatency("chat.postMessage", 700*time.Millisecond)
	w.send("slowpost", "error", "", "")
	issue := w.issueOf("slowpost")
	w.waitFor("the pending notification", func() bool {
		has, _ := w.s.HasAlertNotifications(w.ctx, issue.ID)
		return has
	})
	if _, err := w.issues.Update(w.ctx, triage.Actor{UserID: w.admin.ID, Source: triage.SourceWeb}, issue.ID,
		issues.Update{Status: &issues.StatusChange{Status: triage.StatusResolved}}); err != nil {
		t.Fatal(err)
	}
	if n := len(w.messages("C1")); n != 0 {
		t.Fatalf("the card was out before the change (%d messages): the test proves nothing", n)
	}
	w.waitFor("the card with its reply, showing the resolution", func() bool {
		m := w.messages("C1")
		return len(m) == 1 && len(m[0].Replies) == 1 && m[0].Replies[0].Text == "*Resolved by <@U1>*" &&
			strings.Contains(string(m[0].Blocks), "Resolved")
	})
}

// TestUnignoredCard: an issue ignored until it happens 2 more times, or
// until a time, comes back on ingestion (a change the issues package
// decides in the event writer's transaction); its card is rebuilt to show
// it unresolved and its thread hears once why.
func TestUnignoredCard(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			t.Run("count", func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, engine, worldOpts{})
				issue := w.cardFor("recount")
				w.ignore(issue.ID, issues.StatusChange{IgnoreCount: 2})
				w.waitFor("the ignore reply and the card showing it", func() bool {
					m := w.messages("C1")[0]
					return len(m.Replies) == 1 && strings.Contains(string(m.Blocks), "*Ignored until it happens 2 more times*")
				})

				w.send("recount", "error", "", "")
				if got := w.status(issue.ID); got != triage.StatusIgnored {
					t.Fatalf("status %s after 1 of 2 events, want ignored", got)
				}
				w.send("recount", "error", "", "")
				if got := w.status(issue.ID); got != triage.StatusUnresolved {
					t.Fatalf("status %s after 2 of 2 events, want unresolved", got)
				}
				want := "*No longer ignored*: it was ignored until it happened 2 more times, and it did"
				w.waitUnignored(want)
			})

			t.Run("until", func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, engine, worldOpts{})
				clock := w.clockedWriter()
				issue := w.cardFor("later")
				until := time.Now().UTC().Add(time.Hour).Truncate(time.Minute)
				w.ignore(issue.ID, issues.StatusChange{IgnoreUntil: &until})
				w.waitFor("the ignore reply and the card showing it", func() bool {
					m := w.messages("C1")[0]
					return len(m.Replies) == 1 && strings.Contains(string(m.Blocks), "*Ignored until ")
				})

				w.send("later", "error", "", "")
				if got := w.status(issue.ID); got != triage.StatusIgnored {
					t.Fatalf("status %s before the time, want ignored", got)
				}
				clock.Set(until.Add(time.Minute))
				w.send("later", "error", "", "")
				if got := w.status(issue.ID); got != triage.StatusUnresolved {
					t.Fatalf("status %s after the time, want unresolved", got)
				}
				w.waitUnignored("*No longer ignored*: it was ignored until " + until.Format("2006-01-02 15:04") +
					" UTC, and a new event arrived")
			})
		})
	}
}

// TestRebuildsOutOfOrder: a rebuild of a card rendered before a change
// reaches Slack after the change's own rebuild (Slack answered it late, or
// its job ran slower). The card must end showing the change, as a person
// looking at it expects, not the state before it.
func TestRebuildsOutOfOrder(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{})
			issue := w.cardFor("late")
			w.waitFor("the card recorded", func() bool {
				msgs, _ := w.s.SlackMessagesForIssue(w.ctx, issue.ID)
				return len(msgs) == 1
			})
			hold := w.fake.HoldNext("chat.update")
			done := make(chan error, 1)
			go func() { done <- w.integ.UpdateCards(w.ctx, issue.ID) }()
			select {
			case <-hold.Arrived(): // rendered as unresolved, held on its way
			case <-time.After(time.Minute): // a bound for a hang, not a timing claim
				t.Fatal("the rebuild never reached Slack")
			}
			w.ignore(issue.ID, issues.StatusChange{IgnoreCount: 100})
			w.waitFor("the ignore's own rebuild", func() bool {
				return strings.Contains(string(w.messages("C1")[0].Blocks), "*Ignored until it happens 100 more times*")
			})
			hold.Release()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if b := string(w.messages("C1")[0].Blocks); !strings.Contains(b, "*Ignored until it happens 100 more times*") {
				t.Fatalf("after the late rebuild the card shows the state before the ignore:\n%s", b)
			}
		})
	}
}

// cardFor sends the first event of kind under a "new issues" rule and
// waits for its card in C1.
func (w *world) cardFor(kind string) *triage.Issue {
	w.t.Helper()
	w.rule(`{"name": "New issues", "conditions": {"firstSeen": true}, "action": {"integrationId": "` +
		itoa(w.integrationID) + `", "channel": "C1"}}`)
	w.send(kind, "error", "", "")
	w.waitFor("the card", func() bool { return len(w.messages("C1")) == 1 })
	return w.issueOf(kind)
}

// ignore ignores the issue as Ada would on the web.
func (w *world) ignore(issueID int64, c issues.StatusChange) {
	w.t.Helper()
	c.Status = triage.StatusIgnored
	if _, err := w.issues.Update(w.ctx, triage.Actor{UserID: w.admin.ID, Source: triage.SourceWeb}, issueID,
		issues.Update{Status: &c}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) status(issueID int64) triage.Status {
	w.t.Helper()
	i, err := w.s.IssueByID(w.ctx, issueID)
	if err != nil {
		w.t.Fatal(err)
	}
	return i.Status
}

// waitUnignored waits for the card to show the issue unresolved and for
// want in its thread, then checks that the thread says it only once.
func (w *world) waitUnignored(want string) {
	w.t.Helper()
	count := func() int {
		n := 0
		for _, r := range w.messages("C1")[0].Replies {
			if strings.HasPrefix(r.Text, "*No longer ignored*") {
				n++
			}
		}
		return n
	}
	w.waitFor("the card showing Unresolved and the reply", func() bool {
		return strings.Contains(string(w.messages("C1")[0].Blocks), "*Unresolved*") && count() > 0
	})
	// A duplicate would come from a job still running or queued.
	w.settle()
	var thread []string
	for _, r := range w.messages("C1")[0].Replies {
		thread = append(thread, r.Text)
	}
	if n := count(); n != 1 || len(thread) != 2 {
		w.t.Fatalf("thread %q: want the ignore reply and one No longer ignored", thread)
	}
	if thread[1] != want {
		w.t.Errorf("reply %q, want %q", thread[1], want)
	}
	if n := len(w.messages("C1")); n != 1 {
		w.t.Errorf("%d top-level messages, want the one card", n)
	}
}

// clockedWriter puts in the world's place an event writer whose clock the
// test sets (the world's own writer runs on the wall clock); it starts at
// the wall clock's now.
func (w *world) clockedWriter() *testClock {
	clock := &testClock{t: time.Now()}
	w.writer = eventwriter.New(w.s, w.jobs, w.issues, slog.New(slog.NewTextHandler(io.Discard, nil)), clock.Now,
		eventwriter.EventJobFilter(w.alerts.WantsEventJobs))
	go w.writer.Run(w.ctx)
	return clock
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// unignoredJob is the issue.unignored job as a version before the
// lifecycle's move stored it; this version queues none.
type unignoredJob struct {
	IssueID int64  `json:"issue_id"`
	EventID string `json:"event_id"`
	Reason  string `json:"reason"`
	Count   int64  `json:"count,omitempty"`
}

func (unignoredJob) Kind() string { return "issue.unignored" }

// TestUnignoredJobOfAnOlderVersion: an issue.unignored job that an older
// version queued (its event writer reopened the issue and left the
// rebuild and the reply to that job) completes after the upgrade, and
// the card and its thread say what the old version would have said.
func TestUnignoredJobOfAnOlderVersion(t *testing.T) {
	t.Parallel()
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, engine, worldOpts{})
			issue := w.cardFor("upgrade")
			w.ignore(issue.ID, issues.StatusChange{IgnoreCount: 1})
			w.waitFor("the ignore reply", func() bool { return len(w.messages("C1")[0].Replies) == 1 })
			// What the older version's writer did, in one transaction:
			// reopen the issue without telling anyone, and queue the job.
			var jobID int64
			err := w.s.InTx(w.ctx, func(tx *store.Tx) error {
				if err := tx.SetIssueStatus(w.ctx, issue.ID, triage.StatusUnresolved, triage.StatusDetails{}, 0); err != nil {
					return err
				}
				res, err := w.jobs.River().InsertTx(w.ctx, tx.SQL,
					unignoredJob{IssueID: issue.ID, EventID: "0123456789abcdef0123456789abcdef", Reason: "ignoreCount", Count: 1}, nil)
				if err != nil {
					return err
				}
				jobID = res.Job.ID
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			w.waitUnignored("*No longer ignored*: it was ignored until it happened once more, and it did")
			w.waitFor("the old job to complete", func() bool {
				job, err := w.jobs.River().JobGet(w.ctx, jobID)
				return err == nil && job.State == rivertype.JobStateCompleted
			})
		})
	}
}
