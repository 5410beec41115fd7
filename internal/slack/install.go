package slack

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"triage"
	"triage/internal/access"
	"triage/internal/slack/webapi"
	"triage/internal/store"
)

// BotScopes are the bot scopes Triage asks for (SLACK.md §2), a fresh
// slice each call.
func BotScopes() []string {
	return []string{
		"channels:read", "groups:read", "chat:write", "chat:write.public", "commands",
		"links:read", "links:write", "team:read", "users:read", "users:read.email", "im:write",
		"channels:history", "groups:history",
	}
}

// stateLifetime bounds how long a person may take on Slack's consent page.
const stateLifetime = 10 * time.Minute

func hashState(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// adminOf checks through access.Service that the user may connect a
// workspace to org (an owner or admin), answering 404 (not a member) or
// 403 (not an admin) itself; ok is false when it did.
func (i *Integration) adminOf(w http.ResponseWriter, r *http.Request, user *triage.User, org *triage.Organization) bool {
	m, err := i.d.Access.Member(r.Context(), org, user.ID)
	if err == nil {
		err = access.RequireAdmin(org, m, installDoing)
	}
	return i.allowed(w, r, err)
}

// installDoing ends access's refusal: "Only an owner or admin of Acme can …".
const installDoing = "connect a Slack workspace to it"

// allowed answers an access refusal (404 for those outside the
// organization, 403 for members who are not admins) and reports whether
// err is nil.
func (i *Integration) allowed(w http.ResponseWriter, r *http.Request, err error) bool {
	switch triage.ErrorCode(err) {
	case "":
		return true
	case triage.ENOTFOUND:
		i.errorPage(w, r, http.StatusNotFound, "Not found", "There is no such organization.", "")
	case triage.EFORBIDDEN:
		i.errorPage(w, r, http.StatusForbidden, "Not allowed", triage.ErrorMessage(err), "Ask one of them to install Triage in Slack.")
	default:
		i.internalError(w, r, "check access", err)
	}
	return false
}

// InstallStart redirects an organization admin to Slack's consent page with
// a single-use state bound to them and the organization.
func (i *Integration) InstallStart() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, org, ok := i.adminOrg(w, r)
		if !ok {
			return
		}
		if !i.d.Config.SlackConfigured() {
			i.errorPage(w, r, http.StatusServiceUnavailable, "Slack is not configured",
				"Slack is not configured on this server: set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET.", "")
			return
		}
		raw := make([]byte, 32)
		_, _ = rand.Read(raw)
		state := base64.RawURLEncoding.EncodeToString(raw)
		if err := i.d.Store.CreateOAuthState(r.Context(), hashState(state), user.ID, org.ID, i.now().Add(stateLifetime)); err != nil {
			i.internalError(w, r, "store OAuth state", err)
			return
		}
		http.Redirect(w, r, i.authorizeURL(state), http.StatusFound)
	})
}

func (i *Integration) workspaceFlow() bool { return i.d.Config.SlackOAuthFlow == "workspace" }

func (i *Integration) authorizeURL(state string) string {
	u, err := url.Parse(i.d.Config.SlackAuthorizeURL)
	if err != nil { // Config.Validate refuses such a URL
		u = &url.URL{Scheme: "https", Host: "slack.com", Path: "/oauth/v2/authorize"}
	}
	q := u.Query()
	q.Set("client_id", i.d.Config.SlackClientID)
	if i.workspaceFlow() {
		q.Set("scope", strings.Join(BotScopes(), " "))
	} else {
		q.Set("scope", strings.Join(BotScopes(), ","))
		q.Set("user_scope", "")
	}
	q.Set("redirect_uri", i.redirectURI())
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String()
}

// grant is what an OAuth exchange yields, whichever the flow.
type grant struct {
	TeamID, TeamName          string
	AccessToken, RefreshToken string
	ExpiresIn                 int
	Scope, BotUserID, AppID   string
	InstallerID               string
	InstallType               string
}

