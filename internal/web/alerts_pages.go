package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"triage"
	"triage/internal/access"
	"triage/internal/alert"
)

// Alert rule pages, for owners and admins of the organization:
//
//	GET|POST  /organizations/{org}/settings/alerts/new/
//	GET|POST  /organizations/{org}/settings/alerts/{id}/
//	POST      /organizations/{org}/settings/alerts/{id}/delete/  (confirm=yes deletes)
//
// Saving goes through the alert.Service methods the API uses, so both
// check the same permissions and validate the same way. A refused field
// is shown next to its input, and the form keeps what the user typed.

// maxRuleForm bounds a rule form's body.
const maxRuleForm = 64 << 10

// ruleForm is the rule form as typed: numbers stay strings, so that a
// refused value comes back exactly as it was entered.
type ruleForm struct {
	Project     string
	Name        string
	FirstSeen   bool
	Regression  bool
	FreqCount   string
	FreqMinutes string
	Level       string
	Environment string
	Integration string // a workspace id
	Channel     string // picked from the list: "<workspace id>:<channel id>"
	ChannelID   string // typed: a channel id or #name; wins over Channel
	// TeamTarget posts to the channel linked to each team that owns the
	// project (/triage link team) instead of Channel.
	TeamTarget bool
	Throttle   string
	Thread     bool
	// Action is "slack" or "email"; an email action writes to EmailTarget
	// ("teams" or "members": the ids in EmailUsers).
	Action      string
	EmailTarget string
	EmailUsers  []string
}

// ruleFormFields are the service's field names the form shows an error
// next to, with the label that starts a reason such as "is required"; an
// error on any other field goes above the form.
var ruleFormFields = map[string]string{
	"project": "Project", "name": "Name", "conditions.regression": "Conditions",
	"conditions.frequency.count": "The count", "conditions.frequency.minutes": "The minutes",
	"conditions.level": "The level", "conditions.environment": "The environment",
	"action.integrationId": "The workspace", "action.channel": "The channel", "throttleMinutes": "The throttle",
	"action.type": "The action", "action.target": "Whom to email", "action.userIds": "The members",
}

// fieldMessage makes a field error a sentence: "Name is required", or
// the reason itself when it names what is wrong ("#ops is archived: …").
func fieldMessage(label, reason string) string {
	if strings.HasPrefix(reason, "is ") || strings.HasPrefix(reason, "must ") {
		reason = label + " " + reason
	} else if r, n := utf8.DecodeRuneInString(reason); n > 0 {
		reason = string(unicode.ToUpper(r)) + reason[n:]
	}
	if !strings.HasSuffix(reason, ".") {
		reason += "."
	}
	return reason
}

type formOption struct {
	Value, Label string
	Selected     bool
}

type ruleWorkspace struct {
	ID, Name string
	Status   string // "" when active, else why rules cannot use it
	Selected bool
	Channels []formOption
}

type ruleFormPage struct {
	Form ruleForm
	// Errors holds the field error by the service's field name.
	Errors     map[string]string
	Edit       bool
	RuleName   string
	ActionURL  string
	DeleteURL  string
	ListURL    string
	Projects   []formOption
	Levels     []formOption
	Workspaces []ruleWorkspace
	// Notes say why a channel list is short or missing; Hint how to get a
	// channel that is not listed.
	Notes       []string
	Hint        string
	SettingsURL string
	// MailConfigured: email actions can be chosen; Members are whom one
	// may name.
	MailConfigured bool
	Members        []formOption
	// fresh: the form was not submitted yet, so a lone project or
	// workspace is picked for the user.
	fresh bool
}

func alertsURL(org *triage.Organization) string {
	return "/organizations/" + org.Slug + "/settings/alerts/"
}

