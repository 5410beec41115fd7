package slack

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"triage"
	"triage/internal/issues"
)

// Interactivity payload types Triage answers at /extensions/slack/action/.
const (
	typeInteractiveMessage = "interactive_message"
	typeDialogSubmission   = "dialog_submission"
	typeBlockActions       = "block_actions"
	typeViewSubmission     = "view_submission"
	typeBlockSuggestion    = "block_suggestion"
)

// Modal callback ids and their input blocks (block id = action id).
const (
	modalResolve = "resolve"
	modalIgnore  = "ignore"
	inputResolve = "resolve_type"
	inputIgnore  = "ignore_type"
)

// badPayload is a request Slack would never send: the caller answers 400.
type badPayload string

func (e badPayload) Error() string { return string(e) }

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

// interaction is the part of an interactivity (or options-load) payload
// that Triage reads; everything else Slack sends is ignored.
type interaction struct {
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

// teamID is the workspace: team.id, or the user's team on Enterprise Grid
// org-wide installs where team is null.
func (p *interaction) teamID() string {
	if p.Team != nil && p.Team.ID != "" {
		return p.Team.ID
	}
	if p.User != nil {
		return p.User.TeamID
	}
	return ""
}

func (p *interaction) userID() string {
	if p.User == nil {
		return ""
	}
	return p.User.ID
}

func (p *interaction) channelID() string {
	if p.Channel != nil && p.Channel.ID != "" {
		return p.Channel.ID
	}
	return p.Container.ChannelID
}

// isMessage tells whether a legacy click came from a message the bot
// posted (reply with the whole message) rather than an unfurl.
func (p *interaction) isMessage() bool {
	return p.OriginalMessage != nil && p.OriginalMessage.Type == "message"
}

// formPayload reads the payload field of a form-encoded body.
func formPayload(body []byte) ([]byte, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badPayload("malformed form body")
	}
	p := form.Get("payload")
	if p == "" {
		return nil, badPayload("missing payload")
	}
	return []byte(p), nil
}

// parseInteraction decodes and checks a payload: a JSON object of a known
// type naming a workspace and a user.
func parseInteraction(raw []byte, types ...string) (*interaction, error) {
	var p interaction
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, badPayload("payload is not a valid JSON object")
	}
	known := false
	for _, t := range types {
		known = known || p.Type == t
	}
	switch {
	case !known:
		return nil, badPayload("unsupported payload type")
	case p.teamID() == "":
		return nil, badPayload("payload names no workspace")
	case p.userID() == "":
		return nil, badPayload("payload names no user")
	}
	return &p, nil
}

// modalMeta is a modal's private_metadata: the issue and the message the
// modal was opened from, so that submitting it can rebuild that message.
type modalMeta struct {
	Issue       int64  `json:"issue"`
	Channel     string `json:"channel,omitempty"`
	TS          string `json:"ts,omitempty"`
	ResponseURL string `json:"response_url,omitempty"`
	UnfurlURL   string `json:"unfurl_url,omitempty"`
}

// request is what one interaction asks for: an issue and an action with
// its value.
type request struct {
	issueID int64
	action  string
	value   string
	dialog  dialogCallback // dialog_submission
	meta    modalMeta      // view_submission
}

// parseIssueID reads an issue reference: "issue:ID" or {"issue":ID}.
func parseIssueID(s string) (int64, bool) {
	if rest, ok := strings.CutPrefix(s, "issue:"); ok {
		id, err := strconv.ParseInt(rest, 10, 64)
		return id, err == nil && id > 0
	}
	var cb legacyCallback
	if json.Unmarshal([]byte(s), &cb) != nil || cb.Issue <= 0 {
		return 0, false
	}
	return cb.Issue, true
}

// request finds the issue and action of a payload of one of the four
// action types; anything Triage's own messages could not have produced is
// a badPayload.
func (p *interaction) request() (*request, error) {
	r := &request{}
	var ok bool
	switch p.Type {
	case typeInteractiveMessage, typeBlockActions:
		if len(p.Actions) == 0 {
			return nil, badPayload("payload has no action")
		}
		a := &p.Actions[0]
		ref := p.CallbackID
		if p.Type == typeBlockActions {
			ref = a.BlockID
		}
		if r.issueID, ok = parseIssueID(ref); !ok {
			return nil, badPayload("payload names no issue")
		}
		r.action, r.value = a.name(), a.value()
	case typeDialogSubmission:
		if json.Unmarshal([]byte(p.CallbackID), &r.dialog) != nil || r.dialog.Issue <= 0 {
			return nil, badPayload("dialog names no issue")
		}
		r.issueID, r.action = r.dialog.Issue, actionStatus
		if raw, found := p.Submission[inputResolve]; !found || json.Unmarshal(raw, &r.value) != nil {
			return nil, badPayload("dialog submission has no resolve_type")
		}
	case typeViewSubmission:
		if p.View == nil || json.Unmarshal([]byte(p.View.PrivateMetadata), &r.meta) != nil || r.meta.Issue <= 0 {
			return nil, badPayload("view names no issue")
		}
		input := map[string]string{modalResolve: inputResolve, modalIgnore: inputIgnore}[p.View.CallbackID]
		if input == "" {
			return nil, badPayload("unknown view")
		}
		sel := p.View.State.Values[input][input].SelectedOption
		if sel == nil {
			return nil, badPayload("view submission has no choice")
		}
		r.issueID, r.action, r.value = r.meta.Issue, actionStatus, sel.Value
	}
	switch r.action {
	case actionStatus:
		if _, ok := parseStatus(r.value); !ok {
			return nil, badPayload("unknown status value")
		}
	case actionAssign:
		if _, err := triage.ParseAssignee(r.value); err != nil || r.value == "" {
			return nil, badPayload("unknown assignee value")
		}
	case actionResolveDialog, actionIgnoreDialog:
		if p.TriggerID == "" {
			return nil, badPayload("payload has no trigger_id")
		}
	default:
		return nil, badPayload("unknown action")
	}
	return r, nil
}

// parseStatus reads a status action's value (SLACK §4): resolved,
// resolved:inNextRelease, resolved:inCurrentRelease, unresolved, ignored,
// ignored:minutes:N, ignored:count:N, ignored:until:RFC3339.
func parseStatus(v string) (*issues.StatusChange, bool) {
	switch v {
	case "resolved":
		return &issues.StatusChange{Status: triage.StatusResolved}, true
	case "resolved:inNextRelease":
		return &issues.StatusChange{Status: triage.StatusResolved, InNextRelease: true}, true
	case "resolved:inCurrentRelease":
		return &issues.StatusChange{Status: triage.StatusResolved, InCurrentRelease: true}, true
	case "unresolved":
		return &issues.StatusChange{Status: triage.StatusUnresolved}, true
	case "ignored":
		return &issues.StatusChange{Status: triage.StatusIgnored}, true
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
		return &issues.StatusChange{Status: triage.StatusIgnored, IgnoreUntil: &t}, true
	}
	n, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || n <= 0 || n > 1_000_000_000 {
		return nil, false
	}
	switch kind {
	case "minutes":
		return &issues.StatusChange{Status: triage.StatusIgnored, IgnoreMinutes: n}, true
	case "count":
		return &issues.StatusChange{Status: triage.StatusIgnored, IgnoreCount: n}, true
	}
	return nil, false
}
