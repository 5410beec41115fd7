// Package slackfake is a strict fake of Slack's Web API, response URLs and
// Socket Mode, served by an httptest.Server.
//
// Every Slack test in Triage runs against it, and so does local development,
// so it exists to make a passing test mean something: a call that Slack would
// refuse is refused here too, with Slack's own error code and HTTP status.
// A lenient fake would let Triage ship code that posts to a private channel
// the bot was never invited to, forgets to refresh a rotating token, reuses a
// trigger id, or retries a 429 before its Retry-After; this one answers the
// way Slack does in each of those cases.
//
// How strict it is:
//   - Tokens are checked like Slack checks them: missing is not_authed,
//     unknown is invalid_auth, revoked is token_revoked, an expired rotating
//     token is token_expired, an uninstalled app's bot token is
//     account_inactive, and a token without the method's scope gets
//     missing_scope with needed/provided. A token in a JSON body is ignored,
//     as Slack ignores it: JSON callers must send Authorization: Bearer.
//   - Channels follow Slack's visibility rules: a private channel the bot is
//     not in does not exist (channel_not_found), a public one needs
//     chat:write.public unless the bot is a member (not_in_channel), an
//     archived one is is_archived.
//   - Arguments are validated: missing text/blocks/attachments is no_text;
//     Block Kit blocks, elements and composition objects are checked field
//     by field against Slack's reference (types, required fields, lengths,
//     counts, plain_text where Slack wants it, initial_option among the
//     options, confirm objects, and no field Slack does not define), as
//     are legacy attachments and their actions; a Slack type the fake
//     does not model is refused rather than passed unchecked (blocks.go,
//     attachments.go). Views and dialogs are validated; unfurl keys must be
//     links of the message they unfurl, exactly as written there. Home
//     tabs (views.publish) must be of type home, hold at most 100 blocks,
//     and go to a person of the token's workspace (home.go); DMs cannot be
//     opened with a bot, a deactivated person or without im:write.
//   - Installs grant what the app asked for: Authorize reads the scopes
//     from the authorize URL Triage redirected to, so a scope Triage
//     forgets to request is missing from its token.
//   - Triggers live 3 s and are single use; response URLs answer
//     404 "Expired url" after 5 uses or 30 minutes; OAuth codes are single
//     use; a refresh token stops working once it has been used.
//   - conversations.list pages over every conversation in the workspace and
//     filters afterwards, so a page may hold fewer items than the limit while
//     next_cursor is still set, as on Slack.
//   - Rate limits are on at Slack's tiers (a test that needs speed raises
//     them: RaiseRateLimits); they answer 429 with Retry-After, and the fake
//     counts requests that came back before the Retry-After elapsed.
//
// Time comes from an injected clock (WithClock, ManualClock), so tests can
// expire triggers, tokens and response URLs without sleeping. Setup, failure
// injection and every accessor are safe for concurrent use.
package slackfake