func (s *Server) handleRuleNew() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org, ok := s.ruleAdmin(w, r)
		if !ok {
			return
		}
		p := &ruleFormPage{ActionURL: alertsURL(org) + "new/",
			Form: ruleForm{Throttle: strconv.Itoa(alert.DefaultThrottle), Thread: true}}
		if r.Method != http.MethodPost {
			p.fresh = true
			s.showRuleForm(w, r, org, http.StatusOK, p, "")
			return
		}
		if !s.readRuleForm(w, r, org, p) {
			return
		}
		in, err := p.Form.input()
		if err == nil && strings.TrimSpace(p.Form.Project) == "" {
			err = &alert.FieldError{Field: "project", Reason: "is required: pick a project"}
		}
		var rule *alert.Rule
		if err == nil {
			rule, err = s.d.Alerts.CreateRule(r.Context(), CurrentUser(r).ID, org.Slug, p.Form.Project, in)
		}
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			// The organization and membership were checked: the project is
			// what does not exist.
			err = &alert.FieldError{Field: "project", Reason: "must be a project of " + org.Name + ": pick one from the list"}
		}
		if err != nil {
			s.ruleFormError(w, r, org, p, err)
			return
		}
		s.flash(r, "Alert rule “"+rule.Name+"” created.")
		http.Redirect(w, r, alertsURL(org), http.StatusSeeOther)
	})
}

func (s *Server) handleRuleEdit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org, ok := s.ruleAdmin(w, r)
		if !ok {
			return
		}
		rule, err := s.orgRule(r, org)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		base := alertsURL(org) + itoa(rule.ID) + "/"
		p := &ruleFormPage{Edit: true, RuleName: rule.Name, ActionURL: base, DeleteURL: base + "delete/", Form: formFromRule(rule)}
		if r.Method != http.MethodPost {
			s.showRuleForm(w, r, org, http.StatusOK, p, "")
			return
		}
		if !s.readRuleForm(w, r, org, p) {
			return
		}
		p.Form.Project = rule.ProjectSlug // a rule stays in its project
		in, err := p.Form.input()
		if err == nil {
			rule, err = s.d.Alerts.UpdateRule(r.Context(), CurrentUser(r).ID, org.Slug, rule.ProjectSlug, rule.ID, in)
		}
		if err != nil {
			s.ruleFormError(w, r, org, p, err)
			return
		}
		s.flash(r, "Alert rule “"+rule.Name+"” saved.")
		http.Redirect(w, r, alertsURL(org), http.StatusSeeOther)
	})
}

// handleRuleDelete asks first: without confirm=yes it shows what would be
// deleted and a button that posts again with it.
func (s *Server) handleRuleDelete() http.Handler {
	type data struct {
		Rule               *alert.Rule
		DeleteURL, ListURL string
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org, ok := s.ruleAdmin(w, r)
		if !ok {
			return
		}
		rule, err := s.orgRule(r, org)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRuleForm)
		if err := r.ParseForm(); err != nil || r.PostForm.Get("confirm") != "yes" {
			d := data{Rule: rule, DeleteURL: alertsURL(org) + itoa(rule.ID) + "/delete/", ListURL: alertsURL(org)}
			s.render(w, r, http.StatusOK, "alert_rule_delete.html", &view{Title: "Delete alert rule", Org: org, Nav: "settings", Data: d})
			return
		}
		if err := s.d.Alerts.DeleteRule(r.Context(), CurrentUser(r).ID, org.Slug, rule.ProjectSlug, rule.ID); err != nil {
			s.pageError(w, r, err)
			return
		}
		s.flash(r, "Alert rule “"+rule.Name+"” deleted.")
		http.Redirect(w, r, alertsURL(org), http.StatusSeeOther)
	})
}

// ruleAdmin resolves {org} for a user who may change its alert rules:
// 404 for those outside the organization, 503 without alerts, 403 for
// members who are not owners or admins (the service's rule for writing).
func (s *Server) ruleAdmin(w http.ResponseWriter, r *http.Request) (*triage.Organization, bool) {
	org, me, err := s.orgMember(r.Context(), r, CurrentUser(r))
	if err == nil && s.d.Alerts == nil {
		err = triage.Errorf(triage.ENOTIMPLEMENTED, "Alert rules are not available on this server.")
	} else if err == nil {
		err = access.RequireAdmin(org, me, "change alert rules")
	}
	if err != nil {
		s.pageError(w, r, err)
		return nil, false
	}
	return org, true
}

