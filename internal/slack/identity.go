package slack

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/slack-go/slack"

	"triage"
	"triage/internal/signing"
	"triage/internal/slack/webapi"
	"triage/internal/store"
)

// Purposes of signed identity links: a link URL never works as an unlink
// URL, nor the reverse.
const (
	PurposeLink   = "link"
	PurposeUnlink = "unlink"
)

// LinkMaxAge is how long a link or unlink URL stays valid.
const LinkMaxAge = 48 * time.Hour

// LinkParams is what a link or unlink URL carries, signed.
type LinkParams struct {
	IntegrationID int64  `json:"i"`
	SlackUserID   string `json:"u"`
	ChannelID     string `json:"c,omitempty"`
	// ResponseURL, when set, is where the confirmation goes.
	ResponseURL string `json:"r,omitempty"`
	// OrgID names the organization the link was offered for (one issue's);
	// zero means any organization the workspace is attached to.
	OrgID int64 `json:"o,omitempty"`
}

// LinkURL is the absolute URL that links p's Slack user to whoever opens it
// logged in. It is a credential: do not log it.
func (i *Integration) LinkURL(p LinkParams) (string, error) {
	return i.signedURL(PurposeLink, "/extensions/slack/link-identity/", p)
}

// UnlinkURL is LinkURL's counterpart for unlinking.
func (i *Integration) UnlinkURL(p LinkParams) (string, error) {
	return i.signedURL(PurposeUnlink, "/extensions/slack/unlink-identity/", p)
}

func (i *Integration) signedURL(purpose, path string, p LinkParams) (string, error) {
	tok, err := i.d.Signer.Sign(purpose, i.now(), p)
	if err != nil {
		return "", fmt.Errorf("sign %s params: %w", purpose, err)
	}
	return i.absURL(path + tok + "/"), nil
}

// LinkIdentity serves the link page: GET confirms, POST links.
func (i *Integration) LinkIdentity() http.Handler { return i.identityHandler(PurposeLink) }

// UnlinkIdentity serves the unlink page: GET confirms, POST unlinks.
func (i *Integration) UnlinkIdentity() http.Handler { return i.identityHandler(PurposeUnlink) }

// identityTarget is a verified link: the workspace and the organizations
// the user may act in through it.
type identityTarget struct {
	p    LinkParams
	in   *triage.Integration
	orgs []*triage.Organization
}

func (i *Integration) identityHandler(purpose string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := i.currentUser(w, r)
		if user == nil {
			return
		}
		t, ok := i.resolveLink(w, r, purpose, user)
		if !ok {
			return
		}
		unlink := purpose == PurposeUnlink
		if r.Method != http.MethodPost {
			names := make([]string, len(t.orgs))
			for k, o := range t.orgs {
				names[k] = o.Name
			}
			title := "Link your Slack account"
			if unlink {
				title = "Unlink your Slack account"
			}
			i.page(w, r, http.StatusOK, title, "confirm", map[string]any{
				"Unlink": unlink, "SlackUser": t.p.SlackUserID, "Workspace": t.in.Name, "Email": user.Email, "Orgs": names,
			})
			return
		}
		var msg, slackText string
		if unlink {
			msg, slackText, ok = i.doUnlink(w, r, t, user)
		} else {
			msg, slackText, ok = i.doLink(w, r, t, user)
		}
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
		i.notify(ctx, t, slackText)
		cancel()
		// Their Home tab turns from the link prompt into their issues (or back).
		i.republishNow(context.WithoutCancel(r.Context()), t.in, t.p.SlackUserID)
		i.page(w, r, http.StatusOK, "Done", "done", map[string]any{
			"Message":  msg,
			"DeepLink": template.URL(deepLink(t.p.ChannelID, t.in.ExternalID)),
		})
	})
}

func (i *Integration) doLink(w http.ResponseWriter, r *http.Request, t *identityTarget, user *triage.User) (string, string, bool) {
	ctx := r.Context()
	err := i.d.Store.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.LinkIdentity(ctx, t.in.ID, t.p.SlackUserID, user.ID)
		return err
	})
	if err != nil {
		i.internalError(w, r, "link identity", err)
		return "", "", false
	}
	i.log.Info("slack identity linked", "integration_id", t.in.ID, "user_id", user.ID)
	return fmt.Sprintf("Your Slack account in %s is now linked to %s.", t.in.Name, user.Email),
		fmt.Sprintf("Your Slack identity has been linked to your Triage account %s. You're all set!", user.Email), true
}

