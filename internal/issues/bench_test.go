package issues_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"triage"
	"triage/internal/issues"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// BenchmarkUpdate measures the issue update path (permission check, row
// lock, status write, activity) by alternating resolve and unresolve, so
// every iteration is an effective change.
//
//	scripts/test -run '^$' -bench . ./internal/issues/
func BenchmarkUpdate(b *testing.B) {
	for _, engine := range dbtest.Engines {
		b.Run(string(engine), func(b *testing.B) {
			s := dbtest.Open(b, engine, nil)
			bb := benchSetup(b, s, 1)
			ctx := context.Background()
			actor := triage.Actor{UserID: bb.dev.ID, Source: triage.SourceAPI}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				st := triage.StatusResolved
				if i%2 == 1 {
					st = triage.StatusUnresolved
				}
				if _, err := bb.svc.Update(ctx, actor, bb.issue.ID, status(st)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkList measures one page (25) of a member's issue list over 2,000
// issues, with the access check in the query.
func BenchmarkList(b *testing.B) {
	for _, engine := range dbtest.Engines {
		b.Run(string(engine), func(b *testing.B) {
			s := dbtest.Open(b, engine, nil)
			bb := benchSetup(b, s, 2000)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				list, err := bb.svc.List(ctx, bb.dev.ID, triage.IssueFilter{OrgID: bb.org.ID, Status: triage.StatusUnresolved, Limit: 25})
				if err != nil || len(list) != 25 {
					b.Fatalf("%d issues, %v", len(list), err)
				}
			}
		})
	}
}

func benchSetup(b *testing.B, s *store.Store, n int) *bundle {
	b.Helper()
	ctx := context.Background()
	bb := &bundle{s: s, svc: issues.New(s, nil)}
	var err error
	bb.owner, _ = s.CreateUser(ctx, "owner@acme.test", "", "h", false)
	bb.dev, _ = s.CreateUser(ctx, "dev@acme.test", "", "h", false)
	bb.org, _ = s.CreateOrganization(ctx, "acme", "", bb.owner.ID)
	s.AddMember(ctx, bb.org.ID, bb.dev.ID, triage.RoleMember)
	bb.team, _ = s.CreateTeam(ctx, bb.org.ID, "backend", "")
	s.AddTeamMember(ctx, bb.team.ID, bb.dev.ID)
	if bb.project, err = s.CreateProject(ctx, bb.org.ID, "web", "", bb.team.ID); err != nil {
		b.Fatal(err)
	}
	err = s.InTx(ctx, func(tx *store.Tx) error {
		for i := 0; i < n; i++ {
			issue, err := tx.CreateIssue(ctx, store.NewIssue{ProjectID: bb.project.ID, GroupHash: fmt.Sprint(i), Title: "E", Level: "error",
				SeenAt: time.Now().Add(time.Duration(i) * time.Second)})
			if err != nil {
				return err
			}
			bb.issue = issue
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return bb
}

// BenchmarkDelete measures deleting an issue with 10,000 events of 3 KiB
// (20 transactions of 500 events, then the issue); ns/op is one whole
// deletion, the events' insertion not counted.
//
//	scripts/test -run '^$' -bench Delete -benchtime 5x ./internal/issues/
func BenchmarkDelete(b *testing.B) {
	for _, engine := range dbtest.Engines {
		b.Run(string(engine), func(b *testing.B) {
			s := dbtest.Open(b, engine, nil)
			bb := benchSetup(b, s, 0)
			ctx := context.Background()
			origin := issues.Origin{Actor: triage.Actor{UserID: bb.owner.ID, Source: triage.SourceAPI}}
			data := make([]byte, 3<<10)
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				var issue *triage.Issue
				err := s.InTx(ctx, func(tx *store.Tx) error {
					var err error
					issue, err = tx.CreateIssue(ctx, store.NewIssue{ProjectID: bb.project.ID, GroupHash: fmt.Sprint("d", i), Title: "E", Level: "error", SeenAt: time.Now()})
					if err != nil {
						return err
					}
					events := make([]store.StoredEvent, 0, 10000)
					for e := range 10000 {
						events = append(events, store.StoredEvent{ProjectID: bb.project.ID, IssueID: issue.ID,
							EventID: fmt.Sprintf("%016x%016x", i, e), Timestamp: time.Now(), Received: time.Now(), Data: data})
					}
					_, err = tx.InsertEvents(ctx, events)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := bb.svc.Delete(ctx, origin, issue.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