// orgRule loads the {id} rule through the alert service; a rule of
// another organization is not found.
func (s *Server) orgRule(r *http.Request, org *triage.Organization) (*alert.Rule, error) {
	ctx := r.Context()
	id, err := parseID(r.PathValue("id"), "alert rule")
	if err != nil {
		return nil, err
	}
	_, p, err := s.access.Rule(ctx, CurrentUser(r).ID, org, id)
	if err != nil {
		return nil, err
	}
	return s.d.Alerts.Rule(ctx, CurrentUser(r).ID, org.Slug, p.Slug, id)
}

// readRuleForm reads the posted form into p.Form; on failure it has
// answered.
func (s *Server) readRuleForm(w http.ResponseWriter, r *http.Request, org *triage.Organization, p *ruleFormPage) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxRuleForm)
	if err := r.ParseForm(); err != nil {
		s.showRuleForm(w, r, org, http.StatusBadRequest, p, "The form could not be read.")
		return false
	}
	f := r.PostForm
	p.Form = ruleForm{
		Project: f.Get("project"), Name: f.Get("name"),
		FirstSeen: f.Get("first_seen") != "", Regression: f.Get("regression") != "",
		FreqCount: f.Get("frequency_count"), FreqMinutes: f.Get("frequency_minutes"),
		Level: f.Get("level"), Environment: f.Get("environment"),
		Integration: f.Get("integration"), Channel: f.Get("channel"), ChannelID: f.Get("channel_id"),
		TeamTarget: f.Get("target") == triage.AlertTargetTeam,
		Throttle:   f.Get("throttle"), Thread: f.Get("thread") != "",
		Action: f.Get("action"), EmailTarget: f.Get("email_target"), EmailUsers: f["email_user"],
	}
	return true
}

// ruleFormError shows the form again with a *alert.FieldError next to its
// field; any other error is an error page.
func (s *Server) ruleFormError(w http.ResponseWriter, r *http.Request, org *triage.Organization, p *ruleFormPage, err error) {
	var fe *alert.FieldError
	if !errors.As(err, &fe) {
		s.pageError(w, r, err)
		return
	}
	field := fe.Field
	switch field {
	case "action", "action.channelId":
		field = "action.channel"
	case "conditions.firstSeen":
		field = "conditions.regression"
	case "conditions.frequency":
		field = "conditions.frequency.count"
	}
	msg := "The rule was not saved: see the field marked below."
	if label, ok := ruleFormFields[field]; ok {
		p.Errors = map[string]string{field: fieldMessage(label, fe.Reason)}
	} else {
		msg = "The rule was not saved: " + fe.Error()
	}
	s.showRuleForm(w, r, org, http.StatusBadRequest, p, msg)
}

func (s *Server) showRuleForm(w http.ResponseWriter, r *http.Request, org *triage.Organization, status int, p *ruleFormPage, errMsg string) {
	p.ListURL, p.SettingsURL = alertsURL(org), "/organizations/"+org.Slug+"/settings/"
	if err := s.ruleChoices(r, org, p); err != nil {
		s.pageError(w, r, err)
		return
	}
	title := "New alert rule"
	if p.Edit {
		title = "Edit alert rule"
	}
	s.render(w, r, status, "alert_rule.html", &view{Title: title, Org: org, Nav: "settings", Error: errMsg, Data: p})
}

