package message

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"triage"
)

// Interactivity payload types Triage answers at /extensions/slack/action/.
const (
	TypeInteractiveMessage = "interactive_message"
	TypeDialogSubmission   = "dialog_submission"
	TypeBlockActions       = "block_actions"
	TypeViewSubmission     = "view_submission"
	TypeBlockSuggestion    = "block_suggestion"
)

// Modal callback ids and their input blocks (block id = action id).
const (
	ModalResolve = "resolve"
	ModalIgnore  = "ignore"
	InputResolve = "resolve_type"
	InputIgnore  = "ignore_type"
)

// BadPayload is a request Slack would never send: the caller answers 400.
type BadPayload string

func (e BadPayload) Error() string { return string(e) }

type slackRef struct {
	ID     string `json:"id"`
	TeamID string `json:"team_id"`
}

type payloadAction struct {
	Name            string `json:"name"`
	Type            string `json:"type"`
	Value           string `json:"value"`
	ActionID        string `json:"action_id"`
	BlockID         string `json:"block_id"`
	SelectedOptions []struct {
		Value string `json:"value"`
	} `json:"selected_options"`
	SelectedOption *struct {
		Value string `json:"value"`
	} `json:"selected_option"`
}

// name is the action's meaning: the legacy name, or the Block Kit
// action_id up to an optional ":suffix".
func (a *payloadAction) name() string {
	if a.ActionID != "" {
		n, _, _ := strings.Cut(a.ActionID, ":")
		return n
	}
	return a.Name
}

// value is what was chosen: a button's value or a menu's selected option.
func (a *payloadAction) value() string {
	if a.SelectedOption != nil {
		return a.SelectedOption.Value
	}
	if len(a.SelectedOptions) > 0 {
		return a.SelectedOptions[0].Value
	}
	return a.Value
}

type payloadContainer struct {
	Type         string `json:"type"`
	MessageTS    string `json:"message_ts"`
	ChannelID    string `json:"channel_id"`
	IsEphemeral  bool   `json:"is_ephemeral"`
	IsAppUnfurl  bool   `json:"is_app_unfurl"`
	AppUnfurlURL string `json:"app_unfurl_url"`
}

type payloadView struct {
	ID              string `json:"id"`
	CallbackID      string `json:"callback_id"`
	PrivateMetadata string `json:"private_metadata"`
	State           struct {
		Values map[string]map[string]struct {
			SelectedOption *struct {
				Value string `json:"value"`
			} `json:"selected_option"`
		} `json:"values"`
	} `json:"state"`
}

// Interaction is the part of an interactivity (or options-load) payload
// that Triage reads; everything else Slack sends is ignored.
type Interaction struct {
	Type            string    `json:"type"`
	Team            *slackRef `json:"team"`
	User            *slackRef `json:"user"`
	Channel         *slackRef `json:"channel"`
	CallbackID      string    `json:"callback_id"`
	ResponseURL     string    `json:"response_url"`
	TriggerID       string    `json:"trigger_id"`
	MessageTS       string    `json:"message_ts"`
	IsAppUnfurl     bool      `json:"is_app_unfurl"`
	OriginalMessage *struct {
		Type string `json:"type"`
		TS   string `json:"ts"`
	} `json:"original_message"`
	Actions    []payloadAction            `json:"actions"`
	Submission map[string]json.RawMessage `json:"submission"`
	Container  payloadContainer           `json:"container"`
	View       *payloadView               `json:"view"`
	// Options loads: what the person typed, and which menu.
	Name     string `json:"name"`
	Value    string `json:"value"`
	ActionID string `json:"action_id"`
	BlockID  string `json:"block_id"`
}

// TeamID is the workspace: team.id, or the user's team on Enterprise Grid
// org-wide installs where team is null.
func (p *Interaction) TeamID() string {
	if p.Team != nil && p.Team.ID != "" {
		return p.Team.ID
	}
	if p.User != nil {
		return p.User.TeamID
	}
	return ""
}

func (p *Interaction) UserID() string {
	if p.User == nil {
		return ""
	}
	return p.User.ID
}

func (p *Interaction) ChannelID() string {
	if p.Channel != nil && p.Channel.ID != "" {
		return p.Channel.ID
	}
	return p.Container.ChannelID
}

// IsMessage tells whether a legacy click came from a message the bot
// posted (reply with the whole message) rather than an unfurl.
func (p *Interaction) IsMessage() bool {
	return p.OriginalMessage != nil && p.OriginalMessage.Type == "message"
}

// FormPayload reads the payload field of a form-encoded body.
func FormPayload(body []byte) ([]byte, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, BadPayload("malformed form body")
	}
	p := form.Get("payload")
	if p == "" {
		return nil, BadPayload("missing payload")
	}
	return []byte(p), nil
}

// ParseInteraction decodes and checks a payload: a JSON object of a known
// type naming a workspace and a user.
func ParseInteraction(raw []byte, types ...string) (*Interaction, error) {
	var p Interaction
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, BadPayload("payload is not a valid JSON object")
	}
	known := false
	for _, t := range types {
		known = known || p.Type == t
	}
	switch {
	case !known:
		return nil, BadPayload("unsupported payload type")
	case p.TeamID() == "":
		return nil, BadPayload("payload names no workspace")
	case p.UserID() == "":
		return nil, BadPayload("payload names no user")
	}
	return &p, nil
}

