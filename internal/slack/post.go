package slack

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"triage"
	"triage/internal/slack/message"
	"triage/internal/slack/webapi"
)

// PostCard posts the issue's card to a channel (in a thread when threadTS
// is set), remembers the message so that later changes rebuild it, and
// returns its ts.
func (i *Integration) PostCard(ctx context.Context, integrationID int64, channelID, threadTS string, issueID int64) (string, error) {
	c, err := i.loadCard(ctx, i.d.Store.Queries, integrationID, issueID)
	if err != nil {
		return "", err
	}
	api, err := i.web.Client(ctx, integrationID)
	if err != nil {
		return "", err
	}
	opts := []slack.MsgOption{slack.MsgOptionText(c.Fallback(), false), slack.MsgOptionBlocks(c.Blocks()...)}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	ch, ts, err := api.PostMessageContext(ctx, channelID, opts...)
	if err != nil {
		return "", i.web.Failed(ctx, integrationID, "chat.postMessage", err)
	}
	m := &triage.SlackMessage{IssueID: issueID, IntegrationID: integrationID, ChannelID: ch, TS: ts, ThreadTS: threadTS, Kind: triage.SlackMessageCard}
	if err := i.d.Store.RememberSlackMessage(ctx, m); err != nil {
		return ts, err
	}
	return ts, nil
}

// PostThreadReply posts text as a reply in a thread.
func (i *Integration) PostThreadReply(ctx context.Context, integrationID int64, channelID, threadTS, text string) error {
	api, err := i.web.Client(ctx, integrationID)
	if err != nil {
		return err
	}
	_, _, err = api.PostMessageContext(ctx, channelID, slack.MsgOptionText(text, false), slack.MsgOptionTS(threadTS))
	if err != nil {
		return i.web.Failed(ctx, integrationID, "chat.postMessage", err)
	}
	return nil
}

// UpdateCards rebuilds every message Triage posted or unfurled about the
// issue, in every workspace, after the issue changed.
func (i *Integration) UpdateCards(ctx context.Context, issueID int64) error {
	return i.updateCards(ctx, UpdateCardsArgs{IssueID: issueID})
}

func (i *Integration) updateCards(ctx context.Context, a UpdateCardsArgs) error {
	return i.settled(ctx, a.IssueID, func(int) ([]*message.Card, error) { return i.updateCardsOnce(ctx, a) }, nil)
}

// settleRounds bounds how many times one job sends an issue's cards again
// because the issue changed while they were on their way; past it the job
// fails and River retries it later.
const settleRounds = 4

// settled runs send, which renders the issue's cards and sends them, until
// what it rendered is still the issue's state after Slack took it. Two
// rebuilds of one card are not ordered (jobs, processes): one rendered
// before a change can reach Slack after the one rendered after it. Every
// change queues a rebuild after its commit, so the rebuild that ends last
// sees the last change and, sending again if its own rendering was older,
// leaves it on the card. send is told which round it is in. When
// superseded (if set) says that a later rebuild of the same message is
// already waiting to run after this one, that one will show whatever
// changed meanwhile, and nothing is read or sent again: under a burst of
// clicks on one card this spares a read and a chat.update (which Slack
// rate-limits per workspace) per click.
func (i *Integration) settled(ctx context.Context, issueID int64, send func(round int) ([]*message.Card, error), superseded func() bool) error {
	for round := 1; ; round++ {
		sent, err := send(round)
		if err != nil || len(sent) == 0 {
			return err
		}
		if superseded != nil && superseded() {
			return nil
		}
		var newest int64
		err = i.rebuildRead(ctx, func() (err error) {
			newest, err = i.d.Store.NewestCardActivity(ctx, issueID)
			return err
		})
		if err != nil {
			return err
		}
		stale := false
		for _, c := range sent {
			if shown := c.LastID(); shown != newest {
				stale = true
			}
		}
		if !stale {
			return nil
		}
		if round == settleRounds {
			return fmt.Errorf("issue %d changed while its cards were rebuilt, %d times in a row", issueID, round)
		}
	}
}

