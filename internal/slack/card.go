package slack

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"triage"
	"triage/internal/store"
)

// The issue card is built here and only here: every message, unfurl,
// legacy reply and rebuilt message about an issue comes from a card value,
// so that what Triage posts, what it unfurls and what a click leaves behind
// always agree.

// Action names, shared by legacy attachments (action name) and Block Kit
// (the action_id up to an optional ":suffix", which keeps action ids unique
// within a block when two buttons do the same kind of thing).
const (
	actionStatus        = "status"
	actionAssign        = "assign"
	actionResolveDialog = "resolve_dialog"
	actionIgnoreDialog  = "ignore_dialog"
)

// maxStaticOptions is Slack's limit for a static select; past it the
// assignee menu loads its options from /extensions/slack/options-load/.
const maxStaticOptions = 100

// neutralColor is the attachment colour once someone has acted on an issue.
const neutralColor = "#EDEEEF"

var levelColors = map[string]string{
	"debug": "#CFD3DA", "info": "#2788CE", "warning": "#F18500", "error": "#E03E2F", "fatal": "#D20F2A",
}

var levelEmoji = map[string]string{
	"debug": ":white_circle:", "info": ":large_blue_circle:", "warning": ":large_orange_circle:",
	"error": ":red_circle:", "fatal": ":rotating_light:",
}

// card is what one rendering of an issue needs, read at once. Rendering is
// pure: the same card gives the same JSON, which the golden files pin.
type card struct {
	Issue *triage.Issue
	// URL is the issue page with ?referrer=slack.
	URL        string
	HasRelease bool
	// Teams and Users may be assigned (they have access to the project).
	Teams []*triage.Team
	Users []*triage.User
	// SlackIDs maps Triage users linked in this workspace to their Slack
	// user ids, for mentions.
	SlackIDs map[int64]string
	// Last is the issue's newest activity, nil when there is none.
	Last *triage.Activity
}

// loadCard reads everything the issue's card shows in one workspace.
func (i *Integration) loadCard(ctx context.Context, q *store.Queries, integrationID, issueID int64) (*card, error) {
	d, err := q.SlackCard(ctx, integrationID, issueID)
	if err != nil {
		return nil, fmt.Errorf("load card of issue %d: %w", issueID, err)
	}
	return &card{
		Issue: d.Issue, URL: i.absURL(d.Issue.Path()) + "?referrer=slack", HasRelease: d.HasRelease,
		Teams: d.Teams, Users: d.Users, SlackIDs: d.SlackIDs, Last: d.Last,
	}, nil
}

// activityAssignee reads the assignee id of an "assigned" activity.
func activityAssignee(a *triage.Activity, kind string) (int64, bool) {
	if a.Type != triage.ActivityAssigned {
		return 0, false
	}
	if t, _ := a.Data["assigneeType"].(string); t != kind {
		return 0, false
	}
	s, _ := a.Data["assignee"].(string)
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}

// person is a user as a mention when they are linked in this workspace,
// else their name.
func (c *card) person(id int64, name string) string {
	if sid := c.SlackIDs[id]; sid != "" {
		return "<@" + sid + ">"
	}
	return escapeMrkdwn(name)
}

// line records who did what last, per SLACK §4; "" when the newest
// activity is not a person's status or assignment change.
func (c *card) line() string {
	a := c.Last
	if a == nil || a.User == nil {
		return ""
	}
	by := c.person(a.User.ID, a.User.DisplayName())
	switch a.Type {
	case triage.ActivitySetResolved, triage.ActivitySetResolvedInRel:
		return "*Resolved by " + by + "*"
	case triage.ActivitySetIgnored:
		return "*Ignored by " + by + "*"
	case triage.ActivitySetUnresolved:
		return "*Reopened by " + by + "*"
	case triage.ActivityUnassigned:
		return "*Unassigned by " + by + "*"
	case triage.ActivityAssigned:
		name, _ := a.Data["assigneeName"].(string)
		to := escapeMrkdwn(name)
		if t, _ := a.Data["assigneeType"].(string); t == "team" {
			to = "#" + escapeMrkdwn(name)
		} else if id, ok := activityAssignee(a, "user"); ok {
			to = c.person(id, name)
		}
		return "*Assigned to " + to + " by " + by + "*"
	}
	return ""
}

