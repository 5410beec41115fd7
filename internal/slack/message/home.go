package message

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"triage"
)

// The Home tab (app_home_opened → views.publish) and the other places a
// person sees a list of issues (/triage issues): each issue is its card's
// headline, a line with its count and trend, and the card's own controls
// in an actions block whose block_id names the issue, so that a click
// there is the same action, through the same handler, as on a card.

// MaxViewBlocks is Slack's limit of blocks in a Home tab view.
const MaxViewBlocks = 100

// Block and action ids of the Home tab's own controls. Actions whose id
// starts with ActionHome are the person's settings, not an issue's.
const (
	ActionHome        = "home"
	ActionHomeToggle  = "home:dm"       // value "<kind>:on" or "<kind>:off"
	ActionHomeProject = "home:projects" // value "all" or "project:ID"
	ActionHomeLink    = "home:link"     // a URL button: nothing to do
	BlockHomeSettings = "home_settings"
)

// ListItem is one issue of a list: its card and its hourly event counts
// over the last 24 hours, oldest first.
type ListItem struct {
	Card  *Card
	Trend []int64
}

// Sparkline draws counts as a row of block characters, the highest full.
func Sparkline(counts []int64) string {
	const bars = "▁▂▃▄▅▆▇█"
	r := []rune(bars)
	var top int64
	for _, c := range counts {
		top = max(top, c)
	}
	var b strings.Builder
	for _, c := range counts {
		k := 0
		if top > 0 && c > 0 {
			k = int((c*int64(len(r)-1) + top - 1) / top)
		}
		b.WriteRune(r[k])
	}
	return b.String()
}

// ItemBlocks renders one issue of a list in three blocks: headline,
// count and trend, controls.
func (it ListItem) ItemBlocks() []slack.Block {
	c := it.Card
	is := c.Issue
	title, _ := c.headline()
	emoji := levelEmoji[is.Level]
	if emoji == "" {
		emoji = levelEmoji["error"]
	}
	head := fmt.Sprintf("%s *<%s|%s>*", emoji, c.URL, EscapeMrkdwn(Truncate(title, 150)))
	if is.Culprit != "" {
		head += "\n" + EscapeMrkdwn(Truncate(is.Culprit, 150))
	}
	events := "events"
	if is.TimesSeen == 1 {
		events = "event"
	}
	var total int64
	for _, n := range it.Trend {
		total += n
	}
	line := fmt.Sprintf("%s  ·  *%s*  ·  %d %s  ·  %s %d in 24h  ·  Assigned to %s  ·  Last seen %s",
		is.ShortID(), c.statusText(), is.TimesSeen, events, Sparkline(it.Trend), total, c.assigneeText(), slackDate(is.LastSeen))
	return []slack.Block{
		slack.NewSectionBlock(Mrkdwn(head), nil, nil),
		slack.NewContextBlock("", Mrkdwn(line)),
		slack.NewActionBlock(blockID(is.ID), c.controls()...),
	}
}

// HomeSection is one titled list of the Home tab.
type HomeSection struct {
	Title string
	Empty string // shown when Items is empty
	Items []ListItem
	// More is how many matching issues were left out.
	More int
}

// HomeSettings is what the Home tab shows of the person's DM settings.
type HomeSettings struct {
	DM       triage.DMSettings
	Projects []*triage.Project // the projects the person may pick
	// PageURL is the web page with the same settings.
	PageURL string
}

