// Package eventview renders an issue's stored events for its page: the
// latest event with its exception and stack trace (the application's own
// frames first, the rest folded away), tags, user, release and environment,
// and a list of recent events.
package eventview

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"slices"

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

// View renders events.
type View struct {
	store *store.Store
	dec   Decoder
	tmpl  *template.Template
}

// New parses the template once.
func New(s *store.Store, dec Decoder) *View {
	return &View{store: s, dec: dec, tmpl: template.Must(template.ParseFS(files, "event.html"))}
}

type frameView struct {
	ingest.Frame
	InApp bool
}

type exceptionView struct {
	Type, Value, Module string
	AppFrames           []frameView // newest call first
	OtherFrames         []frameView
}

type recentView struct {
	EventID, Release, Environment string
	Received                      string
}

// Section renders the issue's latest event and its recent events.
func (v *View) Section(ctx context.Context, issue *triage.Issue) (template.HTML, error) {
	rows, err := v.store.IssueEvents(ctx, issue.ID, 20)
	if err != nil {
		return "", err
	}
	data := struct {
		Latest     *ingest.Event
		Exceptions []exceptionView
		Recent     []recentView
	}{}
	if len(rows) > 0 {
		ev, err := v.dec.Decode(rows[0])
		if err != nil {
			return "", fmt.Errorf("decode latest event of issue %d: %w", issue.ID, err)
		}
		data.Latest = ev
		// The thrown exception first, then its causes.
		for i := len(ev.Exceptions) - 1; i >= 0; i-- {
			ex := ev.Exceptions[i]
			xv := exceptionView{Type: ex.Type, Value: ex.Value, Module: ex.Module}
			frames := slices.Clone(ex.Frames)
			slices.Reverse(frames)
			for _, f := range frames {
				fv := frameView{Frame: f, InApp: f.IsInApp()}
				if fv.InApp {
					xv.AppFrames = append(xv.AppFrames, fv)
				} else {
					xv.OtherFrames = append(xv.OtherFrames, fv)
				}
			}
			data.Exceptions = append(data.Exceptions, xv)
		}
	}
	for _, r := range rows {
		data.Recent = append(data.Recent, recentView{EventID: r.EventID, Release: r.Release, Environment: r.Environment,
			Received: r.Received.Format("2006-01-02 15:04:05 UTC")})
	}
	var buf bytes.Buffer
	if err := v.tmpl.ExecuteTemplate(&buf, "event.html", data); err != nil {
		return "", fmt.Errorf("render events: %w", err)
	}
	return template.HTML(buf.String()), nil
}
