package alert

import (
	"context"
	"time"

	"triage"
	"triage/internal/jobs"
	"triage/internal/store"
)

// HandleCreated evaluates the rules about new issues.
func (s *Service) HandleCreated(ctx context.Context, a jobs.IssueCreated) error {
	return s.evaluate(ctx, TriggerCreated, a.IssueID, a.EventID, batch{At: a.At, n: max(a.TimesSeen, 1)})
}

// HandleRegressed evaluates the rules about regressions. (The cards the
// issue already has hear of it through OnIssueChange, in the transaction
// that stored the event.)
func (s *Service) HandleRegressed(ctx context.Context, a jobs.IssueRegressed) error {
	return s.evaluate(ctx, TriggerRegressed, a.IssueID, a.EventID, batch{n: 1})
}

// HandleEvent evaluates the rules about any event (frequency, level,
// environment) once per batch of events of an issue, against the issue as
// the batch left it.
func (s *Service) HandleEvent(ctx context.Context, a jobs.EventReceived) error {
	return s.evaluate(ctx, TriggerEvent, a.IssueID, a.EventID, batch{At: a.At, n: a.Count})
}

// batch is the events a trigger is about: n of them, the last the issue's
// At.TimesSeen-th (zero in a job queued before jobs said so).
type batch struct {
	jobs.At
	n int64
}

type target struct {
	integrationID int64
	channelID     string
}

// evaluate checks the project's rules against one trigger (in its turn:
// Options.Evaluations) and, in one transaction, takes each matching rule's
// throttle, records a notification and queues the job that delivers them
// (alert.notify for one, alert.deliver for several). Running it twice for the same trigger
// queues nothing new: the throttle, or the notification's unique cause,
// stops it.
func (s *Service) evaluate(ctx context.Context, trig Trigger, issueID int64, eventID string, b batch) error {
	end, err := s.evaluations.Take(ctx)
	if err != nil {
		return err
	}
	defer end()
	issue, err := s.store.IssueByID(ctx, issueID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil // deleted since
	} else if err != nil {
		return err
	}
	rules, err := s.store.ProjectNotifiers(ctx, issue.ProjectID)
	if err != nil {
		return err
	}
	if b.Level != "" {
		at := *issue
		at.Level = b.Level
		issue = &at
	}
	matched, err := s.match(ctx, trig, issue, eventID, rules, b)
	if err != nil {
		return err
	}
	if len(matched) == 0 {
		return nil
	}
	cause := string(trig) + ":" + eventID
	dests, err := s.destinations(ctx, issue, matched, cause)
	if err != nil || len(dests) == 0 {
		return err
	}
	now := s.now()
	// Email rules: whom each writes to, read before the transaction.
	emailTo := map[int64][]*triage.User{}
	for _, r := range matched {
		if r.ActionType == triage.AlertActionEmail {
			users, err := s.recipients(ctx, r)
			if err != nil {
				return err
			}
			emailTo[r.ID] = users
		}
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		// Two rules posting to one channel: one message.
		seen := map[target]bool{}
		throttles := map[int64]time.Duration{}
		var chosen []destination
		for _, d := range dests {
			if !seen[d.target] {
				seen[d.target] = true
				throttles[d.rule.ID] = time.Duration(d.rule.ThrottleMinutes) * time.Minute
				chosen = append(chosen, d)
			}
		}
		fired, err := tx.FireAlerts(ctx, issue.ID, now, throttles)
		if err != nil {
			return err
		}
		// Rules that post to one channel share a statement; a rule that
		// posts to its project's teams' channels records one notification
		// per channel (each cause names its channel). Email rules queue
		// their emails.
		batches := [][]*triage.AlertNotification{nil}
		var emails []*triage.AlertRule
		for _, d := range chosen {
			switch {
			case !fired[d.rule.ID]:
				continue
			case d.rule.ActionType == triage.AlertActionEmail:
				emails = append(emails, d.rule)
				continue
			}
			n := &triage.AlertNotification{RuleID: d.rule.ID, IssueID: issue.ID, Cause: d.cause,
				IntegrationID: d.target.integrationID, ChannelID: d.target.channelID}
			if d.rule.Target == triage.AlertTargetTeam {
				batches = append(batches, []*triage.AlertNotification{n})
			} else {
				batches[0] = append(batches[0], n)
			}
		}
		if err := s.queueEmails(ctx, tx, issue.ID, cause, emails, emailTo); err != nil {
			return err
		}
		var ids []int64
		for _, ns := range batches {
			// The first notification about the issue in a channel claims
			// its card; every later one (here or in another process)
			// replies in its thread.
			created, err := tx.CreateNotificationsAndClaim(ctx, ns)
			if err != nil {
				return err
			}
			for _, n := range ns {
				if id := created[n.RuleID]; id != 0 {
					ids = append(ids, id)
				}
			}
		}
		// One job delivers them all (DeliverArgs): an alert to twenty
		// channels is one job, not twenty.
		if len(ids) == 0 {
			return nil
		}
		return s.jobs.InsertMany(ctx, tx, s.notifyJobs(ids))
	})
}

// destination is one channel a matched rule posts to, with the cause its
// notification records there.
type destination struct {
	rule   *triage.AlertRule
	target target
	cause  string
}

