package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"triage"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

// TestCountIssuesEvents: one statement counts events of many issues, an
// issue named twice counts both, last seen only moves forward, an empty
// level keeps the issue's, and each issue's state comes back with its
// count as it was before.
func TestCountIssuesEvents(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u, _ := s.CreateUser(ctx, "a@example.com", "", "h", false)
		org, _ := s.CreateOrganization(ctx, "acme", "", u.ID)
		p, _ := s.CreateProject(ctx, org.ID, "web", "")
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		var issues []*triage.Issue
		err := s.InTx(ctx, func(tx *store.Tx) error {
			for _, h := range []string{"a", "b", "c"} {
				is, err := tx.CreateIssue(ctx, store.NewIssue{ProjectID: p.ID, GroupHash: h, Title: h, Level: "error", SeenAt: now})
				if err != nil {
					return err
				}
				issues = append(issues, is)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		a, b, c := issues[0].ID, issues[1].ID, issues[2].ID
		if _, err := s.CountIssuesEvents(ctx, []store.IssueCount{{IssueID: a, N: 5, LastSeen: now}}); err != nil {
			t.Fatal(err)
		}
		var states map[int64]*store.IssueState
		err = s.InTx(ctx, func(tx *store.Tx) error {
			states, err = tx.CountIssuesEvents(ctx, []store.IssueCount{
				{IssueID: a, N: 2, LastSeen: now.Add(time.Hour), Level: "fatal", Users: 1},
				{IssueID: b, N: 1, LastSeen: now.Add(-time.Hour), Level: ""},
				{IssueID: a, N: 3, LastSeen: now.Add(time.Minute), Level: "warning", Users: 2},
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(states) != 2 || states[a] == nil || states[b] == nil {
			t.Fatalf("states = %v, want issues %d and %d", states, a, b)
		}
		if states[a].TimesSeen != 5 || states[b].TimesSeen != 0 || states[a].ProjectID != p.ID || states[a].Status != triage.StatusUnresolved {
			t.Errorf("states before counting: a %+v, b %+v", states[a], states[b])
		}
		for _, want := range []struct {
			id    int64
			seen  int64
			last  time.Time
			level string
			users int64
		}{{a, 10, now.Add(time.Hour), "warning", 3}, {b, 1, now, "error", 0}, {c, 0, now, "error", 0}} {
			got, err := s.IssueByID(ctx, want.id)
			if err != nil {
				t.Fatal(err)
			}
			if got.TimesSeen != want.seen || !got.LastSeen.Equal(want.last) || got.Level != want.level || got.UserCount != want.users {
				t.Errorf("issue %s: seen %d, last %v, level %s, %d users; want %d, %v, %s, %d",
					got.Title, got.TimesSeen, got.LastSeen, got.Level, got.UserCount, want.seen, want.last, want.level, want.users)
			}
		}
	})
}

// TestCountsOfManyIssues: a batch touching more issues and tag values
// than one statement carries counts every one of them once (SQLite splits
// the rows into statements of fixed sizes).
func TestCountsOfManyIssues(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u, _ := s.CreateUser(ctx, "a@example.com", "", "h", false)
		org, _ := s.CreateOrganization(ctx, "acme", "", u.ID)
		p, _ := s.CreateProject(ctx, org.ID, "web", "")
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		const n = 203 // 128 + 64 + 8 + 2 + 1
		var fresh []store.FirstSeen
		for k := range n {
			fresh = append(fresh, store.FirstSeen{EventID: fmt.Sprintf("%032x", k), NewIssue: store.NewIssue{ProjectID: p.ID,
				GroupHash: fmt.Sprintf("h%d", k), Title: fmt.Sprintf("t%d", k), Level: "error", SeenAt: now}})
		}
		var ids map[string]int64
		var states map[int64]*store.IssueState
		err := s.InTx(ctx, func(tx *store.Tx) error {
			var err error
			if ids, err = tx.CreateIssues(ctx, p.ID, fresh); err != nil {
				return err
			}
			var counts []store.IssueCount
			var tags []store.TagCount
			var hours []store.HourCount
			for k := range n {
				id := ids[fmt.Sprintf("h%d", k)]
				counts = append(counts, store.IssueCount{IssueID: id, N: int64(k + 1), LastSeen: now, Users: int64(k % 3)})
				tags = append(tags, store.TagCount{IssueID: id, Key: "level", Value: "error", N: int64(k + 1), First: now.UnixMicro(), Last: now.UnixMicro()},
					store.TagCount{IssueID: id, Key: "user", Value: "id:1", N: 1, First: now.UnixMicro(), Last: now.UnixMicro()})
				hours = append(hours, store.HourCount{IssueID: id, Hour: now.Unix() - now.Unix()%3600, N: int64(k + 1)})
			}
			added, err := tx.CountIssueTags(ctx, tags)
			if err != nil {
				return err
			}
			if len(added) != n {
				t.Errorf("%d issues gained a user, want %d", len(added), n)
			}
			if err := tx.CountIssueHours(ctx, hours); err != nil {
				return err
			}
			states, err = tx.CountIssuesEvents(ctx, counts)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(states) != n {
			t.Errorf("%d states, want %d", len(states), n)
		}
		idList := make([]int64, 0, n)
		for _, id := range ids {
			idList = append(idList, id)
		}
		trends, err := s.IssueHours(ctx, idList, now.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for k := range n {
			id := ids[fmt.Sprintf("h%d", k)]
			got, err := s.IssueByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got.TimesSeen != int64(k+1) || got.UserCount != int64(k%3) || states[id] == nil || states[id].TimesSeen != 0 {
				t.Errorf("issue %d: %d events, %d users, state %+v; want %d, %d, 0 before", k, got.TimesSeen, got.UserCount, states[id], k+1, k%3)
			}
			var sum int64
			for _, c := range trends[id] {
				sum += c
			}
			keys, err := s.IssueTags(ctx, id, 10)
			if err != nil {
				t.Fatal(err)
			}
			if sum != int64(k+1) || len(keys) != 2 || keys[0].Key != "level" || keys[0].TotalValues != int64(k+1) {
				t.Errorf("issue %d: hours add up to %d, tags %+v; want %d and level counted %d", k, sum, keys, k+1, k+1)
			}
		}
	})
}

// TestCreateIssuesInABatch: new issues get consecutive short ids after the
// existing ones, their first_seen activity, and are found by hash; a hash
// already taken is refused and leaves nothing behind.
func TestCreateIssuesInABatch(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u, _ := s.CreateUser(ctx, "a@example.com", "", "h", false)
		org, _ := s.CreateOrganization(ctx, "acme", "", u.ID)
		p, _ := s.CreateProject(ctx, org.ID, "web", "")
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.CreateIssue(ctx, store.NewIssue{ProjectID: p.ID, GroupHash: "old", Title: "Old", SeenAt: now})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var ids map[string]int64
		err := s.InTx(ctx, func(tx *store.Tx) error {
			var err error
			ids, err = tx.CreateIssues(ctx, p.ID, []store.FirstSeen{
				{NewIssue: store.NewIssue{GroupHash: "x", Title: "X", Culprit: "main.x", Level: "error", Release: "1.0", SeenAt: now}, EventID: "ex"},
				{NewIssue: store.NewIssue{GroupHash: "y", Title: "Y", Level: "warning", SeenAt: now.Add(time.Second)}, EventID: "ey"},
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		found, err := s.IssueIDsByHash(ctx, p.ID, []string{"old", "x", "y", "nope"})
		if err != nil {
			t.Fatal(err)
		}
		if len(found) != 3 || found["x"] != ids["x"] || found["y"] != ids["y"] || found["nope"] != 0 {
			t.Fatalf("by hash %v, created %v", found, ids)
		}
		x, _ := s.IssueByID(ctx, ids["x"])
		y, _ := s.IssueByID(ctx, ids["y"])
		if x.ShortID() != "WEB-2" || y.ShortID() != "WEB-3" || x.Title != "X" || x.Culprit != "main.x" || x.FirstRelease != "1.0" ||
			y.Level != "warning" || !y.FirstSeen.Equal(now.Add(time.Second)) || !y.LastSeen.Equal(y.FirstSeen) {
			t.Errorf("created: %+v / %+v", x, y)
		}
		acts, err := s.Activities(ctx, ids["y"], 10)
		if err != nil || len(acts) != 1 || acts[0].Type != triage.ActivityFirstSeen || acts[0].Data["eventId"] != "ey" {
			t.Errorf("activities of Y: %+v, %v", acts, err)
		}
		err = s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.CreateIssues(ctx, p.ID, []store.FirstSeen{{NewIssue: store.NewIssue{GroupHash: "z", Title: "Z", SeenAt: now}},
				{NewIssue: store.NewIssue{GroupHash: "x", Title: "X again", SeenAt: now}}})
			return err
		})
		if triage.ErrorCode(err) != triage.ECONFLICT {
			t.Fatalf("a taken hash: %v, want ECONFLICT", err)
		}
		if found, _ := s.IssueIDsByHash(ctx, p.ID, []string{"z"}); len(found) != 0 {
			t.Error("the refused batch left an issue behind")
		}
	})
}

// TestCountBatch: a batch's tag and hour counts, written together, add up
// across batches, and only users new to an issue come back as gained,
// whatever else the batch carries (no hours, no users).
func TestCountBatch(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u, _ := s.CreateUser(ctx, "a@example.com", "", "h", false)
		org, _ := s.CreateOrganization(ctx, "acme", "", u.ID)
		p, _ := s.CreateProject(ctx, org.ID, "web", "")
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		at, hour := now.UnixMicro(), now.Unix()-now.Unix()%3600
		var a, b int64
		err := s.InTx(ctx, func(tx *store.Tx) error {
			ids, err := tx.CreateIssues(ctx, p.ID, []store.FirstSeen{
				{EventID: "e1", NewIssue: store.NewIssue{ProjectID: p.ID, GroupHash: "a", Title: "a", Level: "error", SeenAt: now}},
				{EventID: "e2", NewIssue: store.NewIssue{ProjectID: p.ID, GroupHash: "b", Title: "b", Level: "error", SeenAt: now}}})
			a, b = ids["a"], ids["b"]
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		tag := func(issue int64, key, value string, n, at int64) store.TagCount {
			return store.TagCount{IssueID: issue, Key: key, Value: value, N: n, First: at, Last: at}
		}
		for _, round := range []struct {
			tags  []store.TagCount
			hours []store.HourCount
			added map[int64]int64
		}{
			{[]store.TagCount{tag(a, "level", "error", 3, at), tag(a, "user", "id:1", 2, at), tag(a, "user", "id:2", 1, at), tag(b, "user", "id:1", 1, at)},
				[]store.HourCount{{IssueID: a, Hour: hour, N: 3}, {IssueID: b, Hour: hour, N: 1}}, map[int64]int64{a: 2, b: 1}},
			{[]store.TagCount{tag(a, "level", "error", 2, at+10), tag(a, "user", "id:1", 1, at-10), tag(a, "user", "id:3", 1, at+10)},
				[]store.HourCount{{IssueID: a, Hour: hour, N: 2}}, map[int64]int64{a: 1}},
			{[]store.TagCount{tag(b, "level", "warning", 1, at)}, nil, map[int64]int64{}},
			{nil, []store.HourCount{{IssueID: b, Hour: hour + 3600, N: 4}}, map[int64]int64{}},
		} {
			var added map[int64]int64
			err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				added, err = tx.CountBatch(ctx, round.tags, round.hours)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(added) != fmt.Sprint(round.added) {
				t.Errorf("users gained %v, want %v", added, round.added)
			}
		}
		keys, err := s.IssueTags(ctx, a, 10)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, k := range keys {
			for _, v := range k.TopValues {
				got[k.Key+"="+v.Value] = v.Count
				if k.Key == "user" && v.Value == "id:1" && (v.FirstSeen.UnixMicro() != at-10 || v.LastSeen.UnixMicro() != at+0) {
					t.Errorf("user id:1 seen %v to %v, want the earliest and latest sent", v.FirstSeen, v.LastSeen)
				}
			}
		}
		if want := map[string]int64{"level=error": 5, "user=id:1": 3, "user=id:2": 1, "user=id:3": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("issue a's tags %v, want %v", got, want)
		}
		trends, err := s.IssueHours(ctx, []int64{a, b}, now.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		sum := func(id int64) (n int64) {
			for _, c := range trends[id] {
				n += c
			}
			return n
		}
		if sum(a) != 5 || sum(b) != 5 {
			t.Errorf("hours add up to %d and %d, want 5 and 5", sum(a), sum(b))
		}
	})
}
