package ingest

import (
	"bytes"
	"errors"
	"io"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// The event payload is read in one pass over its JSON tokens rather than
// with encoding/json: an event is mostly fields Triage does not read
// (modules, breadcrumbs, request, debug_meta…), which are skipped without
// being decoded, and the fields it does read are loosely typed in practice.
// This is three times faster than json.Unmarshal into structs, which
// matters at thousands of events a second. The token reader validates all
// of the input (nesting is limited to 10000 levels) and applies the same
// rules everywhere:
//
//   - a field of the wrong type is skipped, never an error;
//   - where SDKs are known to send numbers for strings (release, user
//     fields, tag values, exception values, fingerprints, log params) numbers
//     and booleans become their JSON text;
//   - invalid UTF-8 becomes U+FFFD, one per invalid byte;
//   - of repeated object keys the last wins; keys match exactly.

// wireEvent is the subset of the Sentry event payload Triage reads.
type wireEvent struct {
	EventID, Level, Platform, Release, Environment, ServerName, Transaction string

	Timestamp      []byte // raw JSON
	Message        string // a plain "message" string
	MessageEntry   *wireLogEntry
	LogEntry       *wireLogEntry
	LegacyLogEntry *wireLogEntry

	Exceptions       []wireException
	LegacyExceptions []wireException
	// Stacktrace is the top-level stack trace (attach_stacktrace, Elixir).
	Stacktrace []wireFrame
	// Threads are the threads' stacks (Cocoa, Android, native).
	Threads    []wireThread
	Culprit    string
	RequestURL string
	Tags       []Tag
	User       *User
	Contexts   []byte // raw JSON object
	SDK        SDK
	// Fingerprint is nil when absent.
	Fingerprint []string
}

type wireLogEntry struct {
	Formatted, Message string
	Params             []byte // raw JSON
}

type wireException struct {
	Type, Value, Module, Mechanism string
	Handled                        *bool
	Synthetic                      bool
	Frames                         []wireFrame
}

type wireThread struct {
	Crashed, Current bool
	Frames           []wireFrame
}

type wireFrame struct {
	Module, Function, Filename, AbsPath, ContextLine string
	Lineno, Colno                                    int
	InApp                                            *bool
	PreContext, PostContext                          []string
}

var decoderOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// readEvent decodes an event payload, which must be one JSON object;
// without source it skips the frames' source lines (see
// NormalizeOptions.SkipSource).
func readEvent(raw []byte, source bool) (*wireEvent, error) {
	d := jsontext.NewDecoder(bytes.NewBuffer(raw), decoderOptions...)
	if k := d.PeekKind(); k != '{' {
		if _, err := d.ReadToken(); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return nil, errors.New("not a JSON object")
	}
	w := new(wireEvent)
	err := readObject(d, func(name string) (err error) {
		switch name {
		case "event_id":
			w.EventID, err = readString(d)
		case "timestamp":
			var v jsontext.Value
			if v, err = d.ReadValue(); err == nil {
				w.Timestamp = bytes.Clone(v)
			}
		case "level":
			w.Level, err = readString(d)
		case "platform":
			w.Platform, err = readString(d)
		case "release":
			w.Release, err = readLoose(d)
		case "environment":
			w.Environment, err = readString(d)
		case "server_name":
			w.ServerName, err = readString(d)
		case "transaction":
			w.Transaction, err = readString(d)
		case "message": // a string, or an object like logentry
			if d.PeekKind() == '{' {
				w.MessageEntry, err = readLogEntry(d)
			} else {
				w.Message, err = readString(d)
			}
		case "logentry":
			w.LogEntry, err = readLogEntry(d)
		case "sentry.interfaces.Message": // the old name of logentry
			w.LegacyLogEntry, err = readLogEntry(d)
		case "exception":
			w.Exceptions, err = readExceptions(d, source)
		case "sentry.interfaces.Exception": // the old name of exception
			w.LegacyExceptions, err = readExceptions(d, source)
		case "stacktrace", "sentry.interfaces.Stacktrace":
			w.Stacktrace, err = readStacktrace(d, source)
		case "threads":
			w.Threads, err = readThreads(d, source)
		case "culprit":
			w.Culprit, err = readString(d)
		case "request", "sentry.interfaces.Http":
			err = readObject(d, func(name string) (err error) {
				if name == "url" {
					w.RequestURL, err = readString(d)
					return err
				}
				return d.SkipValue()
			})
		case "tags":
			w.Tags, err = readTags(d)
		case "user":
			w.User, err = readUser(d)
		case "contexts":
			w.Contexts, err = readRawObject(d)
		case "sdk":
			err = readObject(d, func(name string) (err error) {
				switch name {
				case "name":
					w.SDK.Name, err = readString(d)
				case "version":
					w.SDK.Version, err = readString(d)
				default:
					err = d.SkipValue()
				}
				return err
			})
		case "fingerprint":
			w.Fingerprint, err = readFingerprint(d)
		default:
			err = d.SkipValue()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := expectEnd(d); err != nil {
		return nil, err
	}
	return w, nil
}

// expectEnd checks that nothing but white space follows the value read.
func expectEnd(d *jsontext.Decoder) error {
	if _, err := d.ReadToken(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the object")
	}
	return nil
}

// readObject calls member for each member name of the object at the
// decoder; member must consume the value. Anything but an object is
// skipped.
func readObject(d *jsontext.Decoder, member func(name string) error) error {
	if d.PeekKind() != '{' {
		return d.SkipValue()
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	for d.PeekKind() == '"' {
		tok, err := d.ReadToken()
		if err != nil {
			return err
		}
		if err := member(tok.String()); err != nil {
			return err
		}
	}
	_, err := d.ReadToken() // '}', or the syntax error in its place
	return err
}

// readArray calls elem for each element of the array at the decoder; elem
// must consume it. Anything but an array is skipped.
func readArray(d *jsontext.Decoder, elem func() error) error {
	if d.PeekKind() != '[' {
		return d.SkipValue()
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	for k := d.PeekKind(); k != ']' && k != 0; k = d.PeekKind() {
		if err := elem(); err != nil {
			return err
		}
	}
	_, err := d.ReadToken()
	return err
}

// readString reads a string; any other value is skipped and reads as "".
func readString(d *jsontext.Decoder) (string, error) {
	if d.PeekKind() != '"' {
		return "", d.SkipValue()
	}
	tok, err := d.ReadToken()
	if err != nil {
		return "", err
	}
	return tok.String(), nil
}

// readScalar reads a string, number or boolean as text; null, objects and
// arrays are skipped and read as not present.
func readScalar(d *jsontext.Decoder) (string, bool, error) {
	switch d.PeekKind() {
	case '"', '0', 't', 'f':
		tok, err := d.ReadToken()
		if err != nil {
			return "", false, err
		}
		return tok.String(), true, nil
	}
	return "", false, d.SkipValue()
}

// readLoose is readScalar for fields where absent and empty are the same.
func readLoose(d *jsontext.Decoder) (string, error) {
	s, _, err := readScalar(d)
	return s, err
}

// readInt reads an integer that fits an int; anything else reads as 0.
func readInt(d *jsontext.Decoder) (int, error) {
	if d.PeekKind() != '0' {
		return 0, d.SkipValue()
	}
	tok, err := d.ReadToken()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(tok.String(), 10, strconv.IntSize)
	if err != nil {
		return 0, nil // a fraction, an exponent, out of range
	}
	return int(n), nil
}

// readBool reads true or false, also as strings; anything else is nil.
func readBool(d *jsontext.Decoder) (*bool, error) {
	s, _, err := readScalar(d)
	switch {
	case err != nil:
		return nil, err
	case s == "true":
		return ptrTo(true), nil
	case s == "false":
		return ptrTo(false), nil
	}
	return nil, nil
}

func ptrTo[T any](v T) *T { return &v }

// readRawObject returns a copy of the object at the decoder, or nil for
// anything else.
func readRawObject(d *jsontext.Decoder) ([]byte, error) {
	if d.PeekKind() != '{' {
		return nil, d.SkipValue()
	}
	v, err := d.ReadValue()
	if err != nil {
		return nil, err
	}
	return bytes.Clone(v), nil
}

func readLogEntry(d *jsontext.Decoder) (*wireLogEntry, error) {
	if d.PeekKind() != '{' {
		return nil, d.SkipValue()
	}
	le := new(wireLogEntry)
	err := readObject(d, func(name string) (err error) {
		switch name {
		case "formatted":
			le.Formatted, err = readLoose(d)
		case "message":
			le.Message, err = readLoose(d)
		case "params":
			var v jsontext.Value
			if v, err = d.ReadValue(); err == nil {
				le.Params = bytes.Clone(v)
			}
		default:
			err = d.SkipValue()
		}
		return err
	})
	return le, err
}

// readExceptions reads {"values": […]} or the bare list sentry-go sends.
func readExceptions(d *jsontext.Decoder, source bool) ([]wireException, error) {
	var out []wireException
	list := func() error {
		return readArray(d, func() error {
			if d.PeekKind() != '{' {
				return d.SkipValue()
			}
			e, err := readException(d, source)
			out = append(out, e)
			return err
		})
	}
	if d.PeekKind() == '[' {
		return out, list()
	}
	err := readObject(d, func(name string) error {
		if name == "values" {
			out = nil // the last "values" wins
			return list()
		}
		return d.SkipValue()
	})
	return out, err
}

func readException(d *jsontext.Decoder, source bool) (e wireException, err error) {
	err = readObject(d, func(name string) (err error) {
		switch name {
		case "type":
			e.Type, err = readString(d)
		case "value":
			e.Value, err = readLoose(d)
		case "module":
			e.Module, err = readString(d)
		case "mechanism":
			err = readObject(d, func(name string) (err error) {
				switch name {
				case "type":
					e.Mechanism, err = readString(d)
				case "handled":
					e.Handled, err = readBool(d)
				case "synthetic":
					var b *bool
					b, err = readBool(d)
					e.Synthetic = b != nil && *b
				default:
					err = d.SkipValue()
				}
				return err
			})
		case "stacktrace":
			e.Frames, err = readStacktrace(d, source)
		default:
			err = d.SkipValue()
		}
		return err
	})
	return e, err
}

// readStacktrace reads the frames of {"frames": […]}, with their source
// lines when source is set.
func readStacktrace(d *jsontext.Decoder, source bool) ([]wireFrame, error) {
	var frames []wireFrame
	err := readObject(d, func(name string) error {
		if name != "frames" {
			return d.SkipValue()
		}
		frames = frames[:0]
		return readArray(d, func() error {
			if d.PeekKind() != '{' {
				return d.SkipValue()
			}
			f, err := readFrame(d, source)
			frames = append(frames, f)
			return err
		})
	})
	return frames, err
}

// readThreads reads {"values": […]} or a bare list of threads, keeping
// only what picks the thread to group by and its frames.
func readThreads(d *jsontext.Decoder, source bool) ([]wireThread, error) {
	var out []wireThread
	list := func() error {
		return readArray(d, func() error {
			var t wireThread
			err := readObject(d, func(name string) (err error) {
				var b *bool
				switch name {
				case "crashed":
					b, err = readBool(d)
					t.Crashed = b != nil && *b
				case "current":
					b, err = readBool(d)
					t.Current = b != nil && *b
				case "stacktrace":
					t.Frames, err = readStacktrace(d, source)
				default:
					err = d.SkipValue()
				}
				return err
			})
			out = append(out, t)
			return err
		})
	}
	if d.PeekKind() == '[' {
		return out, list()
	}
	err := readObject(d, func(name string) error {
		if name == "values" {
			out = nil
			return list()
		}
		return d.SkipValue()
	})
	return out, err
}

func readFrame(d *jsontext.Decoder, source bool) (f wireFrame, err error) {
	err = readObject(d, func(name string) (err error) {
		if !source {
			switch name {
			case "context_line", "pre_context", "post_context":
				return d.SkipValue()
			}
		}
		switch name {
		case "module":
			f.Module, err = readString(d)
		case "function":
			f.Function, err = readString(d)
		case "filename":
			f.Filename, err = readString(d)
		case "abs_path":
			f.AbsPath, err = readString(d)
		case "lineno":
			f.Lineno, err = readInt(d)
		case "colno":
			f.Colno, err = readInt(d)
		case "in_app":
			f.InApp, err = readBool(d)
		case "context_line":
			f.ContextLine, err = readString(d)
		case "pre_context":
			f.PreContext, err = readLines(d)
		case "post_context":
			f.PostContext, err = readLines(d)
		default:
			err = d.SkipValue()
		}
		return err
	})
	return f, err
}

// readLines reads an array of strings; other elements read as "".
func readLines(d *jsontext.Decoder) ([]string, error) {
	var out []string
	err := readArray(d, func() error {
		s, err := readString(d)
		out = append(out, s)
		return err
	})
	return out, err
}

// readTags reads an object of tags or a list of [key, value] pairs; tags
// whose value is null, an object or an array are dropped.
func readTags(d *jsontext.Decoder) ([]Tag, error) {
	var tags []Tag
	switch d.PeekKind() {
	case '{':
		err := readObject(d, func(name string) error {
			v, ok, err := readScalar(d)
			if ok {
				tags = append(tags, Tag{Key: name, Value: v})
			}
			return err
		})
		return tags, err
	case '[':
		err := readArray(d, func() error {
			var pair [2]string
			n, valid := 0, true
			err := readArray(d, func() error {
				if n++; n > 2 {
					return d.SkipValue()
				}
				s, ok, err := readScalar(d)
				pair[n-1], valid = s, valid && ok
				return err
			})
			if n >= 2 && valid {
				tags = append(tags, Tag{Key: pair[0], Value: pair[1]})
			}
			return err
		})
		return tags, err
	}
	return nil, d.SkipValue()
}

func readUser(d *jsontext.Decoder) (*User, error) {
	if d.PeekKind() != '{' {
		return nil, d.SkipValue()
	}
	u := new(User)
	err := readObject(d, func(name string) (err error) {
		switch name {
		case "id":
			u.ID, err = readLoose(d)
		case "email":
			u.Email, err = readLoose(d)
		case "username":
			u.Username, err = readLoose(d)
		case "ip_address":
			u.IPAddress, err = readLoose(d)
		default:
			err = d.SkipValue()
		}
		return err
	})
	return u, err
}

// readFingerprint reads a list of scalars (null entries dropped, objects
// and arrays read as "") or a single string.
func readFingerprint(d *jsontext.Decoder) ([]string, error) {
	switch d.PeekKind() {
	case '"':
		s, err := readString(d)
		return []string{s}, err
	case '[':
		out := []string{}
		err := readArray(d, func() error {
			null := d.PeekKind() == 'n'
			s, _, err := readScalar(d)
			if !null {
				out = append(out, s)
			}
			return err
		})
		return out, err
	}
	return nil, d.SkipValue()
}