// HomeView is a linked person's Home tab: the sections, in order, then
// the settings; never more than MaxViewBlocks blocks, issues left out
// counted in a "more" line instead. An issue appears at most once (block
// ids must be unique in a view).
func HomeView(intro string, sections []HomeSection, set HomeSettings, listURL string) slack.HomeTabViewRequest {
	settings := settingsBlocks(set)
	// Fixed blocks: the intro, each section's header and its empty or
	// "more" line, and the settings.
	budget := MaxViewBlocks - 1 - len(settings) - 2*len(sections)
	blocks := []slack.Block{slack.NewSectionBlock(Mrkdwn(intro), nil, nil)}
	seen := map[int64]bool{}
	for _, s := range sections {
		blocks = append(blocks, slack.NewHeaderBlock(Plain(Truncate(s.Title, 150))))
		shown, more := 0, s.More
		for _, it := range s.Items {
			if seen[it.Card.Issue.ID] {
				continue
			}
			if budget < 3 {
				more++
				continue
			}
			seen[it.Card.Issue.ID] = true
			blocks = append(blocks, it.ItemBlocks()...)
			budget -= 3
			shown++
		}
		switch {
		case shown == 0 && more == 0:
			blocks = append(blocks, slack.NewContextBlock("", Mrkdwn(s.Empty)))
		case more > 0:
			blocks = append(blocks, slack.NewContextBlock("", Mrkdwn(fmt.Sprintf("…and %d more: <%s|open the issue list in Triage>", more, listURL))))
		}
	}
	blocks = append(blocks, settings...)
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// settingsBlocks are the Home tab's DM settings: a toggle per kind and a
// project picker.
func settingsBlocks(set HomeSettings) []slack.Block {
	dm := set.DM
	kinds := []struct {
		kind, label string
		on          bool
	}{
		{triage.DMAssigned, "Assigned to me", dm.Assigned},
		{triage.DMRegressed, "My resolved issues regress", dm.Regressed},
		{triage.DMComments, "Comments on my issues", dm.Comments},
	}
	var els []slack.BlockElement
	for _, k := range kinds {
		b := button(ActionHomeToggle+":"+k.kind, k.kind+":"+onOff(!k.on), Truncate(k.label+": "+onOff(k.on), 75))
		if k.on {
			b.Style = slack.StylePrimary
		}
		els = append(els, b)
	}
	names := map[int64]string{}
	for _, p := range set.Projects {
		names[p.ID] = p.Slug
	}
	only := "every project"
	if len(dm.ProjectIDs) > 0 {
		var slugs []string
		for _, id := range dm.ProjectIDs {
			if n, ok := names[id]; ok {
				slugs = append(slugs, EscapeMrkdwn(n))
			}
		}
		only = "only " + strings.Join(slugs, ", ")
	}
	if len(set.Projects) > 0 {
		opts := []*slack.OptionBlockObject{BlockOption(Choice{"all", "Every project"})}
		for _, p := range set.Projects {
			if len(opts) == MaxStaticOptions {
				break
			}
			mark := "Add "
			for _, id := range dm.ProjectIDs {
				if id == p.ID {
					mark = "Remove "
				}
			}
			opts = append(opts, BlockOption(Choice{"project:" + strconv.FormatInt(p.ID, 10), Truncate(mark+p.Slug, 75)}))
		}
		els = append(els, &slack.SelectBlockElement{Type: slack.OptTypeStatic, ActionID: ActionHomeProject,
			Placeholder: Plain("Only these projects…"), Options: opts})
	}
	text := fmt.Sprintf("*Direct messages*\nTriage messages you when someone assigns you an issue, when an issue you resolved comes back, "+
		"and when someone comments on an issue assigned to you, for %s. Never for what you did yourself.", only)
	return []slack.Block{
		slack.NewDividerBlock(),
		slack.NewSectionBlock(Mrkdwn(text), nil, nil),
		slack.NewActionBlock(BlockHomeSettings, els...),
		slack.NewContextBlock("", Mrkdwn(fmt.Sprintf("The same settings are on <%s|your notification settings page> in Triage.", set.PageURL))),
	}
}

// LinkPromptView is the Home tab of a person who has not linked their
// Slack account: what Triage does for them once they do, and the link.
func LinkPromptView(linkURL string) slack.HomeTabViewRequest {
	b := button(ActionHomeLink, "link", "Link your Triage account")
	b.URL, b.Style = linkURL, slack.StylePrimary
	blocks := []slack.Block{
		slack.NewHeaderBlock(Plain("Welcome to Triage")),
		slack.NewSectionBlock(Mrkdwn("Link your Slack account to your Triage account to see the issues assigned to you and your teams here, "+
			"the new and regressed issues of your projects, and to resolve, ignore and assign them as yourself. "+
			"The link is valid for 2 days; `/triage link` gives you a new one."), nil, nil),
		slack.NewActionBlock("home_link", b),
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}

// IsHomeAction tells whether a block_actions payload is one of the Home
// tab's own controls (settings, the link button) rather than an issue's.
func (p *Interaction) IsHomeAction() bool {
	if p.Type != TypeBlockActions || len(p.Actions) == 0 {
		return false
	}
	n, _, _ := strings.Cut(p.Actions[0].ActionID, ":")
	return n == ActionHome
}

// HomeAction is the Home tab control a person used and its value.
func (p *Interaction) HomeAction() (actionID, value string) {
	a := &p.Actions[0]
	return a.ActionID, a.value()
}
