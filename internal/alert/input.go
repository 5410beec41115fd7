package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"triage"
)

// ParseRuleInput reads a rule from the API's JSON:
//
//	{"name": "New errors",
//	 "conditions": {"firstSeen": true, "regression": false,
//	                "frequency": {"count": 100, "minutes": 60},
//	                "level": "error", "environment": "production"},
//	 "action": {"integrationId": "3", "channel": "C0123" | "#alerts"}
//	         | {"integrationId": "3", "target": "team"}
//	         | {"type": "email", "target": "teams"}
//	         | {"type": "email", "target": "members", "userIds": ["7", "9"]},
//	 "throttleMinutes": 30, "thread": true}
//
// Unknown fields and wrong types are refused with a *FieldError naming the
// field (dotted path), so a misspelt condition is never silently ignored.
func ParseRuleInput(body []byte) (RuleInput, error) {
	var in RuleInput
	top, err := object(body, "")
	if err != nil {
		return in, err
	}
	for k, raw := range top {
		switch k {
		case "name":
			var s string
			if err := decode(raw, &s, "name", "a string"); err != nil {
				return in, err
			}
			in.Name = &s
		case "conditions":
			c, err := parseConditions(raw)
			if err != nil {
				return in, err
			}
			in.Conditions = &c
		case "action":
			a, err := parseAction(raw)
			if err != nil {
				return in, err
			}
			in.Action = &a
		case "throttleMinutes":
			var n int64
			if err := decode(raw, &n, k, "a whole number of minutes"); err != nil {
				return in, err
			}
			in.ThrottleMinutes = &n
		case "thread":
			var b bool
			if err := decode(raw, &b, k, "true or false"); err != nil {
				return in, err
			}
			in.Thread = &b
		case "id", "project", "dateCreated", "dateUpdated":
			// Read-only fields a client may send back as it got them.
		default:
			return in, invalid(k, "unknown field")
		}
	}
	return in, nil
}

func parseConditions(raw json.RawMessage) (Conditions, error) {
	var c Conditions
	m, err := object(raw, "conditions")
	if err != nil {
		return c, err
	}
	for k, v := range m {
		field := "conditions." + k
		switch k {
		case "firstSeen":
			err = decode(v, &c.FirstSeen, field, "true or false")
		case "regression":
			err = decode(v, &c.Regression, field, "true or false")
		case "level":
			err = decode(v, &c.Level, field, "a level name")
		case "environment":
			err = decode(v, &c.Environment, field, "a string")
		case "frequency":
			if string(bytes.TrimSpace(v)) == "null" {
				continue
			}
			var fm map[string]json.RawMessage
			if fm, err = object(v, field); err != nil {
				return c, err
			}
			fr := &Frequency{}
			for fk, fv := range fm {
				switch fk {
				case "count":
					err = decode(fv, &fr.Count, field+".count", "a whole number")
				case "minutes":
					err = decode(fv, &fr.Minutes, field+".minutes", "a whole number of minutes")
				default:
					err = invalid(field+"."+fk, "unknown field: use count and minutes")
				}
				if err != nil {
					return c, err
				}
			}
			c.Frequency = fr
		default:
			err = invalid(field, "unknown condition: use firstSeen, regression, frequency, level or environment")
		}
		if err != nil {
			return c, err
		}
	}
	return c, nil
}