// acted tells whether someone has acted on the issue: its colour turns
// neutral then.
func (c *card) acted() bool {
	return c.Issue.Status != triage.StatusUnresolved || c.Issue.Assignee != nil || c.line() != ""
}

func (c *card) color() string {
	if c.acted() {
		return neutralColor
	}
	if col, ok := levelColors[c.Issue.Level]; ok {
		return col
	}
	return levelColors["error"]
}

// headline splits the title into the exception type and its value when it
// reads "Type: value" (how ingestion titles exceptions); otherwise the
// whole title is the headline and there is no separate value.
func (c *card) headline() (title, value string) {
	t := c.Issue.Title
	if typ, val, ok := strings.Cut(t, ": "); ok && typ != "" && !strings.ContainsAny(typ, " \t") && strings.TrimSpace(val) != "" {
		return typ, val
	}
	return t, ""
}

// slackDate renders t in each reader's own time zone, with UTC as fallback.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} at {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

func (c *card) statusText() string {
	is := c.Issue
	d := is.StatusDetails
	switch is.Status {
	case triage.StatusResolved:
		switch {
		case d.InNextRelease:
			return "Resolved in the next release"
		case d.InRelease != "":
			return "Resolved in " + escapeMrkdwn(d.InRelease)
		}
		return "Resolved"
	case triage.StatusIgnored:
		switch {
		case d.IgnoreCount > 0:
			return fmt.Sprintf("Ignored until it happens %d more times", d.IgnoreCount)
		case d.IgnoreUntil != nil:
			return "Ignored until " + slackDate(*d.IgnoreUntil)
		}
		return "Ignored"
	}
	return "Unresolved"
}

func (c *card) assigneeText() string {
	a := c.Issue.Assignee
	switch {
	case a == nil:
		return "nobody"
	case a.Type == "team":
		return "#" + escapeMrkdwn(a.Name)
	}
	return c.person(a.ID, a.Name)
}

func (c *card) statusLine() string {
	is := c.Issue
	events := "events"
	if is.TimesSeen == 1 {
		events = "event"
	}
	return fmt.Sprintf("*%s*  ·  Assigned to %s  ·  %d %s  ·  First seen %s  ·  Last seen %s",
		c.statusText(), c.assigneeText(), is.TimesSeen, events, slackDate(is.FirstSeen), slackDate(is.LastSeen))
}

func (c *card) footer() string {
	return c.Issue.ShortID() + "  ·  " + c.Issue.ProjectSlug
}