// destinations lists where the matched rules post: a rule's channel, or
// for a rule with the team target the channel linked to each team that
// owns the project in the rule's workspace (none linked: nowhere). An
// email rule is a destination of its own (its recipients are read
// apart).
func (s *Service) destinations(ctx context.Context, issue *triage.Issue, matched []*triage.AlertRule, cause string) ([]destination, error) {
	var out []destination
	for _, r := range matched {
		if r.ActionType == triage.AlertActionEmail {
			// Each email rule writes its own emails.
			out = append(out, destination{rule: r, target: target{-r.ID, ""}, cause: cause})
			continue
		}
		if r.Target != triage.AlertTargetTeam {
			out = append(out, destination{rule: r, target: target{r.IntegrationID, r.ChannelID}, cause: cause})
			continue
		}
		chans, err := s.store.ProjectTeamChannels(ctx, issue.ProjectID, r.IntegrationID)
		if err != nil {
			return nil, err
		}
		for _, tc := range chans {
			out = append(out, destination{rule: r, target: target{tc.IntegrationID, tc.ChannelID}, cause: cause + "@" + tc.ChannelID})
		}
	}
	return out, nil
}

// match returns the rules whose conditions all hold.
func (s *Service) match(ctx context.Context, trig Trigger, issue *triage.Issue, eventID string, rules []*triage.AlertRule, b batch) ([]*triage.AlertRule, error) {
	var env *string
	facts := Facts{Trigger: trig, Issue: issue, RecentEvents: func(window time.Duration, limit int64) (int64, int64, error) {
		return s.recentEvents(ctx, issue.ID, b, window, limit)
	}}
	var out []*triage.AlertRule
	for _, r := range rules {
		if r.Kind == triage.AlertRuleKindSubscription {
			ok, err := s.subscriptionMatches(ctx, trig, issue, r)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, r)
			}
			continue
		}
		c, err := decodeConditions(r.Conditions)
		if err != nil {
			s.log.Error("alert rule has unreadable conditions", "rule_id", r.ID, "err", err)
			continue
		}
		if c.listensTo() != trig {
			continue
		}
		if c.Environment != "" && env == nil {
			e, err := s.store.EventEnvironment(ctx, issue.ProjectID, eventID)
			if err != nil {
				return nil, err
			}
			env = &e
		}
		if env != nil {
			facts.Environment = *env
		}
		ok, err := c.Matches(facts)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// recentEvents counts the issue's events in the window that ends at the
// batch's newest event, without the batch and with it, each exact up to
// limit, whatever arrived since.
//
// The batch's events are the issue's TimesSeen-n+1-th to TimesSeen-th
// (the count is taken under the issue's row lock), and every event counted
// after them arrived later, so inside the window: one snapshot of the
// count and of the window's events, less the events counted since, is the
// window as it was at the batch. The window's events are counted up to a
// bound that covers those later events; when more arrived between the two
// reads than the margin allows, it reads again.
func (s *Service) recentEvents(ctx context.Context, issueID int64, b batch, window time.Duration, limit int64) (int64, int64, error) {
	if b.TimesSeen == 0 {
		// A job queued before jobs carried the batch: the issue now.
		n, err := s.store.CountRecentEvents(ctx, issueID, s.now().Add(-window), limit+b.n)
		return max(n-b.n, 0), min(n, limit), err
	}
	since := b.ReceivedAt.Add(-window)
	later, margin := int64(0), int64(64)
	for {
		bound := limit + b.n + later + margin
		seen, n, err := s.store.EventsSince(ctx, issueID, since, bound)
		if err != nil {
			return 0, 0, err
		}
		later = max(seen-b.TimesSeen, 0)
		after := n - later
		if n < bound || after >= limit+b.n {
			// Exact, or enough to know that the window held limit events
			// before the batch.
			return min(max(after-b.n, 0), limit), min(max(after, 0), limit), nil
		}
		margin *= 4
	}
}

// eventRulesTTL is how long WantsEventJobs trusts what it read: a rule
// created in another process takes effect within it.
const eventRulesTTL = 10 * time.Second

type eventRules struct {
	events  bool // some rule listens to every batch of events
	created bool // some rule listens to new issues
	at      time.Time
}

// WantsEventJobs tells the event writer whether a project has a rule that
// looks at every batch of events (one without "new issue" or
// "regression"): without one, event.received jobs would do nothing. For
// eventwriter.EventJobFilter.
func (s *Service) WantsEventJobs(ctx context.Context, projectID int64) (bool, error) {
	r, err := s.projectTriggers(ctx, projectID)
	return r.events, err
}

// WantsCreatedJobs tells the event writer whether a project has a rule
// about new issues: without one, issue.created jobs would do nothing. For
// eventwriter.CreatedJobFilter. (issue.regressed jobs are always
// published: they are rare.)
func (s *Service) WantsCreatedJobs(ctx context.Context, projectID int64) (bool, error) {
	r, err := s.projectTriggers(ctx, projectID)
	return r.created, err
}

func (s *Service) projectTriggers(ctx context.Context, projectID int64) (eventRules, error) {
	now := s.now()
	s.eventMu.Lock()
	e, ok := s.eventRules[projectID]
	s.eventMu.Unlock()
	if ok && now.Sub(e.at) < eventRulesTTL {
		return e, nil
	}
	rules, err := s.store.ProjectNotifiers(ctx, projectID)
	if err != nil {
		return eventRules{events: true, created: true}, err
	}
	e = eventRules{at: now}
	for _, r := range rules {
		if r.Kind == triage.AlertRuleKindSubscription {
			e.created = true // new and regressed issues
			continue
		}
		c, err := decodeConditions(r.Conditions)
		if err != nil {
			continue
		}
		switch c.listensTo() {
		case TriggerEvent:
			e.events = true
		case TriggerCreated:
			e.created = true
		}
	}
	s.eventMu.Lock()
	s.eventRules[projectID] = e
	s.eventMu.Unlock()
	return e, nil
}

// forgetEventRules makes WantsEventJobs read the project's rules again
// (after a change in this process).
func (s *Service) forgetEventRules(projectID int64) {
	s.eventMu.Lock()
	delete(s.eventRules, projectID)
	s.eventMu.Unlock()
}
