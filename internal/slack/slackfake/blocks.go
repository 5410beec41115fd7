package slackfake

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Block Kit validation, against Slack's reference (docs.slack.dev,
// reference/block-kit): every block, element and composition object the
// fake knows is checked field by field (required fields, types, lengths,
// counts, which text type is allowed where), and a field Slack does not
// define for that object is refused, as Slack refuses it. Block and
// element types that Slack has but the fake does not model are refused
// too, saying so: a fake that let them through unchecked would make a
// passing test mean nothing. Errors are reported the way Slack reports
// them: invalid_blocks with response_metadata.messages.

// blockTypes are the blocks the fake validates.
var blockTypes = map[string]func(e *blockErrs, ptr string, b map[string]json.RawMessage){
	"section": checkSection,
	"divider": func(e *blockErrs, ptr string, b map[string]json.RawMessage) {
		e.fields(ptr, b, "type", "block_id")
	},
	"header": func(e *blockErrs, ptr string, b map[string]json.RawMessage) {
		e.fields(ptr, b, "type", "block_id", "text")
		checkText(e, ptr+"/text", b["text"], "plain_text", 150)
	},
	"actions": func(e *blockErrs, ptr string, b map[string]json.RawMessage) {
		e.fields(ptr, b, "type", "block_id", "elements")
		checkElements(e, ptr+"/elements", b["elements"], 25, func(e *blockErrs, p string, el json.RawMessage, ids map[string]bool) {
			checkElement(e, p, el, ids, actionsElements)
		})
	},
	"context": func(e *blockErrs, ptr string, b map[string]json.RawMessage) {
		e.fields(ptr, b, "type", "block_id", "elements")
		checkElements(e, ptr+"/elements", b["elements"], 10, func(e *blockErrs, p string, el json.RawMessage, _ map[string]bool) {
			if o := object(el); o != nil {
				if t, _ := str(o, "type"); t == "image" {
					checkImage(e, p, o, false)
					return
				}
			}
			checkText(e, p, el, "", 3000)
		})
	},
	"image": func(e *blockErrs, ptr string, b map[string]json.RawMessage) {
		checkImage(e, ptr, b, true)
	},
	"input": func(e *blockErrs, ptr string, b map[string]json.RawMessage) {
		e.fields(ptr, b, "type", "block_id", "label", "element", "dispatch_action", "hint", "optional")
		checkText(e, ptr+"/label", b["label"], "plain_text", 2000)
		if h, ok := b["hint"]; ok {
			checkText(e, ptr+"/hint", h, "plain_text", 2000)
		}
		checkBool(e, ptr, b, "dispatch_action", "optional")
		if el, ok := b["element"]; ok {
			checkElement(e, ptr+"/element", el, map[string]bool{}, inputElements)
		} else {
			e.add(ptr+"/element", "missing required field: element")
		}
	},
	"markdown": func(e *blockErrs, ptr string, b map[string]json.RawMessage) {
		e.fields(ptr, b, "type", "block_id", "text")
		checkString(e, ptr+"/text", b, "text", 1, 12000)
	},
}

// slackOnlyBlocks and slackOnlyElements exist on Slack but are not
// modelled here; the fake refuses them rather than pass them unchecked.
var (
	slackOnlyBlocks   = []string{"rich_text", "video", "file", "table", "call", "context_actions", "plan", "task_card"}
	slackOnlyElements = []string{"checkboxes", "datepicker", "datetimepicker", "email_text_input", "file_input",
		"multi_static_select", "multi_external_select", "multi_users_select", "multi_conversations_select",
		"multi_channels_select", "users_select", "conversations_select", "channels_select", "number_input",
		"plain_text_input", "radio_buttons", "rich_text_input", "timepicker", "url_text_input", "workflow_button",
		"feedback_buttons", "icon_button"}
)

// Where each element may appear (Slack lists the blocks each works in).
var (
	actionsElements = []string{"button", "static_select", "external_select", "overflow"}
	sectionElements = []string{"button", "static_select", "external_select", "overflow", "image"}
	inputElements   = []string{"static_select", "external_select"}
)

type blockErrs struct{ msgs []string }

func (e *blockErrs) add(ptr, format string, args ...any) {
	e.msgs = append(e.msgs, fmt.Sprintf("[ERROR] "+format+" [json-pointer:%s]", append(args, ptr)...))
}

// fields refuses every field of o not in allowed.
func (e *blockErrs) fields(ptr string, o map[string]json.RawMessage, allowed ...string) {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			e.add(ptr+"/"+k, "unknown field: %s", k)
		}
	}
}

