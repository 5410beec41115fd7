package issues_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"triage"
	"triage/internal/issues"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// recorder keeps every change published to the hooks.
type recorder struct {
	mu      sync.Mutex
	changes []issues.Change
}

func (r *recorder) hook(_ context.Context, _ *store.Tx, c issues.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
	return nil
}

func (r *recorder) take() []issues.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.changes
	r.changes = nil
	return out
}

func (b *bundle) newIssue(t *testing.T, projectID int64, hash string) *triage.Issue {
	t.Helper()
	var i *triage.Issue
	err := b.s.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		i, err = tx.CreateIssue(context.Background(), store.NewIssue{ProjectID: projectID, GroupHash: hash, Title: "Error " + hash, Level: "error", SeenAt: time.Now()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func activityTypes(t *testing.T, s *store.Store, issueID int64) []string {
	t.Helper()
	acts, err := s.Activities(context.Background(), issueID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range acts {
		out = append(out, a.Type)
	}
	return out
}

func TestComment(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		rec := &recorder{}
		b.svc.OnChange(rec.hook)
		ctx := context.Background()
		web := func(u *triage.User) issues.Origin {
			return issues.Origin{Actor: triage.Actor{UserID: u.ID, Source: triage.SourceWeb}}
		}
		for _, c := range []struct {
			name string
			who  *triage.User
			text string
			code string
		}{
			{"empty", b.dev, "", triage.EINVALID},
			{"only spaces", b.dev, " \n\t ", triage.EINVALID},
			{"too long", b.dev, strings.Repeat("é", issues.MaxNoteLength+1), triage.EINVALID},
			{"another organization", b.outsider, "hello", triage.ENOTFOUND},
			{"no access to the project", b.stranger, "hello", triage.EFORBIDDEN},
		} {
			if _, err := b.svc.Comment(ctx, web(c.who), b.issue.ID, c.text); triage.ErrorCode(err) != c.code {
				t.Errorf("%s: got %v, want %s", c.name, err, c.code)
			}
		}
		if types := activityTypes(t, s, b.issue.ID); len(types) != 0 {
			t.Fatalf("refused comments wrote %v", types)
		}
		if got := rec.take(); len(got) != 0 {
			t.Fatalf("refused comments were published: %d changes", len(got))
		}

		note, err := b.svc.Comment(ctx, web(b.dev), b.issue.ID, "  Looking into it.\nLine two  ")
		if err != nil {
			t.Fatal(err)
		}
		if note.Type != triage.ActivityNote || note.Data["text"] != "Looking into it.\nLine two" || note.User == nil ||
			note.User.Email != "dev@acme.test" || note.Source != triage.SourceWeb || note.ID == 0 {
			t.Errorf("note %+v (user %+v)", note, note.User)
		}
		// The owner sees every project, with or without a team.
		if _, err := b.svc.Comment(ctx, web(b.owner), b.issue.ID, "Thanks"); err != nil {
			t.Fatal(err)
		}
		notes, err := b.svc.Comments(ctx, b.dev.ID, b.issue.ID)
		if err != nil || len(notes) != 2 || notes[0].Data["text"] != "Thanks" || notes[0].User.Name != "Olive" ||
			notes[1].Data["text"] != "Looking into it.\nLine two" {
			t.Fatalf("comments: %v %+v", err, notes)
		}
		if _, err := b.svc.Comments(ctx, b.outsider.ID, b.issue.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("outsider reading comments: %v", err)
		}
		changes := rec.take()
		if len(changes) != 2 {
			t.Fatalf("%d changes published, want one per comment", len(changes))
		}
		if text, ok := changes[0].Note(); !ok || text != "Looking into it.\nLine two" || changes[0].Issue.ID != b.issue.ID ||
			changes[0].Origin.Actor.UserID != b.dev.ID {
			t.Errorf("published %+v", changes[0])
		}
		got, _ := s.IssueByID(ctx, b.issue.ID)
		if got.Status != triage.StatusUnresolved {
			t.Errorf("a comment changed the status to %s", got.Status)
		}
	})
}

func TestUpdateMany(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		second := b.newIssue(t, b.project.ID, "h2")
		third := b.newIssue(t, b.project.ID, "h3")
		hidden, err := s.CreateProject(ctx, b.org.ID, "hidden", "", b.otherTeam.ID)
		if err != nil {
			t.Fatal(err)
		}
		notMine := b.newIssue(t, hidden.ID, "x1")
		otherOrg, _ := s.OrganizationBySlug(ctx, "other")
		elsewhere, err := s.CreateProject(ctx, otherOrg.ID, "secret", "")
		if err != nil {
			t.Fatal(err)
		}
		foreign := b.newIssue(t, elsewhere.ID, "f1")
		rec := &recorder{}
		b.svc.OnChange(rec.hook)
		origin := issues.Origin{Actor: triage.Actor{UserID: b.dev.ID, Source: triage.SourceAPI}}

		// One is resolved already.
		if _, err := b.svc.Update(ctx, origin.Actor, third.ID, status(triage.StatusResolved)); err != nil {
			t.Fatal(err)
		}
		rec.take()
		ids := []int64{third.ID, b.issue.ID, second.ID, notMine.ID, foreign.ID, 987654, b.issue.ID}
		res, err := b.svc.UpdateMany(ctx, origin, b.org.ID, ids, status(triage.StatusResolved))
		if err != nil {
			t.Fatal(err)
		}
		var acted []int64
		for _, i := range res.Issues {
			acted = append(acted, i.ID)
			if i.Status != triage.StatusResolved {
				t.Errorf("%s is %s after the bulk resolve", i.ShortID(), i.Status)
			}
		}
		if want := []int64{b.issue.ID, second.ID, third.ID}; fmt.Sprint(acted) != fmt.Sprint(want) {
			t.Errorf("acted on %v, want the visible ones %v", acted, want)
		}
		if len(res.Activities) != 2 {
			t.Errorf("%d activities, want one per changed issue (2)", len(res.Activities))
		}
		for _, i := range []*triage.Issue{b.issue, second} {
			if got := activityTypes(t, s, i.ID); fmt.Sprint(got) != "[set_resolved]" {
				t.Errorf("activity of %d: %v", i.ID, got)
			}
		}
		if got := activityTypes(t, s, third.ID); fmt.Sprint(got) != "[set_resolved]" {
			t.Errorf("the issue resolved already got %v", got)
		}
		published := map[int64]int{}
		for _, c := range rec.take() {
			published[c.Issue.ID]++
		}
		if fmt.Sprint(published) != fmt.Sprint(map[int64]int{b.issue.ID: 1, second.ID: 1}) {
			t.Errorf("published changes by issue %v, want one for each changed issue", published)
		}
		for _, i := range []*triage.Issue{notMine, foreign} {
			got, _ := s.IssueByID(ctx, i.ID)
			if got.Status != triage.StatusUnresolved || len(activityTypes(t, s, i.ID)) != 0 {
				t.Errorf("issue %d that the developer cannot see was changed: %s", i.ID, got.Status)
			}
		}

		// None visible: nothing done, no error.
		res, err = b.svc.UpdateMany(ctx, origin, b.org.ID, []int64{notMine.ID, foreign.ID}, status(triage.StatusIgnored))
		if err != nil || len(res.Issues) != 0 || len(res.Activities) != 0 {
			t.Errorf("invisible ids only: %v %+v", err, res)
		}
		// Not a member of the organization.
		if _, err := b.svc.UpdateMany(ctx, issues.Origin{Actor: triage.Actor{UserID: b.outsider.ID, Source: triage.SourceAPI}},
			b.org.ID, []int64{b.issue.ID}, status(triage.StatusUnresolved)); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("outsider: %v, want ENOTFOUND", err)
		}
		if _, err := b.svc.UpdateMany(ctx, origin, b.org.ID, nil, status(triage.StatusUnresolved)); triage.ErrorCode(err) != triage.EINVALID {
			t.Errorf("no ids: %v, want EINVALID", err)
		}
		many := make([]int64, issues.MaxBulk+1)
		for i := range many {
			many[i] = int64(i + 1)
		}
		if _, err := b.svc.UpdateMany(ctx, origin, b.org.ID, many, status(triage.StatusUnresolved)); triage.ErrorCode(err) != triage.EINVALID {
			t.Errorf("%d ids: %v, want EINVALID", len(many), err)
		}

		// All or nothing: the owner may see the hidden project, where the
		// developer may not be assigned; nothing changes.
		ownerOrigin := issues.Origin{Actor: triage.Actor{UserID: b.owner.ID, Source: triage.SourceWeb}}
		_, err = b.svc.UpdateMany(ctx, ownerOrigin, b.org.ID, []int64{b.issue.ID, notMine.ID}, assign(&triage.Assignee{Type: "user", ID: b.dev.ID}))
		if triage.ErrorCode(err) != triage.EINVALID || !strings.Contains(triage.ErrorMessage(err), "HIDDEN-1") {
			t.Errorf("assigning someone without access: %v, want EINVALID naming HIDDEN-1", err)
		}
		if got, _ := s.IssueByID(ctx, b.issue.ID); got.Assignee != nil {
			t.Errorf("a refused bulk change assigned %s anyway", got.ShortID())
		}
		// (The hook heard of WEB-1's change inside the transaction that was
		// rolled back; real subscribers write there, and it went with it.)
	})
}