// InstallCallback finishes an install: it checks the state, exchanges the
// code, reads the team, and stores everything in one transaction. Any
// failure shows a page and stores nothing.
func (i *Integration) InstallCallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := i.currentUser(w, r)
		if user == nil {
			return
		}
		ctx := r.Context()
		q := r.URL.Query()
		const retry = "Start the installation again from your organization's settings."
		state := q.Get("state")
		if state == "" {
			i.errorPage(w, r, http.StatusBadRequest, "Installation failed", "The request from Slack carries no state.", retry)
			return
		}
		orgID, err := i.d.Store.ConsumeOAuthState(ctx, hashState(state), user.ID, i.now())
		if triage.ErrorCode(err) == triage.EINVALID {
			i.errorPage(w, r, http.StatusBadRequest, "Installation failed",
				"This installation link is invalid, expired, already used, or was started by someone else.", retry)
			return
		} else if err != nil {
			i.internalError(w, r, "consume OAuth state", err)
			return
		}
		if e := q.Get("error"); e != "" {
			msg := "Slack did not grant access (" + e + ")."
			if e == "access_denied" {
				msg = "The installation was cancelled on Slack's page, so nothing was installed."
			}
			i.errorPage(w, r, http.StatusBadRequest, "Installation cancelled", msg, retry)
			return
		}
		code := q.Get("code")
		if code == "" {
			i.errorPage(w, r, http.StatusBadRequest, "Installation failed", "The request from Slack carries no code.", retry)
			return
		}
		org, err := i.d.Store.OrganizationByID(ctx, orgID)
		if err != nil {
			i.internalError(w, r, "load organization", err)
			return
		}
		if !i.adminOf(w, r, user, org) {
			return
		}
		g, err := i.exchange(ctx, code)
		if err == nil {
			var in *triage.Integration
			in, err = i.buildIntegration(ctx, g)
			if err == nil {
				err = i.storeInstall(ctx, org.ID, user.ID, in, g.InstallerID)
				if err == nil {
					i.log.Info("slack workspace installed", "org_id", org.ID, "team_id", g.TeamID, "install_type", g.InstallType)
					i.page(w, r, http.StatusOK, "Slack connected", "installed", map[string]any{
						"Workspace": in.Name, "Org": org.Name, "Installer": g.InstallerID != "",
						"Bot": "triage", "SettingsURL": orgSettingsPath(org.Slug),
					})
					return
				}
			}
		}
		var se *webapi.Error
		if errors.As(err, &se) {
			i.log.Warn("slack install refused by slack", "org_id", org.ID, "slack_error", se.Code)
			i.errorPage(w, r, http.StatusBadGateway, "Installation failed",
				"Slack refused the installation: "+se.Code+".", retry)
			return
		}
		i.log.Error("slack install", "org_id", org.ID, "err", err)
		i.errorPage(w, r, http.StatusBadGateway, "Installation failed",
			"Triage could not complete the installation with Slack.", retry)
	})
}

// exchange trades the code for tokens on the configured flow.
func (i *Integration) exchange(ctx context.Context, code string) (*grant, error) {
	if i.workspaceFlow() {
		return i.exchangeWorkspace(ctx, code)
	}
	cfg := i.d.Config
	resp, err := slack.GetOAuthV2ResponseContext(ctx, i.d.HTTPClient, cfg.SlackClientID, cfg.SlackClientSecret,
		code, i.redirectURI(), slack.OAuthOptionAPIURL(cfg.SlackAPIURL))
	if err != nil {
		return nil, webapi.AsError("oauth.v2.access", err)
	}
	return &grant{
		TeamID: resp.Team.ID, TeamName: resp.Team.Name,
		AccessToken: resp.AccessToken, RefreshToken: resp.RefreshToken, ExpiresIn: resp.ExpiresIn,
		Scope: resp.Scope, BotUserID: resp.BotUserID, AppID: resp.AppID,
		InstallerID: resp.AuthedUser.ID, InstallType: "v2",
	}, nil
}

