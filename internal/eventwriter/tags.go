package eventwriter

import (
	"bytes"

	"github.com/go-json-experiment/json/jsontext"

	"triage/internal/ingest"
)

// The tags an issue's events are counted by: the SDK's own tags and the
// ones Sentry derives from the event (level, environment, release,
// browser, os, runtime, device, url, user, transaction, server_name). They
// are worked out in Save, on the sender's goroutine, so the writer only
// adds them up.

// maxTagValue bounds a counted value (Sentry's limit is 200 characters).
const maxTagValue = 200

// eventTags lists e's tags for counting: keys distinct, values non-empty
// and at most maxTagValue bytes. It runs for every event, so it keeps to
// one allocation: the derived keys are distinct by construction and the
// SDK's tags among themselves (normalization sorted and deduplicated
// them), so an SDK tag is only compared with the derived ones; and the
// request's URL comes from the normalized event, not from its JSON again.
func eventTags(e *ingest.Event) []ingest.Tag {
	out := make([]ingest.Tag, 0, len(e.Tags)+14)
	add := func(k, v string) {
		if v == "" {
			return
		}
		if len(v) > maxTagValue {
			v = truncate(v, maxTagValue)
		}
		out = append(out, ingest.Tag{Key: k, Value: v})
	}
	// Derived values win over an SDK tag of the same name: the level
	// tag is the event's level, whatever a tag says.
	add("level", e.Level)
	add("environment", e.Environment)
	add("release", e.Release)
	add("server_name", e.ServerName)
	add("transaction", e.Transaction)
	add("user", UserTag(e.User))
	if len(e.Contexts) > 0 {
		c := readContexts(e.Contexts)
		add("browser", joinNonEmpty(c.browser.name, c.browser.version))
		add("browser.name", c.browser.name)
		add("os", joinNonEmpty(c.os.name, c.os.version))
		add("os.name", c.os.name)
		add("runtime", joinNonEmpty(c.runtime.name, c.runtime.version))
		add("runtime.name", c.runtime.name)
		device := c.device.model
		if device == "" {
			device = c.device.family
		}
		add("device", device)
	}
	add("url", e.RequestURL)
	derived := len(out)
sdk:
	for _, t := range e.Tags {
		if t.Key == "" {
			continue
		}
		for _, d := range out[:derived] {
			if d.Key == t.Key {
				continue sdk
			}
		}
		add(t.Key, t.Value)
	}
	return out
}

// UserTag is the user tag's value: the user's id, else email, else
// username, else IP address, prefixed as Sentry does ("id:42"). It is
// what tells users apart when they are counted.
func UserTag(u *ingest.User) string {
	switch {
	case u == nil:
		return ""
	case u.ID != "":
		return "id:" + u.ID
	case u.Email != "":
		return "email:" + u.Email
	case u.Username != "":
		return "username:" + u.Username
	case u.IPAddress != "":
		return "ip:" + u.IPAddress
	}
	return ""
}

func joinNonEmpty(name, version string) string {
	if name == "" || version == "" {
		return name
	}
	return name + " " + version
}

func truncate(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 { // not in the middle of a rune
		n--
	}
	return s[:n]
}

type namedContext struct{ name, version, model, family string }

type contexts struct{ browser, os, runtime, device namedContext }

// readContexts reads the names and versions of the contexts the built-in
// tags come from; anything malformed is left empty.
func readContexts(raw []byte) contexts {
	var c contexts
	d := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	_ = eachField(d, func(name string) error {
		var dst *namedContext
		switch name {
		case "browser":
			dst = &c.browser
		case "os":
			dst = &c.os
		case "runtime":
			dst = &c.runtime
		case "device":
			dst = &c.device
		default:
			return d.SkipValue()
		}
		return eachField(d, func(field string) error {
			switch field {
			case "name":
				dst.name = readText(d)
			case "version":
				dst.version = readText(d)
			case "model":
				dst.model = readText(d)
			case "family":
				dst.family = readText(d)
			default:
				return d.SkipValue()
			}
			return nil
		})
	})
	return c
}

// eachField calls f with each name of the object d is at, f reading the
// value; a value that is not an object is skipped.
func eachField(d *jsontext.Decoder, f func(name string) error) error {
	if d.PeekKind() != '{' {
		return d.SkipValue()
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	for d.PeekKind() != '}' {
		tok, err := d.ReadToken()
		if err != nil {
			return err
		}
		if err := f(tok.String()); err != nil {
			return err
		}
	}
	_, err := d.ReadToken()
	return err
}

// readText reads a string, or a number's text; anything else is skipped.
func readText(d *jsontext.Decoder) string {
	switch d.PeekKind() {
	case '"', '0':
		tok, err := d.ReadToken()
		if err != nil {
			return ""
		}
		return tok.String()
	}
	_ = d.SkipValue()
	return ""
}
