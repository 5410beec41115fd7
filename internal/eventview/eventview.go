// Package eventview shows an issue's stored events: one page per event
// (the issue page shows the latest) with every section the event carries,
// in the order Sentry users know, and the events API's JSON. Secrets in
// the request, contexts, extra and breadcrumbs are masked (see maskTree)
// before anything is shown.
package eventview

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"

	"triage"
	"triage/internal/ingest"
	"triage/internal/store"
)

//go:embed event.html
var files embed.FS

// Decoder reads a stored event; *eventwriter.Writer is one.
type Decoder interface {
	Decode(row store.StoredEvent) (*ingest.Event, error)
}

// Events is what the view reads of an issue's stored events.
type Events interface {
	// IssueEventsAt lists limit of the issue's events, newest first,
	// skipping the offset newest; none is an empty list, not an error.
	IssueEventsAt(ctx context.Context, issueID int64, offset, limit int) ([]store.StoredEvent, error)
	// IssueEvent returns one event of the issue by its event id;
	// ENOTFOUND when the issue has no such event.
	IssueEvent(ctx context.Context, projectID, issueID int64, eventID string) (store.StoredEvent, error)
	// IssueEdgeEvent returns the issue's oldest or latest event; ENOTFOUND
	// when it has none.
	IssueEdgeEvent(ctx context.Context, issueID int64, oldest bool) (store.StoredEvent, error)
	// IssueEventNeighbors returns the event ids around e, "" where there is
	// none; it has no error code of its own.
	IssueEventNeighbors(ctx context.Context, e store.StoredEvent) (store.EventNeighbors, error)
}

var _ Events = (*store.Store)(nil)

// View renders events.
type View struct {
	store Events
	dec   Decoder
	tmpl  *template.Template
}

// New parses the template once.
func New(s Events, dec Decoder) *View {
	return &View{store: s, dec: dec, tmpl: template.Must(template.ParseFS(files, "event.html"))}
}

// contextLine is one line of source around a frame.
type contextLine struct {
	N     int // 0 when the frame has no line number
	Text  string
	Error bool // the frame's own line
}

type frameView struct {
	File, Module, Function string
	Line, Col              int
	InApp                  bool
	Context                []contextLine
}

// setContext numbers the lines around the frame's line.
func (f *frameView) setContext(pre []string, line string, post []string) {
	if line == "" && len(pre) == 0 && len(post) == 0 {
		return
	}
	n := func(off int) int {
		if f.Line == 0 {
			return 0
		}
		return max(f.Line+off, 0)
	}
	for i, l := range pre {
		f.Context = append(f.Context, contextLine{N: n(i - len(pre)), Text: l})
	}
	f.Context = append(f.Context, contextLine{N: n(0), Text: line, Error: true})
	for i, l := range post {
		f.Context = append(f.Context, contextLine{N: n(i + 1), Text: l})
	}
}

func frameOf(f *ingest.Frame) frameView {
	v := frameView{File: firstOf(f.Filename, f.AbsPath, f.Module), Module: f.Module, Function: f.Function,
		Line: f.Lineno, Col: f.Colno, InApp: f.IsInApp()}
	v.setContext(f.PreContext, f.ContextLine, f.PostContext)
	return v
}

type exceptionView struct {
	Type, Value, Module, Mechanism string
	Handled                        string // "yes", "no" or "" when the SDK did not say
	// AppFrames are the in-app frames, newest call first, and OtherFrames
	// the rest, folded away; without in-app frames all are in AppFrames.
	AppFrames, OtherFrames template.HTML
	NAll, NOther           int
}