// exchangeWorkspace is the seed's workspace-token exchange at oauth.token,
// which slack-go does not offer.
func (i *Integration) exchangeWorkspace(ctx context.Context, code string) (*grant, error) {
	cfg := i.d.Config
	form := url.Values{
		"client_id": {cfg.SlackClientID}, "client_secret": {cfg.SlackClientSecret},
		"code": {code}, "redirect_uri": {i.redirectURI()}, "grant_type": {"authorization_code"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.SlackAPIURL+"oauth.token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("oauth.token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := i.d.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oauth.token: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		OK                bool   `json:"ok"`
		Error             string `json:"error"`
		AccessToken       string `json:"access_token"`
		Scope             string `json:"scope"`
		AppID             string `json:"app_id"`
		AppUserID         string `json:"app_user_id"`
		InstallerUserID   string `json:"installer_user_id"`
		AuthorizingUserID string `json:"authorizing_user_id"`
		TeamID            string `json:"team_id"`
		TeamName          string `json:"team_name"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("oauth.token: HTTP %d: decode: %w", resp.StatusCode, err)
	}
	if !body.OK {
		return nil, &webapi.Error{Code: body.Error}
	}
	installer := body.InstallerUserID
	if installer == "" {
		installer = body.AuthorizingUserID
	}
	return &grant{
		TeamID: body.TeamID, TeamName: body.TeamName, AccessToken: body.AccessToken,
		Scope: body.Scope, BotUserID: body.AppUserID, AppID: body.AppID,
		InstallerID: installer, InstallType: "workspace",
	}, nil
}

// buildIntegration reads team.info and seals the tokens.
func (i *Integration) buildIntegration(ctx context.Context, g *grant) (*triage.Integration, error) {
	if g.TeamID == "" || g.AccessToken == "" {
		return nil, errors.New("oauth response lacks team id or access token")
	}
	api := i.web.API(g.AccessToken)
	team, err := api.GetTeamInfoContext(ctx)
	if err != nil {
		return nil, webapi.AsError("team.info", err)
	}
	in := &triage.Integration{
		Provider: "slack", ExternalID: g.TeamID, Name: g.TeamName, BotUserID: g.BotUserID, AppID: g.AppID,
		Scopes: g.Scope, InstallType: g.InstallType,
	}
	if team.Name != "" {
		in.Name = team.Name
	}
	if team.Domain != "" {
		in.DomainName = team.Domain + ".slack.com"
	}
	if icon, ok := team.Icon["image_132"].(string); ok {
		in.Icon = icon
	}
	if in.AccessTokenEnc, err = i.d.Box.Seal(g.AccessToken); err != nil {
		return nil, fmt.Errorf("seal access token: %w", err)
	}
	if g.RefreshToken != "" {
		if in.RefreshTokenEnc, err = i.d.Box.Seal(g.RefreshToken); err != nil {
			return nil, fmt.Errorf("seal refresh token: %w", err)
		}
		if g.ExpiresIn > 0 {
			in.TokenExpiresAt = i.now().Add(time.Duration(g.ExpiresIn) * time.Second)
		}
	}
	return in, nil
}

// storeInstall saves the workspace, attaches it and links the installer,
// all or nothing.
func (i *Integration) storeInstall(ctx context.Context, orgID, userID int64, in *triage.Integration, installer string) error {
	return i.d.Store.InTx(ctx, func(tx *store.Tx) error {
		saved, err := tx.UpsertIntegration(ctx, in)
		if err != nil {
			return err
		}
		*in = *saved
		if err := tx.AttachIntegration(ctx, orgID, saved.ID); err != nil {
			return err
		}
		if installer != "" {
			if _, err := tx.LinkIdentity(ctx, saved.ID, installer, userID); err != nil {
				return err
			}
		}
		return nil
	})
}

// adminOrg reads the logged-in user and the {org} of the path, and answers
// for the caller (login, 404, 403) unless the user is an owner or admin.
func (i *Integration) adminOrg(w http.ResponseWriter, r *http.Request) (*triage.User, *triage.Organization, bool) {
	user := i.currentUser(w, r)
	if user == nil {
		return nil, nil, false
	}
	org, _, err := i.d.Access.AdminOrg(r.Context(), user.ID, r.PathValue("org"), installDoing)
	if !i.allowed(w, r, err) {
		return nil, nil, false
	}
	return user, org, true
}
