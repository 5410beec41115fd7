// Package web serves Triage over HTTP: the server-rendered pages people use
// in a browser, the Sentry-shaped JSON API, the operational endpoints, and
// the doors through which ingestion and Slack plug their own handlers in.
//
// routes.go is the one map of every URL. Each route there says which of
// three worlds it lives in:
//
//   - pages (s.page, s.authed): session cookie (scs, stored in the
//     database), the logged-in user in the request context, and
//     net/http.CrossOriginProtection refusing cross-site form posts;
//   - the JSON API (s.api): an Authorization: Bearer token, no cookies and
//     no cross-origin checks, errors as {"detail": "..."};
//   - machine endpoints (ingestion, Slack's signed callbacks, health,
//     metrics): neither, because their callers authenticate otherwise.
//
// No handler here changes an issue itself: pages and API call
// issues.Service (Update, UpdateMany for the list's checkboxes and the bulk
// PUT, Comment, Delete), which checks permissions and writes the activity.
// No handler decides access either: access.Service says who may see an
// organization, a project or an alert rule. Members, teams, projects,
// their keys and each person's account and tokens change only through
// directory.Service (people_pages.go, projects_pages.go, account_pages.go),
// which checks who may and names the field of a bad value. The invite and
// password reset pages go through invite.Service and passreset.Service,
// which check who may invite and whether a link still works.
//
// The package does not import internal/store. It reaches the database
// through narrow interfaces, the root package's and its own (SessionRows,
// Finder); Deps.Store is their union and the server keeps accounts,
// directory, sessions, search and health apart, so a handler cannot write
// a table behind the services' backs.
package web
