package webapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"triage"
	"triage/internal/secretbox"
	"triage/internal/store"
)

// RefreshMargin is how long before expiry a rotating token is renewed, so
// that a token handed out is good for at least one slow request.
const RefreshMargin = 10 * time.Minute

// Config is the Slack app's side of calling Slack.
type Config struct {
	// APIURL is Slack's Web API base, ending in "/".
	APIURL                 string
	ClientID, ClientSecret string
}

// Tokens hands out Web API clients for installed workspaces: it opens
// their sealed tokens, renews rotating ones before they expire, and marks
// a workspace as needing a reinstall when Slack says its token is dead.
type Tokens struct {
	store  *store.Store
	box    *secretbox.Box
	cfg    Config
	client *http.Client
	now    func() time.Time
	log    *slog.Logger

	mu         sync.Mutex
	refreshing map[int64]*sync.Mutex // one token refresh per integration at a time
}

// NewTokens builds the Web API side. client is never http.DefaultClient
// (NewHTTPClient sets timeouts); now is the clock.
func NewTokens(st *store.Store, box *secretbox.Box, cfg Config, client *http.Client, now func() time.Time, log *slog.Logger) *Tokens {
	return &Tokens{store: st, box: box, cfg: cfg, client: client, now: now, log: log, refreshing: map[int64]*sync.Mutex{}}
}

// HTTPClient is the client every call to Slack goes through.
func (t *Tokens) HTTPClient() *http.Client { return t.client }

// API is a Web API client for token (a new install's, an app-level one).
func (t *Tokens) API(token string, opts ...slack.Option) *slack.Client {
	return slack.New(token, append([]slack.Option{slack.OptionAPIURL(t.cfg.APIURL), slack.OptionHTTPClient(t.client)}, opts...)...)
}

// Client returns a Web API client for the workspace, refreshing its token
// first when it rotates and expires soon. When the integration is disabled
// or needs a reinstall it returns an *InactiveError wrapping EINVALID with
// a message for admins.
func (t *Tokens) Client(ctx context.Context, integrationID int64) (*slack.Client, error) {
	in, err := t.store.IntegrationByID(ctx, integrationID)
	if err != nil {
		return nil, fmt.Errorf("load integration %d: %w", integrationID, err)
	}
	if in.Status != store.IntegrationActive {
		return nil, &InactiveError{triage.Errorf(triage.EINVALID, "the Slack workspace %s is %s: reinstall Triage in it", in.Name, in.Status)}
	}
	if in.RefreshTokenEnc != "" && !in.TokenExpiresAt.IsZero() && t.now().Add(RefreshMargin).After(in.TokenExpiresAt) {
		if in, err = t.refreshBefore(ctx, integrationID, RefreshMargin); err != nil {
			return nil, err
		}
	}
	token, err := t.box.Open(in.AccessTokenEnc)
	if err != nil {
		return nil, fmt.Errorf("open token of integration %d: %w", integrationID, err)
	}
	return t.API(token), nil
}

// Failed wraps a Slack call's error with what was being done, and marks
// the workspace as needing a reinstall when Decide says its token is dead,
// so that admins see why nothing reaches Slack any more.
func (t *Tokens) Failed(ctx context.Context, integrationID int64, what string, err error) error {
	err = fmt.Errorf("%s: %w", what, err)
	d := Decide(err)
	if d.Verdict != Disable || d.Code == CodeInactive { // inactive: already marked
		return err
	}
	if serr := t.store.SetIntegrationStatus(ctx, integrationID, store.IntegrationNeedsReinstall, "Slack answered "+d.Code); serr != nil {
		t.log.Error("mark integration", "integration_id", integrationID, "err", serr)
	}
	t.log.Warn("slack install is dead", "integration_id", integrationID, "slack_error", d.Code)
	return err
}

// RefreshDue renews every rotating token that would expire before the
// next run of the periodic job (every interval), so that idle workspaces
// stay usable. It returns how many it renewed and the first error; a
// refused refresh has already marked its integration for reinstall.
func (t *Tokens) RefreshDue(ctx context.Context, interval time.Duration) (int, error) {
	ids, err := t.store.IntegrationsDueForRefresh(ctx, t.now().Add(interval+RefreshMargin))
	if err != nil {
		return 0, err
	}
	var first error
	n := 0
	for _, id := range ids {
		if _, err := t.refreshBefore(ctx, id, interval+RefreshMargin); err != nil {
			if first == nil {
				first = fmt.Errorf("refresh integration %d: %w", id, err)
			}
			continue
		}
		n++
	}
	return n, first
}

func (t *Tokens) lockFor(id int64) *sync.Mutex {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.refreshing[id]
	if m == nil {
		m = &sync.Mutex{}
		t.refreshing[id] = m
	}
	return m
}

// refreshBefore renews one integration's token pair unless it still
// lives longer than margin. Within a process one refresh runs at a time;
// across processes the conditional update lets the first writer win and
// the others reload its pair. When Slack refuses the refresh token the
// integration is marked as needing a reinstall.
func (t *Tokens) refreshBefore(ctx context.Context, id int64, margin time.Duration) (*store.Integration, error) {
	m := t.lockFor(id)
	m.Lock()
	defer m.Unlock()
	in, err := t.store.IntegrationByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reload integration %d: %w", id, err)
	}
	if in.RefreshTokenEnc == "" || in.TokenExpiresAt.IsZero() || !t.now().Add(margin).After(in.TokenExpiresAt) {
		return in, nil // someone refreshed while we waited
	}
	rt, err := t.box.Open(in.RefreshTokenEnc)
	if err != nil {
		return nil, fmt.Errorf("open refresh token of integration %d: %w", id, err)
	}
	resp, err := slack.RefreshOAuthV2TokenContext(ctx, t.client, t.cfg.ClientID, t.cfg.ClientSecret, rt,
		slack.OAuthOptionAPIURL(t.cfg.APIURL))
	if err != nil {
		err = AsError("oauth.v2.access refresh", err)
		var se *Error
		if errors.As(err, &se) {
			reason := "token refresh failed: " + se.Code
			if serr := t.store.SetIntegrationStatus(ctx, id, store.IntegrationNeedsReinstall, reason); serr != nil {
				t.log.Error("mark integration", "integration_id", id, "err", serr)
			}
			t.log.Warn("slack token refresh refused", "integration_id", id, "slack_error", se.Code)
			return nil, &InactiveError{triage.Errorf(triage.EINVALID, "the Slack workspace %s needs a reinstall (%s)", in.Name, reason)}
		}
		return nil, err
	}
	accessEnc, err := t.box.Seal(resp.AccessToken)
	if err != nil {
		return nil, fmt.Errorf("seal access token: %w", err)
	}
	refreshEnc, expires := "", time.Time{}
	if resp.RefreshToken != "" {
		if refreshEnc, err = t.box.Seal(resp.RefreshToken); err != nil {
			return nil, fmt.Errorf("seal refresh token: %w", err)
		}
		if resp.ExpiresIn > 0 {
			expires = t.now().Add(time.Duration(resp.ExpiresIn) * time.Second)
		}
	}
	ok, err := t.store.UpdateIntegrationTokens(ctx, id, in.RefreshTokenEnc, accessEnc, refreshEnc, expires)
	if err != nil {
		return nil, err
	}
	if !ok {
		t.log.Info("slack token rotated elsewhere first", "integration_id", id)
	}
	return t.store.IntegrationByID(ctx, id)
}
