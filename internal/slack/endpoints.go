package slack

// The signed endpoints Slack calls live in actions.go (interactivity),
// events.go (Events API), options.go (menu options) and command.go (the
// /triage command). Each verifies the request before reading it.