// updateCardsOnce renders the issue's cards and sends them, once; it
// returns the cards it sent.
func (i *Integration) updateCardsOnce(ctx context.Context, a UpdateCardsArgs) ([]*message.Card, error) {
	msgs, err := i.d.Store.SlackMessagesForIssue(ctx, a.IssueID)
	if err != nil {
		return nil, err
	}
	cards := map[int64]*message.Card{}
	apis := map[int64]*slack.Client{}
	unusable := map[int64]bool{}
	var first error
	var sent []*message.Card
	for _, m := range msgs {
		if (m.IntegrationID == a.SkipIntegration && m.ChannelID == a.SkipChannel && m.TS == a.SkipTS) || unusable[m.IntegrationID] {
			continue
		}
		if apis[m.IntegrationID] == nil {
			api, err := i.web.Client(ctx, m.IntegrationID)
			if err != nil {
				// A disabled or broken workspace: nothing to update there.
				unusable[m.IntegrationID] = true
				i.log.Info("slack cards not updated", "integration_id", m.IntegrationID, "err", err)
				continue
			}
			var c *message.Card
			err = i.rebuildRead(ctx, func() (err error) {
				c, err = i.loadCard(ctx, i.d.Store.Queries, m.IntegrationID, a.IssueID)
				return err
			})
			if err != nil {
				return nil, err
			}
			apis[m.IntegrationID], cards[m.IntegrationID] = api, c
		}
		api, c := apis[m.IntegrationID], cards[m.IntegrationID]
		if m.Kind == triage.SlackMessageUnfurl {
			_, _, _, err = api.UnfurlMessageContext(ctx, m.ChannelID, m.TS, map[string]slack.Attachment{m.URL: c.UnfurlAttachment()})
		} else {
			_, _, _, err = api.UpdateMessageContext(ctx, m.ChannelID, m.TS,
				slack.MsgOptionText(c.Fallback(), false), slack.MsgOptionBlocks(c.Blocks()...))
		}
		if err == nil {
			sent = append(sent, c)
			continue
		}
		err = i.web.Failed(ctx, m.IntegrationID, "update card", err)
		if _, ok := webapi.RetryAfter(err); ok {
			return nil, err // snooze; the retry rebuilds all, which is harmless
		}
		if code, ok := webapi.PermanentReason(err); ok {
			if webapi.DeadWorkspace(err) {
				unusable[m.IntegrationID] = true
				continue
			}
			i.log.Info("slack message no longer updatable", "integration_id", m.IntegrationID, "slack_error", code)
			if ferr := i.d.Store.ForgetSlackMessage(ctx, m.ID); ferr != nil {
				return nil, ferr
			}
			continue
		}
		if first == nil {
			first = err
		}
	}
	return sent, first
}

// rebuildRead runs a card rebuild's database read in its turn
// (rebuildTurn): on PostgreSQL, behind the clicks.
func (i *Integration) rebuildRead(ctx context.Context, read func() error) error {
	leave, err := i.rebuildTurn(ctx)
	if err != nil {
		return err
	}
	defer leave()
	return read()
}

// refreshCard rebuilds the clicked message from the issue as it is now
// (and again if the issue changed while it was on its way: see settled).
func (i *Integration) refreshCard(ctx context.Context, a RefreshCardArgs) error {
	unfurl := a.UnfurlURL != "" && a.Channel != "" && a.TS != ""
	if !a.Legacy && !unfurl && a.ResponseURL != "" && len(a.List) > 0 {
		return i.refreshList(ctx, a) // a list of issues, not one card
	}
	return i.settled(ctx, a.IssueID, func(round int) ([]*message.Card, error) {
		a := a
		if round > 1 && !a.Legacy && a.Channel != "" && a.TS != "" {
			// Slack takes a response URL five times only, and a job (with
			// River's retries) may send again more often than that: the
			// bot's own message is edited with chat.update instead.
			a.ResponseURL = ""
		}
		c, err := i.refreshCardOnce(ctx, a)
		if err != nil {
			return nil, err
		}
		return []*message.Card{c}, nil
	}, func() bool { return i.refreshWaiting(a) })
}

