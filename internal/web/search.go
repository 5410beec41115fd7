package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"triage"
	"triage/internal/search"
)

// Finder is what the issue list, the tag section and the trends read:
// the store satisfies it. Each method returns only internal errors, except
// SearchIssues, which returns EINVALID for a sort it does not know.
type Finder interface {
	// SearchIssues returns one page of the issues the request matches.
	SearchIssues(ctx context.Context, r search.Request) (*search.Page, error)
	// IssueTags returns an issue's tag keys with their top values.
	IssueTags(ctx context.Context, issueID int64, top int) ([]search.TagKey, error)
	// IssueHours returns issues' hourly event counts since a time.
	IssueHours(ctx context.Context, issueIDs []int64, since time.Time) (map[int64]map[int64]int64, error)
	// Environments lists the environments of the projects, by name.
	Environments(ctx context.Context, projectIDs []int64) ([]string, error)
}

// listParams is what the list page and the API read from the URL: the
// search, sort and page, and the pickers.
type listParams struct {
	raw         string // the query as typed
	query       search.Query
	sort        search.Sort
	cursor      search.Cursor
	environment string
	projectIDs  []int64
	period      search.Period
}

// readListParams reads query, sort, cursor, environment, project and
// statsPeriod. A bad one is EINVALID naming it.
func readListParams(v url.Values, now time.Time) (listParams, error) {
	p := listParams{raw: v.Get("query"), environment: v.Get("environment")}
	var err error
	if p.query, err = search.Parse(p.raw, now); err != nil {
		return p, searchError(err)
	}
	if p.environment != "" {
		p.query.Terms = append(p.query.Terms, search.Term{Kind: search.KindTag, Key: "environment", Value: p.environment})
	}
	if p.sort, err = search.ParseSort(v.Get("sort")); err != nil {
		return p, searchError(err)
	}
	if p.cursor, err = search.ParseCursor(v.Get("cursor")); err != nil {
		return p, searchError(err)
	}
	if p.period, err = search.ParsePeriod(v.Get("statsPeriod")); err != nil {
		return p, searchError(err)
	}
	for _, raw := range v["project"] {
		if raw == "" {
			continue
		}
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id == 0 {
			return p, triage.Errorf(triage.EINVALID, "invalid project id %q", raw)
		}
		if id == -1 { // Sentry's "all projects"
			p.projectIDs = nil
			break
		}
		p.projectIDs = append(p.projectIDs, id)
	}
	return p, nil
}

// checkProjects refuses a search in a project the user may not see
// (visible is what internal/access lists for them), with the answer it
// gives for a project that does not exist, so that the refusal tells
// nothing about other teams' projects: ?project=ID is a 403, as in
// Sentry; a project:<slug> term is a 400 naming the term. The store
// filters by access too; this makes the answer clear instead of an empty
// list.
func checkProjects(p listParams, visible []*triage.Project) error {
	ids := make(map[int64]bool, len(visible))
	slugs := make(map[string]bool, len(visible))
	for _, pr := range visible {
		ids[pr.ID], slugs[pr.Slug] = true, true
	}
	for _, id := range p.projectIDs {
		if !ids[id] {
			return triage.Errorf(triage.EFORBIDDEN, "You do not have access to project %d, or it does not exist.", id)
		}
	}
	for _, t := range p.query.Terms {
		if t.Kind == search.KindProject && !slugs[t.Value] {
			return searchError(&search.Error{Term: t.String(), Reason: "you have no project with that slug"})
		}
	}
	return nil
}

// projectIDs are the projects' ids.
func projectIDs(ps []*triage.Project) []int64 {
	ids := make([]int64, len(ps))
	for k, p := range ps {
		ids[k] = p.ID
	}
	return ids
}

// searchError makes a parse error the EINVALID a person reads.
func searchError(err error) error {
	var pe *search.Error
	if errors.As(err, &pe) {
		return triage.Errorf(triage.EINVALID, "%s", pe.Error())
	}
	return err
}

// request is the search for one page.
func (p listParams) request(orgID, userID int64, limit int) search.Request {
	return search.Request{OrgID: orgID, UserID: userID, ProjectIDs: p.projectIDs, Query: p.query,
		Sort: p.sort, Cursor: p.cursor, Limit: limit}
}

// trends reads the period's trend of each issue.
func (s *Server) trends(ctx context.Context, issues []*triage.Issue, p search.Period) (map[int64][]search.Bucket, error) {
	out := make(map[int64][]search.Bucket, len(issues))
	if p == "" || len(issues) == 0 {
		return out, nil
	}
	ids := make([]int64, len(issues))
	for k, i := range issues {
		ids[k] = i.ID
	}
	now := s.now()
	hours, err := s.finder.IssueHours(ctx, ids, p.Start(now))
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		out[id] = p.Trend(hours[id], now)
	}
	return out, nil
}

