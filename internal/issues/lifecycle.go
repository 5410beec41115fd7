package issues

import (
	"context"
	"fmt"
	"time"

	"triage"
	"triage/internal/store"
)

// Arrival is one event stored for the first time, as the lifecycle sees it.
type Arrival struct {
	EventID string
	Release string
}

// TransitionKind is what new events did to an issue.
type TransitionKind string

const (
	// Regressed: a resolved issue received an event its resolution does
	// not cover.
	Regressed TransitionKind = "regressed"
	// Unignored: an ignore ran out (its time passed, or its count was
	// reached) and an event arrived.
	Unignored TransitionKind = "unignored"
)

// Transition is what an issue's new events did to it: it is unresolved
// again, because of Event.
type Transition struct {
	Kind  TransitionKind
	Event Arrival
	// Reason is the unignore's: "ignoreUntil" (a time or a duration ran
	// out) or "ignoreCount".
	Reason string
	// Ignore is the ignore that ended (the reopen clears it), so that
	// subscribers can say what it was.
	Ignore triage.StatusDetails
}

// Activity is the entry the transition writes in the issue's log.
func (t *Transition) Activity(issueID int64) *triage.Activity {
	a := &triage.Activity{IssueID: issueID, Source: triage.SourceSystem}
	switch t.Kind {
	case Regressed:
		a.Type = triage.ActivitySetRegression
		a.Data = map[string]any{"version": t.Event.Release, "eventId": t.Event.EventID}
	case Unignored:
		a.Type = triage.ActivitySetUnresolved
		a.Data = map[string]any{"reason": t.Reason}
	}
	return a
}

// Releases answers when a project first saw a release; *store.Tx is one.
// ReleaseFirstSeen returns ENOTFOUND for a release never seen.
type Releases interface {
	ReleaseFirstSeen(ctx context.Context, projectID int64, version string) (int64, error)
}

// Decide is the one rule for what new events do to an issue. st is the
// issue's state before they were counted, fresh the events stored for the
// first time (in the order they came), at the time they arrived. A
// resolved issue regresses on the first event its resolution does not
// cover; an ignore ends when its time has passed or its count is reached;
// anything else stays as it is (nil). It reads releases only for a
// resolution in a release.
func Decide(ctx context.Context, rel Releases, st *store.IssueState, fresh []Arrival, at time.Time) (*Transition, error) {
	if len(fresh) == 0 {
		return nil, nil
	}
	switch st.Status {
	case triage.StatusResolved:
		for _, e := range fresh {
			ok, err := covered(ctx, rel, st, e.Release)
			if err != nil {
				return nil, err
			}
			if !ok {
				return &Transition{Kind: Regressed, Event: e}, nil
			}
		}
	case triage.StatusIgnored:
		d := st.StatusDetails
		expired := d.IgnoreUntil != nil && at.After(*d.IgnoreUntil)
		counted := d.IgnoreCount > 0 && st.TimesSeen+int64(len(fresh))-st.IgnoreBase >= d.IgnoreCount
		if !expired && !counted {
			return nil, nil
		}
		reason := "ignoreUntil"
		if counted {
			reason = "ignoreCount"
		}
		return &Transition{Kind: Unignored, Event: fresh[len(fresh)-1], Reason: reason, Ignore: d}, nil
	}
	return nil, nil
}

// covered tells whether a resolution in a release covers an event of
// release rel: the event's release is the resolving one or older (first
// seen no later).
func covered(ctx context.Context, rel Releases, st *store.IssueState, version string) (bool, error) {
	d := st.StatusDetails
	anchor := d.InRelease
	if d.InNextRelease {
		anchor = d.ReleaseAtResolve
	}
	if anchor == "" || version == "" {
		return false, nil
	}
	if version == anchor {
		return true, nil
	}
	relAt, err := rel.ReleaseFirstSeen(ctx, st.ProjectID, version)
	if err != nil {
		return false, err
	}
	anchorAt, err := rel.ReleaseFirstSeen(ctx, st.ProjectID, anchor)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return relAt <= anchorAt, nil
}

// EventsArrived applies, inside the event writer's transaction, what an
// issue's new events decide (Decide): it reopens the issue, writes the
// activity and hands the change to every subscriber, as Update does for
// people's changes. st is the issue's state before the events were
// counted, at when they arrived. It returns the transition, nil when
// nothing changed.
func (s *Service) EventsArrived(ctx context.Context, tx *store.Tx, issueID int64, st *store.IssueState, fresh []Arrival, at time.Time) (*Transition, error) {
	t, err := Decide(ctx, tx, st, fresh, at)
	if err != nil || t == nil {
		return nil, err
	}
	a := t.Activity(issueID)
	if err := tx.SetIssueStatusLogged(ctx, issueID, triage.StatusUnresolved, triage.StatusDetails{}, 0, a); err != nil {
		return nil, err
	}
	if len(s.hooks) == 0 {
		return t, nil
	}
	issue, err := tx.IssueByID(ctx, issueID)
	if err != nil {
		return nil, err
	}
	if err := s.publish(ctx, tx, Change{Issue: issue, Activity: a, Origin: Origin{Actor: triage.Actor{Source: triage.SourceSystem}}, Transition: t}); err != nil {
		return nil, err
	}
	return t, nil
}

// publish hands one change to every subscriber, in the change's
// transaction.
func (s *Service) publish(ctx context.Context, tx *store.Tx, c Change) error {
	for _, h := range s.hooks {
		if err := h(ctx, tx, c); err != nil {
			return fmt.Errorf("issue change hook: %w", err)
		}
	}
	return nil
}
