package message

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"triage"
)

// The legacy rendering: message attachments with interactive buttons and
// menus, and the resolve dialog, as the seed sent them. Slack still
// delivers their clicks as interactive_message and dialog_submission, and
// expects replies in these shapes; Triage's own messages use Block Kit.

// LegacyAttachment is a message attachment with actions. Its JSON is ours
// (not slack-go's) so that the reply holds exactly these fields.
type LegacyAttachment struct {
	Fallback   string         `json:"fallback"`
	Title      string         `json:"title"`
	TitleLink  string         `json:"title_link"`
	Text       string         `json:"text"`
	Color      string         `json:"color"`
	CallbackID string         `json:"callback_id"`
	Footer     string         `json:"footer"`
	MrkdwnIn   []string       `json:"mrkdwn_in"`
	Actions    []legacyAction `json:"actions"`
}

type legacyAction struct {
	Name            string         `json:"name"`
	Text            string         `json:"text"`
	Type            string         `json:"type"`
	Value           string         `json:"value,omitempty"`
	Style           string         `json:"style,omitempty"`
	DataSource      string         `json:"data_source,omitempty"`
	MinQueryLength  int            `json:"min_query_length,omitempty"`
	Options         []LegacyOption `json:"options,omitempty"`
	OptionGroups    []LegacyGroup  `json:"option_groups,omitempty"`
	SelectedOptions []LegacyOption `json:"selected_options,omitempty"`
}

type LegacyOption struct {
	Text  string `json:"text"`
	Value string `json:"value"`
}

type LegacyGroup struct {
	Text    string         `json:"text"`
	Options []LegacyOption `json:"options"`
}

// legacyCallback is the callback_id of a legacy card: {"issue":ID}.
type legacyCallback struct {
	Issue int64 `json:"issue"`
}

func legacyCallbackID(issueID int64) string {
	b, _ := json.Marshal(legacyCallback{Issue: issueID})
	return string(b)
}

// resolveChoices are the resolve dialog's and modal's options.
var resolveChoices = []Choice{
	{"resolved", "Immediately"},
	{"resolved:inNextRelease", "In the next release"},
	{"resolved:inCurrentRelease", "In the current release"},
}

// ignoreChoices are the ignore menu's and modal's options.
var ignoreChoices = []Choice{
	{"ignored", "Forever"},
	{"ignored:minutes:30", "For 30 minutes"},
	{"ignored:minutes:120", "For 2 hours"},
	{"ignored:minutes:1440", "For 24 hours"},
	{"ignored:minutes:10080", "For a week"},
	{"ignored:count:10", "Until it happens 10 more times"},
	{"ignored:count:100", "Until it happens 100 more times"},
	{"ignored:count:1000", "Until it happens 1000 more times"},
}

func LegacyOptions(cs []Choice) []LegacyOption {
	out := make([]LegacyOption, len(cs))
	for k, c := range cs {
		out[k] = LegacyOption{Text: c.Text, Value: c.Value}
	}
	return out
}

// LegacyAttachment renders the card as a legacy attachment.
func (c *Card) LegacyAttachment() LegacyAttachment {
	is := c.Issue
	var text []string
	if is.Culprit != "" {
		text = append(text, "_"+EscapeMrkdwn(Truncate(is.Culprit, 200))+"_")
	}
	if _, value := c.headline(); value != "" {
		text = append(text, EscapeMrkdwn(Truncate(value, 1000)))
	}
	text = append(text, c.statusLine())
	if l := c.line(); l != "" {
		text = append(text, l)
	}
	return LegacyAttachment{
		Fallback:   c.Fallback(),
		Title:      EscapeMrkdwn(Truncate(is.Title, 200)),
		TitleLink:  c.URL,
		Text:       strings.Join(text, "\n"),
		Color:      c.color(),
		CallbackID: legacyCallbackID(is.ID),
		Footer:     c.footer(),
		MrkdwnIn:   []string{"text"},
		Actions:    c.legacyActions(),
	}
}