func parseAction(raw json.RawMessage) (ActionInput, error) {
	var a ActionInput
	m, err := object(raw, "action")
	if err != nil {
		return a, err
	}
	for k, v := range m {
		switch k {
		case "integrationId":
			// Ids are strings of digits in the API, as in Sentry; a bare
			// number is accepted too.
			var s string
			if json.Unmarshal(v, &s) != nil {
				var n json.Number
				if json.Unmarshal(v, &n) != nil {
					return a, invalid("action.integrationId", "must be the id of a Slack workspace, such as \"3\"")
				}
				s = n.String()
			}
			if strings.TrimSpace(s) == "" {
				// What GET shows for an email action: no workspace.
				continue
			}
			id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil || id <= 0 {
				return a, invalid("action.integrationId", "must be the id of a Slack workspace, such as \"3\"")
			}
			a.IntegrationID = id
		case "channel", "channelId":
			if err := decode(v, &a.Channel, "action."+k, "a channel id or #name"); err != nil {
				return a, err
			}
		case "type":
			if err := decode(v, &a.Type, "action.type", `"slack" or "email"`); err != nil {
				return a, err
			}
			if a.Type != "" && a.Type != triage.AlertActionSlack && a.Type != triage.AlertActionEmail {
				return a, invalid("action.type", `must be "slack" or "email"`)
			}
		case "target":
			if err := decode(v, &a.Target, "action.target", `"channel" or "team" (Slack), "teams" or "members" (email)`); err != nil {
				return a, err
			}
		case "userIds":
			var raw []json.RawMessage
			if err := json.Unmarshal(v, &raw); err != nil {
				return a, invalid("action.userIds", `must be a list of user ids, such as ["7", "9"]`)
			}
			for _, r := range raw {
				var s string
				if json.Unmarshal(r, &s) != nil {
					var n json.Number
					if json.Unmarshal(r, &n) != nil {
						return a, invalid("action.userIds", `must be a list of user ids, such as ["7", "9"]`)
					}
					s = n.String()
				}
				id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
				if err != nil || id <= 0 {
					return a, invalid("action.userIds", "%q is not a user id", s)
				}
				a.UserIDs = append(a.UserIDs, id)
			}
		case "workspace", "channelName", "status", "reason", "hint", "users":
			// Read-only.
		default:
			return a, invalid("action."+k, "unknown field: use type, integrationId, channel and target (Slack) or target and userIds (email)")
		}
	}
	if a.Type == "" && (a.Target == triage.AlertTargetTeams || a.Target == triage.AlertTargetMembers || len(a.UserIDs) > 0) &&
		a.IntegrationID == 0 && a.Channel == "" {
		a.Type = triage.AlertActionEmail
	}
	if a.Type == triage.AlertActionEmail {
		switch a.Target {
		case triage.AlertTargetTeams, triage.AlertTargetMembers:
		default:
			return a, invalid("action.target", `must be "teams" (every member of the project's teams) or "members" (the members in userIds) for an email action`)
		}
		if len(a.UserIDs) > 0 && a.Target != triage.AlertTargetMembers {
			return a, invalid("action.userIds", `is for {"target": "members"}`)
		}
		return a, nil
	}
	switch a.Target {
	case "", triage.AlertTargetChannel, triage.AlertTargetTeam:
	default:
		return a, invalid("action.target", `must be "channel" (the rule's channel) or "team" (the channel linked to each team that owns the project)`)
	}
	if len(a.UserIDs) > 0 {
		return a, invalid("action.userIds", `is for {"type": "email", "target": "members"}`)
	}
	return a, nil
}

// object decodes a JSON object into its members; field names it in errors.
func object(raw []byte, field string) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, invalid(orBody(field), "is empty: send a JSON object")
	}
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil || m == nil {
		var syn *json.SyntaxError
		if field == "" && errors.As(err, &syn) {
			return nil, invalid("body", "is not valid JSON (at byte %d)", syn.Offset)
		}
		return nil, invalid(orBody(field), "must be a JSON object")
	}
	if dec.More() {
		return nil, invalid(orBody(field), "holds more than one JSON value")
	}
	return m, nil
}

func orBody(field string) string {
	if field == "" {
		return "body"
	}
	return field
}

func decode(raw json.RawMessage, v any, field, want string) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return invalid(field, "must be %s", want)
	}
	return nil
}

// String gives the rule's action for logs and pages: "#alerts in Acme",
// "email to the project's teams", "email to Ada, Bob".
func (r *Rule) String() string {
	if r.ActionType == triage.AlertActionEmail {
		if r.Target == triage.AlertTargetTeams {
			return "email to the project's teams"
		}
		names := make([]string, len(r.EmailUsers))
		for k, u := range r.EmailUsers {
			names[k] = u.DisplayName()
		}
		return "email to " + strings.Join(names, ", ")
	}
	if r.Target == triage.AlertTargetTeam {
		return "the team's channel in " + r.Workspace
	}
	name := r.ChannelName
	if name == "" {
		name = r.ChannelID
	}
	return fmt.Sprintf("#%s in %s", name, r.Workspace)
}
