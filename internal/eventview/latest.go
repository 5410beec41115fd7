package eventview

import (
	"context"
	"fmt"
	"strings"

	"triage"
)

// LatestFrames describes up to n stack frames of the issue's latest event,
// newest call first, the application's own first ("handler in
// app/views.py:42"): the few lines an alert email shows. An issue without
// events or frames has none.
func (v *View) LatestFrames(ctx context.Context, issue *triage.Issue, n int) ([]string, error) {
	row, err := v.load(ctx, issue, "latest")
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	ev, err := v.dec.Decode(row)
	if err != nil {
		return nil, fmt.Errorf("decode event %s: %w", row.EventID, err)
	}
	if len(ev.Exceptions) == 0 {
		return nil, nil
	}
	ex := &ev.Exceptions[len(ev.Exceptions)-1] // the thrown one
	var app, other []string
	for j := len(ex.Frames) - 1; j >= 0; j-- {
		f := frameOf(&ex.Frames[j])
		line := f.Function
		if line == "" {
			line = "?"
		}
		if f.File != "" {
			line += " in " + f.File
			if f.Line > 0 {
				line += fmt.Sprintf(":%d", f.Line)
			}
		}
		if f.InApp {
			app = append(app, strings.TrimSpace(line))
		} else {
			other = append(other, strings.TrimSpace(line))
		}
	}
	out := append(app, other...)
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}
