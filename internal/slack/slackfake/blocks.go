package slackfake

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Block Kit validation: not all of Slack's rules, but the ones a message
// builder gets wrong in practice (missing text, wrong text types, empty
// elements, duplicate ids, over-long strings), reported the way Slack
// reports them: invalid_blocks with response_metadata.messages.

var blockTypes = map[string]bool{
	"section": true, "divider": true, "image": true, "actions": true, "context": true,
	"input": true, "header": true, "file": true, "rich_text": true, "video": true,
	"markdown": true, "table": true, "call": true, "context_actions": true,
}

type blockErrs struct{ msgs []string }

func (e *blockErrs) add(ptr, format string, args ...any) {
	e.msgs = append(e.msgs, fmt.Sprintf("[ERROR] "+format+" [json-pointer:%s]", append(args, ptr)...))
}

func nonEmptyArray(raw json.RawMessage) bool {
	var a []json.RawMessage
	return json.Unmarshal(raw, &a) == nil && len(a) > 0
}

func attachmentCount(raw json.RawMessage) (int, bool) {
	var a []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		return 0, false
	}
	for _, x := range a {
		if x == nil {
			return 0, false
		}
	}
	return len(a), true
}

// validateBlocks checks a blocks array holding at most max blocks. It
// returns "" or Slack's error code with its messages.
func validateBlocks(raw json.RawMessage, max int) (string, []string) {
	var blocks []json.RawMessage
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return "invalid_blocks_format", nil
	}
	var e blockErrs
	if len(blocks) > max {
		e.add("/blocks", "no more than %d items allowed", max)
	}
	ids := map[string]bool{}
	for i, b := range blocks {
		checkBlock(&e, fmt.Sprintf("/blocks/%d", i), b, ids)
	}
	if len(e.msgs) > 0 {
		return "invalid_blocks", e.msgs
	}
	return "", nil
}

