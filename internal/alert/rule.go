package alert

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"triage"
)

// Levels in increasing severity; "level at least X" compares positions.
var levels = []string{"debug", "info", "warning", "error", "fatal"}

func levelRank(l string) int {
	for i, v := range levels {
		if v == l {
			return i
		}
	}
	if l == "critical" {
		return len(levels) - 1
	}
	return -1
}

// Frequency is "seen more than Count times in Minutes minutes".
type Frequency struct {
	Count   int64 `json:"count"`
	Minutes int64 `json:"minutes"`
}

// Conditions must all hold for a rule to fire. The zero value holds for
// every event (throttled per issue).
type Conditions struct {
	// FirstSeen: the issue was just created.
	FirstSeen bool `json:"firstSeen,omitempty"`
	// Regression: a resolved issue received an event again.
	Regression bool       `json:"regression,omitempty"`
	Frequency  *Frequency `json:"frequency,omitempty"`
	// Level: the issue's level is at least this one.
	Level string `json:"level,omitempty"`
	// Environment: the triggering event's environment is exactly this.
	Environment string `json:"environment,omitempty"`
}

// Trigger is what made Triage look at an issue: one ingestion job.
type Trigger string

const (
	TriggerCreated   Trigger = "issue.created"
	TriggerRegressed Trigger = "issue.regressed"
	TriggerEvent     Trigger = "event.received"
)

// listensTo tells which trigger evaluates the rule: a rule about new
// issues on issue.created, one about regressions on issue.regressed, any
// other on every batch of events. So a rule fires once per cause.
func (c Conditions) listensTo() Trigger {
	switch {
	case c.FirstSeen:
		return TriggerCreated
	case c.Regression:
		return TriggerRegressed
	}
	return TriggerEvent
}

// Facts are what a rule's conditions are checked against.
type Facts struct {
	Trigger     Trigger
	Issue       *triage.Issue
	Environment string
	// RecentEvents counts the issue's events in the frequency window that
	// ends at the triggering events: without them (before) and with them
	// (after), each exact up to limit. It is called only for rules with a
	// frequency condition.
	RecentEvents func(window time.Duration, limit int64) (before, after int64, err error)
}

// Matches tells whether every condition holds.
func (c Conditions) Matches(f Facts) (bool, error) {
	if c.listensTo() != f.Trigger {
		return false, nil
	}
	if f.Trigger == TriggerEvent && f.Issue.Status == triage.StatusIgnored {
		return false, nil // an ignored issue is quiet by definition
	}
	if c.Level != "" && levelRank(f.Issue.Level) < levelRank(c.Level) {
		return false, nil
	}
	if c.Environment != "" && c.Environment != f.Environment {
		return false, nil
	}
	if fr := c.Frequency; fr != nil {
		// "More than N in M minutes" fires on the event that makes it
		// true, once per crossing: not again while it stays true.
		before, after, err := f.RecentEvents(time.Duration(fr.Minutes)*time.Minute, fr.Count+1)
		if err != nil {
			return false, err
		}
		if before > fr.Count || after <= fr.Count {
			return false, nil
		}
	}
	return true, nil
}

// FieldError is invalid input: the JSON field at fault and why, for
// {"detail": …, "field": …}.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap lets callers read the code with triage.ErrorCode (EINVALID).
func (e *FieldError) Unwrap() error { return triage.Errorf(triage.EINVALID, "%s", e.Reason) }

func invalid(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Limits on rule settings.
const (
	maxNameLen         = 200
	maxThrottleMinutes = 7 * 24 * 60
	maxFrequencyWindow = 7 * 24 * 60
	maxFrequencyCount  = 1_000_000_000
	DefaultThrottle    = 30
)

var envPattern = regexp.MustCompile(`^[^\s/]{1,64}$`)

// Validate checks conditions alone; the field names are the API's.
func (c Conditions) Validate() error {
	if c.FirstSeen && c.Regression {
		return invalid("conditions.regression", "a new issue is never a regression: make two rules, one for each")
	}
	if fr := c.Frequency; fr != nil {
		if fr.Count < 1 || fr.Count > maxFrequencyCount {
			return invalid("conditions.frequency.count", "must be a whole number from 1 to %d (fires when seen more than this many times)", maxFrequencyCount)
		}
		if fr.Minutes < 1 || fr.Minutes > maxFrequencyWindow {
			return invalid("conditions.frequency.minutes", "must be a whole number of minutes from 1 to %d", maxFrequencyWindow)
		}
	}
	if c.Level != "" && levelRank(c.Level) < 0 {
		return invalid("conditions.level", "unknown level %q: use one of %s", c.Level, strings.Join(levels, ", "))
	}
	if c.Environment != "" && !envPattern.MatchString(c.Environment) {
		return invalid("conditions.environment", "must be 1 to 64 characters without spaces or slashes")
	}
	return nil
}

// validateName trims and checks a rule's name.
func validateName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", invalid("name", "is required")
	case utf8.RuneCountInString(name) > maxNameLen:
		return "", invalid("name", "must be at most %d characters", maxNameLen)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", invalid("name", "must not contain control characters")
	}
	return name, nil
}

func validateThrottle(minutes int64) error {
	if minutes < 0 || minutes > maxThrottleMinutes {
		return invalid("throttleMinutes", "must be from 0 (every time) to %d minutes", maxThrottleMinutes)
	}
	return nil
}

// channelIDPattern is a Slack conversation id: C… (public or private),
// G… (older private channels).
var channelIDPattern = regexp.MustCompile(`^[CG][A-Z0-9]{1,20}$`)

// channelNamePattern is what Slack allows in a channel name.
var channelNamePattern = regexp.MustCompile(`^[\p{Ll}\p{Lo}\p{N}_\-.]{1,80}$`)

func encodeConditions(c Conditions) string {
	b, _ := json.Marshal(c)
	return string(b)
}

func decodeConditions(s string) (Conditions, error) {
	var c Conditions
	if s == "" {
		return c, nil
	}
	err := json.Unmarshal([]byte(s), &c)
	return c, err
}

// Describe renders the conditions for people, e.g. "a new issue, level at
// least error, in production".
func (c Conditions) Describe() string {
	var parts []string
	switch {
	case c.FirstSeen:
		parts = append(parts, "a new issue")
	case c.Regression:
		parts = append(parts, "a regression")
	default:
		parts = append(parts, "any event")
	}
	if fr := c.Frequency; fr != nil {
		parts = append(parts, fmt.Sprintf("seen more than %d times in %d min", fr.Count, fr.Minutes))
	}
	if c.Level != "" {
		parts = append(parts, "level at least "+c.Level)
	}
	if c.Environment != "" {
		parts = append(parts, "in "+c.Environment)
	}
	return strings.Join(parts, ", ")
}
