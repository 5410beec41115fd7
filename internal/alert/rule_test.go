package alert

import (
	"errors"
	"strings"
	"testing"
	"time"

	"triage"
)

func TestConditionsMatch(t *testing.T) {
	t.Parallel()
	issue := func(level string, status triage.Status) *triage.Issue {
		return &triage.Issue{ID: 1, Level: level, Status: status}
	}
	recent := func(before, after int64) func(time.Duration, int64) (int64, int64, error) {
		return func(_ time.Duration, limit int64) (int64, int64, error) {
			return min(before, limit), min(after, limit), nil
		}
	}
	tests := []struct {
		name  string
		c     Conditions
		facts Facts
		want  bool
	}{
		{"new issue on issue.created", Conditions{FirstSeen: true},
			Facts{Trigger: TriggerCreated, Issue: issue("error", triage.StatusUnresolved)}, true},
		{"new issue ignores event.received", Conditions{FirstSeen: true},
			Facts{Trigger: TriggerEvent, Issue: issue("error", triage.StatusUnresolved)}, false},
		{"new issue ignores regressions", Conditions{FirstSeen: true},
			Facts{Trigger: TriggerRegressed, Issue: issue("error", triage.StatusUnresolved)}, false},
		{"regression on issue.regressed", Conditions{Regression: true},
			Facts{Trigger: TriggerRegressed, Issue: issue("error", triage.StatusUnresolved)}, true},
		{"regression ignores new issues", Conditions{Regression: true},
			Facts{Trigger: TriggerCreated, Issue: issue("error", triage.StatusUnresolved)}, false},
		{"no condition: every batch", Conditions{},
			Facts{Trigger: TriggerEvent, Issue: issue("info", triage.StatusUnresolved)}, true},
		{"no condition: not on creation (the batch's event.received covers it)", Conditions{},
			Facts{Trigger: TriggerCreated, Issue: issue("info", triage.StatusUnresolved)}, false},
		{"ignored issues are quiet", Conditions{},
			Facts{Trigger: TriggerEvent, Issue: issue("error", triage.StatusIgnored)}, false},
		{"level at least error: error", Conditions{Level: "error"},
			Facts{Trigger: TriggerEvent, Issue: issue("error", triage.StatusUnresolved)}, true},
		{"level at least error: fatal", Conditions{Level: "error"},
			Facts{Trigger: TriggerEvent, Issue: issue("fatal", triage.StatusUnresolved)}, true},
		{"level at least error: warning", Conditions{Level: "error"},
			Facts{Trigger: TriggerEvent, Issue: issue("warning", triage.StatusUnresolved)}, false},
		{"level at least debug: unknown level", Conditions{Level: "debug"},
			Facts{Trigger: TriggerEvent, Issue: issue("weird", triage.StatusUnresolved)}, false},
		{"environment matches", Conditions{Environment: "production"},
			Facts{Trigger: TriggerEvent, Issue: issue("error", triage.StatusUnresolved), Environment: "production"}, true},
		{"environment differs", Conditions{Environment: "production"},
			Facts{Trigger: TriggerEvent, Issue: issue("error", triage.StatusUnresolved), Environment: "staging"}, false},
		{"environment missing", Conditions{Environment: "production"},
			Facts{Trigger: TriggerEvent, Issue: issue("error", triage.StatusUnresolved)}, false},
		{"more than 10 in 5 min: the 11th", Conditions{Frequency: &Frequency{Count: 10, Minutes: 5}},
			Facts{Trigger: TriggerEvent, Issue: issue("error", triage.StatusUnresolved), RecentEvents: recent(10, 11)}, true},
		{"more than 10 in 5 min: the 10th", Conditions{Frequency: &Frequency{Count: 10, Minutes: 5}},
			Facts{Trigger: TriggerEvent, Issue: issue("error", triage.StatusUnresolved), RecentEvents: recent(9, 10)}, false},
		{"more than 10 in 5 min: a batch from 8 to 14", Conditions{Frequency: &Frequency{Count: 10, Minutes: 5}},
			Facts{Trigger: TriggerEvent, Issue: issue("error", triage.StatusUnresolved), RecentEvents: recent(8, 14)}, true},
		{"more than 10 in 5 min: the 12th (fired on the 11th)", Conditions{Frequency: &Frequency{Count: 10, Minutes: 5}},
			Facts{Trigger: TriggerEvent, Issue: issue("error", triage.StatusUnresolved), RecentEvents: recent(11, 12)}, false},
		{"all must hold: one fails", Conditions{FirstSeen: true, Level: "error", Environment: "prod"},
			Facts{Trigger: TriggerCreated, Issue: issue("error", triage.StatusUnresolved), Environment: "dev"}, false},
		{"all must hold: all hold", Conditions{FirstSeen: true, Level: "warning", Environment: "prod", Frequency: &Frequency{Count: 0, Minutes: 1}},
			Facts{Trigger: TriggerCreated, Issue: issue("error", triage.StatusUnresolved), Environment: "prod", RecentEvents: recent(0, 1)}, true},
	}
	for _, tt := range tests {
		got, err := tt.c.Matches(tt.facts)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: Matches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFrequencyAsksForOneMoreThanTheThreshold(t *testing.T) {
	t.Parallel()
	var window time.Duration
	var limit int64
	c := Conditions{Frequency: &Frequency{Count: 100, Minutes: 60}}
	_, err := c.Matches(Facts{Trigger: TriggerEvent, Issue: &triage.Issue{Level: "error"}, RecentEvents: func(w time.Duration, l int64) (int64, int64, error) {
		window, limit = w, l
		return 0, 0, nil
	}})
	if err != nil || window != time.Hour || limit != 101 {
		t.Fatalf("counted over %s up to %d (%v); want 1h up to 101", window, limit, err)
	}
}

func TestParseRuleInputRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, field, reason string
	}{
		{``, "body", "empty"},
		{`[1]`, "body", "JSON object"},
		{`{"name": "x",}`, "body", "not valid JSON"},
		{`{"nmae": "x"}`, "nmae", "unknown field"},
		{`{"name": 3}`, "name", "string"},
		{`{"conditions": {"firstseen": true}}`, "conditions.firstseen", "unknown condition"},
		{`{"conditions": {"firstSeen": "yes"}}`, "conditions.firstSeen", "true or false"},
		{`{"conditions": {"frequency": {"count": 1, "minute": 5}}}`, "conditions.frequency.minute", "unknown field"},
		{`{"conditions": {"frequency": {"count": 1.5, "minutes": 5}}}`, "conditions.frequency.count", "whole number"},
		{`{"conditions": {"frequency": 5}}`, "conditions.frequency", "JSON object"},
		{`{"action": {"integrationId": "abc", "channel": "C1"}}`, "action.integrationId", "id of a Slack workspace"},
		{`{"action": {"integrationId": "1", "chanel": "C1"}}`, "action.chanel", "unknown field"},
		{`{"throttleMinutes": "30"}`, "throttleMinutes", "whole number"},
		{`{"thread": 1}`, "thread", "true or false"},
	}
	for _, tt := range tests {
		_, err := ParseRuleInput([]byte(tt.body))
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want a FieldError", tt.body, err)
			continue
		}
		if fe.Field != tt.field || !strings.Contains(fe.Reason, tt.reason) {
			t.Errorf("%s: field %q reason %q; want %q containing %q", tt.body, fe.Field, fe.Reason, tt.field, tt.reason)
		}
		if triage.ErrorCode(err) != triage.EINVALID {
			t.Errorf("%s: code %q, want EINVALID", tt.body, triage.ErrorCode(err))
		}
	}
}

