package issues

import (
	"context"
	"strconv"
	"time"

	"triage"
	"triage/internal/access"
	"triage/internal/store"
)

// Change is one effective change, whatever caused it: a person (Update)
// or new events (EventsArrived). Every subscriber gets the same value,
// inside the transaction that made the change (so a job a hook inserts is
// rolled back with the change).
type Change struct {
	Issue    *triage.Issue // after the change
	Activity *triage.Activity
	Origin   Origin
	// Transition is what the events did, for a change they caused (a
	// regression, the end of an ignore); nil for people's changes.
	Transition *Transition
	// Deleted says the issue is gone (Delete): Issue is what it was, and
	// Activity is nil; its messages and notifications went with it.
	Deleted bool
}

// Note is the text of a comment when the change is one (Comment): its
// Activity is of type triage.ActivityNote and the issue itself did not
// change. Subscribers that show the issue's state skip notes; one that
// posts to the issue's Slack threads would post the text.
func (c Change) Note() (text string, ok bool) {
	if c.Activity == nil || c.Activity.Type != triage.ActivityNote {
		return "", false
	}
	text, _ = c.Activity.Data["text"].(string)
	return text, true
}

// Origin is who made a change and from where.
type Origin struct {
	// Actor is who (a user, with their Slack user when they acted in
	// Slack; nobody for the system) and from where: web, api, slack or
	// system.
	Actor triage.Actor
	// SlackMessage is the Slack message a click came from, when it did:
	// the click rebuilds that message itself, so subscribers leave it out.
	SlackMessage *SlackMessage
}

// SlackMessage names one message Triage posted or unfurled in Slack.
type SlackMessage struct {
	IntegrationID int64
	Channel, TS   string
}

// Hook reacts to a change inside its transaction.
type Hook func(ctx context.Context, tx *store.Tx, c Change) error

// Service changes issues.
type Service struct {
	store *store.Store
	now   func() time.Time
	hooks []Hook
}

// New returns a Service over the store with an injected clock.
func New(s *store.Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, now: now}
}

// OnChange registers a hook; call it before serving.
func (s *Service) OnChange(h Hook) { s.hooks = append(s.hooks, h) }

// StatusChange asks for a new status. For StatusResolved, at most one of
// InNextRelease and InCurrentRelease; for StatusIgnored, at most one of
// Minutes, Count (optionally within WindowMinutes) and Until.
type StatusChange struct {
	Status           triage.Status
	InNextRelease    bool
	InCurrentRelease bool
	IgnoreMinutes    int64
	IgnoreCount      int64
	IgnoreWindow     int64
	IgnoreUntil      *time.Time
}

// Update is a request to change an issue; nil fields stay as they are.
type Update struct {
	Status *StatusChange
	// Assign, when set, assigns to *Assign.Assignee (nil: unassign).
	Assign *AssignChange
}

// AssignChange wraps the new assignee so that "unassign" and "unchanged" differ.
type AssignChange struct{ Assignee *triage.Assignee }

// Result is the issue after an update and the activity it wrote (empty when
// nothing changed).
type Result struct {
	Issue      *triage.Issue
	Activities []*triage.Activity
}

// Get returns the issue if the user may see it. It returns ENOTFOUND when
// the issue does not exist or belongs to an organization the user is not in,
// and EFORBIDDEN when the user is in the organization without access to the
// project.
func (s *Service) Get(ctx context.Context, userID, issueID int64) (*triage.Issue, error) {
	return s.authorize(ctx, s.store.Queries, userID, issueID, false)
}

// authorize reads the issue and checks that userID may see and change it,
// in one query; with lock (inside a transaction) the row stays locked.
func (s *Service) authorize(ctx context.Context, q *store.Queries, userID, issueID int64, lock bool) (*triage.Issue, error) {
	issue, acc, err := q.IssueForUser(ctx, issueID, userID, lock)
	if err != nil {
		return nil, err
	}
	return mayChange(issue, acc)
}

// mayChange is the access rule of Get and every change, on what the
// issue's read found: ENOTFOUND for someone outside the organization,
// EFORBIDDEN for a member without access to the project.
func mayChange(issue *triage.Issue, acc store.IssueAccess) (*triage.Issue, error) {
	if !acc.Member {
		return nil, triage.Errorf(triage.ENOTFOUND, "issue not found")
	}
	if !acc.Project {
		return nil, triage.Errorf(triage.EFORBIDDEN, "you do not have access to project %s", issue.ProjectSlug)
	}
	return issue, nil
}

