package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"triage"
	"triage/internal/search"
)

const pageSize = 25

type issueRow struct {
	ID                                                    int64
	URL, ShortID, Title, Culprit, Level, Status, Assignee string
	Count, Users                                          int64
	LastSeen, LastSeenAgo                                 string
	Trend                                                 template.HTML
}

type tab struct {
	Label, URL string
	Current    bool
}

type option struct {
	Value, Label string
	Selected     bool
}

type issueListData struct {
	Tabs         []tab
	Issues       []issueRow
	PrevURL      string
	NextURL      string
	EmptyLabel   string
	Query        string // as typed, kept when it does not parse
	Total        int64
	TotalLabel   string
	Sorts        []option
	Environments []option
	Projects     []option
	SortLinks    map[string]string // column header links: "freq", "user", "date", "new"
	Bulk         *bulkForm
}

// handleIssueList is the issue list: a search box, a sort, environment
// and project pickers, all in one GET form that works without JavaScript;
// a query that does not parse is explained beside the box and kept in it.
func (s *Server) handleIssueList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, u := r.Context(), CurrentUser(r)
		org, _, err := s.orgMember(ctx, r, u)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		v := &view{Title: "Issues", Org: org, Nav: "issues"}
		q := r.URL.Query()
		d := &issueListData{Query: q.Get("query"), EmptyLabel: "No issues match."}
		visible, err := s.access.VisibleProjects(ctx, u.ID, org.ID)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		if err := s.listPickers(r, org, visible, d); err != nil {
			s.pageError(w, r, err)
			return
		}
		v.Data = d
		p, err := readListParams(q, s.now())
		if err == nil {
			err = checkProjects(p, visible)
		}
		if err == nil {
			err = s.issueList(r, org, u, p, d)
		}
		// A search that cannot run is explained beside the search box,
		// with the query and the pickers kept.
		if code := triage.ErrorCode(err); code == triage.EINVALID || code == triage.EFORBIDDEN {
			v.Error = triage.ErrorMessage(err)
			d.Tabs = issueTabs(org, q)
			s.render(w, r, httpStatus(code), "issues.html", v)
			return
		} else if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "issues.html", v)
	})
}

// listPickers fills the sort, environment and project pickers from the
// URL; the pickers offer only the projects the user may see (visible,
// from internal/access) and their environments.
func (s *Server) listPickers(r *http.Request, org *triage.Organization, visible []*triage.Project, d *issueListData) error {
	q := r.URL.Query()
	sort := q.Get("sort")
	if sort == "" {
		sort = string(search.SortDate)
	}
	for _, so := range search.Sorts {
		d.Sorts = append(d.Sorts, option{Value: string(so.Sort), Label: so.Label, Selected: sort == string(so.Sort)})
	}
	envs, err := s.finder.Environments(r.Context(), projectIDs(visible))
	if err != nil {
		return err
	}
	d.Environments = []option{{Value: "", Label: "All environments"}}
	for _, e := range envs {
		d.Environments = append(d.Environments, option{Value: e, Label: e, Selected: q.Get("environment") == e})
	}
	d.Projects = []option{{Value: "", Label: "All projects"}}
	for _, p := range visible {
		d.Projects = append(d.Projects, option{Value: itoa(p.ID), Label: p.Slug, Selected: q.Get("project") == itoa(p.ID)})
	}
	d.SortLinks = map[string]string{}
	for _, so := range search.Sorts {
		v := withoutCursor(q)
		v.Set("sort", string(so.Sort))
		d.SortLinks[string(so.Sort)] = listURL(org.Slug, v)
	}
	return nil
}

func (s *Server) issueList(r *http.Request, org *triage.Organization, u *triage.User, p listParams, d *issueListData) error {
	ctx := r.Context()
	page, err := s.finder.SearchIssues(ctx, p.request(org.ID, u.ID, pageSize))
	if err != nil {
		return err
	}
	trends, err := s.trends(ctx, page.Issues, search.Period24h)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d.Tabs = issueTabs(org, q)
	d.Total, d.TotalLabel = page.Total, totalLabel(page.Total)
	pageURL := func(c *search.Cursor) string {
		v := withoutCursor(q)
		v.Set("cursor", c.String())
		return listURL(org.Slug, v)
	}
	if page.Next != nil {
		d.NextURL = pageURL(page.Next)
	}
	if page.Prev != nil {
		d.PrevURL = pageURL(page.Prev)
	}
	now := s.now()
	for _, i := range page.Issues {
		t := trends[i.ID]
		row := issueRow{
			ID: i.ID, URL: i.Path(), ShortID: i.ShortID(), Title: i.Title, Culprit: i.Culprit, Level: i.Level,
			Status: statusLabel(i.Status), Count: i.TimesSeen, Users: i.UserCount,
			LastSeen: formatTime(i.LastSeen), LastSeenAgo: ago(now, i.LastSeen),
			Trend: trendSVG(t, 96, 24, trendLabel(search.Period24h, t)),
		}
		if i.Assignee != nil {
			row.Assignee = i.Assignee.Name
			if i.Assignee.Type == "team" {
				row.Assignee = "#" + row.Assignee
			}
		}
		d.Issues = append(d.Issues, row)
	}
	if d.Bulk, err = s.bulkForm(r, org, u); err != nil {
		return err
	}
	if !p.query.HasIs() && len(p.query.Terms) == 0 && p.environment == "" {
		d.EmptyLabel = "No unresolved issues. Nice."
	}
	return nil
}

// withoutCursor is the URL's parameters less the cursor: a new sort,
// filter or tab starts at the first page.
func withoutCursor(q url.Values) url.Values {
	v := url.Values{}
	for k, vs := range q {
		if k != "cursor" {
			v[k] = vs
		}
	}
	return v
}

// issueTabs are the status shortcuts; each keeps the sort and pickers.
func issueTabs(org *triage.Organization, q url.Values) []tab {
	current := q.Get("query")
	if current == "" {
		current = "is:unresolved"
	}
	var tabs []tab
	for _, t := range []struct{ label, query string }{
		{"Unresolved", "is:unresolved"}, {"Resolved", "is:resolved"}, {"Ignored", "is:ignored"}, {"All", "is:all"},
	} {
		v := withoutCursor(q)
		v.Set("query", t.query)
		tabs = append(tabs, tab{Label: t.label, URL: listURL(org.Slug, v), Current: current == t.query})
	}
	return tabs
}

// totalLabel is the list header's count.
func totalLabel(n int64) string {
	if n == 1 {
		return "1 issue"
	}
	return strconv.FormatInt(n, 10) + " issues"
}