// ruleChoices fills the form's lists: the projects the user can see, the
// levels, and the organization's workspaces with their cached channels.
func (s *Server) ruleChoices(r *http.Request, org *triage.Organization, p *ruleFormPage) error {
	ctx, u := r.Context(), CurrentUser(r)
	if !p.Edit {
		projects, err := s.access.VisibleProjects(ctx, u.ID, org.ID)
		if err != nil {
			return err
		}
		for _, pr := range projects {
			p.Projects = append(p.Projects, formOption{Value: pr.Slug, Label: pr.Name + " (" + pr.Slug + ")"})
		}
		if p.fresh && len(p.Projects) == 1 {
			p.Form.Project = p.Projects[0].Value
		}
		for k := range p.Projects {
			p.Projects[k].Selected = p.Projects[k].Value == p.Form.Project
		}
	}
	p.Levels = []formOption{{Value: "", Label: "Any level", Selected: p.Form.Level == ""}}
	for _, l := range alert.Levels() {
		p.Levels = append(p.Levels, formOption{Value: l, Label: l, Selected: strings.EqualFold(p.Form.Level, l)})
	}
	p.MailConfigured = s.d.Alerts.MailConfigured()
	members, err := s.dir.Members(ctx, org.ID)
	if err != nil {
		return err
	}
	for _, m := range members {
		id := itoa(m.User.ID)
		p.Members = append(p.Members, formOption{Value: id, Label: m.User.DisplayName() + " (" + m.User.Email + ")",
			Selected: slices.Contains(p.Form.EmailUsers, id)})
	}
	return s.ruleWorkspaces(r, org, p)
}

// ruleWorkspaces lists the workspaces and their channels from the cache
// the API's channel picker reads (never from Slack). A picked channel
// that is not listed moves to the "or channel ID" field, so that it is
// neither lost nor silently replaced.
func (s *Server) ruleWorkspaces(r *http.Request, org *triage.Organization, p *ruleFormPage) error {
	ctx, u := r.Context(), CurrentUser(r)
	integrations, err := s.dir.IntegrationsForOrg(ctx, org.ID)
	if err != nil {
		return err
	}
	if p.fresh && p.Form.Integration == "" && len(integrations) == 1 {
		p.Form.Integration = itoa(integrations[0].ID)
	}
	bot, listed := "", false
	for _, in := range integrations {
		ws := ruleWorkspace{ID: itoa(in.ID), Name: in.Name, Selected: p.Form.Integration == itoa(in.ID)}
		if in.Status != triage.IntegrationActive {
			ws.Status = strings.ReplaceAll(in.Status, "_", " ")
		}
		list, err := s.d.Alerts.Channels(ctx, u.ID, org.Slug, in.ID, "")
		if err != nil {
			s.log.Error("list channels for the rule form", "integration_id", in.ID, "err", err)
			p.Notes = append(p.Notes, "The channel list of "+in.Name+" could not be loaded: enter the channel's ID.")
			p.Workspaces = append(p.Workspaces, ws)
			continue
		}
		for _, c := range list.Channels {
			if c.IsArchived {
				continue
			}
			o := formOption{Value: ws.ID + ":" + c.ID, Label: "#" + c.Name}
			if c.IsPrivate {
				o.Label += " (private)"
			}
			o.Selected = o.Value == p.Form.Channel
			listed = listed || o.Selected
			ws.Channels = append(ws.Channels, o)
		}
		switch {
		case list.Error != "":
			p.Notes = append(p.Notes, "Slack stopped listing the channels of "+in.Name+" ("+list.Error+"): enter the channel's ID if it is missing.")
		case list.Syncing && len(ws.Channels) == 0:
			p.Notes = append(p.Notes, "The channels of "+in.Name+" are being fetched from Slack: reload this page in a minute, or enter the channel's ID.")
		}
		if bot == "" {
			bot = list.BotName
		}
		p.Workspaces = append(p.Workspaces, ws)
	}
	if p.Form.Channel != "" && !listed {
		if _, id, ok := strings.Cut(p.Form.Channel, ":"); ok && strings.TrimSpace(p.Form.ChannelID) == "" {
			p.Form.ChannelID = id
		}
		p.Form.Channel = ""
	}
	if bot == "" {
		bot = "triage"
	}
	p.Hint = "Private channels are listed once the bot is in them: type /invite @" + bot + " in the channel. You may also enter a channel ID (in Slack: channel details, at the bottom)."
	return nil
}

