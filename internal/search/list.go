package search

import (
	"strconv"
	"strings"
	"time"

	"triage"
)

// Sort orders the issue list. Every order breaks ties by issue id, newest
// first, so that a page boundary is one exact place.
type Sort string

const (
	SortDate Sort = "date" // last seen, the default
	SortNew  Sort = "new"  // first seen
	SortFreq Sort = "freq" // events
	SortUser Sort = "user" // users affected
)

// Sorts are the sorts in the order a picker shows them, with labels.
var Sorts = []struct {
	Sort  Sort
	Label string
}{{SortDate, "Last seen"}, {SortNew, "First seen"}, {SortFreq, "Events"}, {SortUser, "Users"}}

// ParseSort reads sort=; "" is SortDate. An *Error names anything else.
func ParseSort(s string) (Sort, error) {
	switch Sort(s) {
	case "":
		return SortDate, nil
	case SortDate, SortNew, SortFreq, SortUser:
		return Sort(s), nil
	}
	return "", &Error{Term: "sort=" + s, Reason: "sort takes date, new, freq or user"}
}

// Key is the issue's value for the sort.
func (s Sort) Key(i *triage.Issue) int64 {
	switch s {
	case SortNew:
		return i.FirstSeen.UnixMicro()
	case SortFreq:
		return i.TimesSeen
	case SortUser:
		return i.UserCount
	}
	return i.LastSeen.UnixMicro()
}

// Cursor is a place in a sorted list: the sort value and id of the issue
// it is next to. A next-page cursor lists what sorts after that issue, a
// previous-page one (Prev) what sorts before it. Issues that move while
// a person pages (new events) do not shift the pages around them.
type Cursor struct {
	Value int64
	ID    int64
	Prev  bool
}

// IsZero reports the start of the list.
func (c Cursor) IsZero() bool { return c == Cursor{} }

// String is Sentry's cursor shape, "value:id:is_prev".
func (c Cursor) String() string {
	p := "0"
	if c.Prev {
		p = "1"
	}
	return strconv.FormatInt(c.Value, 10) + ":" + strconv.FormatInt(c.ID, 10) + ":" + p
}

// ParseCursor reads a cursor written by String; "" is the start.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	bad := &Error{Term: "cursor=" + s, Reason: "not a cursor this list wrote"}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Cursor{}, bad
	}
	v, err1 := strconv.ParseInt(parts[0], 10, 64)
	id, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || id < 0 || (parts[2] != "0" && parts[2] != "1") {
		return Cursor{}, bad
	}
	return Cursor{Value: v, ID: id, Prev: parts[2] == "1"}, nil
}

// Request asks for one page of an organization's issues.
type Request struct {
	OrgID int64
	// UserID limits the list to the projects the user may see, and is
	// who assigned:me means.
	UserID     int64
	ProjectIDs []int64 // empty: every project
	Query      Query
	Sort       Sort
	Cursor     Cursor
	Limit      int
}

// Page is one page of issues, with the cursors of its neighbours (nil
// at either end) and how many issues match in all.
type Page struct {
	Issues     []*triage.Issue
	Total      int64
	Next, Prev *Cursor
}

// Period is a trend's span: 24 hourly or 14 daily buckets.
type Period string

const (
	Period24h Period = "24h"
	Period14d Period = "14d"
)

// ParsePeriod reads statsPeriod; "" is no stats.
func ParsePeriod(s string) (Period, error) {
	switch Period(s) {
	case "", Period24h, Period14d:
		return Period(s), nil
	}
	return "", &Error{Term: "statsPeriod=" + s, Reason: "statsPeriod takes 24h or 14d"}
}

// Buckets is the period's bucket size and count.
func (p Period) Buckets() (time.Duration, int) {
	if p == Period14d {
		return 24 * time.Hour, 14
	}
	return time.Hour, 24
}

// Start is the start of the period's first bucket for a trend ending now:
// the last bucket is the one that holds now.
func (p Period) Start(now time.Time) time.Time {
	size, n := p.Buckets()
	return now.UTC().Truncate(size).Add(-time.Duration(n-1) * size)
}

// Bucket is one bar of a trend: its start and the events received in it.
type Bucket struct {
	Start time.Time
	Count int64
}

// Trend spreads hourly counts (hour start in unix seconds → events) into
// the period's buckets, oldest first.
func (p Period) Trend(hourly map[int64]int64, now time.Time) []Bucket {
	size, n := p.Buckets()
	start := p.Start(now)
	out := make([]Bucket, n)
	for k := range out {
		out[k].Start = start.Add(time.Duration(k) * size)
	}
	for hour, c := range hourly {
		d := time.Unix(hour, 0).Sub(start)
		if k := int(d / size); d >= 0 && k < n {
			out[k].Count += c
		}
	}
	return out
}

// TagValue is one value of a tag on an issue.
type TagValue struct {
	Value               string
	Count               int64
	FirstSeen, LastSeen time.Time
}

// TagKey is one tag key on an issue: the events that carry it
// (TotalValues, Sentry's name), how many distinct values, and the most
// frequent values first.
type TagKey struct {
	Key         string
	TotalValues int64
	Distinct    int64
	TopValues   []TagValue
}

// TagFilter is the query term that lists the issues with this tag value.
func TagFilter(key, value string) string {
	t := Term{Kind: KindTag, Key: key, Value: value}
	switch key {
	case "level":
		t.Kind = KindLevel
	}
	return t.String()
}