func exceptionsOf(ev *ingest.Event) []exceptionView {
	var out []exceptionView
	// The thrown exception first, then its causes.
	for i := len(ev.Exceptions) - 1; i >= 0; i-- {
		ex := &ev.Exceptions[i]
		xv := exceptionView{Type: ex.Type, Value: ex.Value, Module: ex.Module, Mechanism: ex.Mechanism}
		if ex.Handled != nil {
			xv.Handled = map[bool]string{true: "yes", false: "no"}[*ex.Handled]
		}
		var app, other []frameView
		for j := len(ex.Frames) - 1; j >= 0; j-- {
			fv := frameOf(&ex.Frames[j])
			if fv.InApp {
				app = append(app, fv)
			} else {
				other = append(other, fv)
			}
		}
		if len(app) == 0 {
			app, other = other, nil
		}
		xv.NAll, xv.NOther = len(app)+len(other), len(other)
		if len(app) > 0 {
			xv.AppFrames = framesHTML(app)
		}
		if len(other) > 0 {
			xv.OtherFrames = framesHTML(other)
		}
		out = append(out, xv)
	}
	return out
}

type recentView struct {
	EventID, URL, Release, Environment, Received string
	Current                                      bool
}

type navLink struct{ Label, URL string }

// page is what event.html shows.
type page struct {
	Event                     *ingest.Event
	Title, Culprit            string
	Received, Timestamp       string
	Nav                       []navLink
	URL, RawURL               string
	Exceptions                []exceptionView
	Threads                   []thread
	Breadcrumbs               []breadcrumb
	Request                   *request
	User                      []row
	Contexts                  []named
	Extra                     []row
	Logger, GroupingReason    string
	Message, MessageTemplate  string
	RawJSON                   template.HTML // escaped
	Recent                    []recentView
	RecentTruncated, IsLatest bool
}

// Section renders the issue's latest event, with its recent events, for
// the issue page.
func (v *View) Section(ctx context.Context, issue *triage.Issue) (template.HTML, error) {
	return v.EventSection(ctx, issue, "latest")
}

// EventSection renders one event of the issue: which is an event id,
// "latest" or "oldest". ENOTFOUND when the issue has no such event; for
// "latest" an issue without stored events renders a short note instead.
func (v *View) EventSection(ctx context.Context, issue *triage.Issue, which string) (template.HTML, error) {
	row, err := v.load(ctx, issue, which)
	if triage.ErrorCode(err) == triage.ENOTFOUND && which == "latest" {
		return v.exec(&page{})
	} else if err != nil {
		return "", err
	}
	d, err := v.decode(row)
	if err != nil {
		return "", err
	}
	p := v.pageOf(issue, row, d)
	nb, err := v.store.IssueEventNeighbors(ctx, row)
	if err != nil {
		return "", err
	}
	p.IsLatest = nb.Newer == ""
	for _, l := range []struct{ label, id string }{{"Oldest", nb.Oldest}, {"Older", nb.Older}, {"Newer", nb.Newer}, {"Latest", nb.Latest}} {
		if l.id != "" {
			p.Nav = append(p.Nav, navLink{l.label, eventPath(issue, l.id)})
		} else {
			p.Nav = append(p.Nav, navLink{l.label, ""})
		}
	}
	recent, err := v.store.IssueEventsAt(ctx, issue.ID, 0, 21)
	if err != nil {
		return "", err
	}
	if len(recent) > 20 {
		recent, p.RecentTruncated = recent[:20], true
	}
	for _, r := range recent {
		p.Recent = append(p.Recent, recentView{EventID: r.EventID, URL: eventPath(issue, r.EventID), Release: r.Release,
			Environment: r.Environment, Received: r.Received.Format("2006-01-02 15:04:05 UTC"), Current: r.EventID == row.EventID})
	}
	return v.exec(p)
}

func (v *View) exec(p *page) (template.HTML, error) {
	var buf bytes.Buffer
	buf.Grow(64<<10 + len(p.RawJSON)*3/2)
	if err := v.tmpl.ExecuteTemplate(&buf, "event.html", p); err != nil {
		return "", fmt.Errorf("render event: %w", err)
	}
	return template.HTML(buf.String()), nil
}

