package ingest

import (
	"encoding/json"
	"time"
)

// Levels, from most to least severe. Anything else an SDK sends is mapped
// onto one of these ("warn" is warning, "critical" is fatal, unknown is
// error).
const (
	LevelFatal   = "fatal"
	LevelError   = "error"
	LevelWarning = "warning"
	LevelInfo    = "info"
	LevelDebug   = "debug"
)

// Event is one normalized error or message event, the unit the store saves.
// Its field names and JSON form are stable: stored events are read back
// with them. Strings are valid UTF-8 and within the limits in doc.go.
type Event struct {
	EventID   string    `json:"event_id"`  // 32 lowercase hex digits
	Timestamp time.Time `json:"timestamp"` // UTC; when the SDK saw the error
	Received  time.Time `json:"received"`  // UTC; when Triage got it

	Level       string `json:"level"` // one of the Level constants
	Platform    string `json:"platform,omitempty"`
	Release     string `json:"release,omitempty"`
	Environment string `json:"environment,omitempty"`
	ServerName  string `json:"server_name,omitempty"`
	Transaction string `json:"transaction,omitempty"`

	// Message is the message as displayed, parameters filled in.
	Message string `json:"message,omitempty"`
	// MessageTemplate is the message before its parameters were filled in,
	// when the SDK sent one (logentry.message); messages group by it.
	MessageTemplate string `json:"message_template,omitempty"`

	// Exceptions is the chain of exceptions, oldest first: the last one is
	// the exception that was thrown, the ones before it its causes.
	Exceptions []Exception `json:"exceptions,omitempty"`
	// Stacktrace is the stack the event carries outside its exceptions:
	// the crashed thread's (else the current one's, else the first with
	// frames), or the top-level stacktrace. Oldest call first.
	Stacktrace []Frame `json:"stacktrace,omitempty"`
	// SentCulprit is the culprit the SDK itself sent (Elixir's does).
	SentCulprit string `json:"culprit,omitempty"`
	// RequestURL is the URL of the request the event happened in.
	RequestURL string `json:"request_url,omitempty"`

	Tags        []Tag           `json:"tags,omitempty"` // sorted by key, keys unique
	User        *User           `json:"user,omitempty"`
	Contexts    json.RawMessage `json:"contexts,omitempty"` // a JSON object, as sent
	SDK         SDK             `json:"sdk,omitzero"`
	Fingerprint []string        `json:"fingerprint,omitempty"`

	// Raw is the event JSON as the SDK sent it, in its own copy (not a slice
	// of the request) with invalid UTF-8 replaced by U+FFFD. It is left out
	// of Event's JSON: store it beside.
	Raw json.RawMessage `json:"-"`
}

// Exception is one exception of a chain.
type Exception struct {
	Type      string `json:"type,omitempty"`
	Value     string `json:"value,omitempty"`
	Module    string `json:"module,omitempty"`
	Mechanism string `json:"mechanism,omitempty"` // how it was caught: "generic", "panic", "onerror"…
	Handled   *bool  `json:"handled,omitempty"`   // false for crashes; nil when the SDK did not say
	// Synthetic says the SDK made the type up (a signal, a native crash):
	// it is not shown in the title and does not group.
	Synthetic bool    `json:"synthetic,omitempty"`
	Frames    []Frame `json:"frames,omitempty"` // oldest call first: the last frame raised it
}

// Frame is one stack frame.
type Frame struct {
	Module      string   `json:"module,omitempty"`
	Function    string   `json:"function,omitempty"`
	Filename    string   `json:"filename,omitempty"`
	AbsPath     string   `json:"abs_path,omitempty"`
	Lineno      int      `json:"lineno,omitempty"`
	Colno       int      `json:"colno,omitempty"`
	InApp       *bool    `json:"in_app,omitempty"` // nil when the SDK did not say
	ContextLine string   `json:"context_line,omitempty"`
	PreContext  []string `json:"pre_context,omitempty"`
	PostContext []string `json:"post_context,omitempty"`
}

// IsInApp reports whether the SDK marked the frame as the application's own.
func (f *Frame) IsInApp() bool { return f.InApp != nil && *f.InApp }

// Tag is one key/value tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// User is the user the SDK said was affected.
type User struct {
	ID        string `json:"id,omitempty"`
	Email     string `json:"email,omitempty"`
	Username  string `json:"username,omitempty"`
	IPAddress string `json:"ip_address,omitempty"`
}

// SDK names the client library that sent the event.
type SDK struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}
