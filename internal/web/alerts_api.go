package web

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"triage"
	"triage/internal/alert"
)

// Alert rules API, per project:
//
//	GET|POST          /api/0/projects/{org}/{project}/rules/
//	GET|PUT|DELETE    /api/0/projects/{org}/{project}/rules/{id}/
//	GET               /api/0/organizations/{org}/integrations/{id}/channels/?query=
//
// Reading needs access to the project; writing, and listing channels, an
// owner or admin of the organization. Invalid input answers 400 with
// {"detail": why, "field": which}.

type apiRule struct {
	ID              string           `json:"id"`
	Name            string           `json:"name"`
	Project         apiProjectRef    `json:"project"`
	Conditions      alert.Conditions `json:"conditions"`
	Action          apiRuleAction    `json:"action"`
	ThrottleMinutes int64            `json:"throttleMinutes"`
	Thread          bool             `json:"thread"`
	DateCreated     time.Time        `json:"dateCreated"`
	DateUpdated     time.Time        `json:"dateUpdated"`
}

type apiRuleAction struct {
	Type          string `json:"type"`
	IntegrationID string `json:"integrationId"`
	Workspace     string `json:"workspace"`
	ChannelID     string `json:"channelId"`
	ChannelName   string `json:"channelName"`
	// Target is, for Slack, "channel" (channelId) or "team" (the channel
	// linked to each team that owns the project); for email "teams"
	// (every member of the project's teams) or "members" (userIds).
	Target  string   `json:"target"`
	UserIDs []string `json:"userIds,omitempty"`
	// Status is "ok" or "broken"; Reason is Slack's error code and Hint
	// what an admin can do about it.
	Status string `json:"status"`
	Reason string `json:"reason"`
	Hint   string `json:"hint"`
}

func toAPIRule(r *alert.Rule) apiRule {
	action := apiRuleAction{Type: "slack", IntegrationID: itoa(r.IntegrationID), Workspace: r.Workspace,
		ChannelID: r.ChannelID, ChannelName: r.ChannelName, Target: r.Target, Status: r.Status, Reason: r.Reason, Hint: r.Hint}
	if r.ActionType == triage.AlertActionEmail {
		action = apiRuleAction{Type: "email", Target: r.Target, Status: r.Status, Reason: r.Reason, Hint: r.Hint}
		for _, u := range r.EmailUsers {
			action.UserIDs = append(action.UserIDs, itoa(u.ID))
		}
	}
	return apiRule{
		ID: itoa(r.ID), Name: r.Name, Project: apiProjectRef{ID: itoa(r.ProjectID), Slug: r.ProjectSlug},
		Conditions: r.Conditions, Action: action,
		ThrottleMinutes: r.ThrottleMinutes, Thread: r.Thread,
		DateCreated: r.CreatedAt.UTC(), DateUpdated: r.UpdatedAt.UTC(),
	}
}

// apiFieldDetail is a 400 that names the field at fault.
type apiFieldDetail struct {
	Detail string `json:"detail"`
	Field  string `json:"field"`
}

// ruleError writes err: a *alert.FieldError as 400 with its field, any
// other error through apiError.
func (s *Server) ruleError(w http.ResponseWriter, r *http.Request, err error) {
	var fe *alert.FieldError
	if errors.As(err, &fe) {
		writeJSON(w, http.StatusBadRequest, apiFieldDetail{Detail: fe.Reason, Field: fe.Field})
		return
	}
	s.apiError(w, r, err)
}

// alerts returns the alert service, or answers 503 when there is none.
func (s *Server) alerts(w http.ResponseWriter, r *http.Request) *alert.Service {
	if s.d.Alerts == nil {
		s.apiError(w, r, triage.Errorf(triage.ENOTIMPLEMENTED, "Alert rules are not available on this server."))
	}
	return s.d.Alerts
}

func readRuleInput(w http.ResponseWriter, r *http.Request) (alert.RuleInput, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	if err != nil {
		return alert.RuleInput{}, &alert.FieldError{Field: "body", Reason: "is larger than " + strconv.Itoa(maxAPIBody) + " bytes"}
	}
	return alert.ParseRuleInput(body)
}

