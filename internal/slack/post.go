package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/slack-go/slack"

	"triage"
)

// permanentCodes are Slack errors that retrying will not fix.
var permanentCodes = map[string]bool{
	"channel_not_found": true, "is_archived": true, "not_in_channel": true, "invalid_auth": true,
	"account_inactive": true, "token_revoked": true, "token_expired": true, "not_authed": true,
	"message_limit_exceeded": true, "missing_scope": true, "no_permission": true, "team_access_not_granted": true,
	"message_not_found": true, "cant_update_message": true, "cannot_find_message": true, "cannot_find_channel": true,
	"cannot_unfurl_url": true, "invalid_unfurl_id": true, "user_not_in_channel": true, "invalid_blocks": true,
	"invalid_blocks_format": true, "invalid_attachments": true, "msg_too_long": true, "no_text": true,
	"expired_url": true, "ekm_access_denied": true, "restricted_action": true, "integration_inactive": true,
}

// deadInstall are the codes that mean the workspace's token no longer works.
var deadInstall = map[string]bool{"invalid_auth": true, "account_inactive": true, "token_revoked": true, "token_expired": true}

// slackCode is Slack's error code in err, if it carries one.
func slackCode(err error) string {
	var se *slackError
	if errors.As(err, &se) {
		return se.Code
	}
	var sr slack.SlackErrorResponse
	if errors.As(err, &sr) {
		return sr.Err
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) && sc.Code == http.StatusTooManyRequests {
		// A 429 without Retry-After: a free workspace over its message limit.
		return "message_limit_exceeded"
	}
	var ie *inactiveError
	if errors.As(err, &ie) {
		return "integration_inactive"
	}
	var re *responseURLError
	if errors.As(err, &re) && re.Status >= 400 && re.Status < 500 && re.Status != http.StatusTooManyRequests {
		if re.Status == http.StatusNotFound {
			return "expired_url"
		}
		return "response_url_refused"
	}
	return ""
}

// PermanentReason tells whether err is a Slack error that will not heal
// with retries (channel_not_found, is_archived, not_in_channel,
// invalid_auth, account_inactive, token_revoked, token_expired,
// message_limit_exceeded, …) and returns Slack's code, to record and show
// to admins.
func PermanentReason(err error) (string, bool) {
	code := slackCode(err)
	if code == "response_url_refused" {
		return code, true
	}
	return code, permanentCodes[code]
}

// RetryAfter tells how long Slack asked to wait when it rate-limited a call.
func RetryAfter(err error) (time.Duration, bool) {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return rl.RetryAfter, true
	}
	return 0, false
}

// inactiveError is a workspace whose integration is disabled or needs a
// reinstall: Triage no longer uses its token.
type inactiveError struct{ err error }

func (e *inactiveError) Error() string { return e.err.Error() }
func (e *inactiveError) Unwrap() error { return e.err }

// client is Client with a disabled workspace reported as the permanent
// reason "integration_inactive".
func (i *Integration) client(ctx context.Context, integrationID int64) (*slack.Client, error) {
	api, err := i.Client(ctx, integrationID)
	if triage.ErrorCode(err) == triage.EINVALID {
		return nil, &inactiveError{err}
	}
	return api, err
}

// responseURLError is a response URL answering anything but 200.
type responseURLError struct {
	Status int
	Answer string
}

func (e *responseURLError) Error() string {
	return fmt.Sprintf("response url answered %d %q", e.Status, e.Answer)
}

// postResponse posts a message to a response URL. The URL is a credential
// and stays out of errors and logs.
func (i *Integration) postResponse(ctx context.Context, responseURL string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(b))
	if err != nil {
		return &responseURLError{Status: http.StatusBadRequest, Answer: "bad response url"}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := i.d.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post response url: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return &responseURLError{Status: resp.StatusCode, Answer: string(bytes.TrimSpace(answer))}
	}
	return nil
}

// ephemeralBody is a reply only the clicking person sees, leaving the
// message as it is.
func ephemeralBody(text string) map[string]any {
	return map[string]any{"response_type": "ephemeral", "replace_original": false, "text": text}
}

