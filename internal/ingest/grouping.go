package ingest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strings"
)

// unlabeled is the title of an event with neither exception nor message.
const unlabeled = "<unlabeled event>"

// GroupingHashV1 returns the key of the first grouping, which issues
// created before version 2 carry; the writer looks an event up by it when
// its version 2 key finds no issue, so those issues never split. The
// rules are in doc.go; they never change again.
func (e *Event) GroupingHashV1() string {
	return e.hashWith(e.defaultComponents)
}

// hashWith hashes the fingerprint, with def standing for {{ default }},
// or def alone when there is no fingerprint: 32 hex digits.
func (e *Event) hashWith(def func() []string) string {
	h := sha256.New()
	if len(e.Fingerprint) == 0 {
		writeComponents(h, def())
	} else {
		for _, part := range e.Fingerprint {
			if name, ok := fingerprintVariable(part); ok {
				if name == "default" {
					writeComponents(h, def())
				} else {
					writeComponents(h, []string{"var:" + name + "=" + e.fingerprintValue(name)})
				}
				continue
			}
			writeComponents(h, []string{"fp:" + part})
		}
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// writeComponents writes each component length-prefixed, so that no two
// different lists hash the same bytes.
func writeComponents(h hash.Hash, comps []string) {
	var n [binary.MaxVarintLen64]byte
	for _, c := range comps {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(c)))])
		h.Write([]byte(c))
	}
}

// fingerprintVariable recognises "{{ name }}" entries ("{{default}}" too).
func fingerprintVariable(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{{") || !strings.HasSuffix(s, "}}") || len(s) < 4 {
		return "", false
	}
	name := strings.ToLower(strings.TrimSpace(s[2 : len(s)-2]))
	switch name {
	case "default", "transaction", "type", "error.type", "value", "error.value",
		"message", "level", "function", "module":
		return name, true
	}
	if strings.HasPrefix(name, "tags.") {
		return name, true
	}
	return "", false
}

// fingerprintValue resolves the variables Sentry documents besides default.
func (e *Event) fingerprintValue(name string) string {
	ex := e.thrown()
	switch name {
	case "transaction":
		return e.Transaction
	case "type", "error.type":
		if ex != nil {
			return ex.Type
		}
	case "value", "error.value":
		if ex != nil {
			return ex.Value
		}
	case "message":
		return e.Message
	case "level":
		return e.Level
	case "function", "module":
		if f := topFrame(e.stack()); f != nil {
			if name == "function" {
				return f.Function
			}
			return f.Module
		}
	default: // tags.<key>
		key := strings.TrimPrefix(name, "tags.")
		for _, t := range e.Tags {
			if strings.EqualFold(t.Key, key) {
				return t.Value
			}
		}
	}
	return ""
}

// defaultComponents lists what the first grouping (version 1) hashes.
func (e *Event) defaultComponents() []string {
	if ex := e.thrown(); ex != nil {
		comps := []string{"type:" + ex.Type}
		frames := e.stack()
		selected := make([]*Frame, 0, len(frames))
		for i := range frames {
			if frames[i].IsInApp() {
				selected = append(selected, &frames[i])
			}
		}
		if len(selected) == 0 {
			for i := range frames {
				selected = append(selected, &frames[i])
			}
		}
		prev := ""
		for _, f := range selected {
			c := "frame:" + frameKey(f)
			if c == prev {
				continue // recursion counts once
			}
			comps = append(comps, c)
			prev = c
		}
		if len(comps) == 1 {
			comps = append(comps, "value:"+maskVariables(ex.Value))
		}
		return comps
	}
	if e.MessageTemplate != "" {
		return []string{"message:" + e.MessageTemplate}
	}
	if e.Message != "" {
		return []string{"message:" + maskVariables(e.Message)}
	}
	return []string{"empty"}
}

// frameKey is what identifies a frame across builds: where the code lives
// and what it is called, never its line.
func frameKey(f *Frame) string {
	where := f.Module
	if where == "" {
		where = f.Filename
		if where == "" {
			where = f.AbsPath
		}
		if i := strings.IndexAny(where, "?#"); i >= 0 {
			where = where[:i] // cache busters
		}
		where = maskVariables(where) // bundle hashes
	}
	return where + "|" + f.Function
}

// thrown returns the exception that was thrown: the last of the chain.
func (e *Event) thrown() *Exception {
	if len(e.Exceptions) == 0 {
		return nil
	}
	return &e.Exceptions[len(e.Exceptions)-1]
}

// stack returns the frames of the thrown exception, or of its nearest cause
// with frames when the SDK attached the stack there.
func (e *Event) stack() []Frame {
	for i := len(e.Exceptions) - 1; i >= 0; i-- {
		if len(e.Exceptions[i].Frames) > 0 {
			return e.Exceptions[i].Frames
		}
	}
	return nil
}

// topFrame returns the newest in-app frame, else the newest frame.
func topFrame(frames []Frame) *Frame {
	for i := len(frames) - 1; i >= 0; i-- {
		if frames[i].IsInApp() {
			return &frames[i]
		}
	}
	if len(frames) > 0 {
		return &frames[len(frames)-1]
	}
	return nil
}