func TestParseRuleInput(t *testing.T) {
	t.Parallel()
	in, err := ParseRuleInput([]byte(`{"name": "Prod errors", "conditions": {"firstSeen": true, "level": "error",
		"environment": "production", "frequency": {"count": 5, "minutes": 10}},
		"action": {"integrationId": 3, "channel": "#alerts"}, "throttleMinutes": 0, "thread": false, "id": "9"}`))
	if err != nil {
		t.Fatal(err)
	}
	c := in.Conditions
	if *in.Name != "Prod errors" || !c.FirstSeen || c.Level != "error" || c.Environment != "production" ||
		*c.Frequency != (Frequency{5, 10}) || in.Action.IntegrationID != 3 || in.Action.Channel != "#alerts" ||
		*in.ThrottleMinutes != 0 || *in.Thread {
		t.Fatalf("parsed %+v %+v %+v", in, *in.Conditions, *in.Action)
	}
	in, err = ParseRuleInput([]byte(`{"thread": true}`))
	if err != nil || in.Name != nil || in.Conditions != nil || in.Action != nil || in.Thread == nil || !*in.Thread {
		t.Fatalf("partial input: %+v, %v", in, err)
	}
}

func TestConditionsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c     Conditions
		field string
	}{
		{Conditions{}, ""},
		{Conditions{FirstSeen: true, Level: "warning", Environment: "prod-eu"}, ""},
		{Conditions{FirstSeen: true, Regression: true}, "conditions.regression"},
		{Conditions{Frequency: &Frequency{Count: 0, Minutes: 5}}, "conditions.frequency.count"},
		{Conditions{Frequency: &Frequency{Count: 5, Minutes: 0}}, "conditions.frequency.minutes"},
		{Conditions{Frequency: &Frequency{Count: 5, Minutes: 7*24*60 + 1}}, "conditions.frequency.minutes"},
		{Conditions{Level: "severe"}, "conditions.level"},
		{Conditions{Environment: "has space"}, "conditions.environment"},
		{Conditions{Environment: strings.Repeat("e", 65)}, "conditions.environment"},
	}
	for _, tt := range tests {
		err := tt.c.Validate()
		var fe *FieldError
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("%+v: %v, want valid", tt.c, err)
		case tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field):
			t.Errorf("%+v: %v, want an error on %s", tt.c, err, tt.field)
		}
	}
	if _, err := validateName("  "); err == nil {
		t.Error("blank name accepted")
	}
	if _, err := validateName(strings.Repeat("n", 201)); err == nil {
		t.Error("long name accepted")
	}
	if err := validateThrottle(-1); err == nil {
		t.Error("negative throttle accepted")
	}
}