// PostCard posts the issue's card to a channel (in a thread when threadTS
// is set), remembers the message so that later changes rebuild it, and
// returns its ts.
func (i *Integration) PostCard(ctx context.Context, integrationID int64, channelID, threadTS string, issueID int64) (string, error) {
	c, err := i.loadCard(ctx, i.d.Store.Queries, integrationID, issueID)
	if err != nil {
		return "", err
	}
	api, err := i.client(ctx, integrationID)
	if err != nil {
		return "", err
	}
	opts := []slack.MsgOption{slack.MsgOptionText(c.fallback(), false), slack.MsgOptionBlocks(c.blocks()...)}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	ch, ts, err := api.PostMessageContext(ctx, channelID, opts...)
	if err != nil {
		return "", i.slackFailed(ctx, integrationID, "chat.postMessage", err)
	}
	m := &triage.SlackMessage{IssueID: issueID, IntegrationID: integrationID, ChannelID: ch, TS: ts, ThreadTS: threadTS, Kind: triage.SlackMessageCard}
	if err := i.d.Store.RememberSlackMessage(ctx, m); err != nil {
		return ts, err
	}
	return ts, nil
}

// PostThreadReply posts text as a reply in a thread.
func (i *Integration) PostThreadReply(ctx context.Context, integrationID int64, channelID, threadTS, text string) error {
	api, err := i.client(ctx, integrationID)
	if err != nil {
		return err
	}
	_, _, err = api.PostMessageContext(ctx, channelID, slack.MsgOptionText(text, false), slack.MsgOptionTS(threadTS))
	if err != nil {
		return i.slackFailed(ctx, integrationID, "chat.postMessage", err)
	}
	return nil
}

// UpdateCards rebuilds every message Triage posted or unfurled about the
// issue, in every workspace, after the issue changed.
func (i *Integration) UpdateCards(ctx context.Context, issueID int64) error {
	return i.updateCards(ctx, UpdateCardsArgs{IssueID: issueID})
}

