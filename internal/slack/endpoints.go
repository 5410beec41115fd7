package slack

import (
	"encoding/json"
	"io"
	"net/http"
)

// notImplemented answers a verified request whose handling comes later.
func notImplemented(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotImplemented, map[string]string{"detail": "not implemented yet"})
}

// Action serves interactivity (buttons, menus, dialogs, modals). Only
// verification is in place so far.
func (i *Integration) Action() http.Handler {
	return i.verifier.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		notImplemented(w)
	}))
}

// OptionsLoad serves the assignee menu's options. Only verification is in
// place so far.
func (i *Integration) OptionsLoad() http.Handler {
	return i.verifier.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		notImplemented(w)
	}))
}

// Event serves the Events API. It answers Slack's url_verification
// challenge already, so that an app can be set up from the manifest; other
// events come later.
func (i *Integration) Event() http.Handler {
	return i.verifier.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			Type      string `json:"type"`
			Challenge string `json:"challenge"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "malformed JSON body"})
			return
		}
		if ev.Type == "url_verification" {
			writeJSON(w, http.StatusOK, map[string]string{"challenge": ev.Challenge})
			return
		}
		notImplemented(w)
	}))
}
