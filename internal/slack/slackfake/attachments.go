package slackfake

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Legacy message attachments ("secondary attachments") and their
// interactive actions, per Slack's reference for attachments and legacy
// message buttons and menus: known fields only, at most 100 attachments,
// at most 5 actions each, a callback_id on any attachment with actions,
// buttons and selects with the fields they take. A bad attachment is
// invalid_attachments with the reasons in response_metadata.messages.

var attachmentFields = []string{
	"fallback", "color", "pretext", "author_name", "author_link", "author_icon", "author_subname", "title",
	"title_link", "text", "fields", "image_url", "thumb_url", "footer", "footer_icon", "ts", "mrkdwn_in",
	"blocks", "callback_id", "actions", "attachment_type", "id",
}

// validateAttachments checks an attachments array. It returns "" or
// Slack's error code with its messages.
func validateAttachments(raw json.RawMessage) (string, []string) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return "invalid_attachments", nil
	}
	if len(list) > 100 {
		return "too_many_attachments", nil
	}
	var e blockErrs
	for i, r := range list {
		checkAttachment(&e, fmt.Sprintf("/attachments/%d", i), r)
	}
	if len(e.msgs) > 0 {
		return "invalid_attachments", e.msgs
	}
	return "", nil
}

func checkAttachment(e *blockErrs, ptr string, raw json.RawMessage) {
	a := object(raw)
	if a == nil {
		e.add(ptr, "must be an object")
		return
	}
	e.fields(ptr, a, attachmentFields...)
	for _, k := range []string{"fallback", "color", "pretext", "author_name", "author_link", "author_icon", "author_subname",
		"title", "title_link", "text", "image_url", "thumb_url", "footer", "footer_icon", "callback_id", "attachment_type"} {
		if _, ok := a[k]; ok {
			checkString(e, ptr+"/"+k, a, k, 0, 8000)
		}
	}
	if raw, ok := a["mrkdwn_in"]; ok {
		var in []string
		if json.Unmarshal(raw, &in) != nil {
			e.add(ptr+"/mrkdwn_in", "must be an array of field names")
		}
		for _, f := range in {
			if !slices.Contains([]string{"pretext", "text", "fields"}, f) {
				e.add(ptr+"/mrkdwn_in", "unknown field name: %s", f)
			}
		}
	}
	if raw, ok := a["fields"]; ok {
		var fs []map[string]json.RawMessage
		if json.Unmarshal(raw, &fs) != nil {
			e.add(ptr+"/fields", "must be an array of field objects")
		}
		for i, f := range fs {
			fp := fmt.Sprintf("%s/fields/%d", ptr, i)
			e.fields(fp, f, "title", "value", "short")
			checkBool(e, fp, f, "short")
		}
	}
	if raw, ok := a["blocks"]; ok {
		var blocks []json.RawMessage
		if json.Unmarshal(raw, &blocks) != nil {
			e.add(ptr+"/blocks", "must be an array")
		} else {
			checkBlockList(e, ptr+"/blocks", blocks, 50)
		}
	}
	raw, hasActions := a["actions"]
	if !hasActions {
		return
	}
	var actions []json.RawMessage
	if json.Unmarshal(raw, &actions) != nil {
		e.add(ptr+"/actions", "must be an array")
		return
	}
	if len(actions) > 5 {
		e.add(ptr+"/actions", "no more than 5 actions allowed")
	}
	if id, _ := str(a, "callback_id"); len(actions) > 0 && id == "" {
		e.add(ptr+"/callback_id", "missing required field: callback_id (the attachment has actions)")
	}
	for i, act := range actions {
		checkLegacyAction(e, fmt.Sprintf("%s/actions/%d", ptr, i), act)
	}
}

func checkLegacyAction(e *blockErrs, ptr string, raw json.RawMessage) {
	a := object(raw)
	if a == nil {
		e.add(ptr, "must be an object")
		return
	}
	typ, _ := str(a, "type")
	switch typ {
	case "button":
		e.fields(ptr, a, "name", "text", "type", "value", "style", "confirm", "url")
		checkString(e, ptr+"/url", a, "url", 0, 3000)
	case "select":
		e.fields(ptr, a, "name", "text", "type", "value", "data_source", "min_query_length", "options",
			"option_groups", "selected_options", "confirm")
		source, hasSource := str(a, "data_source")
		if !hasSource {
			source = "static"
		}
		switch source {
		case "static":
			_, hasOpts := a["options"]
			_, hasGroups := a["option_groups"]
			if !hasOpts && !hasGroups {
				e.add(ptr, "a static select must provide options or option_groups")
			}
		case "users", "channels", "conversations", "external":
		default:
			e.add(ptr+"/data_source", "must be static, users, channels, conversations or external")
		}
		checkLegacyOptions(e, ptr+"/options", a["options"])
		checkLegacyOptions(e, ptr+"/selected_options", a["selected_options"])
		if raw, ok := a["option_groups"]; ok {
			var gs []map[string]json.RawMessage
			if json.Unmarshal(raw, &gs) != nil || len(gs) == 0 || len(gs) > 100 {
				e.add(ptr+"/option_groups", "must have between 1 and 100 items")
			}
			for i, g := range gs {
				gp := fmt.Sprintf("%s/option_groups/%d", ptr, i)
				e.fields(gp, g, "text", "options")
				checkString(e, gp+"/text", g, "text", 1, 2000)
				if g["options"] == nil {
					e.add(gp+"/options", "missing required field: options")
				}
				checkLegacyOptions(e, gp+"/options", g["options"])
			}
		}
		if raw, ok := a["min_query_length"]; ok {
			var n int
			if json.Unmarshal(raw, &n) != nil || n < 0 {
				e.add(ptr+"/min_query_length", "must be a non-negative integer")
			}
		}
	case "":
		e.add(ptr, "missing required field: type")
		return
	default:
		e.add(ptr+"/type", "must be button or select")
		return
	}
	checkString(e, ptr+"/name", a, "name", 1, 255)
	checkString(e, ptr+"/text", a, "text", 1, 2000)
	checkString(e, ptr+"/value", a, "value", 0, 2000)
	if _, ok := a["style"]; ok {
		if st, _ := str(a, "style"); st != "default" && st != "primary" && st != "danger" {
			e.add(ptr+"/style", "must be default, primary or danger")
		}
	}
	if raw, ok := a["confirm"]; ok {
		c := object(raw)
		if c == nil {
			e.add(ptr+"/confirm", "must be an object")
			return
		}
		e.fields(ptr+"/confirm", c, "title", "text", "ok_text", "dismiss_text")
		checkString(e, ptr+"/confirm/text", c, "text", 1, 2000)
		for _, k := range []string{"title", "ok_text", "dismiss_text"} {
			checkString(e, ptr+"/confirm/"+k, c, k, 0, 2000)
		}
	}
}

func checkLegacyOptions(e *blockErrs, ptr string, raw json.RawMessage) {
	if raw == nil {
		return
	}
	var os []map[string]json.RawMessage
	if json.Unmarshal(raw, &os) != nil || len(os) > 100 {
		e.add(ptr, "must be an array of at most 100 options")
		return
	}
	for i, o := range os {
		op := fmt.Sprintf("%s/%d", ptr, i)
		e.fields(op, o, "text", "value", "description")
		checkString(e, op+"/text", o, "text", 1, 2000)
		checkString(e, op+"/value", o, "value", 1, 2000)
		checkString(e, op+"/description", o, "description", 0, 2000)
	}
}