// refreshCardOnce renders the clicked message and sends it, once.
func (i *Integration) refreshCardOnce(ctx context.Context, a RefreshCardArgs) (*message.Card, error) {
	var c *message.Card
	err := i.rebuildRead(ctx, func() (err error) {
		c, err = i.loadCard(ctx, i.d.Store.Queries, a.IntegrationID, a.IssueID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if a.Legacy {
		return c, webapi.PostResponse(ctx, i.d.HTTPClient, a.ResponseURL, message.LegacyReplacement(c, a.IsMessage))
	}
	if a.UnfurlURL != "" && a.Channel != "" && a.TS != "" {
		api, err := i.web.Client(ctx, a.IntegrationID)
		if err != nil {
			return nil, err
		}
		_, _, _, err = api.UnfurlMessageContext(ctx, a.Channel, a.TS, map[string]slack.Attachment{a.UnfurlURL: c.UnfurlAttachment()})
		if err != nil {
			return nil, i.web.Failed(ctx, a.IntegrationID, "chat.unfurl", err)
		}
		return c, nil
	}
	if a.ResponseURL != "" {
		err := webapi.PostResponse(ctx, i.d.HTTPClient, a.ResponseURL, map[string]any{"replace_original": true, "text": c.Fallback(), "blocks": c.Blocks()})
		if _, permanent := webapi.PermanentReason(err); err == nil || !permanent || a.Channel == "" || a.TS == "" {
			return c, err
		}
		// The response URL expired: the bot's own message can still be edited.
	}
	if a.Channel == "" || a.TS == "" {
		return nil, triage.Errorf(triage.EINVALID, "nothing to refresh: no response url and no message")
	}
	api, err := i.web.Client(ctx, a.IntegrationID)
	if err != nil {
		return nil, err
	}
	_, _, _, err = api.UpdateMessageContext(ctx, a.Channel, a.TS, slack.MsgOptionText(c.Fallback(), false), slack.MsgOptionBlocks(c.Blocks()...))
	if err != nil {
		return nil, i.web.Failed(ctx, a.IntegrationID, "chat.update", err)
	}
	return c, nil
}

// respond tells one person something, ephemerally.
func (i *Integration) respond(ctx context.Context, a RespondArgs) error {
	if a.ResponseURL != "" {
		err := webapi.PostResponse(ctx, i.d.HTTPClient, a.ResponseURL, webapi.EphemeralBody(a.Text))
		if _, permanent := webapi.PermanentReason(err); err == nil || !permanent || a.Channel == "" || a.User == "" {
			return err
		}
	}
	if a.DM && a.Channel == "" && a.User != "" {
		return i.directText(ctx, a.IntegrationID, a.User, a.Text)
	}
	if a.Channel == "" || a.User == "" {
		return triage.Errorf(triage.EINVALID, "nowhere to respond")
	}
	api, err := i.web.Client(ctx, a.IntegrationID)
	if err != nil {
		return err
	}
	if _, err := api.PostEphemeralContext(ctx, a.Channel, a.User, slack.MsgOptionText(a.Text, false)); err != nil {
		return i.web.Failed(ctx, a.IntegrationID, "chat.postEphemeral", err)
	}
	return nil
}

// directText sends a text as a direct message to a Slack user.
func (i *Integration) directText(ctx context.Context, integrationID int64, user, text string) error {
	api, err := i.web.Client(ctx, integrationID)
	if err != nil {
		return err
	}
	ch, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		return i.web.Failed(ctx, integrationID, "conversations.open", err)
	}
	err = i.paced(ctx, i.dmPaceKeys(integrationID, user), func() error {
		_, _, err := api.PostMessageContext(ctx, ch.ID, slack.MsgOptionText(text, false))
		return err
	})
	if err != nil {
		return i.web.Failed(ctx, integrationID, "chat.postMessage", err)
	}
	return nil
}
