package web

import (
	"fmt"
	"time"

	"triage"
)

// statusLabel is the one-word state a page shows.
func statusLabel(st triage.Status) string {
	switch st {
	case triage.StatusResolved:
		return "Resolved"
	case triage.StatusIgnored:
		return "Ignored"
	}
	return "Unresolved"
}

// statusDetail says what qualifies the state: which release, how long.
func statusDetail(i *triage.Issue) string {
	d := i.StatusDetails
	switch i.Status {
	case triage.StatusResolved:
		switch {
		case d.InNextRelease:
			return "Resolved in the next release"
		case d.InRelease != "":
			return "Resolved in release " + d.InRelease
		}
		return "Resolved"
	case triage.StatusIgnored:
		switch {
		case d.IgnoreCount > 0 && d.IgnoreWindow > 0:
			return fmt.Sprintf("Ignored until it occurs %d more times within %s", d.IgnoreCount, minutes(d.IgnoreWindow))
		case d.IgnoreCount > 0:
			return fmt.Sprintf("Ignored until it occurs %d more times", d.IgnoreCount)
		case d.IgnoreMinutes > 0 && d.IgnoreUntil != nil:
			return fmt.Sprintf("Ignored for %s, until %s", minutes(d.IgnoreMinutes), formatTime(*d.IgnoreUntil))
		case d.IgnoreUntil != nil:
			return "Ignored until " + formatTime(*d.IgnoreUntil)
		}
		return "Ignored forever"
	}
	return "Unresolved"
}

// minutes writes a duration given in minutes the way people say it.
func minutes(n int64) string {
	switch {
	case n%(24*60) == 0:
		return plural(n/(24*60), "day")
	case n%60 == 0:
		return plural(n/60, "hour")
	}
	return plural(n, "minute")
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// activityText is one line of an issue's history, without the actor.
func activityText(a *triage.Activity) string {
	str := func(k string) string { v, _ := a.Data[k].(string); return v }
	num := func(k string) int64 { v, _ := a.Data[k].(float64); return int64(v) }
	switch a.Type {
	case triage.ActivityFirstSeen:
		return "first saw this issue"
	case triage.ActivitySetResolved:
		return "marked this issue as resolved"
	case triage.ActivitySetResolvedInRel:
		if v := str("version"); v != "" {
			return "marked this issue as resolved in release " + v
		}
		return "marked this issue as resolved in the next release"
	case triage.ActivitySetIgnored:
		switch {
		case num("ignoreDuration") > 0:
			return "ignored this issue for " + minutes(num("ignoreDuration"))
		case num("ignoreCount") > 0:
			return fmt.Sprintf("ignored this issue until it occurs %d more times", num("ignoreCount"))
		case str("ignoreUntil") != "":
			if t, err := time.Parse(time.RFC3339, str("ignoreUntil")); err == nil {
				return "ignored this issue until " + formatTime(t)
			}
		}
		return "ignored this issue"
	case triage.ActivitySetUnresolved:
		return "marked this issue as unresolved"
	case triage.ActivitySetRegression:
		if v := str("version"); v != "" {
			return "saw this issue regress in release " + v
		}
		return "saw this issue regress"
	case triage.ActivityAssigned:
		name := str("assigneeName")
		if str("assigneeType") == "team" {
			name = "#" + name
		}
		return "assigned this issue to " + name
	case triage.ActivityUnassigned:
		return "unassigned this issue"
	case triage.ActivityNote:
		return "commented"
	}
	return a.Type
}

// noteText is a comment's text, "" for any other activity.
func noteText(a *triage.Activity) string {
	if a.Type != triage.ActivityNote {
		return ""
	}
	t, _ := a.Data["text"].(string)
	return t
}

// activityActor names who did it: the user, or Triage itself.
func activityActor(a *triage.Activity) string {
	if a.User == nil {
		// A reply in a card's Slack thread by someone not linked to Triage.
		if name, _ := a.Data["slackName"].(string); name != "" {
			return "Slack user " + name
		}
		return "Triage"
	}
	return a.User.DisplayName()
}

func sourceLabel(s triage.Source) string {
	switch s {
	case triage.SourceSlack:
		return "from Slack"
	case triage.SourceAPI:
		return "through the API"
	case triage.SourceWeb:
		return "on the web"
	}
	return ""
}
