package web

import (
	"html/template"
	"net/http"
	"strconv"

	"triage"
)

type activityRow struct {
	When, WhenAgo, Actor, Text, Source string
	// Note is a comment's text, shown as written (line breaks kept).
	Note string
}

type assignOption struct {
	Value, Label string
	Selected     bool
}

type issuePageData struct {
	Issue                    *triage.Issue
	ShortID, Status, Detail  string
	Assignee                 string
	FirstSeen, FirstSeenAgo  string
	LastSeen, LastSeenAgo    string
	ActionURL, ListURL       string
	CommentURL               string
	CanResolve, CanUnresolve bool
	CanIgnore                bool
	Assignees                []assignOption
	Events                   template.HTML
	Activity                 []activityRow
	Tags                     []tagRow
	Trend24h, Trend14d       template.HTML
	Retention                string
}

func (s *Server) handleIssuePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.showIssue(w, r, http.StatusOK, "")
	})
}

// showIssue renders the issue page, with errMsg above it when an action
// failed.
func (s *Server) showIssue(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	org, issue, ok := s.orgIssue(w, r)
	if !ok {
		return
	}
	d, err := s.issuePage(r, issue, true)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, status, "issue.html", &view{Title: issue.ShortID() + " " + issue.Title, Org: org, Nav: "issues", Error: errMsg, Data: d})
}

// issuePage gathers the issue page; withLatest renders its latest event
// (the event pages render their own).
func (s *Server) issuePage(r *http.Request, i *triage.Issue, withLatest bool) (*issuePageData, error) {
	ctx, u, now := r.Context(), CurrentUser(r), s.now()
	d := &issuePageData{
		Issue: i, ShortID: i.ShortID(), Status: statusLabel(i.Status), Detail: statusDetail(i),
		FirstSeen: formatTime(i.FirstSeen), FirstSeenAgo: ago(now, i.FirstSeen),
		LastSeen: formatTime(i.LastSeen), LastSeenAgo: ago(now, i.LastSeen),
		ActionURL: i.Path(), ListURL: "/organizations/" + i.OrgSlug + "/issues/", CommentURL: i.Path() + "comments/",
		CanResolve: i.Status != triage.StatusResolved, CanUnresolve: i.Status != triage.StatusUnresolved,
		CanIgnore: i.Status != triage.StatusIgnored,
	}
	d.Assignees = []assignOption{{Value: "", Label: "Nobody", Selected: i.Assignee == nil}}
	if i.Assignee != nil {
		d.Assignee = i.Assignee.Name
		if i.Assignee.Type == "team" {
			d.Assignee = "#" + d.Assignee
		}
	}
	users, err := s.dir.UsersWithProjectAccess(ctx, i.ProjectID)
	if err != nil {
		return nil, err
	}
	for _, au := range users {
		a := triage.Assignee{Type: "user", ID: au.ID}
		label := au.DisplayName()
		if au.Name != "" {
			label += " <" + au.Email + ">"
		}
		d.Assignees = append(d.Assignees, assignOption{Value: a.String(), Label: label,
			Selected: i.Assignee != nil && i.Assignee.Type == "user" && i.Assignee.ID == au.ID})
	}
	teams, err := s.dir.TeamsForProject(ctx, i.ProjectID)
	if err != nil {
		return nil, err
	}
	for _, t := range teams {
		a := triage.Assignee{Type: "team", ID: t.ID}
		d.Assignees = append(d.Assignees, assignOption{Value: a.String(), Label: "#" + t.Slug,
			Selected: i.Assignee != nil && i.Assignee.Type == "team" && i.Assignee.ID == t.ID})
	}
	acts, err := s.issues.Activity(ctx, u.ID, i.ID)
	if err != nil {
		return nil, err
	}
	for _, a := range acts {
		d.Activity = append(d.Activity, activityRow{
			When: formatTime(a.CreatedAt), WhenAgo: ago(now, a.CreatedAt), Note: noteText(a),
			Actor: activityActor(a), Text: activityText(a), Source: sourceLabel(a.Source),
		})
	}
	if err := s.issueFindings(ctx, i, d); err != nil {
		return nil, err
	}
	if withLatest && s.d.Events != nil {
		html, err := s.d.Events.Section(ctx, i)
		if err != nil {
			// The issue is still worth showing without its latest event.
			s.log.Error("render events section", "issue_id", i.ID, "err", err)
			html = template.HTML(`<p class="muted">The latest event could not be loaded.</p>`)
		}
		d.Events = html
	}
	return d, nil
}

func (s *Server) handleSettings() http.Handler {
	type memberRow struct {
		Email, Name, Role string
		You               bool
	}
	type data struct {
		Members []memberRow
		Slack   template.HTML
		NoSlack string
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, u := r.Context(), CurrentUser(r)
		org, me, err := s.orgMember(ctx, r, u)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		members, err := s.dir.Members(ctx, org.ID)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		var d data
		for _, m := range members {
			d.Members = append(d.Members, memberRow{Email: m.User.Email, Name: m.User.Name, Role: string(m.Role), You: m.User.ID == u.ID})
		}
		if s.d.Slack == nil {
			d.NoSlack = slackNotConfigured
		} else if d.Slack, err = s.d.Slack.SettingsSection(ctx, org, u, me); err != nil {
			s.log.Error("render slack settings", "org", org.Slug, "err", err)
			d.Slack = template.HTML(`<p class="error">The Slack settings could not be loaded.</p>`)
		}
		s.render(w, r, http.StatusOK, "settings.html", &view{Title: "Settings", Org: org, Nav: "settings", Data: d})
	})
}

// itoa is for ids in URLs and forms.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// orgIssue loads the {id} issue of the {org} in the path for the logged-in
// member, answering with the error page (404, 403) when they may not see it
// or it belongs to another organization.
func (s *Server) orgIssue(w http.ResponseWriter, r *http.Request) (*triage.Organization, *triage.Issue, bool) {
	ctx, u := r.Context(), CurrentUser(r)
	org, _, err := s.orgMember(ctx, r, u)
	if err != nil {
		s.pageError(w, r, err)
		return nil, nil, false
	}
	id, err := parseID(r.PathValue("id"), "issue")
	if err != nil {
		s.pageError(w, r, err)
		return nil, nil, false
	}
	issue, err := s.issues.Get(ctx, u.ID, id)
	if err == nil && issue.OrgID != org.ID {
		err = triage.Errorf(triage.ENOTFOUND, "issue not found")
	}
	if err != nil {
		s.pageError(w, r, err)
		return nil, nil, false
	}
	return org, issue, true
}
