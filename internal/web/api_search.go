package web

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"triage"
	"triage/internal/search"
)

const apiPageSize = 25

// apiIssueList searches an organization's issues the caller may see:
// query, sort, statsPeriod, cursor, limit, project and environment as in
// Sentry, with its Link header for paging and X-Hits for the total.
func (s *Server) apiIssueList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, u := r.Context(), CurrentUser(r)
		org, _, err := s.orgMember(ctx, r, u)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		q := r.URL.Query()
		p, err := readListParams(q, s.now())
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		visible, err := s.access.VisibleProjects(ctx, u.ID, org.ID)
		if err == nil {
			err = checkProjects(p, visible)
		}
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		limit := apiPageSize
		if l := q.Get("limit"); l != "" {
			if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > 100 {
				s.apiError(w, r, triage.Errorf(triage.EINVALID, "limit must be a number from 1 to 100"))
				return
			}
		}
		page, err := s.finder.SearchIssues(ctx, p.request(org.ID, u.ID, limit))
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		trends, err := s.trends(ctx, page.Issues, p.period)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		out := make([]apiIssue, 0, len(page.Issues))
		for _, i := range page.Issues {
			a := s.toAPIIssue(i)
			if p.period != "" {
				a.Stats = map[string][][2]int64{string(p.period): apiStats(trends[i.ID])}
			}
			out = append(out, a)
		}
		h := w.Header()
		h.Set("Link", s.issueLinkHeader(r, page))
		h.Set("X-Hits", strconv.FormatInt(page.Total, 10))
		writeJSON(w, http.StatusOK, out)
	})
}

// issueLinkHeader is Sentry's pagination header for the issue list: the
// previous and next keyset cursors, and whether each has results.
func (s *Server) issueLinkHeader(r *http.Request, page *search.Page) string {
	link := func(rel string, c *search.Cursor, fallback search.Cursor) string {
		results := c != nil
		if c == nil {
			c = &fallback
		}
		q := r.URL.Query()
		q.Set("cursor", c.String())
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		return `<` + s.cfg.URLPrefix + u.String() + `>; rel="` + rel + `"; results="` +
			strconv.FormatBool(results) + `"; cursor="` + c.String() + `"`
	}
	return link("previous", page.Prev, search.Cursor{Prev: true}) + ", " + link("next", page.Next, search.Cursor{})
}

type apiTagValue struct {
	Key       string    `json:"key"`
	Name      string    `json:"name"`
	Value     string    `json:"value"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
}

type apiTagKey struct {
	Key          string        `json:"key"`
	Name         string        `json:"name"`
	TotalValues  int64         `json:"totalValues"`
	UniqueValues int64         `json:"uniqueValues"`
	TopValues    []apiTagValue `json:"topValues"`
}

// apiIssueTags is each tag key of the issue with its ten most frequent
// values.
func (s *Server) apiIssueTags() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		issue, err := s.issueFromPath(r)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		keys, err := s.finder.IssueTags(r.Context(), issue.ID, 10)
		if err != nil {
			s.apiError(w, r, err)
			return
		}
		out := make([]apiTagKey, 0, len(keys))
		for _, k := range keys {
			ak := apiTagKey{Key: k.Key, Name: k.Key, TotalValues: k.TotalValues, UniqueValues: k.Distinct, TopValues: []apiTagValue{}}
			for _, v := range k.TopValues {
				ak.TopValues = append(ak.TopValues, apiTagValue{Key: k.Key, Name: v.Value, Value: v.Value, Count: v.Count,
					FirstSeen: v.FirstSeen.UTC(), LastSeen: v.LastSeen.UTC()})
			}
			out = append(out, ak)
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// linkHeader is Sentry's pagination header for lists paged by offset:
// previous and next cursors, and whether each has results.
func (s *Server) linkHeader(r *http.Request, offset, limit int, more bool) string {
	link := func(rel string, off int, results bool) string {
		q := r.URL.Query()
		q.Set("cursor", formatCursor(off))
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		return `<` + s.cfg.URLPrefix + u.String() + `>; rel="` + rel + `"; results="` +
			strconv.FormatBool(results) + `"; cursor="` + formatCursor(off) + `"`
	}
	return link("previous", max(0, offset-limit), offset > 0) + ", " + link("next", offset+limit, more)
}