// formFromRule fills the form with a stored rule.
func formFromRule(r *alert.Rule) ruleForm {
	f := ruleForm{
		Project: r.ProjectSlug, Name: r.Name, FirstSeen: r.Conditions.FirstSeen, Regression: r.Conditions.Regression,
		Level: r.Conditions.Level, Environment: r.Conditions.Environment,
		Integration: itoa(r.IntegrationID), Channel: itoa(r.IntegrationID) + ":" + r.ChannelID,
		Throttle: itoa(r.ThrottleMinutes), Thread: r.Thread, TeamTarget: r.Target == triage.AlertTargetTeam,
		Action: r.ActionType,
	}
	if r.ActionType == triage.AlertActionEmail {
		f.Integration, f.Channel, f.TeamTarget, f.EmailTarget = "", "", false, r.Target
		for _, u := range r.EmailUsers {
			f.EmailUsers = append(f.EmailUsers, itoa(u.ID))
		}
	}
	if f.TeamTarget {
		f.Channel = ""
	}
	if fr := r.Conditions.Frequency; fr != nil {
		f.FreqCount, f.FreqMinutes = itoa(fr.Count), itoa(fr.Minutes)
	}
	return f
}

// input turns the form into the service's input. Only what the service
// cannot be handed is checked here: numbers that are not numbers, and a
// channel picked from another workspace than the one selected.
func (f ruleForm) input() (alert.RuleInput, error) {
	c := alert.Conditions{FirstSeen: f.FirstSeen, Regression: f.Regression, Level: f.Level, Environment: f.Environment}
	if strings.TrimSpace(f.FreqCount) != "" || strings.TrimSpace(f.FreqMinutes) != "" {
		count, err := formInt(f.FreqCount, "conditions.frequency.count", "must be a whole number (fires when seen more than this many times)")
		if err != nil {
			return alert.RuleInput{}, err
		}
		minutes, err := formInt(f.FreqMinutes, "conditions.frequency.minutes", "must be a whole number of minutes")
		if err != nil {
			return alert.RuleInput{}, err
		}
		c.Frequency = &alert.Frequency{Count: count, Minutes: minutes}
	}
	if strings.TrimSpace(f.Throttle) == "" {
		return alert.RuleInput{}, &alert.FieldError{Field: "throttleMinutes", Reason: "is required: a number of minutes (0 posts every time)"}
	}
	throttle, err := formInt(f.Throttle, "throttleMinutes", "must be a whole number of minutes (0 posts every time)")
	if err != nil {
		return alert.RuleInput{}, err
	}
	name, thread := f.Name, f.Thread
	if f.Action == triage.AlertActionEmail {
		a := &alert.ActionInput{Type: triage.AlertActionEmail, Target: f.EmailTarget}
		if a.Target == triage.AlertTargetMembers {
			for _, v := range f.EmailUsers {
				id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil || id <= 0 {
					return alert.RuleInput{}, &alert.FieldError{Field: "action.userIds", Reason: "must be picked from the list"}
				}
				a.UserIDs = append(a.UserIDs, id)
			}
		}
		return alert.RuleInput{Name: &name, Conditions: &c, ThrottleMinutes: &throttle, Thread: &thread, Action: a}, nil
	}
	// A workspace that is not a number is no workspace: the service says
	// one is required.
	integration, _ := strconv.ParseInt(strings.TrimSpace(f.Integration), 10, 64)
	if f.TeamTarget {
		return alert.RuleInput{Name: &name, Conditions: &c, ThrottleMinutes: &throttle, Thread: &thread,
			Action: &alert.ActionInput{IntegrationID: integration, Target: triage.AlertTargetTeam}}, nil
	}
	channel := strings.TrimSpace(f.ChannelID)
	if channel == "" && f.Channel != "" {
		ws, id, _ := strings.Cut(f.Channel, ":")
		if ws != strings.TrimSpace(f.Integration) {
			return alert.RuleInput{}, &alert.FieldError{Field: "action.channel",
				Reason: "is in another Slack workspace than the one selected: pick a channel of the selected workspace, or change the workspace"}
		}
		channel = id
	}
	return alert.RuleInput{Name: &name, Conditions: &c, ThrottleMinutes: &throttle, Thread: &thread,
		Action: &alert.ActionInput{IntegrationID: integration, Channel: channel}}, nil
}

// formInt reads a whole number typed in field; "" is 0, which the service
// refuses where it must not be.
func formInt(v, field, reason string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, &alert.FieldError{Field: field, Reason: reason}
	}
	return n, nil
}
