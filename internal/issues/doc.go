// Package issues owns an issue's whole lifecycle: it is the one place that
// decides how an issue changes, whoever or whatever causes the change.
//
// People's changes (resolve, ignore, reopen, assign) come from the web
// pages, the JSON API and Slack, which all call Service.Update (or
// UpdateFrom, naming the Slack message a click came from; or
// UpdateLocated, for a Slack click whose lookup of the workspace and the
// person's link travels in the change's locking read): it checks that
// the actor may act, applies the change under a row lock, and writes
// exactly one activity entry per effective change. Setting the state an
// issue already has writes nothing. UpdateMany does the same to many
// issues of an organization in one transaction (ids the actor may not see
// are ignored, as in Sentry). Comment adds a note (anyone who may see the
// project; CommentFromSlack for a Slack user not linked to Triage, whose
// reply in a card's thread is kept under their Slack name), Delete removes
// an issue (owners and admins): both are changes too, published like the
// others (Change.Note, Change.Deleted).
//
// Changes made by events are decided here too: Decide is the one rule for
// a regression (a resolved issue receives an event its resolution does not
// cover; a resolution in a release covers the events of that release and
// older ones), and for the end of an ignore (its time has passed, or it
// has happened the number of times it was ignored for). The event writer
// calls Service.EventsArrived inside the transaction that stores a batch,
// with each issue's state before the batch, and it reopens the issue and
// writes the activity when Decide says so.
//
// Both kinds end in one change path: every effective change becomes one
// Change value (the issue after it, its activity, its Origin: who and from
// where, web, api, slack or system; and for an event-driven change, the
// Transition) handed to every subscriber registered with OnChange, inside
// the change's transaction. Subscribers insert durable River jobs there:
// the Slack integration rebuilds every message Triage remembers about the
// issue, alerts tell their cards' threads what happened. A rolled-back
// change thus never reaches Slack, and no change, whatever caused it,
// leaves a message showing an old state.
package issues