func nonEmptyArray(raw json.RawMessage) bool {
	var a []json.RawMessage
	return json.Unmarshal(raw, &a) == nil && len(a) > 0
}

// validateBlocks checks a blocks array holding at most max blocks. It
// returns "" or Slack's error code with its messages.
func validateBlocks(raw json.RawMessage, max int) (string, []string) {
	var blocks []json.RawMessage
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return "invalid_blocks_format", nil
	}
	var e blockErrs
	checkBlockList(&e, "/blocks", blocks, max)
	if len(e.msgs) > 0 {
		return "invalid_blocks", e.msgs
	}
	return "", nil
}

func checkBlockList(e *blockErrs, ptr string, blocks []json.RawMessage, max int) {
	if len(blocks) > max {
		e.add(ptr, "no more than %d items allowed", max)
	}
	ids := map[string]bool{}
	for i, b := range blocks {
		checkBlock(e, fmt.Sprintf("%s/%d", ptr, i), b, ids)
	}
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

// checkString checks an optional string field's length (min 0: optional
// and may be empty; min 1: required and non-empty).
func checkString(e *blockErrs, ptr string, o map[string]json.RawMessage, k string, min, max int) {
	raw, present := o[k]
	if !present {
		if min > 0 {
			e.add(ptr, "missing required field: %s", k)
		}
		return
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		e.add(ptr, "must be a string")
		return
	}
	switch n := utf8.RuneCountInString(s); {
	case n < min:
		e.add(ptr, "must be more than %d characters", min-1)
	case n > max:
		e.add(ptr, "must be less than %d characters", max+1)
	}
}

func checkBool(e *blockErrs, ptr string, o map[string]json.RawMessage, keys ...string) {
	for _, k := range keys {
		if raw, ok := o[k]; ok {
			var b bool
			if json.Unmarshal(raw, &b) != nil {
				e.add(ptr+"/"+k, "must be a boolean")
			}
		}
	}
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
	check := blockTypes[typ]
	if check == nil {
		if slices.Contains(slackOnlyBlocks, typ) {
			e.add(ptr+"/type", "%s blocks are not modelled by slackfake: teach it Slack's rules before Triage sends one", typ)
		} else {
			e.add(ptr+"/type", "unsupported type: %s", typ)
		}
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
	check(e, ptr, b)
}

func checkSection(e *blockErrs, ptr string, b map[string]json.RawMessage) {
	e.fields(ptr, b, "type", "block_id", "text", "fields", "accessory", "expand")
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
		checkElement(e, ptr+"/accessory", acc, map[string]bool{}, sectionElements)
	}
	checkBool(e, ptr, b, "expand")
}

// checkImage checks an image block (block true) or image element.
func checkImage(e *blockErrs, ptr string, o map[string]json.RawMessage, block bool) {
	if block {
		e.fields(ptr, o, "type", "block_id", "image_url", "slack_file", "alt_text", "title")
		if t, ok := o["title"]; ok {
			checkText(e, ptr+"/title", t, "plain_text", 2000)
		}
	} else {
		e.fields(ptr, o, "type", "image_url", "slack_file", "alt_text")
	}
	_, hasURL := o["image_url"]
	if !hasURL && o["slack_file"] == nil {
		e.add(ptr, "must provide image_url or slack_file")
	}
	if hasURL {
		checkString(e, ptr+"/image_url", o, "image_url", 1, 3000)
	}
	checkString(e, ptr+"/alt_text", o, "alt_text", 1, 2000)
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
	switch typ {
	case "plain_text":
		e.fields(ptr, o, "type", "text", "emoji")
		checkBool(e, ptr, o, "emoji")
	case "mrkdwn":
		e.fields(ptr, o, "type", "text", "verbatim")
		checkBool(e, ptr, o, "verbatim")
	default:
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

func checkElement(e *blockErrs, ptr string, raw json.RawMessage, actionIDs map[string]bool, allowed []string) {
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
	if !slices.Contains(allowed, typ) {
		switch {
		case slices.Contains(slackOnlyElements, typ):
			e.add(ptr+"/type", "%s elements are not modelled by slackfake: teach it Slack's rules before Triage sends one", typ)
		case slices.Contains(sectionElements, typ):
			e.add(ptr+"/type", "%s is not allowed here", typ)
		default:
			e.add(ptr+"/type", "unsupported type: %s", typ)
		}
		return
	}
	if typ != "image" {
		checkActionID(e, ptr, o, actionIDs)
	}
	switch typ {
	case "button":
		e.fields(ptr, o, "type", "text", "action_id", "url", "value", "style", "confirm", "accessibility_label")
		checkText(e, ptr+"/text", o["text"], "plain_text", 75)
		checkString(e, ptr+"/url", o, "url", 0, 3000)
		checkString(e, ptr+"/value", o, "value", 0, 2000)
		checkString(e, ptr+"/accessibility_label", o, "accessibility_label", 0, 75)
		checkStyle(e, ptr+"/style", o)
		checkConfirm(e, ptr, o)
	case "static_select":
		e.fields(ptr, o, "type", "action_id", "options", "option_groups", "initial_option", "confirm", "focus_on_load", "placeholder")
		checkPlaceholder(e, ptr, o)
		opts := checkSelectOptions(e, ptr, o)
		if init, ok := o["initial_option"]; ok {
			checkOption(e, ptr+"/initial_option", init, false)
			if !containsOption(opts, init) {
				e.add(ptr+"/initial_option", "must be one of the options")
			}
		}
		checkConfirm(e, ptr, o)
		checkBool(e, ptr, o, "focus_on_load")
	case "external_select":
		e.fields(ptr, o, "type", "action_id", "initial_option", "min_query_length", "confirm", "focus_on_load", "placeholder")
		checkPlaceholder(e, ptr, o)
		if init, ok := o["initial_option"]; ok {
			checkOption(e, ptr+"/initial_option", init, false)
		}
		if raw, ok := o["min_query_length"]; ok {
			var n int
			if json.Unmarshal(raw, &n) != nil || n < 0 {
				e.add(ptr+"/min_query_length", "must be a non-negative integer")
			}
		}
		checkConfirm(e, ptr, o)
		checkBool(e, ptr, o, "focus_on_load")
	case "overflow":
		e.fields(ptr, o, "type", "action_id", "options", "confirm")
		var list []json.RawMessage
		if json.Unmarshal(o["options"], &list) != nil || len(list) < 2 || len(list) > 5 {
			e.add(ptr+"/options", "must have between 2 and 5 items")
		}
		for i, op := range list {
			checkOption(e, fmt.Sprintf("%s/options/%d", ptr, i), op, true)
		}
		checkConfirm(e, ptr, o)
	case "image":
		checkImage(e, ptr, o, false)
	}
}

func checkActionID(e *blockErrs, ptr string, o map[string]json.RawMessage, actionIDs map[string]bool) {
	if _, ok := o["action_id"]; !ok {
		return
	}
	id, ok := str(o, "action_id")
	switch {
	case !ok || id == "":
		e.add(ptr+"/action_id", "must be a non-empty string")
	case utf8.RuneCountInString(id) > 255:
		e.add(ptr+"/action_id", "must be less than 256 characters")
	case actionIDs[id]:
		e.add(ptr+"/action_id", "duplicate action_id: %s", id)
	default:
		actionIDs[id] = true
	}
}

func checkStyle(e *blockErrs, ptr string, o map[string]json.RawMessage) {
	if _, ok := o["style"]; !ok {
		return
	}
	if st, _ := str(o, "style"); st != "primary" && st != "danger" {
		e.add(ptr, "must be primary or danger")
	}
}

func checkPlaceholder(e *blockErrs, ptr string, o map[string]json.RawMessage) {
	if p, ok := o["placeholder"]; ok {
		checkText(e, ptr+"/placeholder", p, "plain_text", 150)
	}
}

// checkSelectOptions checks a static select's options or option_groups
// (exactly one of them) and returns every option.
func checkSelectOptions(e *blockErrs, ptr string, o map[string]json.RawMessage) []json.RawMessage {
	opts, hasOpts := o["options"]
	groups, hasGroups := o["option_groups"]
	switch {
	case !hasOpts && !hasGroups:
		e.add(ptr, "must provide either options or option_groups")
	case hasOpts && hasGroups:
		e.add(ptr, "must provide either options or option_groups, not both")
	}
	var all []json.RawMessage
	if hasOpts {
		var list []json.RawMessage
		if json.Unmarshal(opts, &list) != nil || len(list) == 0 || len(list) > 100 {
			e.add(ptr+"/options", "must have between 1 and 100 items")
		}
		for i, op := range list {
			checkOption(e, fmt.Sprintf("%s/options/%d", ptr, i), op, false)
		}
		all = append(all, list...)
	}
	if hasGroups {
		var list []json.RawMessage
		if json.Unmarshal(groups, &list) != nil || len(list) == 0 || len(list) > 100 {
			e.add(ptr+"/option_groups", "must have between 1 and 100 items")
		}
		for i, raw := range list {
			gp := fmt.Sprintf("%s/option_groups/%d", ptr, i)
			g := object(raw)
			if g == nil {
				e.add(gp, "must be an option group object")
				continue
			}
			e.fields(gp, g, "label", "options")
			checkText(e, gp+"/label", g["label"], "plain_text", 75)
			var gopts []json.RawMessage
			if json.Unmarshal(g["options"], &gopts) != nil || len(gopts) == 0 || len(gopts) > 100 {
				e.add(gp+"/options", "must have between 1 and 100 items")
			}
			for k, op := range gopts {
				checkOption(e, fmt.Sprintf("%s/options/%d", gp, k), op, false)
			}
			all = append(all, gopts...)
		}
	}
	return all
}

// checkOption checks an option object of a select or (withURL) an
// overflow menu: plain_text only in both.
func checkOption(e *blockErrs, ptr string, raw json.RawMessage, withURL bool) {
	o := object(raw)
	if o == nil {
		e.add(ptr, "must be an option object")
		return
	}
	if withURL {
		e.fields(ptr, o, "text", "value", "description", "url")
		checkString(e, ptr+"/url", o, "url", 0, 3000)
	} else {
		e.fields(ptr, o, "text", "value", "description")
	}
	checkText(e, ptr+"/text", o["text"], "plain_text", 75)
	if d, ok := o["description"]; ok {
		checkText(e, ptr+"/description", d, "plain_text", 75)
	}
	checkString(e, ptr+"/value", o, "value", 1, 150)
}

// containsOption tells whether one of opts has the value and text of opt.
func containsOption(opts []json.RawMessage, opt json.RawMessage) bool {
	key := func(raw json.RawMessage) [2]string {
		o := object(raw)
		v, _ := str(o, "value")
		t, _ := str(object(o["text"]), "text")
		return [2]string{v, t}
	}
	want := key(opt)
	for _, op := range opts {
		if key(op) == want {
			return true
		}
	}
	return false
}

// checkConfirm checks an element's optional confirmation dialog object.
func checkConfirm(e *blockErrs, ptr string, o map[string]json.RawMessage) {
	raw, ok := o["confirm"]
	if !ok {
		return
	}
	ptr += "/confirm"
	c := object(raw)
	if c == nil {
		e.add(ptr, "must be a confirmation dialog object")
		return
	}
	e.fields(ptr, c, "title", "text", "confirm", "deny", "style")
	checkText(e, ptr+"/title", c["title"], "plain_text", 100)
	checkText(e, ptr+"/text", c["text"], "", 300)
	checkText(e, ptr+"/confirm", c["confirm"], "plain_text", 30)
	checkText(e, ptr+"/deny", c["deny"], "plain_text", 30)
	checkStyle(e, ptr+"/style", c)
}

// validateView checks a modal view; it returns the messages Slack puts
// under invalid_arguments.
func validateView(raw json.RawMessage) []string {
	v := object(raw)
	if v == nil {
		return []string{"[ERROR] must be an object [json-pointer:/view]"}
	}
	var e blockErrs
	e.fields("/view", v, "type", "title", "blocks", "close", "submit", "private_metadata", "callback_id",
		"clear_on_close", "notify_on_close", "external_id", "submit_disabled")
	if t, _ := str(v, "type"); t != "modal" {
		e.add("/view/type", "must be modal")
	}
	checkText(&e, "/view/title", v["title"], "plain_text", 24)
	for _, k := range []string{"submit", "close"} {
		if x, ok := v[k]; ok && string(x) != "null" {
			checkText(&e, "/view/"+k, x, "plain_text", 24)
		}
	}
	checkString(&e, "/view/private_metadata", v, "private_metadata", 0, 3000)
	checkString(&e, "/view/callback_id", v, "callback_id", 0, 255)
	checkString(&e, "/view/external_id", v, "external_id", 0, 255)
	checkBool(&e, "/view", v, "clear_on_close", "notify_on_close", "submit_disabled")
	var blocks []json.RawMessage
	if raw, ok := v["blocks"]; !ok {
		e.add("/view/blocks", "missing required field: blocks")
	} else if json.Unmarshal(raw, &blocks) != nil {
		e.add("/view/blocks", "must be an array")
	} else {
		checkBlockList(&e, "/view/blocks", blocks, 100)
		if hasInput(blocks) && (v["submit"] == nil || string(v["submit"]) == "null") {
			e.add("/view/submit", "must provide submit when the view has input blocks")
		}
	}
	return e.msgs
}

func hasInput(blocks []json.RawMessage) bool {
	for _, raw := range blocks {
		if t, _ := str(object(raw), "type"); t == "input" {
			return true
		}
	}
	return false
}