func (c *Card) legacyActions() []legacyAction {
	var acts []legacyAction
	switch c.Issue.Status {
	case triage.StatusResolved:
		acts = append(acts, legacyAction{Name: ActionStatus, Text: "Unresolve", Type: "button", Value: "unresolved"})
	default:
		if c.HasRelease {
			acts = append(acts, legacyAction{Name: ActionResolveDialog, Text: "Resolve…", Type: "button", Value: "resolve", Style: "primary"})
		} else {
			acts = append(acts, legacyAction{Name: ActionStatus, Text: "Resolve", Type: "button", Value: "resolved", Style: "primary"})
		}
		if c.Issue.Status == triage.StatusIgnored {
			acts = append(acts, legacyAction{Name: ActionStatus, Text: "Stop ignoring", Type: "button", Value: "unresolved"})
		} else {
			acts = append(acts, legacyAction{Name: ActionStatus, Text: "Ignore…", Type: "select", Options: LegacyOptions(ignoreChoices)})
		}
	}
	teams, people := c.assignChoices()
	if len(teams)+len(people) > 0 {
		sel := legacyAction{Name: ActionAssign, Text: "Assign…", Type: "select"}
		if len(teams)+len(people) > MaxStaticOptions {
			sel.DataSource, sel.MinQueryLength = "external", 1
		} else {
			if len(teams) > 0 {
				sel.OptionGroups = append(sel.OptionGroups, LegacyGroup{Text: "Teams", Options: LegacyOptions(teams)})
			}
			if len(people) > 0 {
				sel.OptionGroups = append(sel.OptionGroups, LegacyGroup{Text: "People", Options: LegacyOptions(people)})
			}
		}
		if cur := c.current(); cur != nil && (sel.DataSource == "external" || c.offers(cur.Value)) {
			sel.SelectedOptions = []LegacyOption{{Text: cur.Text, Value: cur.Value}}
		}
		acts = append(acts, sel)
	}
	if c.Issue.Assignee != nil {
		acts = append(acts, legacyAction{Name: ActionAssign, Text: "Unassign", Type: "button", Value: "none"})
	}
	return acts
}

// LegacyReply is the response body for a legacy click: the whole message
// when the clicked message was the bot's own, the bare attachment when it
// was an unfurl.
func (c *Card) LegacyReply(isMessage bool) any {
	att := c.LegacyAttachment()
	if isMessage {
		return map[string]any{"attachments": []LegacyAttachment{att}}
	}
	return att
}

// DialogCallback is the resolve dialog's callback_id: the issue and where
// to send the rebuilt message once the dialog is submitted.
type DialogCallback struct {
	Issue           int64  `json:"issue"`
	OrigResponseURL string `json:"orig_response_url,omitempty"`
	IsMessage       bool   `json:"is_message"`
}

// ResolveDialog is the legacy dialog asking how to resolve.
func ResolveDialog(triggerID string, cb DialogCallback) (slack.Dialog, error) {
	id, _ := json.Marshal(cb)
	if len(id) > 255 {
		return slack.Dialog{}, fmt.Errorf("resolve dialog callback_id is %d bytes, Slack allows 255", len(id))
	}
	opts := make([]slack.DialogSelectOption, len(resolveChoices))
	for k, c := range resolveChoices {
		opts[k] = slack.DialogSelectOption{Label: c.Text, Value: c.Value}
	}
	return slack.Dialog{
		TriggerID:   triggerID,
		CallbackID:  string(id),
		Title:       "Resolve Issue",
		SubmitLabel: "Resolve",
		Elements: []slack.DialogElement{slack.DialogInputSelect{
			DialogInput: slack.DialogInput{Type: slack.InputTypeSelect, Label: "Resolve", Name: "resolve_type"},
			Value:       "resolved",
			Options:     opts,
		}},
	}, nil
}

// LegacyReplacement is the legacy reply as a response URL post that
// replaces the original.
func LegacyReplacement(c *Card, isMessage bool) map[string]any {
	att := c.LegacyAttachment()
	if isMessage {
		return map[string]any{"replace_original": true, "attachments": []LegacyAttachment{att}}
	}
	var body map[string]any
	b, _ := json.Marshal(att)
	_ = json.Unmarshal(b, &body)
	body["replace_original"] = true
	return body
}