// fallback is the notification text for clients that show no blocks.
func (c *card) fallback() string {
	return escapeMrkdwn("[" + c.Issue.ProjectSlug + "] " + c.Issue.Title)
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func plain(s string) *slack.TextBlockObject {
	return &slack.TextBlockObject{Type: "plain_text", Text: s}
}
func mrkdwn(s string) *slack.TextBlockObject {
	return &slack.TextBlockObject{Type: "mrkdwn", Text: s}
}

// blockID names the card's actions block; the click payload carries it
// back, so it is how a Block Kit action finds its issue.
func blockID(issueID int64) string { return "issue:" + strconv.FormatInt(issueID, 10) }

// blocks renders the card in Block Kit.
func (c *card) blocks() []slack.Block {
	is := c.Issue
	title, value := c.headline()
	emoji := levelEmoji[is.Level]
	if emoji == "" {
		emoji = levelEmoji["error"]
	}
	head := fmt.Sprintf("%s *<%s|%s>*", emoji, c.URL, escapeMrkdwn(truncate(title, 200)))
	if is.Culprit != "" {
		head += "\n" + escapeMrkdwn(truncate(is.Culprit, 200))
	}
	out := []slack.Block{slack.NewSectionBlock(mrkdwn(head), nil, nil)}
	if value != "" {
		out = append(out, slack.NewSectionBlock(mrkdwn("```"+strings.ReplaceAll(escapeMrkdwn(truncate(value, 1000)), "```", "'''")+"```"), nil, nil))
	}
	out = append(out, slack.NewContextBlock("", mrkdwn(c.statusLine())))
	if l := c.line(); l != "" {
		out = append(out, slack.NewContextBlock("", mrkdwn(l)))
	}
	out = append(out, slack.NewActionBlock(blockID(is.ID), c.controls()...))
	out = append(out, slack.NewContextBlock("", mrkdwn(c.footer())))
	return out
}

func button(actionID, value, text string) *slack.ButtonBlockElement {
	return &slack.ButtonBlockElement{Type: slack.METButton, ActionID: actionID, Value: value, Text: plain(text)}
}

// controls are the card's buttons and assignee menu for its current state.
func (c *card) controls() []slack.BlockElement {
	var els []slack.BlockElement
	switch c.Issue.Status {
	case triage.StatusResolved:
		els = append(els, button(actionStatus+":unresolve", "unresolved", "Unresolve"))
	default:
		var resolve *slack.ButtonBlockElement
		if c.HasRelease {
			resolve = button(actionResolveDialog, "resolve", "Resolve…")
		} else {
			resolve = button(actionStatus+":resolve", "resolved", "Resolve")
		}
		resolve.Style = slack.StylePrimary
		els = append(els, resolve)
		if c.Issue.Status == triage.StatusIgnored {
			els = append(els, button(actionStatus+":unignore", "unresolved", "Stop ignoring"))
		} else {
			els = append(els, button(actionIgnoreDialog, "ignore", "Ignore…"))
		}
	}
	if sel := c.assignSelect(); sel != nil {
		els = append(els, sel)
	}
	if c.Issue.Assignee != nil {
		els = append(els, button(actionAssign+":clear", "none", "Unassign"))
	}
	return els
}

// choice is one option of a menu: the assignee, ignore and resolve menus.
type choice struct{ Value, Text string }

// assignChoices lists teams (as #slug) then people, each at most once.
func (c *card) assignChoices() (teams, people []choice) {
	for _, t := range c.Teams {
		teams = append(teams, choice{"team:" + strconv.FormatInt(t.ID, 10), truncate("#"+t.Slug, 75)})
	}
	for _, u := range c.Users {
		people = append(people, choice{"user:" + strconv.FormatInt(u.ID, 10), truncate(u.DisplayName(), 75)})
	}
	return teams, people
}

// current is the assignee as a menu option, nil when unassigned.
func (c *card) current() *choice {
	a := c.Issue.Assignee
	if a == nil {
		return nil
	}
	text := a.Name
	if a.Type == "team" {
		text = "#" + a.Name
	}
	return &choice{a.String(), truncate(text, 75)}
}

func blockOption(o choice) *slack.OptionBlockObject {
	return &slack.OptionBlockObject{Text: plain(o.Text), Value: o.Value}
}

// assignSelect is a static select of who may be assigned, or an external
// one fed by options-load past Slack's 100 options.
func (c *card) assignSelect() *slack.SelectBlockElement {
	teams, people := c.assignChoices()
	if len(teams)+len(people) == 0 {
		return nil
	}
	sel := &slack.SelectBlockElement{Type: slack.OptTypeStatic, ActionID: actionAssign, Placeholder: plain("Assign…")}
	if len(teams)+len(people) > maxStaticOptions {
		one := 1
		sel.Type, sel.MinQueryLength = slack.OptTypeExternal, &one
	} else {
		for _, g := range []struct {
			label string
			opts  []choice
		}{{"Teams", teams}, {"People", people}} {
			if len(g.opts) == 0 {
				continue
			}
			grp := &slack.OptionGroupBlockObject{Label: plain(g.label)}
			for _, o := range g.opts {
				grp.Options = append(grp.Options, blockOption(o))
			}
			sel.OptionGroups = append(sel.OptionGroups, grp)
		}
	}
	if cur := c.current(); cur != nil && (sel.Type == slack.OptTypeExternal || c.offers(cur.Value)) {
		sel.InitialOption = blockOption(*cur)
	}
	return sel
}

// offers tells whether the static menu holds value (an initial option must
// be one of the options).
func (c *card) offers(value string) bool {
	teams, people := c.assignChoices()
	for _, o := range append(teams, people...) {
		if o.Value == value {
			return true
		}
	}
	return false
}

// unfurlAttachment is the card as one link's unfurl: the blocks inside an
// attachment, so that it carries the level colour.
func (c *card) unfurlAttachment() slack.Attachment {
	return slack.Attachment{Color: c.color(), Fallback: c.fallback(), Blocks: slack.Blocks{BlockSet: c.blocks()}}
}