func TestDelete(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		// More events than one batch deletes, so that several do.
		var events []store.StoredEvent
		for n := range 1234 {
			events = append(events, store.StoredEvent{ProjectID: b.project.ID, IssueID: b.issue.ID, EventID: fmt.Sprintf("%032x", n),
				Timestamp: time.Now(), Received: time.Now(), Data: []byte("{}")})
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.InsertEvents(ctx, events); err != nil {
				return err
			}
			return tx.AddActivity(ctx, &triage.Activity{IssueID: b.issue.ID, Type: triage.ActivityFirstSeen, Source: triage.SourceSystem})
		}); err != nil {
			t.Fatal(err)
		}
		keep := b.newIssue(t, b.project.ID, "keep")
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.InsertEvents(ctx, []store.StoredEvent{{ProjectID: b.project.ID, IssueID: keep.ID, EventID: "k1", Timestamp: time.Now(), Received: time.Now(), Data: []byte("{}")}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		b.svc.OnChange(rec.hook)
		as := func(u *triage.User) issues.Origin {
			return issues.Origin{Actor: triage.Actor{UserID: u.ID, Source: triage.SourceAPI}}
		}
		for _, c := range []struct {
			name string
			who  *triage.User
			code string
		}{
			{"a developer on the project's team", b.dev, triage.EFORBIDDEN},
			{"a member without the project", b.stranger, triage.EFORBIDDEN},
			{"another organization", b.outsider, triage.ENOTFOUND},
		} {
			if err := b.svc.Delete(ctx, as(c.who), b.issue.ID); triage.ErrorCode(err) != c.code {
				t.Errorf("%s: %v, want %s", c.name, err, c.code)
			}
		}
		if ev, _ := s.IssueEvents(ctx, b.issue.ID, 2000); len(ev) != len(events) {
			t.Fatalf("refused deletes left %d of %d events", len(ev), len(events))
		}
		if _, err := b.svc.DeleteMany(ctx, as(b.dev), b.org.ID, []int64{b.issue.ID}); triage.ErrorCode(err) != triage.EFORBIDDEN {
			t.Errorf("developer deleting many: %v, want EFORBIDDEN", err)
		}

		if err := b.svc.Delete(ctx, as(b.owner), b.issue.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Get(ctx, b.owner.ID, b.issue.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("deleted issue: %v, want ENOTFOUND", err)
		}
		if ev, err := s.IssueEvents(ctx, b.issue.ID, 2000); err != nil || len(ev) != 0 {
			t.Errorf("%d events left of the deleted issue (%v)", len(ev), err)
		}
		if acts, err := s.Activities(ctx, b.issue.ID, 10); err != nil || len(acts) != 0 {
			t.Errorf("%d activities left of the deleted issue (%v)", len(acts), err)
		}
		if ev, _ := s.IssueEvents(ctx, keep.ID, 10); len(ev) != 1 {
			t.Errorf("another issue kept %d of its 1 event", len(ev))
		}
		changes := rec.take()
		if len(changes) != 1 || !changes[0].Deleted || changes[0].Issue.ID != b.issue.ID || changes[0].Activity != nil {
			t.Errorf("published %+v, want one Deleted change", changes)
		}
		if err := b.svc.Delete(ctx, as(b.owner), b.issue.ID); triage.ErrorCode(err) != triage.ENOTFOUND {
			t.Errorf("deleting it again: %v, want ENOTFOUND", err)
		}

		// Many at once: ids that are not the owner's to see are ignored.
		otherOrg, _ := s.OrganizationBySlug(ctx, "other")
		elsewhere, _ := s.CreateProject(ctx, otherOrg.ID, "secret", "")
		foreign := b.newIssue(t, elsewhere.ID, "f1")
		deleted, err := b.svc.DeleteMany(ctx, as(b.owner), b.org.ID, []int64{keep.ID, foreign.ID, b.issue.ID})
		if err != nil || len(deleted) != 1 || deleted[0].ID != keep.ID {
			t.Fatalf("delete many: %v %+v", err, deleted)
		}
		if _, err := s.IssueByID(ctx, foreign.ID); err != nil {
			t.Errorf("another organization's issue: %v", err)
		}
	})
}
