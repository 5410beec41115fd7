package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"triage/internal/alert"
)

// alertOptions reads the alert pacing settings:
//
//	TRIAGE_ALERT_CHANNEL_RATE    messages per second per channel and burst, "1/3" by default
//	TRIAGE_ALERT_WORKSPACE_RATE  the same per workspace, "10/20" by default
//
// Slack allows about one message per second per channel; raise these only
// for a Slack (or a fake) that allows more.
func alertOptions(getenv func(string) string) (alert.Options, error) {
	limits := alert.DefaultPaceLimits()
	var problems []string
	for _, v := range []struct {
		name string
		rate *alert.Rate
	}{{"TRIAGE_ALERT_CHANNEL_RATE", &limits.Channel}, {"TRIAGE_ALERT_WORKSPACE_RATE", &limits.Workspace}} {
		raw := getenv(v.name)
		if raw == "" {
			continue
		}
		r, err := parseRate(raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s=%q: %v", v.name, raw, err))
			continue
		}
		*v.rate = r
	}
	if len(problems) > 0 {
		return alert.Options{}, fmt.Errorf("invalid configuration: %s", strings.Join(problems, "; "))
	}
	return alert.Options{Limits: limits}, nil
}

// parseRate reads "PER_SECOND/BURST" (or just PER_SECOND, burst 1).
func parseRate(s string) (alert.Rate, error) {
	perS, burstS, hasBurst := strings.Cut(strings.TrimSpace(s), "/")
	per, err := strconv.ParseFloat(perS, 64)
	if err != nil || per <= 0 || per > 10000 {
		return alert.Rate{}, fmt.Errorf("want messages per second (a number above 0), optionally /burst, such as 1/3")
	}
	burst := 1
	if hasBurst {
		if burst, err = strconv.Atoi(burstS); err != nil || burst < 1 || burst > 10000 {
			return alert.Rate{}, fmt.Errorf("burst must be a whole number from 1 to 10000")
		}
	}
	return alert.Rate{PerSecond: per, Burst: burst}, nil
}

// jobTimes reads how long a job may run and when one still marked running
// is taken for abandoned by a dead process and run again:
//
//	TRIAGE_JOB_TIMEOUT       default 2m
//	TRIAGE_JOB_RESCUE_AFTER  default 3m; must exceed the timeout
//
// A process killed in the middle of its jobs (alert deliveries among them)
// has them run again by another process, or after its restart, once the
// rescue time has passed.
func jobTimes(getenv func(string) string) (timeout, rescue time.Duration, err error) {
	timeout, rescue = 2*time.Minute, 3*time.Minute
	var problems []string
	for _, v := range []struct {
		name string
		dst  *time.Duration
	}{{"TRIAGE_JOB_TIMEOUT", &timeout}, {"TRIAGE_JOB_RESCUE_AFTER", &rescue}} {
		raw := getenv(v.name)
		if raw == "" {
			continue
		}
		d, err := time.ParseDuration(raw)
		if err != nil || d < time.Second {
			problems = append(problems, fmt.Sprintf("%s=%q: want a duration of at least 1s, such as 3m", v.name, raw))
			continue
		}
		*v.dst = d
	}
	if len(problems) == 0 && rescue <= timeout {
		problems = append(problems, fmt.Sprintf("TRIAGE_JOB_RESCUE_AFTER (%s) must exceed TRIAGE_JOB_TIMEOUT (%s)", rescue, timeout))
	}
	if len(problems) > 0 {
		return 0, 0, fmt.Errorf("invalid configuration: %s", strings.Join(problems, "; "))
	}
	return timeout, rescue, nil
}
