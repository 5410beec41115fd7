package alert

import (
	"fmt"

	"triage/internal/issues"
)

// transitionText is the thread reply for a change that events made: a
// regression, or an ignore that ended (what it was and what ended it).
func transitionText(t *issues.Transition) string {
	switch t.Kind {
	case issues.Regressed:
		if t.Event.Release != "" {
			return fmt.Sprintf("*Regressed* in %s: a new event arrived after the issue was resolved", escapeMrkdwn(t.Event.Release))
		}
		return "*Regressed*: a new event arrived after the issue was resolved"
	case issues.Unignored:
		return unignoredText(t)
	}
	return ""
}

// unignoredText says what the ignore was and what ended it.
func unignoredText(t *issues.Transition) string {
	const head = "*No longer ignored*: "
	d := t.Ignore
	switch {
	case t.Reason == "ignoreCount" && d.IgnoreCount == 1:
		return head + "it was ignored until it happened once more, and it did"
	case t.Reason == "ignoreCount" && d.IgnoreCount > 1:
		return head + fmt.Sprintf("it was ignored until it happened %d more times, and it did", d.IgnoreCount)
	case d.IgnoreMinutes > 0:
		return head + fmt.Sprintf("it was ignored for %d minutes, and a new event arrived after", d.IgnoreMinutes)
	case d.IgnoreUntil != nil:
		return head + "it was ignored until " + d.IgnoreUntil.UTC().Format("2006-01-02 15:04 UTC") + ", and a new event arrived"
	}
	return head + "a new event arrived after the ignore ran out"
}