func (i *Integration) updateCards(ctx context.Context, a UpdateCardsArgs) error {
	msgs, err := i.d.Store.SlackMessagesForIssue(ctx, a.IssueID)
	if err != nil {
		return err
	}
	cards := map[int64]*card{}
	apis := map[int64]*slack.Client{}
	unusable := map[int64]bool{}
	var first error
	for _, m := range msgs {
		if (m.IntegrationID == a.SkipIntegration && m.ChannelID == a.SkipChannel && m.TS == a.SkipTS) || unusable[m.IntegrationID] {
			continue
		}
		if apis[m.IntegrationID] == nil {
			api, err := i.client(ctx, m.IntegrationID)
			if err != nil {
				// A disabled or broken workspace: nothing to update there.
				unusable[m.IntegrationID] = true
				i.log.Info("slack cards not updated", "integration_id", m.IntegrationID, "err", err)
				continue
			}
			c, err := i.loadCard(ctx, i.d.Store.Queries, m.IntegrationID, a.IssueID)
			if err != nil {
				return err
			}
			apis[m.IntegrationID], cards[m.IntegrationID] = api, c
		}
		api, c := apis[m.IntegrationID], cards[m.IntegrationID]
		if m.Kind == triage.SlackMessageUnfurl {
			_, _, _, err = api.UnfurlMessageContext(ctx, m.ChannelID, m.TS, map[string]slack.Attachment{m.URL: c.unfurlAttachment()})
		} else {
			_, _, _, err = api.UpdateMessageContext(ctx, m.ChannelID, m.TS,
				slack.MsgOptionText(c.fallback(), false), slack.MsgOptionBlocks(c.blocks()...))
		}
		if err == nil {
			continue
		}
		err = i.slackFailed(ctx, m.IntegrationID, "update card", err)
		if _, ok := RetryAfter(err); ok {
			return err // snooze; the retry rebuilds all, which is harmless
		}
		if code, ok := PermanentReason(err); ok {
			if deadInstall[code] {
				unusable[m.IntegrationID] = true
				continue
			}
			i.log.Info("slack message no longer updatable", "integration_id", m.IntegrationID, "slack_error", code)
			if ferr := i.d.Store.ForgetSlackMessage(ctx, m.ID); ferr != nil {
				return ferr
			}
			continue
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// slackFailed wraps a Slack call's error, and marks the workspace as
// needing a reinstall when Slack says its token is dead, so that admins
// see why nothing reaches Slack any more.
func (i *Integration) slackFailed(ctx context.Context, integrationID int64, what string, err error) error {
	err = fmt.Errorf("%s: %w", what, err)
	if code := slackCode(err); deadInstall[code] {
		if serr := i.d.Store.SetIntegrationStatus(ctx, integrationID, triage.IntegrationNeedsReinstall, "Slack answered "+code); serr != nil {
			i.log.Error("mark integration", "integration_id", integrationID, "err", serr)
		}
		i.log.Warn("slack install is dead", "integration_id", integrationID, "slack_error", code)
	}
	return err
}

// refreshCard rebuilds the clicked message from the issue as it is now.
func (i *Integration) refreshCard(ctx context.Context, a RefreshCardArgs) error {
	c, err := i.loadCard(ctx, i.d.Store.Queries, a.IntegrationID, a.IssueID)
	if err != nil {
		return err
	}
	if a.Legacy {
		return i.postResponse(ctx, a.ResponseURL, legacyReplacement(c, a.IsMessage))
	}
	if a.UnfurlURL != "" && a.Channel != "" && a.TS != "" {
		api, err := i.client(ctx, a.IntegrationID)
		if err != nil {
			return err
		}
		_, _, _, err = api.UnfurlMessageContext(ctx, a.Channel, a.TS, map[string]slack.Attachment{a.UnfurlURL: c.unfurlAttachment()})
		if err != nil {
			return i.slackFailed(ctx, a.IntegrationID, "chat.unfurl", err)
		}
		return nil
	}
	if a.ResponseURL != "" {
		err := i.postResponse(ctx, a.ResponseURL, map[string]any{"replace_original": true, "text": c.fallback(), "blocks": c.blocks()})
		if _, permanent := PermanentReason(err); err == nil || !permanent || a.Channel == "" || a.TS == "" {
			return err
		}
		// The response URL expired: the bot's own message can still be edited.
	}
	if a.Channel == "" || a.TS == "" {
		return triage.Errorf(triage.EINVALID, "nothing to refresh: no response url and no message")
	}
	api, err := i.client(ctx, a.IntegrationID)
	if err != nil {
		return err
	}
	_, _, _, err = api.UpdateMessageContext(ctx, a.Channel, a.TS, slack.MsgOptionText(c.fallback(), false), slack.MsgOptionBlocks(c.blocks()...))
	if err != nil {
		return i.slackFailed(ctx, a.IntegrationID, "chat.update", err)
	}
	return nil
}

// legacyReplacement is the legacy reply as a response URL post that
// replaces the original.
func legacyReplacement(c *card, isMessage bool) map[string]any {
	att := c.legacyAttachment()
	if isMessage {
		return map[string]any{"replace_original": true, "attachments": []legacyAttachment{att}}
	}
	var body map[string]any
	b, _ := json.Marshal(att)
	_ = json.Unmarshal(b, &body)
	body["replace_original"] = true
	return body
}

// respond tells one person something, ephemerally.
func (i *Integration) respond(ctx context.Context, a RespondArgs) error {
	if a.ResponseURL != "" {
		err := i.postResponse(ctx, a.ResponseURL, ephemeralBody(a.Text))
		if _, permanent := PermanentReason(err); err == nil || !permanent || a.Channel == "" || a.User == "" {
			return err
		}
	}
	if a.Channel == "" || a.User == "" {
		return triage.Errorf(triage.EINVALID, "nowhere to respond")
	}
	api, err := i.client(ctx, a.IntegrationID)
	if err != nil {
		return err
	}
	if _, err := api.PostEphemeralContext(ctx, a.Channel, a.User, slack.MsgOptionText(a.Text, false)); err != nil {
		return i.slackFailed(ctx, a.IntegrationID, "chat.postEphemeral", err)
	}
	return nil
}