func (i *Integration) doUnlink(w http.ResponseWriter, r *http.Request, t *identityTarget, user *triage.User) (string, string, bool) {
	ctx := r.Context()
	id, err := i.d.Store.IdentityByExternalID(ctx, t.in.ID, t.p.SlackUserID)
	switch {
	case triage.ErrorCode(err) == triage.ENOTFOUND:
		return fmt.Sprintf("Your Slack account in %s was not linked to Triage.", t.in.Name),
			"Your Slack identity is not linked to a Triage account.", true
	case err != nil:
		i.internalError(w, r, "load identity", err)
		return "", "", false
	case id.UserID != user.ID:
		i.errorPage(w, r, http.StatusForbidden, "Not your link",
			"This Slack account is linked to another Triage account.", "Log in as that account to unlink it.")
		return "", "", false
	}
	if err := i.d.Store.UnlinkIdentity(ctx, t.in.ID, t.p.SlackUserID); err != nil && triage.ErrorCode(err) != triage.ENOTFOUND {
		i.internalError(w, r, "unlink identity", err)
		return "", "", false
	}
	i.log.Info("slack identity unlinked", "integration_id", t.in.ID, "user_id", user.ID)
	return fmt.Sprintf("Your Slack account in %s is no longer linked to %s.", t.in.Name, user.Email),
		"Your Slack identity has been unlinked from your Triage account.", true
}

// resolveLink verifies the signed parameters and that the user belongs to
// an organization the workspace is attached to; it answers 400 or 404 itself.
func (i *Integration) resolveLink(w http.ResponseWriter, r *http.Request, purpose string, user *triage.User) (*identityTarget, bool) {
	ctx := r.Context()
	var p LinkParams
	err := i.d.Signer.Verify(purpose, r.PathValue("signed"), i.now(), LinkMaxAge, &p)
	if err != nil || p.IntegrationID == 0 || p.SlackUserID == "" {
		msg := "This link is invalid."
		if errors.Is(err, signing.ErrExpired) {
			msg = "This link has expired."
		}
		i.errorPage(w, r, http.StatusBadRequest, "Invalid link", msg,
			"Type /triage "+purpose+" in Slack to get a new one.")
		return nil, false
	}
	notFound := func() (*identityTarget, bool) {
		i.errorPage(w, r, http.StatusNotFound, "Not found",
			"This Slack workspace is not connected to an organization you belong to.", "")
		return nil, false
	}
	in, err := i.d.Store.IntegrationByID(ctx, p.IntegrationID)
	if triage.ErrorCode(err) == triage.ENOTFOUND {
		return notFound()
	} else if err != nil {
		i.internalError(w, r, "load integration", err)
		return nil, false
	}
	orgs, err := i.d.Store.OrganizationsForIntegration(ctx, in.ID)
	if err != nil {
		i.internalError(w, r, "load organizations", err)
		return nil, false
	}
	if p.OrgID != 0 {
		orgs = slices.DeleteFunc(orgs, func(o *triage.Organization) bool { return o.ID != p.OrgID })
	}
	mine, err := i.d.Access.VisibleOrgs(ctx, user.ID, orgs)
	if err != nil {
		i.internalError(w, r, "load memberships", err)
		return nil, false
	}
	if len(mine) == 0 && purpose == "unlink" {
		// Someone who has left every organization the workspace serves
		// may still undo their own link: that is what the unlink offer
		// to a person no longer allowed is for.
		id, err := i.d.Store.IdentityByExternalID(ctx, in.ID, p.SlackUserID)
		if err == nil && id.UserID == user.ID {
			return &identityTarget{p: p, in: in}, true
		} else if err != nil && triage.ErrorCode(err) != triage.ENOTFOUND {
			i.internalError(w, r, "load identity", err)
			return nil, false
		}
	}
	if len(mine) == 0 {
		return notFound()
	}
	return &identityTarget{p: p, in: in, orgs: mine}, true
}

// deepLink opens the Slack channel the link came from (or the workspace).
func deepLink(channel, team string) string {
	if channel == "" {
		return "slack://open?team=" + url.QueryEscape(team)
	}
	return "slack://channel?id=" + url.QueryEscape(channel) + "&team=" + url.QueryEscape(team)
}

// notify tells the person in Slack, trying the response URL, then an
// ephemeral message in the channel, then a direct message. Failures are
// logged, never shown: the link itself succeeded.
func (i *Integration) notify(ctx context.Context, t *identityTarget, text string) {
	if t.p.ResponseURL != "" {
		// Slack answers 404 "Expired url" after 30 minutes or 5 uses: not
		// a failure of the link, only a reason to try the next way.
		err := webapi.PostResponse(ctx, i.d.HTTPClient, t.p.ResponseURL, webapi.EphemeralBody(text))
		if err == nil {
			return
		}
		i.log.Info("slack response url not usable", "integration_id", t.in.ID, "err", err)
	}
	api, err := i.web.Client(ctx, t.in.ID)
	if err != nil {
		i.log.Warn("slack notify: no client", "integration_id", t.in.ID, "err", err)
		return
	}
	if t.p.ChannelID != "" {
		_, err := api.PostEphemeralContext(ctx, t.p.ChannelID, t.p.SlackUserID, slack.MsgOptionText(text, false))
		if err == nil {
			return
		}
		i.log.Info("slack ephemeral confirmation failed", "integration_id", t.in.ID, "err", err)
	}
	ch, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{t.p.SlackUserID}})
	if err == nil {
		_, _, err = api.PostMessageContext(ctx, ch.ID, slack.MsgOptionText(text, false))
	}
	if err != nil {
		i.log.Warn("slack confirmation not delivered", "integration_id", t.in.ID, "err", err)
	}
}