// ModalMeta is a modal's private_metadata: the issue and the message the
// modal was opened from, so that submitting it can rebuild that message.
type ModalMeta struct {
	Issue       int64  `json:"issue"`
	Channel     string `json:"channel,omitempty"`
	TS          string `json:"ts,omitempty"`
	ResponseURL string `json:"response_url,omitempty"`
	UnfurlURL   string `json:"unfurl_url,omitempty"`
	// List is the list the clicked row belongs to (ListRef.Encode).
	List string `json:"list,omitempty"`
}

// Request is what one interaction asks for: an issue and an action with
// its value.
type Request struct {
	IssueID int64
	Action  string
	Value   string
	Dialog  DialogCallback // dialog_submission
	Meta    ModalMeta      // view_submission
}

// ParseIssueID reads an issue reference: "issue:ID" or {"issue":ID}.
func ParseIssueID(s string) (int64, bool) {
	if rest, ok := strings.CutPrefix(s, "issue:"); ok {
		rest, _, _ = strings.Cut(rest, ";") // a list's row: see ListRef
		id, err := strconv.ParseInt(rest, 10, 64)
		return id, err == nil && id > 0
	}
	var cb legacyCallback
	if json.Unmarshal([]byte(s), &cb) != nil || cb.Issue <= 0 {
		return 0, false
	}
	return cb.Issue, true
}

// Request finds the issue and action of a payload of one of the four
// action types; anything Triage's own messages could not have produced is
// a badPayload.
func (p *Interaction) Request() (*Request, error) {
	r := &Request{}
	var ok bool
	switch p.Type {
	case TypeInteractiveMessage, TypeBlockActions:
		if len(p.Actions) == 0 {
			return nil, BadPayload("payload has no action")
		}
		a := &p.Actions[0]
		ref := p.CallbackID
		if p.Type == TypeBlockActions {
			ref = a.BlockID
		}
		if r.IssueID, ok = ParseIssueID(ref); !ok {
			return nil, BadPayload("payload names no issue")
		}
		r.Action, r.Value = a.name(), a.value()
	case TypeDialogSubmission:
		if json.Unmarshal([]byte(p.CallbackID), &r.Dialog) != nil || r.Dialog.Issue <= 0 {
			return nil, BadPayload("dialog names no issue")
		}
		r.IssueID, r.Action = r.Dialog.Issue, ActionStatus
		if raw, found := p.Submission[InputResolve]; !found || json.Unmarshal(raw, &r.Value) != nil {
			return nil, BadPayload("dialog submission has no resolve_type")
		}
	case TypeViewSubmission:
		if p.View == nil || json.Unmarshal([]byte(p.View.PrivateMetadata), &r.Meta) != nil || r.Meta.Issue <= 0 {
			return nil, BadPayload("view names no issue")
		}
		input := map[string]string{ModalResolve: InputResolve, ModalIgnore: InputIgnore}[p.View.CallbackID]
		if input == "" {
			return nil, BadPayload("unknown view")
		}
		sel := p.View.State.Values[input][input].SelectedOption
		if sel == nil {
			return nil, BadPayload("view submission has no choice")
		}
		r.IssueID, r.Action, r.Value = r.Meta.Issue, ActionStatus, sel.Value
	}
	switch r.Action {
	case ActionStatus:
		if _, ok := ParseStatus(r.Value); !ok {
			return nil, BadPayload("unknown status value")
		}
	case ActionAssign:
		if _, err := triage.ParseAssignee(r.Value); err != nil || r.Value == "" {
			return nil, BadPayload("unknown assignee value")
		}
	case ActionResolveDialog, ActionIgnoreDialog:
		if p.TriggerID == "" {
			return nil, BadPayload("payload has no trigger_id")
		}
	default:
		return nil, BadPayload("unknown action")
	}
	return r, nil
}

// Status is a status action's value: the issue service's StatusChange,
// which the flows build from it.
type Status struct {
	Status           triage.Status
	InNextRelease    bool
	InCurrentRelease bool
	IgnoreMinutes    int64
	IgnoreCount      int64
	IgnoreUntil      *time.Time
}

// ParseStatus reads a status action's value (SLACK §4): resolved,
// resolved:inNextRelease, resolved:inCurrentRelease, unresolved, ignored,
// ignored:minutes:N, ignored:count:N, ignored:until:RFC3339.
func ParseStatus(v string) (*Status, bool) {
	switch v {
	case "resolved":
		return &Status{Status: triage.StatusResolved}, true
	case "resolved:inNextRelease":
		return &Status{Status: triage.StatusResolved, InNextRelease: true}, true
	case "resolved:inCurrentRelease":
		return &Status{Status: triage.StatusResolved, InCurrentRelease: true}, true
	case "unresolved":
		return &Status{Status: triage.StatusUnresolved}, true
	case "ignored":
		return &Status{Status: triage.StatusIgnored}, true
	}
	kind, arg, ok := strings.Cut(strings.TrimPrefix(v, "ignored:"), ":")
	if !ok || !strings.HasPrefix(v, "ignored:") {
		return nil, false
	}
	if kind == "until" {
		t, err := time.Parse(time.RFC3339, arg)
		if err != nil {
			return nil, false
		}
		return &Status{Status: triage.StatusIgnored, IgnoreUntil: &t}, true
	}
	n, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || n <= 0 || n > 1_000_000_000 {
		return nil, false
	}
	switch kind {
	case "minutes":
		return &Status{Status: triage.StatusIgnored, IgnoreMinutes: n}, true
	case "count":
		return &Status{Status: triage.StatusIgnored, IgnoreCount: n}, true
	}
	return nil, false
}