func (s *Server) apiRuleList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := s.alerts(w, r)
		if a == nil {
			return
		}
		rules, err := a.Rules(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("project"))
		if err != nil {
			s.ruleError(w, r, err)
			return
		}
		out := make([]apiRule, 0, len(rules))
		for _, rule := range rules {
			out = append(out, toAPIRule(rule))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func (s *Server) apiRuleCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := s.alerts(w, r)
		if a == nil {
			return
		}
		in, err := readRuleInput(w, r)
		if err != nil {
			s.ruleError(w, r, err)
			return
		}
		rule, err := a.CreateRule(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("project"), in)
		if err != nil {
			s.ruleError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, toAPIRule(rule))
	})
}

func (s *Server) apiRuleGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := s.alerts(w, r)
		if a == nil {
			return
		}
		id, err := parseID(r.PathValue("id"), "alert rule")
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		rule, err := a.Rule(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("project"), id)
		if err != nil {
			s.ruleError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, toAPIRule(rule))
	})
}

func (s *Server) apiRuleUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := s.alerts(w, r)
		if a == nil {
			return
		}
		id, err := parseID(r.PathValue("id"), "alert rule")
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		in, err := readRuleInput(w, r)
		if err != nil {
			s.ruleError(w, r, err)
			return
		}
		rule, err := a.UpdateRule(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("project"), id, in)
		if err != nil {
			s.ruleError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, toAPIRule(rule))
	})
}

func (s *Server) apiRuleDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := s.alerts(w, r)
		if a == nil {
			return
		}
		id, err := parseID(r.PathValue("id"), "alert rule")
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		if err := a.DeleteRule(r.Context(), CurrentUser(r).ID, r.PathValue("org"), r.PathValue("project"), id); err != nil {
			s.ruleError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

type apiChannel struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	IsPrivate bool   `json:"isPrivate"`
	IsMember  bool   `json:"isMember"`
}

type apiChannelList struct {
	Channels []apiChannel `json:"channels"`
	// Syncing says the list is being refreshed in the background: ask
	// again in a few seconds for more.
	Syncing  bool       `json:"syncing"`
	SyncedAt *time.Time `json:"syncedAt"`
	Error    string     `json:"error,omitempty"`
	// Hint is for channels missing from the list.
	Hint string `json:"hint"`
}

// apiChannels serves the channel picker from the background-filled cache.
func (s *Server) apiChannels() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := s.alerts(w, r)
		if a == nil {
			return
		}
		id, err := parseID(r.PathValue("id"), "integration")
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		list, err := a.Channels(r.Context(), CurrentUser(r).ID, r.PathValue("org"), id, r.URL.Query().Get("query"))
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		bot := list.BotName
		if bot == "" {
			bot = "triage"
		}
		out := apiChannelList{Channels: []apiChannel{}, Syncing: list.Syncing, Error: list.Error,
			Hint: "Private channels are listed once the bot is in them: type /invite @" + bot + " in the channel. You may also enter a channel id."}
		if !list.SyncedAt.IsZero() {
			t := list.SyncedAt.UTC()
			out.SyncedAt = &t
		}
		for _, c := range list.Channels {
			out.Channels = append(out.Channels, apiChannel{ID: c.ID, Name: c.Name, IsPrivate: c.IsPrivate, IsMember: c.IsMember})
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// handleAlertSettings lists the organization's alert rules the user can
// see, each with its action's status: ok, or broken with Slack's reason
// and what to do about it.
func (s *Server) handleAlertSettings() http.Handler {
	type data struct {
		Rules    []*alert.Rule
		Disabled bool
		Admin    bool
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, u := r.Context(), CurrentUser(r)
		org, me, err := s.orgMember(ctx, r, u)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		d := data{Disabled: s.d.Alerts == nil, Admin: me.Role.CanAdmin()}
		if s.d.Alerts != nil {
			if d.Rules, err = s.d.Alerts.OrgRules(ctx, u.ID, org); err != nil {
				s.pageError(w, r, err)
				return
			}
		}
		s.render(w, r, http.StatusOK, "alerts.html", &view{Title: "Alert rules", Org: org, Nav: "settings", Data: d})
	})
}
