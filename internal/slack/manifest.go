package slack

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Manifest returns a Slack app manifest (JSON) for the instance at
// urlPrefix: paste it at api.slack.com/apps → "Create New App" → "From an
// app manifest". With socketMode the app receives events, interactions and
// commands over Socket Mode and the manifest names no request URL.
func Manifest(urlPrefix string, socketMode bool) ([]byte, error) {
	u, err := url.Parse(urlPrefix)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("URL prefix %q: want an absolute http(s) URL", urlPrefix)
	}
	base := strings.TrimSuffix(urlPrefix, "/")
	at := func(path string) string {
		if socketMode {
			return ""
		}
		return base + path
	}
	type command struct {
		Command      string `json:"command"`
		URL          string `json:"url,omitempty"`
		Description  string `json:"description"`
		UsageHint    string `json:"usage_hint"`
		ShouldEscape bool   `json:"should_escape"`
	}
	m := map[string]any{
		"_metadata": map[string]any{"major_version": 1, "minor_version": 1},
		"display_information": map[string]any{
			"name":             "Triage",
			"description":      "Error alerts you can resolve, ignore and assign from Slack.",
			"background_color": "#2c2d30",
		},
		"features": map[string]any{
			"bot_user": map[string]any{"display_name": "Triage", "always_online": true},
			// The Home tab (issue 17) and the Messages tab, where direct
			// messages arrive.
			"app_home": map[string]any{"home_tab_enabled": true, "messages_tab_enabled": true, "messages_tab_read_only_enabled": true},
			"slash_commands": []command{{
				Command: "/triage", URL: at("/extensions/slack/commands/"),
				Description: "Link your Slack account to Triage, list issues, follow projects and teams in a channel",
				UsageHint:   "[issues [query] | link | unlink | subscribe <project> [query] | unsubscribe <project> | subscriptions | link team <team> | unlink team | help]",
			}},
			"unfurl_domains": []string{u.Hostname()},
		},
		"oauth_config": map[string]any{
			"redirect_urls": []string{base + "/extensions/slack/setup/"},
			"scopes":        map[string]any{"bot": BotScopes()},
		},
		"settings": settings(at, socketMode),
	}
	return json.MarshalIndent(m, "", "  ")
}

func settings(at func(string) string, socketMode bool) map[string]any {
	events := map[string]any{"bot_events": []string{"app_home_opened", "app_uninstalled", "link_shared", "tokens_revoked",
		"message.channels", "message.groups"}}
	interactivity := map[string]any{"is_enabled": true}
	if !socketMode {
		events["request_url"] = at("/extensions/slack/event/")
		interactivity["request_url"] = at("/extensions/slack/action/")
		interactivity["message_menu_options_url"] = at("/extensions/slack/options-load/")
	}
	return map[string]any{
		"event_subscriptions":    events,
		"interactivity":          interactivity,
		"org_deploy_enabled":     false,
		"socket_mode_enabled":    socketMode,
		"token_rotation_enabled": false,
	}
}