// Update applies u to the issue as actor. It returns ENOTFOUND or EFORBIDDEN
// as Get does, and EINVALID for an assignee without access to the project,
// a team that does not own it, or a release option on a project without
// releases. Concurrent updates of one issue are serialised.
func (s *Service) Update(ctx context.Context, actor triage.Actor, issueID int64, u Update) (*Result, error) {
	return s.UpdateFrom(ctx, Origin{Actor: actor}, issueID, u)
}

// UpdateFrom is Update with the whole origin of the change (a click in
// Slack names the message it came from); it returns the same errors.
func (s *Service) UpdateFrom(ctx context.Context, origin Origin, issueID int64, u Update) (*Result, error) {
	actor := origin.Actor
	if actor.UserID == 0 {
		return nil, triage.Errorf(triage.EUNAUTHORIZED, "an issue change needs a user")
	}
	return s.change(ctx, u, func(tx *store.Tx) (Origin, *triage.Issue, error) {
		// One query locks the row and checks access: an action is a few
		// round trips in all, and a refusal holds the lock only until the
		// rollback.
		issue, err := s.authorize(ctx, tx.Queries, actor.UserID, issueID, true)
		return origin, issue, err
	})
}

// change validates u and applies it in one transaction to the issue that
// read returns, locked and checked, as the origin read names.
func (s *Service) change(ctx context.Context, u Update, read func(tx *store.Tx) (Origin, *triage.Issue, error)) (*Result, error) {
	if err := validate(u); err != nil {
		return nil, err
	}
	var res Result
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		origin, issue, err := read(tx)
		if err != nil {
			return err
		}
		acts, err := s.apply(ctx, tx, origin, issue, u)
		if err != nil {
			return err
		}
		res = Result{Issue: issue, Activities: acts}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// Locate is a change's first read, inside its transaction: who acts and
// from where, and the issue, locked as IssueForUser locks it, with the
// actor's access to it as that query reads it. A caller whose own lookup
// (a Slack workspace, the person's link) can travel in that same query
// saves a round trip per change; an error it returns ends the change
// unchanged and is returned as it is.
type Locate func(ctx context.Context, tx *store.Tx) (Origin, *triage.Issue, store.IssueAccess, error)

// UpdateLocated is UpdateFrom with the origin and the locked issue read by
// locate. The access rule is the same (ENOTFOUND, EFORBIDDEN as Get), and
// so are the other errors.
func (s *Service) UpdateLocated(ctx context.Context, locate Locate, u Update) (*Result, error) {
	return s.change(ctx, u, func(tx *store.Tx) (Origin, *triage.Issue, error) {
		origin, issue, acc, err := locate(ctx, tx)
		if err != nil {
			return origin, nil, err
		}
		if origin.Actor.UserID == 0 {
			return origin, nil, triage.Errorf(triage.EUNAUTHORIZED, "an issue change needs a user")
		}
		issue, err = mayChange(issue, acc)
		return origin, issue, err
	})
}

// apply makes u's changes to a locked issue, writes one activity per
// effective change and publishes each; issue is updated in place.
func (s *Service) apply(ctx context.Context, tx *store.Tx, origin Origin, issue *triage.Issue, u Update) ([]*triage.Activity, error) {
	var acts []*triage.Activity
	if u.Status != nil {
		a, err := s.applyStatus(ctx, tx, origin.Actor, issue, *u.Status)
		if err != nil {
			return nil, err
		}
		if a != nil {
			acts = append(acts, a)
		}
	}
	if u.Assign != nil {
		a, err := s.applyAssign(ctx, tx, origin.Actor, issue, u.Assign.Assignee)
		if err != nil {
			return nil, err
		}
		if a != nil {
			acts = append(acts, a)
		}
	}
	for _, a := range acts {
		if err := s.publish(ctx, tx, Change{Issue: issue, Activity: a, Origin: origin}); err != nil {
			return nil, err
		}
	}
	return acts, nil
}

func validate(u Update) error {
	if u.Status == nil {
		return nil
	}
	c := u.Status
	switch c.Status {
	case triage.StatusResolved:
		if c.InNextRelease && c.InCurrentRelease {
			return triage.Errorf(triage.EINVALID, "resolve in the next or in the current release, not both")
		}
	case triage.StatusIgnored:
		n := 0
		for _, set := range []bool{c.IgnoreMinutes > 0, c.IgnoreCount > 0, c.IgnoreUntil != nil} {
			if set {
				n++
			}
		}
		if n > 1 {
			return triage.Errorf(triage.EINVALID, "ignore for a duration, until a count, or until a time: one of them")
		}
		if c.IgnoreMinutes < 0 || c.IgnoreCount < 0 || c.IgnoreWindow < 0 {
			return triage.Errorf(triage.EINVALID, "ignore durations and counts must be positive")
		}
	case triage.StatusUnresolved:
	default:
		return triage.Errorf(triage.EINVALID, "unknown status %q: use resolved, resolvedInNextRelease, ignored or unresolved", c.Status)
	}
	return nil
}

func (s *Service) applyStatus(ctx context.Context, tx *store.Tx, actor triage.Actor, issue *triage.Issue, c StatusChange) (*triage.Activity, error) {
	now := s.now().UTC()
	details := triage.StatusDetails{}
	actType := ""
	data := map[string]any{}
	ignoreBase := issue.IgnoreBase
	switch c.Status {
	case triage.StatusResolved:
		actType = triage.ActivitySetResolved
		if c.InNextRelease || c.InCurrentRelease {
			current, err := tx.CurrentRelease(ctx, issue.ProjectID)
			if triage.ErrorCode(err) == triage.ENOTFOUND {
				return nil, triage.Errorf(triage.EINVALID, "project %s has no releases yet: resolve it without a release", issue.ProjectSlug)
			} else if err != nil {
				return nil, err
			}
			actType = triage.ActivitySetResolvedInRel
			if c.InNextRelease {
				details.InNextRelease = true
				// The next release is any first seen after this one.
				details.ReleaseAtResolve = current
				data["inNextRelease"] = true
				data["current"] = current
			} else {
				details.InRelease = current
				data["version"] = current
			}
		}
	case triage.StatusIgnored:
		actType = triage.ActivitySetIgnored
		switch {
		case c.IgnoreMinutes > 0:
			until := now.Add(time.Duration(c.IgnoreMinutes) * time.Minute)
			details.IgnoreMinutes, details.IgnoreUntil = c.IgnoreMinutes, &until
			data["ignoreDuration"] = c.IgnoreMinutes
		case c.IgnoreCount > 0:
			details.IgnoreCount, details.IgnoreWindow = c.IgnoreCount, c.IgnoreWindow
			ignoreBase = issue.TimesSeen
			data["ignoreCount"] = c.IgnoreCount
			if c.IgnoreWindow > 0 {
				data["ignoreWindow"] = c.IgnoreWindow
			}
		case c.IgnoreUntil != nil:
			until := c.IgnoreUntil.UTC()
			details.IgnoreUntil = &until
			data["ignoreUntil"] = until.Format(time.RFC3339)
		}
	case triage.StatusUnresolved:
		actType = triage.ActivitySetUnresolved
	}
	if issue.Status == c.Status && sameDetails(issue.StatusDetails, details, c) {
		return nil, nil
	}
	details.ActorID = actor.UserID
	a := &triage.Activity{IssueID: issue.ID, Type: actType, User: &triage.User{ID: actor.UserID}, Source: actor.Source, Data: data, CreatedAt: now}
	if actor.SlackUserID != "" {
		data["slackUser"] = actor.SlackUserID
	}
	if err := tx.SetIssueStatusLogged(ctx, issue.ID, c.Status, details, ignoreBase, a); err != nil {
		return nil, err
	}
	issue.Status, issue.StatusDetails, issue.IgnoreBase = c.Status, details, ignoreBase
	return a, nil
}

// sameDetails tells whether a requested status is the one the issue has:
// the same resolution, or the same kind and size of ignore. A relative
// ignore compares by its duration, not by the instant it ends.
func sameDetails(cur, next triage.StatusDetails, c StatusChange) bool {
	if cur.InNextRelease != next.InNextRelease || cur.InRelease != next.InRelease ||
		cur.IgnoreCount != next.IgnoreCount || cur.IgnoreWindow != next.IgnoreWindow ||
		cur.IgnoreMinutes != next.IgnoreMinutes {
		return false
	}
	if c.IgnoreUntil != nil {
		return cur.IgnoreUntil != nil && cur.IgnoreUntil.Equal(c.IgnoreUntil.UTC())
	}
	if c.IgnoreMinutes == 0 && cur.IgnoreMinutes == 0 {
		return (cur.IgnoreUntil == nil) == (next.IgnoreUntil == nil)
	}
	return true
}

func (s *Service) applyAssign(ctx context.Context, tx *store.Tx, actor triage.Actor, issue *triage.Issue, to *triage.Assignee) (*triage.Activity, error) {
	if sameAssignee(issue.Assignee, to) {
		return nil, nil
	}
	data := map[string]any{}
	actType := triage.ActivityUnassigned
	if to != nil {
		actType = triage.ActivityAssigned
		switch to.Type {
		case "user":
			u, err := tx.UserByID(ctx, to.ID)
			if triage.ErrorCode(err) == triage.ENOTFOUND {
				return nil, triage.Errorf(triage.EINVALID, "cannot assign to user %d: no such user", to.ID)
			} else if err != nil {
				return nil, err
			}
			// internal/access decides who may see a project; it reads
			// through this transaction, so it sees what the change sees.
			ok, err := access.New(tx.Queries).CanSeeProject(ctx, u.ID, issue.ProjectID)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, triage.Errorf(triage.EINVALID, "cannot assign to %s: they have no access to project %s", u.Email, issue.ProjectSlug)
			}
			data["assignee"], data["assigneeType"], data["assigneeEmail"], data["assigneeName"] = strconv.FormatInt(u.ID, 10), "user", u.Email, u.DisplayName()
		case "team":
			t, err := tx.TeamByID(ctx, to.ID)
			if triage.ErrorCode(err) == triage.ENOTFOUND || (err == nil && t.OrgID != issue.OrgID) {
				return nil, triage.Errorf(triage.EINVALID, "cannot assign to team %d: no such team", to.ID)
			} else if err != nil {
				return nil, err
			}
			teams, err := tx.TeamsForProject(ctx, issue.ProjectID)
			if err != nil {
				return nil, err
			}
			owns := false
			for _, pt := range teams {
				owns = owns || pt.ID == t.ID
			}
			if !owns {
				return nil, triage.Errorf(triage.EINVALID, "cannot assign to #%s: the team does not own project %s", t.Slug, issue.ProjectSlug)
			}
			data["assignee"], data["assigneeType"], data["assigneeName"] = strconv.FormatInt(t.ID, 10), "team", t.Slug
		default:
			return nil, triage.Errorf(triage.EINVALID, "invalid assignee type %q", to.Type)
		}
	}
	if err := tx.SetIssueAssignee(ctx, issue.ID, to); err != nil {
		return nil, err
	}
	if to == nil {
		issue.Assignee = nil
	} else {
		issue.Assignee = &triage.Assignee{Type: to.Type, ID: to.ID, Name: data["assigneeName"].(string)}
	}
	if actor.SlackUserID != "" {
		data["slackUser"] = actor.SlackUserID
	}
	a := &triage.Activity{IssueID: issue.ID, Type: actType, User: &triage.User{ID: actor.UserID}, Source: actor.Source, Data: data, CreatedAt: s.now().UTC()}
	if err := tx.AddActivity(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

func sameAssignee(a, b *triage.Assignee) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Type == b.Type && a.ID == b.ID
}

// List returns the issues of an organization that the user may see.
func (s *Service) List(ctx context.Context, userID int64, f triage.IssueFilter) ([]*triage.Issue, error) {
	if _, err := s.store.Member(ctx, f.OrgID, userID); err != nil {
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			return nil, triage.Errorf(triage.ENOTFOUND, "organization not found")
		}
		return nil, err
	}
	f.UserID = userID
	return s.store.Issues(ctx, f)
}

// Activity returns the issue's log, newest first, if the user may see it.
func (s *Service) Activity(ctx context.Context, userID, issueID int64) ([]*triage.Activity, error) {
	if _, err := s.Get(ctx, userID, issueID); err != nil {
		return nil, err
	}
	return s.store.Activities(ctx, issueID, 200)
}
