package alert

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"triage"
	"triage/internal/mail"
	"triage/internal/store"
)

// Email actions. A rule whose action is "email" writes to people instead
// of a Slack channel: every member of the project's teams, or named
// members, and only those who may see the project (checked when the rule
// fires and again when each email is sent). It fires like any rule (the
// same conditions and per-issue throttle); each recipient's email is a row
// of alert_emails and a mail.send job in the evaluation's transaction, sent
// by internal/mail's few workers (so a burst queues instead of flooding
// the mail server). A permanent failure marks the rule broken with the
// reason, as Slack's errors do, and the next email that goes out marks it
// ok again.

// MailKind is the kind of the alert emails (internal/mail).
const MailKind = "alert"

// FrameReader reads the stack frames of an issue's latest event for the
// email; *eventview.View is one.
type FrameReader interface {
	LatestFrames(ctx context.Context, issue *triage.Issue, n int) ([]string, error)
}

// emailFrames is how many stack frames an alert email shows.
const emailFrames = 8

// MailConfigured tells whether rules may email (TRIAGE_SMTP_URL is set).
func (s *Service) MailConfigured() bool { return s.mail.Configured() }

// recipients lists whom the email rule writes to, among those who may see
// its project.
func (s *Service) recipients(ctx context.Context, r *triage.AlertRule) ([]*triage.User, error) {
	var users []*triage.User
	var err error
	switch r.Target {
	case triage.AlertTargetTeams:
		users, err = s.store.ProjectTeamMembers(ctx, r.ProjectID)
	case triage.AlertTargetMembers:
		var all []*triage.User
		all, err = s.store.UsersWithProjectAccess(ctx, r.ProjectID)
		for _, u := range all {
			if slices.Contains(r.EmailUserIDs, u.ID) {
				users = append(users, u)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	out := users[:0]
	for _, u := range users {
		ok, err := s.acc.CanSeeProject(ctx, u.ID, r.ProjectID)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, u)
		}
	}
	return out, nil
}

// queueEmails records and queues the emails of the fired email rules, in
// the evaluation's transaction.
func (s *Service) queueEmails(ctx context.Context, tx *store.Tx, issueID int64, cause string, rules []*triage.AlertRule, to map[int64][]*triage.User) error {
	for _, r := range rules {
		users := to[r.ID]
		if len(users) == 0 {
			continue
		}
		if !s.mail.Configured() {
			if _, err := tx.SetAlertActionStatus(ctx, r.ID, triage.AlertActionBroken, "email_not_configured"); err != nil {
				return err
			}
			continue
		}
		ids := make([]int64, len(users))
		for k, u := range users {
			ids[k] = u.ID
		}
		rows, err := tx.CreateAlertEmails(ctx, r.ID, issueID, cause, ids)
		if err != nil {
			return err
		}
		for _, u := range users {
			if id := rows[u.ID]; id != 0 {
				if err := s.mail.Send(ctx, tx, MailKind, id, u.Email); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

var alertEmail = mail.MustTemplate(
	`[{{.Project}}] {{.ShortID}}: {{.Title}}`,
	`{{.What}} in {{.Project}} ({{.Org}}), rule “{{.Rule}}”:

{{.ShortID}}  {{.Title}}
{{with .Culprit}}{{.}}
{{end}}
Level {{.Level}}, {{.Status}}. {{.Events}} in total, {{.Users}}.
First seen {{.FirstSeen}}, last seen {{.LastSeen}}.
{{with .Frames}}
Latest stack frames, newest call first:
{{range .}}  {{.}}
{{end}}{{end}}
Open the issue:
{{.URL}}

You receive this because you can see {{.Project}} and the rule writes to {{.Whom}}.
`,
	`<p>{{.What}} in <strong>{{.Project}}</strong> ({{.Org}}), rule “{{.Rule}}”:</p>
<h2 style="font-size: 18px; margin: 8px 0"><a href="{{.URL}}" id="issue-link">{{.ShortID}}</a> {{.Title}}</h2>
{{with .Culprit}}<p style="color: #59636e; margin-top: 0" id="culprit">{{.}}</p>{{end}}
<p id="counts">Level {{.Level}}, {{.Status}}. {{.Events}} in total, {{.Users}}.<br>First seen {{.FirstSeen}}, last seen {{.LastSeen}}.</p>
{{with .Frames}}<p style="margin-bottom: 4px">Latest stack frames, newest call first:</p>
<pre id="frames" style="background: #f6f8fa; padding: 8px; border-radius: 6px; font-size: 13px; overflow-x: auto">{{range .}}{{.}}
{{end}}</pre>{{end}}
<p><a href="{{.URL}}" style="display: inline-block; padding: 8px 16px; background: #1f6feb; color: #fff; border-radius: 6px; text-decoration: none">Open the issue</a></p>
<p style="color: #59636e; font-size: 13px">You receive this because you can see {{.Project}} and the rule writes to {{.Whom}}.</p>`)

var _ mail.Composer = (*Service)(nil)

// Compose writes the alert email of one alert_emails row. A rule, issue or
// recipient gone since, or a recipient who lost access to the project,
// cancels the email (ENOTFOUND: nothing is sent).
func (s *Service) Compose(ctx context.Context, ref int64, to string) (mail.Message, error) {
	e, err := s.store.AlertEmail(ctx, ref)
	if err != nil {
		return mail.Message{}, err
	}
	if e.Status != triage.NotificationPending {
		return mail.Message{}, triage.Errorf(triage.ENOTFOUND, "alert email %d is %s", ref, e.Status)
	}
	cancel := func(reason string) (mail.Message, error) {
		if _, err := s.store.FinishAlertEmail(ctx, e.ID, triage.NotificationCancelled, reason); err != nil {
			return mail.Message{}, err
		}
		return mail.Message{}, triage.Errorf(triage.ENOTFOUND, "alert email %d cancelled: %s", ref, reason)
	}
	if e.RuleID == 0 {
		return cancel("rule_deleted")
	}
	rule, err := s.store.AlertRuleByID(ctx, e.RuleID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return cancel("rule_deleted")
	} else if err != nil {
		return mail.Message{}, err
	}
	u, err := s.store.UserByID(ctx, e.UserID)
	if err != nil {
		return mail.Message{}, err
	}
	if u.Email != to {
		return cancel("address_changed")
	}
	issue, err := s.store.IssueByID(ctx, e.IssueID)
	if err != nil {
		return mail.Message{}, err
	}
	if ok, err := s.acc.CanSeeProject(ctx, u.ID, issue.ProjectID); err != nil {
		return mail.Message{}, err
	} else if !ok {
		return cancel("no_access")
	}
	org, err := s.store.OrganizationByID(ctx, issue.OrgID)
	if err != nil {
		return mail.Message{}, err
	}
	var frames []string
	if s.frames != nil {
		if frames, err = s.frames.LatestFrames(ctx, issue, emailFrames); err != nil {
			s.log.Warn("alert email without stack frames", "issue_id", issue.ID, "err", err)
			frames = nil
		}
	}
	what := "A new issue"
	switch {
	case strings.HasPrefix(e.Cause, string(TriggerRegressed)+":"):
		what = "A regression"
	case strings.HasPrefix(e.Cause, string(TriggerEvent)+":"):
		what = "An issue"
	}
	whom := "the project's teams"
	if rule.Target == triage.AlertTargetMembers {
		whom = "named members"
	}
	return alertEmail.Render(to, map[string]any{
		"What": what, "Project": issue.ProjectSlug, "Org": org.Name, "Rule": rule.Name, "ShortID": issue.ShortID(),
		"Title": issue.Title, "Culprit": issue.Culprit, "Level": issue.Level, "Status": string(issue.Status),
		"Events": plural(issue.TimesSeen, "event"), "Users": plural(issue.UserCount, "user") + " affected",
		"FirstSeen": issue.FirstSeen.UTC().Format("2006-01-02 15:04 UTC"), "LastSeen": issue.LastSeen.UTC().Format("2006-01-02 15:04 UTC"),
		"Frames": frames, "URL": s.urlPrefix + issue.Path(), "Whom": whom,
	})
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// Failed records that an alert email will never go out: on its row, and
// on the rule (broken, with the reason), as a Slack failure does.
func (s *Service) Failed(ctx context.Context, ref int64, _ string, reason string) error {
	e, err := s.store.AlertEmail(ctx, ref)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.FinishAlertEmail(ctx, e.ID, triage.NotificationFailed, reason); err != nil {
			return err
		}
		if e.RuleID == 0 {
			return nil
		}
		changed, err := tx.SetAlertActionStatus(ctx, e.RuleID, triage.AlertActionBroken, reason)
		if changed {
			s.log.Warn("alert rule broken: its email could not be sent", "rule_id", e.RuleID, "reason", reason)
		}
		s.metrics.result(resultFailed)
		s.metrics.failure(reason)
		return err
	})
}

// Sent records an alert email delivered and the rule's action ok.
func (s *Service) Sent(ctx context.Context, ref int64, _ string) error {
	e, err := s.store.AlertEmail(ctx, ref)
	if err != nil {
		return err
	}
	s.metrics.result(resultEmailed)
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.FinishAlertEmail(ctx, e.ID, triage.NotificationDelivered, ""); err != nil {
			return err
		}
		if e.RuleID == 0 {
			return nil
		}
		_, err := tx.SetAlertActionStatus(ctx, e.RuleID, triage.AlertActionOK, "")
		return err
	})
}

// emailHint says what an admin can do about a broken email action.
func emailHint(reason string) string {
	switch {
	case reason == "email_not_configured":
		return "Email is not configured on this server (TRIAGE_SMTP_URL): set it, or post to a Slack channel instead."
	case reason == "retries_exhausted":
		return "The mail server did not accept the email for hours: check that it is up and that TRIAGE_SMTP_URL is right."
	case strings.HasPrefix(reason, "smtp_5"):
		return "The mail server refused the email (" + reason + "): check the recipients' addresses, the sender TRIAGE_EMAIL_FROM and the credentials in TRIAGE_SMTP_URL."
	case reason == "bad_recipient", reason == "bad_sender":
		return "An address is not valid (" + reason + "): check the members' emails and TRIAGE_EMAIL_FROM."
	}
	return ""
}
