package slack

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"triage"
)

// refreshMargin is how long before expiry a rotating token is renewed, so
// that a token handed out is good for at least one slow request.
const refreshMargin = 10 * time.Minute

// Client returns a Web API client for the workspace, refreshing its token
// first when it rotates and expires soon. It returns EINVALID (with a
// message for admins) when the integration is disabled or needs a reinstall.
func (i *Integration) Client(ctx context.Context, integrationID int64) (*slack.Client, error) {
	in, err := i.d.Store.IntegrationByID(ctx, integrationID)
	if err != nil {
		return nil, fmt.Errorf("load integration %d: %w", integrationID, err)
	}
	if in.Status != triage.IntegrationActive {
		return nil, triage.Errorf(triage.EINVALID, "the Slack workspace %s is %s: reinstall Triage in it", in.Name, in.Status)
	}
	if in.RefreshTokenEnc != "" && !in.TokenExpiresAt.IsZero() && i.now().Add(refreshMargin).After(in.TokenExpiresAt) {
		if in, err = i.refreshBefore(ctx, integrationID, refreshMargin); err != nil {
			return nil, err
		}
	}
	token, err := i.d.Box.Open(in.AccessTokenEnc)
	if err != nil {
		return nil, fmt.Errorf("open token of integration %d: %w", integrationID, err)
	}
	return i.api(token), nil
}

// RefreshDue renews every rotating token that would expire before the
// next run of the periodic job (every interval), so that idle workspaces
// stay usable. It returns how many it renewed and the first error; a
// refused refresh has already marked its integration for reinstall.
func (i *Integration) RefreshDue(ctx context.Context, interval time.Duration) (int, error) {
	ids, err := i.d.Store.IntegrationsDueForRefresh(ctx, i.now().Add(interval+refreshMargin))
	if err != nil {
		return 0, err
	}
	var first error
	n := 0
	for _, id := range ids {
		if _, err := i.refreshBefore(ctx, id, interval+refreshMargin); err != nil {
			if first == nil {
				first = fmt.Errorf("refresh integration %d: %w", id, err)
			}
			continue
		}
		n++
	}
	return n, first
}

func (i *Integration) lockFor(id int64) *sync.Mutex {
	i.mu.Lock()
	defer i.mu.Unlock()
	m := i.refreshing[id]
	if m == nil {
		m = &sync.Mutex{}
		i.refreshing[id] = m
	}
	return m
}

// refreshBefore renews one integration's token pair unless it still
// lives longer than margin. Within a process one refresh runs at a time; across processes the conditional update lets the
// first writer win and the others reload its pair. When Slack refuses the
// refresh token the integration is marked as needing a reinstall.
func (i *Integration) refreshBefore(ctx context.Context, id int64, margin time.Duration) (*triage.Integration, error) {
	m := i.lockFor(id)
	m.Lock()
	defer m.Unlock()
	in, err := i.d.Store.IntegrationByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reload integration %d: %w", id, err)
	}
	if in.RefreshTokenEnc == "" || in.TokenExpiresAt.IsZero() || !i.now().Add(margin).After(in.TokenExpiresAt) {
		return in, nil // someone refreshed while we waited
	}
	rt, err := i.d.Box.Open(in.RefreshTokenEnc)
	if err != nil {
		return nil, fmt.Errorf("open refresh token of integration %d: %w", id, err)
	}
	cfg := i.d.Config
	resp, err := slack.RefreshOAuthV2TokenContext(ctx, i.d.HTTPClient, cfg.SlackClientID, cfg.SlackClientSecret, rt,
		slack.OAuthOptionAPIURL(cfg.SlackAPIURL))
	if err != nil {
		err = asSlackError("oauth.v2.access refresh", err)
		var se *slackError
		if errors.As(err, &se) {
			reason := "token refresh failed: " + se.Code
			if serr := i.d.Store.SetIntegrationStatus(ctx, id, triage.IntegrationNeedsReinstall, reason); serr != nil {
				i.log.Error("mark integration", "integration_id", id, "err", serr)
			}
			i.log.Warn("slack token refresh refused", "integration_id", id, "slack_error", se.Code)
			return nil, triage.Errorf(triage.EINVALID, "the Slack workspace %s needs a reinstall (%s)", in.Name, reason)
		}
		return nil, err
	}
	accessEnc, err := i.d.Box.Seal(resp.AccessToken)
	if err != nil {
		return nil, fmt.Errorf("seal access token: %w", err)
	}
	refreshEnc, expires := "", time.Time{}
	if resp.RefreshToken != "" {
		if refreshEnc, err = i.d.Box.Seal(resp.RefreshToken); err != nil {
			return nil, fmt.Errorf("seal refresh token: %w", err)
		}
		if resp.ExpiresIn > 0 {
			expires = i.now().Add(time.Duration(resp.ExpiresIn) * time.Second)
		}
	}
	ok, err := i.d.Store.UpdateIntegrationTokens(ctx, id, in.RefreshTokenEnc, accessEnc, refreshEnc, expires)
	if err != nil {
		return nil, err
	}
	if !ok {
		i.log.Info("slack token rotated elsewhere first", "integration_id", id)
	}
	return i.d.Store.IntegrationByID(ctx, id)
}
