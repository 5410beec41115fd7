package slackfake

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// validateDialog checks a legacy dialog; the messages are Slack's
// validation_errors wording.
func validateDialog(raw json.RawMessage) []string {
	d := object(raw)
	if d == nil {
		return []string{"The field `dialog` must be an object"}
	}
	var msgs []string
	title, ok := str(d, "title")
	if !ok || title == "" {
		msgs = append(msgs, "The field `title` is required")
	} else if utf8.RuneCountInString(title) > 24 {
		msgs = append(msgs, "The field `title` cannot be longer than 24 characters")
	}
	if cb, ok := str(d, "callback_id"); !ok || cb == "" {
		msgs = append(msgs, "The field `callback_id` is required")
	} else if utf8.RuneCountInString(cb) > 255 {
		msgs = append(msgs, "The field `callback_id` cannot be longer than 255 characters")
	}
	if sb, ok := str(d, "submit_label"); ok && (strings.ContainsAny(sb, " \t") || utf8.RuneCountInString(sb) > 24) {
		msgs = append(msgs, "The field `submit_label` can only be one word")
	}
	if st, ok := str(d, "state"); ok && utf8.RuneCountInString(st) > 3000 {
		msgs = append(msgs, "The field `state` cannot be longer than 3000 characters")
	}
	var els []json.RawMessage
	if d["elements"] == nil {
		return append(msgs, "The field `elements` is required")
	}
	if json.Unmarshal(d["elements"], &els) != nil {
		return append(msgs, "The field `elements` must be a list")
	}
	if len(els) == 0 {
		msgs = append(msgs, "The field `elements` has to include at least one element")
	}
	if len(els) > 10 {
		msgs = append(msgs, "The field `elements` cannot include more than ten elements")
	}
	names := map[string]bool{}
	for i, raw := range els {
		el := object(raw)
		if el == nil {
			msgs = append(msgs, fmt.Sprintf("Element %d must be an object", i))
			continue
		}
		switch t, _ := str(el, "type"); t {
		case "text", "textarea", "select":
		case "":
			msgs = append(msgs, fmt.Sprintf("Element %d is missing required field `type`", i))
		default:
			msgs = append(msgs, fmt.Sprintf("Element %d has an invalid `type`", i))
		}
		name, _ := str(el, "name")
		if name == "" {
			msgs = append(msgs, fmt.Sprintf("Element %d is missing required field `name`", i))
		} else if names[name] {
			msgs = append(msgs, fmt.Sprintf("Element %d has a repeated name", i))
		}
		names[name] = true
		if l, _ := str(el, "label"); l == "" {
			msgs = append(msgs, fmt.Sprintf("Element %d is missing required field `label`", i))
		} else if utf8.RuneCountInString(l) > 48 {
			msgs = append(msgs, fmt.Sprintf("Element %d field `label` cannot be longer than 48 characters", i))
		}
	}
	return msgs
}