// trendSVG draws a trend as bars in an inline SVG, with a title per bar
// for the exact count: no JavaScript, and it scales with the page.
func trendSVG(buckets []search.Bucket, width, height int, label string) template.HTML {
	var peak int64
	var total int64
	for _, b := range buckets {
		peak = max(peak, b.Count)
		total += b.Count
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="trend" role="img" viewBox="0 0 %d %d" width="%d" height="%d" preserveAspectRatio="none" data-total="%d"><title>%s</title>`,
		width, height, width, height, total, template.HTMLEscapeString(label))
	if len(buckets) == 0 {
		sb.WriteString(`</svg>`)
		return template.HTML(sb.String())
	}
	slot := float64(width) / float64(len(buckets))
	gap := slot * 0.15
	for k, b := range buckets {
		h := 0.0
		if peak > 0 && b.Count > 0 {
			h = max(1, float64(height-1)*float64(b.Count)/float64(peak))
		}
		fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" data-count="%d"><title>%s: %d</title></rect>`,
			float64(k)*slot+gap/2, float64(height)-h, slot-gap, h, b.Count, b.Start.UTC().Format("2006-01-02 15:04 UTC"), b.Count)
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// trendLabel says what a trend covers.
func trendLabel(p search.Period, buckets []search.Bucket) string {
	var total int64
	for _, b := range buckets {
		total += b.Count
	}
	if p == search.Period14d {
		return fmt.Sprintf("%d events in the last 14 days", total)
	}
	return fmt.Sprintf("%d events in the last 24 hours", total)
}

// apiStats is Sentry's stats: [[unix seconds, count], …] oldest first.
func apiStats(buckets []search.Bucket) [][2]int64 {
	out := make([][2]int64, len(buckets))
	for k, b := range buckets {
		out[k] = [2]int64{b.Start.Unix(), b.Count}
	}
	return out
}

// listURL is the issue list's URL for a query, keeping sort and the
// pickers.
func listURL(orgSlug string, v url.Values) string {
	u := "/organizations/" + orgSlug + "/issues/"
	if len(v) == 0 {
		return u
	}
	return u + "?" + v.Encode()
}

// tagRow is one tag key on the issue page: its top values, each a link
// to the issue list filtered by it, with a bar for its share.
type tagRow struct {
	Key         string
	TotalValues int64
	Distinct    int64
	Values      []tagValueRow
}

type tagValueRow struct {
	Value, URL string
	Count      int64
	Percent    int
}

// issueTagsTop is how many values of each key the issue page shows.
const issueTagsTop = 5

// tagSection reads the issue's tags for its page.
func (s *Server) tagSection(ctx context.Context, i *triage.Issue) ([]tagRow, error) {
	keys, err := s.finder.IssueTags(ctx, i.ID, issueTagsTop)
	if err != nil {
		return nil, err
	}
	rows := make([]tagRow, 0, len(keys))
	for _, k := range keys {
		row := tagRow{Key: k.Key, TotalValues: k.TotalValues, Distinct: k.Distinct}
		for _, v := range k.TopValues {
			pct := 0
			if k.TotalValues > 0 {
				pct = int((v.Count*100 + k.TotalValues/2) / k.TotalValues)
			}
			vr := tagValueRow{Value: v.Value, Count: v.Count, Percent: pct}
			// A key the syntax cannot name (an SDK's "a b") gets no link.
			if filter := "is:all " + search.TagFilter(k.Key, v.Value); validQuery(filter) {
				vr.URL = listURL(i.OrgSlug, url.Values{"query": {filter}})
			}
			row.Values = append(row.Values, vr)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// issueFindings fills the issue page's tags, trends and what the counts
// cover.
func (s *Server) issueFindings(ctx context.Context, i *triage.Issue, d *issuePageData) error {
	var err error
	if d.Tags, err = s.tagSection(ctx, i); err != nil {
		return err
	}
	for _, p := range []search.Period{search.Period24h, search.Period14d} {
		t, err := s.trends(ctx, []*triage.Issue{i}, p)
		if err != nil {
			return err
		}
		svg := trendSVG(t[i.ID], 480, 64, trendLabel(p, t[i.ID]))
		if p == search.Period24h {
			d.Trend24h = svg
		} else {
			d.Trend14d = svg
		}
	}
	if r := s.cfg.EventRetention; r > 0 {
		d.Retention = fmt.Sprintf("Counts cover every event since the issue was first seen, including events older than %d days, which are deleted.", int(r.Hours()/24))
	}
	return nil
}

func validQuery(q string) bool {
	_, err := search.Parse(q, time.Time{})
	return err == nil
}
