package message

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"triage"
)

// The issue card is built here and only here: every message, unfurl,
// legacy reply and rebuilt message about an issue comes from a card value,
// so that what Triage posts, what it unfurls and what a click leaves behind
// always agree.

// Action names, shared by legacy attachments (action name) and Block Kit
// (the action_id up to an optional ":suffix", which keeps action ids unique
// within a block when two buttons do the same kind of thing).
const (
	ActionStatus        = "status"
	ActionAssign        = "assign"
	ActionResolveDialog = "resolve_dialog"
	ActionIgnoreDialog  = "ignore_dialog"
)

// MaxStaticOptions is Slack's limit for a static select; past it the
// assignee menu loads its options from /extensions/slack/options-load/.
const MaxStaticOptions = 100

// neutralColor is the attachment colour once someone has acted on an issue.
const neutralColor = "#EDEEEF"

var levelColors = map[string]string{
	"debug": "#CFD3DA", "info": "#2788CE", "warning": "#F18500", "error": "#E03E2F", "fatal": "#D20F2A",
}

var levelEmoji = map[string]string{
	"debug": ":white_circle:", "info": ":large_blue_circle:", "warning": ":large_orange_circle:",
	"error": ":red_circle:", "fatal": ":rotating_light:",
}

// Card is what one rendering of an issue needs, read at once. Rendering is
// pure: the same card gives the same JSON, which the golden files pin.
type Card struct {
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

// LastID is the id of the newest activity the card shows, 0 when none:
// the version of the issue it was rendered from.
func (c *Card) LastID() int64 {
	if c.Last == nil {
		return 0
	}
	return c.Last.ID
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
func (c *Card) person(id int64, name string) string {
	if sid := c.SlackIDs[id]; sid != "" {
		return "<@" + sid + ">"
	}
	return EscapeMrkdwn(name)
}

// line records who did what last, per SLACK §4; "" when the newest
// activity is not a person's status or assignment change.
func (c *Card) line() string {
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
		to := EscapeMrkdwn(name)
		if t, _ := a.Data["assigneeType"].(string); t == "team" {
			to = "#" + EscapeMrkdwn(name)
		} else if id, ok := activityAssignee(a, "user"); ok {
			to = c.person(id, name)
		}
		return "*Assigned to " + to + " by " + by + "*"
	}
	return ""
}

// acted tells whether someone has acted on the issue: its colour turns
// neutral then.
func (c *Card) acted() bool {
	return c.Issue.Status != triage.StatusUnresolved || c.Issue.Assignee != nil || c.line() != ""
}

func (c *Card) color() string {
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
func (c *Card) headline() (title, value string) {
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

func (c *Card) statusText() string {
	is := c.Issue
	d := is.StatusDetails
	switch is.Status {
	case triage.StatusResolved:
		switch {
		case d.InNextRelease:
			return "Resolved in the next release"
		case d.InRelease != "":
			return "Resolved in " + EscapeMrkdwn(d.InRelease)
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

func (c *Card) assigneeText() string {
	a := c.Issue.Assignee
	switch {
	case a == nil:
		return "nobody"
	case a.Type == "team":
		return "#" + EscapeMrkdwn(a.Name)
	}
	return c.person(a.ID, a.Name)
}

func (c *Card) statusLine() string {
	is := c.Issue
	events := "events"
	if is.TimesSeen == 1 {
		events = "event"
	}
	return fmt.Sprintf("*%s*  ·  Assigned to %s  ·  %d %s  ·  First seen %s  ·  Last seen %s",
		c.statusText(), c.assigneeText(), is.TimesSeen, events, slackDate(is.FirstSeen), slackDate(is.LastSeen))
}

func (c *Card) footer() string {
	return c.Issue.ShortID() + "  ·  " + c.Issue.ProjectSlug
}

// Fallback is the notification text for clients that show no blocks.
func (c *Card) Fallback() string {
	return EscapeMrkdwn("[" + c.Issue.ProjectSlug + "] " + c.Issue.Title)
}

// Truncate cuts s to at most n runes, marking the cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func Plain(s string) *slack.TextBlockObject {
	return &slack.TextBlockObject{Type: "plain_text", Text: s}
}
func Mrkdwn(s string) *slack.TextBlockObject {
	return &slack.TextBlockObject{Type: "mrkdwn", Text: s}
}

// blockID names the card's actions block; the click payload carries it
// back, so it is how a Block Kit action finds its issue.
func blockID(issueID int64) string { return "issue:" + strconv.FormatInt(issueID, 10) }

// Blocks renders the card in Block Kit.
func (c *Card) Blocks() []slack.Block {
	is := c.Issue
	title, value := c.headline()
	emoji := levelEmoji[is.Level]
	if emoji == "" {
		emoji = levelEmoji["error"]
	}
	head := fmt.Sprintf("%s *<%s|%s>*", emoji, c.URL, EscapeMrkdwn(Truncate(title, 200)))
	if is.Culprit != "" {
		head += "\n" + EscapeMrkdwn(Truncate(is.Culprit, 200))
	}
	out := []slack.Block{slack.NewSectionBlock(Mrkdwn(head), nil, nil)}
	if value != "" {
		out = append(out, slack.NewSectionBlock(Mrkdwn("```"+strings.ReplaceAll(EscapeMrkdwn(Truncate(value, 1000)), "```", "'''")+"```"), nil, nil))
	}
	out = append(out, slack.NewContextBlock("", Mrkdwn(c.statusLine())))
	if l := c.line(); l != "" {
		out = append(out, slack.NewContextBlock("", Mrkdwn(l)))
	}
	out = append(out, slack.NewActionBlock(blockID(is.ID), c.controls()...))
	out = append(out, slack.NewContextBlock("", Mrkdwn(c.footer())))
	return out
}

func button(actionID, value, text string) *slack.ButtonBlockElement {
	return &slack.ButtonBlockElement{Type: slack.METButton, ActionID: actionID, Value: value, Text: Plain(text)}
}

// controls are the card's buttons and assignee menu for its current state.
func (c *Card) controls() []slack.BlockElement {
	var els []slack.BlockElement
	switch c.Issue.Status {
	case triage.StatusResolved:
		els = append(els, button(ActionStatus+":unresolve", "unresolved", "Unresolve"))
	default:
		var resolve *slack.ButtonBlockElement
		if c.HasRelease {
			resolve = button(ActionResolveDialog, "resolve", "Resolve…")
		} else {
			resolve = button(ActionStatus+":resolve", "resolved", "Resolve")
		}
		resolve.Style = slack.StylePrimary
		els = append(els, resolve)
		if c.Issue.Status == triage.StatusIgnored {
			els = append(els, button(ActionStatus+":unignore", "unresolved", "Stop ignoring"))
		} else {
			els = append(els, button(ActionIgnoreDialog, "ignore", "Ignore…"))
		}
	}
	if sel := c.assignSelect(); sel != nil {
		els = append(els, sel)
	}
	if c.Issue.Assignee != nil {
		els = append(els, button(ActionAssign+":clear", "none", "Unassign"))
	}
	return els
}

// Choice is one option of a menu: the assignee, ignore and resolve menus.
type Choice struct{ Value, Text string }

// assignChoices lists teams (as #slug) then people, each at most once.
func (c *Card) assignChoices() (teams, people []Choice) {
	for _, t := range c.Teams {
		teams = append(teams, Choice{"team:" + strconv.FormatInt(t.ID, 10), Truncate("#"+t.Slug, 75)})
	}
	for _, u := range c.Users {
		people = append(people, Choice{"user:" + strconv.FormatInt(u.ID, 10), Truncate(u.DisplayName(), 75)})
	}
	return teams, people
}

// current is the assignee as a menu option, nil when unassigned.
func (c *Card) current() *Choice {
	a := c.Issue.Assignee
	if a == nil {
		return nil
	}
	text := a.Name
	if a.Type == "team" {
		text = "#" + a.Name
	}
	return &Choice{a.String(), Truncate(text, 75)}
}

func BlockOption(o Choice) *slack.OptionBlockObject {
	return &slack.OptionBlockObject{Text: Plain(o.Text), Value: o.Value}
}

// assignSelect is a static select of who may be assigned, or an external
// one fed by options-load past Slack's 100 options.
func (c *Card) assignSelect() *slack.SelectBlockElement {
	teams, people := c.assignChoices()
	if len(teams)+len(people) == 0 {
		return nil
	}
	sel := &slack.SelectBlockElement{Type: slack.OptTypeStatic, ActionID: ActionAssign, Placeholder: Plain("Assign…")}
	if len(teams)+len(people) > MaxStaticOptions {
		one := 1
		sel.Type, sel.MinQueryLength = slack.OptTypeExternal, &one
	} else {
		for _, g := range []struct {
			label string
			opts  []Choice
		}{{"Teams", teams}, {"People", people}} {
			if len(g.opts) == 0 {
				continue
			}
			grp := &slack.OptionGroupBlockObject{Label: Plain(g.label)}
			for _, o := range g.opts {
				grp.Options = append(grp.Options, BlockOption(o))
			}
			sel.OptionGroups = append(sel.OptionGroups, grp)
		}
	}
	if cur := c.current(); cur != nil && (sel.Type == slack.OptTypeExternal || c.offers(cur.Value)) {
		sel.InitialOption = BlockOption(*cur)
	}
	return sel
}

// offers tells whether the static menu holds value (an initial option must
// be one of the options).
func (c *Card) offers(value string) bool {
	teams, people := c.assignChoices()
	for _, o := range append(teams, people...) {
		if o.Value == value {
			return true
		}
	}
	return false
}

// UnfurlAttachment is the card as one link's unfurl: the blocks inside an
// attachment, so that it carries the level colour.
func (c *Card) UnfurlAttachment() slack.Attachment {
	return slack.Attachment{Color: c.color(), Fallback: c.Fallback(), Blocks: slack.Blocks{BlockSet: c.Blocks()}}
}

// EscapeMrkdwn escapes the three characters Slack treats as control
// characters in message text.
func EscapeMrkdwn(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