func TestGCRA(t *testing.T) {
	t.Parallel()
	p := NewMemoryPacer()
	ctx := t.Context()
	t0 := time.Unix(1_700_000_000, 0)
	key := []PaceKey{{Name: "c", Rate: Rate{PerSecond: 2, Burst: 3}}}
	var got []time.Duration
	for range 6 {
		slot, _ := p.Reserve(ctx, key, t0)
		got = append(got, slot.Sub(t0))
	}
	want := []time.Duration{0, 0, 0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("slots %v, want %v", got, want)
		}
	}
	// A Retry-After moves every later slot past it.
	if err := p.Block(ctx, key[0], t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	slot, _ := p.Reserve(ctx, key, t0)
	if slot.Sub(t0) < 10*time.Second {
		t.Fatalf("slot %s after a block until 10s", slot.Sub(t0))
	}
	// Two keys: the slower one wins and both advance.
	p2 := NewMemoryPacer()
	keys := []PaceKey{{Name: "c", Rate: Rate{PerSecond: 10, Burst: 1}}, {Name: "w", Rate: Rate{PerSecond: 1, Burst: 1}}}
	a, _ := p2.Reserve(ctx, keys, t0)
	b, _ := p2.Reserve(ctx, keys, t0)
	if a != t0 || b.Sub(t0) != time.Second {
		t.Fatalf("two keys: %s, %s", a.Sub(t0), b.Sub(t0))
	}
}

func TestChangeText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a     triage.Activity
		actor string
		want  string
	}{
		{triage.Activity{Type: triage.ActivitySetResolved}, "<@U1>", "*Resolved by <@U1>*"},
		{triage.Activity{Type: triage.ActivitySetResolvedInRel, Data: map[string]any{"inNextRelease": true}}, "Ada", "*Resolved in the next release by Ada*"},
		{triage.Activity{Type: triage.ActivitySetResolvedInRel, Data: map[string]any{"version": "1.2"}}, "Ada", "*Resolved in 1.2 by Ada*"},
		{triage.Activity{Type: triage.ActivitySetIgnored, Data: map[string]any{"ignoreDuration": float64(30)}}, "Ada", "*Ignored for 30 minutes by Ada*"},
		{triage.Activity{Type: triage.ActivitySetUnresolved}, "Ada", "*Reopened by Ada*"},
		{triage.Activity{Type: triage.ActivitySetUnresolved}, "", "*Reopened*: the time or count it was ignored for ran out"},
		{triage.Activity{Type: triage.ActivitySetRegression, Data: map[string]any{"version": "2.0"}}, "", "*Regressed* in 2.0"},
		{triage.Activity{Type: triage.ActivityAssigned, Data: map[string]any{"assigneeType": "team", "assigneeName": "core"}}, "Ada", "*Assigned to #core by Ada*"},
		{triage.Activity{Type: triage.ActivityUnassigned}, "<@U1>", "*Unassigned by <@U1>*"},
		{triage.Activity{Type: triage.ActivityFirstSeen}, "", ""},
	}
	for _, tt := range tests {
		if got := changeText(&tt.a, tt.actor); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.a.Type, got, tt.want)
		}
	}
}
