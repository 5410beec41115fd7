package eventview

import (
	"context"
	"strconv"
	"time"

	"triage"
	"triage/internal/ingest"
	"triage/internal/store"
)

// APIEvent is an event as Sentry's API shows it (GET
// /api/0/issues/{id}/events/…): its ids, when it was received, the
// normalized fields and, for one event or with full=true, its entries.
type APIEvent struct {
	ID           string     `json:"id"`
	EventID      string     `json:"eventID"`
	GroupID      string     `json:"groupID"`
	ProjectID    string     `json:"projectID"`
	DateCreated  time.Time  `json:"dateCreated"`
	DateReceived time.Time  `json:"dateReceived"`
	Timestamp    time.Time  `json:"timestamp"`
	Title        string     `json:"title"`
	Culprit      string     `json:"culprit"`
	Message      string     `json:"message"`
	Platform     string     `json:"platform"`
	Level        string     `json:"level"`
	Release      string     `json:"release"`
	Environment  string     `json:"environment"`
	Tags         []apiTag   `json:"tags"`
	User         any        `json:"user"`
	Contexts     any        `json:"contexts"`
	SDK          any        `json:"sdk"`
	Fingerprints []string   `json:"fingerprints"`
	Entries      []apiEntry `json:"entries,omitempty"`
}

type apiTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type apiEntry struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// Event returns one event of the issue for the API: which is an event id,
// "latest" or "oldest"; ENOTFOUND when there is no such event.
func (v *View) Event(ctx context.Context, issue *triage.Issue, which string) (*APIEvent, error) {
	row, err := v.load(ctx, issue, which)
	if err != nil {
		return nil, err
	}
	return v.apiEvent(row, true)
}

// Events lists limit of the issue's events, newest first, after skipping
// offset; more says whether there are further events.
func (v *View) Events(ctx context.Context, issue *triage.Issue, offset, limit int, full bool) ([]*APIEvent, bool, error) {
	rows, err := v.store.IssueEventsAt(ctx, issue.ID, offset, limit+1)
	if err != nil {
		return nil, false, err
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	out := make([]*APIEvent, 0, len(rows))
	for _, r := range rows {
		e, err := v.apiEvent(r, full)
		if err != nil {
			return nil, false, err
		}
		out = append(out, e)
	}
	return out, more, nil
}

func (v *View) apiEvent(row store.StoredEvent, entries bool) (*APIEvent, error) {
	d, err := v.decode(row)
	if err != nil {
		return nil, err
	}
	ev, doc := d.Event, d.doc
	e := &APIEvent{ID: ev.EventID, EventID: ev.EventID, GroupID: strconv.FormatInt(row.IssueID, 10),
		ProjectID: strconv.FormatInt(row.ProjectID, 10), DateCreated: row.Received, DateReceived: row.Received,
		Timestamp: ev.Timestamp, Title: ev.Title(), Culprit: ev.Culprit(), Message: ev.Message, Platform: ev.Platform,
		Level: ev.Level, Release: ev.Release, Environment: ev.Environment, Tags: []apiTag{},
		User: doc["user"], Contexts: doc["contexts"], SDK: doc["sdk"], Fingerprints: []string{ev.GroupingHash()}}
	for _, t := range ev.Tags {
		e.Tags = append(e.Tags, apiTag(t))
	}
	if e.Contexts == nil {
		e.Contexts = map[string]any{}
	}
	if !entries {
		return e, nil
	}
	e.Entries = []apiEntry{}
	if len(ev.Exceptions) > 0 {
		e.Entries = append(e.Entries, apiEntry{"exception", map[string]any{"values": apiExceptions(ev)}})
	}
	if ev.Message != "" {
		e.Entries = append(e.Entries, apiEntry{"message", map[string]any{"formatted": ev.Message, "message": ev.MessageTemplate}})
	}
	for _, k := range []string{"threads", "breadcrumbs", "request"} {
		if d, ok := doc[k]; ok && d != nil {
			e.Entries = append(e.Entries, apiEntry{k, d})
		}
	}
	if x, ok := doc["extra"]; ok && x != nil {
		e.Entries = append(e.Entries, apiEntry{"extra", x})
	}
	return e, nil
}

func apiExceptions(ev *ingest.Event) []map[string]any {
	out := make([]map[string]any, 0, len(ev.Exceptions))
	for i := range ev.Exceptions {
		ex := &ev.Exceptions[i]
		frames := make([]map[string]any, 0, len(ex.Frames))
		for j := range ex.Frames {
			f := &ex.Frames[j]
			var ctx [][2]any
			for k, l := range f.PreContext {
				ctx = append(ctx, [2]any{f.Lineno - len(f.PreContext) + k, l})
			}
			if f.ContextLine != "" {
				ctx = append(ctx, [2]any{f.Lineno, f.ContextLine})
			}
			for k, l := range f.PostContext {
				ctx = append(ctx, [2]any{f.Lineno + k + 1, l})
			}
			frames = append(frames, map[string]any{"filename": f.Filename, "absPath": f.AbsPath, "module": f.Module,
				"function": f.Function, "lineNo": f.Lineno, "colNo": f.Colno, "inApp": f.IsInApp(), "context": ctx})
		}
		var mech any
		if ex.Mechanism != "" || ex.Handled != nil {
			mech = map[string]any{"type": ex.Mechanism, "handled": ex.Handled}
		}
		out = append(out, map[string]any{"type": ex.Type, "value": ex.Value, "module": ex.Module, "mechanism": mech,
			"stacktrace": map[string]any{"frames": frames}})
	}
	return out
}
