package web

import "net/http"

// routes is the one map of every URL Triage serves. Wrappers say what a
// route gets:
//
//	s.page   session, current user, cross-origin protection on POST
//	s.authed s.page plus a redirect to the login form when logged out
//	s.api    bearer token (Authorization: Bearer), JSON errors, no cookies
//	(none)   callers that authenticate themselves: Sentry SDKs by DSN key,
//	         Slack by request signature, monitoring
//
// Patterns end in {$} so that a path matches exactly, not as a prefix.
func (s *Server) routes(mux *http.ServeMux) {
	// Operations.
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())
	mux.Handle("GET /metrics", s.handleMetrics())
	mux.Handle("GET /static/", handleStatic())

	// Login, logout, first-run setup.
	mux.Handle("GET /{$}", s.page(s.handleHome()))
	mux.Handle("GET /auth/login/{$}", s.page(s.handleLoginForm()))
	mux.Handle("POST /auth/login/{$}", s.page(s.handleLogin()))
	mux.Handle("POST /auth/logout/{$}", s.page(s.handleLogout()))
	mux.Handle("GET /setup/{token}/{$}", s.page(s.handleSetup()))
	mux.Handle("POST /setup/{token}/{$}", s.page(s.handleSetup()))
	mux.Handle("GET /auth/reset/{$}", s.page(s.handleResetRequest()))
	mux.Handle("POST /auth/reset/{$}", s.page(s.handleResetRequest()))
	mux.Handle("GET /auth/reset/{token}/{$}", s.page(s.handleResetForm()))
	mux.Handle("POST /auth/reset/{token}/{$}", s.page(s.handleResetForm()))
	mux.Handle("GET /invites/{token}/{$}", s.page(s.handleInviteAccept()))
	mux.Handle("POST /invites/{token}/{$}", s.page(s.handleInviteAccept()))

	// Pages.
	mux.Handle("GET /account/notifications/{$}", s.authed(s.handleNotifications()))
	mux.Handle("POST /account/notifications/{$}", s.authed(s.handleNotifications()))
	mux.Handle("GET /organizations/{org}/issues/{$}", s.authed(s.handleIssueList()))
	mux.Handle("GET /organizations/{org}/issues/{id}/{$}", s.authed(s.handleIssuePage()))
	mux.Handle("POST /organizations/{org}/issues/{$}", s.authed(s.handleIssueBulk()))
	mux.Handle("POST /organizations/{org}/issues/{id}/{$}", s.authed(s.handleIssueAction()))
	mux.Handle("POST /organizations/{org}/issues/{id}/comments/{$}", s.authed(s.handleIssueComment()))
	mux.Handle("GET /organizations/{org}/issues/{id}/events/{event_id}/{$}", s.authed(s.handleEventPage()))
	mux.Handle("GET /organizations/{org}/issues/{id}/events/{event_id}/json/{$}", s.authed(s.handleEventJSON()))
	mux.Handle("GET /organizations/{org}/projects/{$}", s.authed(s.handleProjects()))
	mux.Handle("GET /organizations/{org}/settings/{$}", s.authed(s.handleSettings()))

	// People and projects (people_pages.go, projects_pages.go), and the
	// user's own account (account_pages.go).
	mux.Handle("GET /organizations/{org}/settings/members/{$}", s.authed(s.handleMembers()))
	mux.Handle("POST /organizations/{org}/settings/members/{user}/role/{$}", s.authed(s.handleMemberRole()))
	mux.Handle("POST /organizations/{org}/settings/members/{user}/remove/{$}", s.authed(s.handleMemberRemove()))
	mux.Handle("GET /organizations/{org}/settings/teams/{$}", s.authed(s.handleTeams()))
	mux.Handle("POST /organizations/{org}/settings/teams/{$}", s.authed(s.handleTeamCreate()))
	mux.Handle("GET /organizations/{org}/settings/teams/{team}/{$}", s.authed(s.handleTeam()))
	mux.Handle("POST /organizations/{org}/settings/teams/{team}/members/{$}", s.authed(s.handleTeamMemberAdd()))
	mux.Handle("POST /organizations/{org}/settings/teams/{team}/members/{user}/remove/{$}", s.authed(s.handleTeamMemberRemove()))
	mux.Handle("POST /organizations/{org}/settings/teams/{team}/members/{user}/role/{$}", s.authed(s.handleTeamRole()))
	mux.Handle("POST /organizations/{org}/settings/teams/{team}/delete/{$}", s.authed(s.handleTeamDelete()))
	mux.Handle("GET /organizations/{org}/projects/new/{$}", s.authed(s.handleProjectNew()))
	mux.Handle("POST /organizations/{org}/projects/new/{$}", s.authed(s.handleProjectNew()))
	mux.Handle("GET /organizations/{org}/projects/{project}/{$}", s.authed(s.handleProject()))
	mux.Handle("POST /organizations/{org}/projects/{project}/{$}", s.authed(s.handleProjectRename()))
	mux.Handle("POST /organizations/{org}/projects/{project}/teams/{$}", s.authed(s.handleProjectTeamAttach()))
	mux.Handle("POST /organizations/{org}/projects/{project}/teams/{team}/remove/{$}", s.authed(s.handleProjectTeamDetach()))
	mux.Handle("POST /organizations/{org}/projects/{project}/keys/{$}", s.authed(s.handleKeyCreate()))
	mux.Handle("POST /organizations/{org}/projects/{project}/keys/{key}/{$}", s.authed(s.handleKeyState()))
	mux.Handle("POST /organizations/{org}/projects/{project}/keys/{key}/rotate/{$}", s.authed(s.handleKeyRotate()))
	mux.Handle("GET /organizations/{org}/projects/{project}/delete/{$}", s.authed(s.handleProjectDelete()))
	mux.Handle("POST /organizations/{org}/projects/{project}/delete/{$}", s.authed(s.handleProjectDelete()))
	mux.Handle("GET /organizations/{org}/settings/invites/{$}", s.authed(s.handleInvites()))
	mux.Handle("POST /organizations/{org}/settings/invites/{$}", s.authed(s.handleInvites()))
	mux.Handle("POST /organizations/{org}/settings/invites/{id}/revoke/{$}", s.authed(s.handleInviteRevoke()))
	mux.Handle("GET /account/{$}", s.authed(s.handleAccount()))
	mux.Handle("POST /account/{$}", s.authed(s.handleAccountName()))
	mux.Handle("POST /account/password/{$}", s.authed(s.handleAccountPassword()))
	mux.Handle("POST /account/tokens/{$}", s.authed(s.handleTokenCreate()))
	mux.Handle("POST /account/tokens/{id}/revoke/{$}", s.authed(s.handleTokenRevoke()))
	mux.Handle("GET /organizations/{org}/settings/alerts/{$}", s.authed(s.handleAlertSettings()))
	mux.Handle("GET /organizations/{org}/settings/alerts/new/{$}", s.authed(s.handleRuleNew()))
	mux.Handle("POST /organizations/{org}/settings/alerts/new/{$}", s.authed(s.handleRuleNew()))
	mux.Handle("GET /organizations/{org}/settings/alerts/{id}/{$}", s.authed(s.handleRuleEdit()))
	mux.Handle("POST /organizations/{org}/settings/alerts/{id}/{$}", s.authed(s.handleRuleEdit()))
	mux.Handle("POST /organizations/{org}/settings/alerts/{id}/delete/{$}", s.authed(s.handleRuleDelete()))
	mux.Handle("GET /organizations/{org}/settings/slack/{$}", s.authed(s.handleSlackChannels()))
	mux.Handle("POST /organizations/{org}/settings/slack/subscriptions/{id}/{$}", s.authed(s.handleSubscriptionUpdate(false)))
	mux.Handle("POST /organizations/{org}/settings/slack/subscriptions/{id}/delete/{$}", s.authed(s.handleSubscriptionUpdate(true)))

	// Slack: install and identity pages need a logged-in user; Slack's own
	// callbacks are verified by signature inside the Slack package.
	mux.Handle("GET /organizations/{org}/integrations/slack/setup/{$}", s.authed(s.slackPage(SlackHandlers.InstallStart)))
	mux.Handle("GET /extensions/slack/setup/{$}", s.authed(s.slackPage(SlackHandlers.InstallCallback)))
	mux.Handle("POST /organizations/{org}/integrations/slack/{id}/remove/{$}", s.authed(s.slackPage(SlackHandlers.Remove)))
	mux.Handle("GET /extensions/slack/link-identity/{signed}/{$}", s.authed(s.slackPage(SlackHandlers.LinkIdentity)))
	mux.Handle("POST /extensions/slack/link-identity/{signed}/{$}", s.authed(s.slackPage(SlackHandlers.LinkIdentity)))
	mux.Handle("GET /extensions/slack/unlink-identity/{signed}/{$}", s.authed(s.slackPage(SlackHandlers.UnlinkIdentity)))
	mux.Handle("POST /extensions/slack/unlink-identity/{signed}/{$}", s.authed(s.slackPage(SlackHandlers.UnlinkIdentity)))
	mux.Handle("POST /extensions/slack/action/{$}", s.slackEndpoint(SlackHandlers.Action))
	mux.Handle("POST /extensions/slack/event/{$}", s.slackEndpoint(SlackHandlers.Event))
	mux.Handle("POST /extensions/slack/commands/{$}", s.slackEndpoint(SlackHandlers.Command))
	mux.Handle("POST /extensions/slack/options-load/{$}", s.slackEndpoint(SlackHandlers.OptionsLoad))

	// Sentry SDK ingestion (OPTIONS for browser SDKs' CORS preflight).
	mux.Handle("POST /api/{project_id}/envelope/{$}", s.ingest(IngestHandlers.EnvelopeHandler))
	mux.Handle("OPTIONS /api/{project_id}/envelope/{$}", s.ingest(IngestHandlers.EnvelopeHandler))
	mux.Handle("POST /api/{project_id}/store/{$}", s.ingest(IngestHandlers.StoreHandler))
	mux.Handle("OPTIONS /api/{project_id}/store/{$}", s.ingest(IngestHandlers.StoreHandler))

	// JSON API.
	mux.Handle("GET /api/0/organizations/{org}/issues/{$}", s.api(s.apiIssueList()))
	mux.Handle("GET /api/0/issues/{id}/{$}", s.api(s.apiIssueGet()))
	mux.Handle("PUT /api/0/issues/{id}/{$}", s.api(s.apiIssueUpdate()))
	mux.Handle("DELETE /api/0/issues/{id}/{$}", s.api(s.apiIssueDelete()))
	mux.Handle("GET /api/0/issues/{id}/activity/{$}", s.api(s.apiIssueActivity()))
	mux.Handle("GET /api/0/issues/{id}/tags/{$}", s.api(s.apiIssueTags()))
	mux.Handle("GET /api/0/issues/{id}/comments/{$}", s.api(s.apiIssueComments()))
	mux.Handle("POST /api/0/issues/{id}/comments/{$}", s.api(s.apiIssueCommentCreate()))
	mux.Handle("PUT /api/0/organizations/{org}/issues/{$}", s.api(s.apiIssueBulkUpdate()))
	mux.Handle("GET /api/0/issues/{id}/events/{$}", s.api(s.apiIssueEvents()))
	// {event_id} is an event id, "latest" or "oldest".
	mux.Handle("GET /api/0/issues/{id}/events/{event_id}/{$}", s.api(s.apiIssueEvent()))
	mux.Handle("GET /api/0/organizations/{org}/integrations/{$}", s.api(s.apiIntegrations()))
	mux.Handle("GET /api/0/organizations/{org}/members/{$}", s.api(s.apiMembers()))
	mux.Handle("GET /api/0/organizations/{org}/integrations/{id}/channels/{$}", s.api(s.apiChannels()))
	mux.Handle("GET /api/0/projects/{org}/{project}/rules/{$}", s.api(s.apiRuleList()))
	mux.Handle("POST /api/0/projects/{org}/{project}/rules/{$}", s.api(s.apiRuleCreate()))
	mux.Handle("GET /api/0/projects/{org}/{project}/rules/{id}/{$}", s.api(s.apiRuleGet()))
	mux.Handle("PUT /api/0/projects/{org}/{project}/rules/{id}/{$}", s.api(s.apiRuleUpdate()))
	mux.Handle("DELETE /api/0/projects/{org}/{project}/rules/{id}/{$}", s.api(s.apiRuleDelete()))

	// Everything else: a JSON 404 under /api/, a page elsewhere.
	mux.Handle("/", s.handleNotFound())
}

// page gives a handler the session, the logged-in user (if any) and
// cross-origin protection for its unsafe methods.
func (s *Server) page(h http.Handler) http.Handler {
	return s.cop.Handler(s.sessions.LoadAndSave(s.loadUser(h)))
}

// authed is page for logged-in users only.
func (s *Server) authed(h http.Handler) http.Handler {
	return s.page(s.requireLogin(h))
}

// api authenticates a bearer token; the API never reads cookies.
func (s *Server) api(h http.Handler) http.Handler {
	return s.bearer(h)
}