// eventPath is the URL of an event's page.
func eventPath(issue *triage.Issue, eventID string) string {
	return issue.Path() + "events/" + eventID + "/"
}

// load finds the stored event which names.
func (v *View) load(ctx context.Context, issue *triage.Issue, which string) (store.StoredEvent, error) {
	switch which {
	case "latest", "oldest":
		return v.store.IssueEdgeEvent(ctx, issue.ID, which == "oldest")
	}
	id := strings.ToLower(strings.ReplaceAll(which, "-", ""))
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return store.StoredEvent{}, triage.Errorf(triage.ENOTFOUND, "event not found")
	}
	return v.store.IssueEvent(ctx, issue.ProjectID, issue.ID, id)
}

// decoded is a stored event with its JSON document, secrets masked.
type decoded struct {
	*ingest.Event
	doc    map[string]any
	masked bool // whether masking changed the document
}

// decode reads a stored event and its masked JSON document.
func (v *View) decode(row store.StoredEvent) (*decoded, error) {
	ev, err := v.dec.Decode(row)
	if err != nil {
		return nil, fmt.Errorf("decode event %s: %w", row.EventID, err)
	}
	d := &decoded{Event: ev, doc: map[string]any{}}
	if len(ev.Raw) > 0 {
		if err := json.Unmarshal(ev.Raw, &d.doc); err != nil {
			d.doc = map[string]any{} // Normalize accepted it; keep the page
		}
	}
	maskTree(d.doc, &d.masked)
	return d, nil
}

func (v *View) pageOf(issue *triage.Issue, row store.StoredEvent, d *decoded) *page {
	ev, doc := d.Event, d.doc
	p := &page{Event: ev, Title: ev.Title(), Culprit: ev.Culprit(),
		Received:  row.Received.Format("2006-01-02 15:04:05 UTC"),
		Timestamp: ev.Timestamp.Format("2006-01-02 15:04:05 UTC"),
		URL:       eventPath(issue, row.EventID), RawURL: eventPath(issue, row.EventID) + "json/",
		Exceptions: exceptionsOf(ev), Threads: readThreads(doc["threads"]), Breadcrumbs: readBreadcrumbs(doc["breadcrumbs"]),
		Request: readRequest(doc["request"]), User: rows(doc["user"]), Contexts: readContexts(doc["contexts"]),
		Extra: rows(doc["extra"]), Logger: str(doc, "logger"), GroupingReason: ev.GroupingReason(),
		Message: ev.Message}
	if ev.MessageTemplate != "" && ev.MessageTemplate != ev.Message {
		p.MessageTemplate = ev.MessageTemplate
	}
	if b, err := d.indentJSON(); err == nil {
		var sb strings.Builder
		sb.Grow(len(b) + len(b)/8)
		template.HTMLEscape(&sb, b)
		p.RawJSON = template.HTML(sb.String())
	}
	return p
}

// RawJSON returns the event as the SDK sent it, secrets masked, indented.
func (v *View) RawJSON(ctx context.Context, issue *triage.Issue, which string) ([]byte, error) {
	row, err := v.load(ctx, issue, which)
	if err != nil {
		return nil, err
	}
	d, err := v.decode(row)
	if err != nil {
		return nil, err
	}
	return d.indentJSON()
}

// indentJSON is the masked document, indented. When masking changed
// nothing the SDK's own JSON is indented as it is, which for a large event
// is several times faster than encoding the decoded document again.
func (d *decoded) indentJSON() ([]byte, error) {
	if len(d.Raw) > 0 && !d.masked {
		var buf bytes.Buffer
		buf.Grow(len(d.Raw) * 5 / 4)
		if err := json.Indent(&buf, d.Raw, "", "  "); err == nil {
			return buf.Bytes(), nil
		}
	}
	return json.MarshalIndent(d.doc, "", "  ")
}