func object(raw json.RawMessage) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func str(m map[string]json.RawMessage, k string) (string, bool) {
	var s string
	raw, ok := m[k]
	if !ok || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func checkBlock(e *blockErrs, ptr string, raw json.RawMessage, ids map[string]bool) {
	b := object(raw)
	if b == nil {
		e.add(ptr, "must be an object")
		return
	}
	typ, ok := str(b, "type")
	if !ok {
		e.add(ptr, "missing required field: type")
		return
	}
	if !blockTypes[typ] {
		e.add(ptr+"/type", "unsupported type: %s", typ)
		return
	}
	if _, present := b["block_id"]; present {
		id, ok := str(b, "block_id")
		switch {
		case !ok || id == "":
			e.add(ptr+"/block_id", "must be a non-empty string")
		case utf8.RuneCountInString(id) > 255:
			e.add(ptr+"/block_id", "must be less than 256 characters")
		case ids[id]:
			e.add(ptr+"/block_id", "duplicate block_id: %s", id)
		default:
			ids[id] = true
		}
	}
	switch typ {
	case "section":
		checkSection(e, ptr, b)
	case "header":
		checkText(e, ptr+"/text", b["text"], "plain_text", 150)
	case "actions":
		checkElements(e, ptr+"/elements", b["elements"], 25, checkElement)
	case "context":
		checkElements(e, ptr+"/elements", b["elements"], 10, func(e *blockErrs, p string, el json.RawMessage, _ map[string]bool) {
			if o := object(el); o != nil {
				if t, _ := str(o, "type"); t == "image" {
					return
				}
			}
			checkText(e, p, el, "", 3000)
		})
	case "image":
		if _, ok := str(b, "image_url"); !ok && b["slack_file"] == nil {
			e.add(ptr, "must provide image_url or slack_file")
		}
		if _, ok := str(b, "alt_text"); !ok {
			e.add(ptr+"/alt_text", "missing required field: alt_text")
		}
	case "input":
		checkText(e, ptr+"/label", b["label"], "plain_text", 2000)
		if el, ok := b["element"]; ok {
			checkElement(e, ptr+"/element", el, map[string]bool{})
		} else {
			e.add(ptr+"/element", "missing required field: element")
		}
	}
}

func checkSection(e *blockErrs, ptr string, b map[string]json.RawMessage) {
	_, hasText := b["text"]
	fields, hasFields := b["fields"]
	if !hasText && !hasFields {
		e.add(ptr, "must provide either text or fields")
	}
	if hasText {
		checkText(e, ptr+"/text", b["text"], "", 3000)
	}
	if hasFields {
		var fs []json.RawMessage
		if json.Unmarshal(fields, &fs) != nil || len(fs) == 0 || len(fs) > 10 {
			e.add(ptr+"/fields", "must be an array of 1 to 10 text objects")
		}
		for i, f := range fs {
			checkText(e, fmt.Sprintf("%s/fields/%d", ptr, i), f, "", 2000)
		}
	}
	if acc, ok := b["accessory"]; ok {
		checkElement(e, ptr+"/accessory", acc, map[string]bool{})
	}
}

type elementCheck func(e *blockErrs, ptr string, raw json.RawMessage, actionIDs map[string]bool)

func checkElements(e *blockErrs, ptr string, raw json.RawMessage, max int, check elementCheck) {
	var els []json.RawMessage
	if raw == nil || json.Unmarshal(raw, &els) != nil {
		e.add(ptr, "missing required field: elements")
		return
	}
	if len(els) == 0 || len(els) > max {
		e.add(ptr, "must have between 1 and %d items", max)
	}
	actionIDs := map[string]bool{}
	for i, el := range els {
		check(e, fmt.Sprintf("%s/%d", ptr, i), el, actionIDs)
	}
}

// checkText checks a text object; want is "plain_text", "mrkdwn" or ""
// for either.
func checkText(e *blockErrs, ptr string, raw json.RawMessage, want string, maxLen int) {
	if raw == nil {
		e.add(ptr, "missing required field: text object")
		return
	}
	o := object(raw)
	if o == nil {
		e.add(ptr, "must be a text object")
		return
	}
	typ, _ := str(o, "type")
	if typ != "plain_text" && typ != "mrkdwn" {
		e.add(ptr+"/type", "must be plain_text or mrkdwn")
		return
	}
	if want != "" && typ != want {
		e.add(ptr+"/type", "must be %s", want)
	}
	text, ok := str(o, "text")
	switch {
	case !ok:
		e.add(ptr+"/text", "must provide a string for field \"text\"")
	case strings.TrimSpace(text) == "":
		e.add(ptr+"/text", "must be more than 0 characters")
	case utf8.RuneCountInString(text) > maxLen:
		e.add(ptr+"/text", "must be less than %d characters", maxLen+1)
	}
}

func checkElement(e *blockErrs, ptr string, raw json.RawMessage, actionIDs map[string]bool) {
	o := object(raw)
	if o == nil {
		e.add(ptr, "must be an object")
		return
	}
	typ, ok := str(o, "type")
	if !ok || typ == "" {
		e.add(ptr, "missing required field: type")
		return
	}
	if id, ok := str(o, "action_id"); ok {
		switch {
		case utf8.RuneCountInString(id) > 255:
			e.add(ptr+"/action_id", "must be less than 256 characters")
		case actionIDs[id]:
			e.add(ptr+"/action_id", "duplicate action_id: %s", id)
		default:
			actionIDs[id] = true
		}
	}
	switch typ {
	case "button":
		checkText(e, ptr+"/text", o["text"], "plain_text", 75)
		if v, ok := str(o, "value"); ok && utf8.RuneCountInString(v) > 2000 {
			e.add(ptr+"/value", "must be less than 2001 characters")
		}
		if st, ok := str(o, "style"); ok && st != "primary" && st != "danger" {
			e.add(ptr+"/style", "must be primary or danger")
		}
	case "static_select", "multi_static_select":
		opts, hasOpts := o["options"]
		_, hasGroups := o["option_groups"]
		if !hasOpts && !hasGroups {
			e.add(ptr, "must provide either options or option_groups")
		}
		if hasOpts {
			var list []json.RawMessage
			if json.Unmarshal(opts, &list) != nil || len(list) == 0 || len(list) > 100 {
				e.add(ptr+"/options", "must have between 1 and 100 items")
			}
			for i, op := range list {
				checkOption(e, fmt.Sprintf("%s/options/%d", ptr, i), op)
			}
		}
	case "overflow":
		checkElements(e, ptr+"/options", o["options"], 5, func(e *blockErrs, p string, op json.RawMessage, _ map[string]bool) {
			checkOption(e, p, op)
		})
	}
}

func checkOption(e *blockErrs, ptr string, raw json.RawMessage) {
	o := object(raw)
	if o == nil {
		e.add(ptr, "must be an option object")
		return
	}
	checkText(e, ptr+"/text", o["text"], "", 75)
	if v, ok := str(o, "value"); !ok || v == "" || utf8.RuneCountInString(v) > 150 {
		e.add(ptr+"/value", "must be a string of 1 to 150 characters")
	}
}

// validateView checks a modal view; it returns the messages Slack puts
// under invalid_arguments.
func validateView(raw json.RawMessage) []string {
	v := object(raw)
	if v == nil {
		return []string{"[ERROR] must be an object [json-pointer:/view]"}
	}
	var e blockErrs
	if t, _ := str(v, "type"); t != "modal" {
		e.add("/view/type", "must be modal")
	}
	checkText(&e, "/view/title", v["title"], "plain_text", 24)
	for _, k := range []string{"submit", "close"} {
		if x, ok := v[k]; ok && string(x) != "null" {
			checkText(&e, "/view/"+k, x, "plain_text", 24)
		}
	}
	if s, ok := str(v, "private_metadata"); ok && utf8.RuneCountInString(s) > 3000 {
		e.add("/view/private_metadata", "must be less than 3001 characters")
	}
	if s, ok := str(v, "callback_id"); ok && utf8.RuneCountInString(s) > 255 {
		e.add("/view/callback_id", "must be less than 256 characters")
	}
	blocks, ok := v["blocks"]
	if !ok {
		e.add("/view/blocks", "missing required field: blocks")
	} else if code, msgs := validateBlocks(blocks, 100); code == "invalid_blocks_format" {
		e.add("/view/blocks", "must be an array")
	} else {
		for _, m := range msgs {
			e.msgs = append(e.msgs, strings.Replace(m, "[json-pointer:/blocks", "[json-pointer:/view/blocks", 1))
		}
		if hasInput(blocks) && (v["submit"] == nil || string(v["submit"]) == "null") {
			e.add("/view/submit", "must provide submit when the view has input blocks")
		}
	}
	return e.msgs
}

func hasInput(blocks json.RawMessage) bool {
	var bs []map[string]json.RawMessage
	_ = json.Unmarshal(blocks, &bs)
	for _, b := range bs {
		if t, _ := str(b, "type"); t == "input" {
			return true
		}
	}
	return false
}

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
