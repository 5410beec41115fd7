package slack

import (
	"context"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"

	"triage"
)

// IntegrationJSON is one workspace in GET /api/0/organizations/{org}/integrations/.
// It has no field that could hold a token.
type IntegrationJSON struct {
	ID         string `json:"id"`
	Provider   string `json:"provider"`
	ExternalID string `json:"externalId"`
	Name       string `json:"name"`
	DomainName string `json:"domainName"`
	Icon       string `json:"icon"`
	Status     string `json:"status"`
}

// IntegrationsJSON lists the organization's workspaces in DESIGN's shape.
func (i *Integration) IntegrationsJSON(ctx context.Context, orgID int64) (any, error) {
	list, err := i.d.Store.IntegrationsForOrg(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]IntegrationJSON, 0, len(list))
	for _, in := range list {
		out = append(out, IntegrationJSON{
			ID: strconv.FormatInt(in.ID, 10), Provider: in.Provider, ExternalID: in.ExternalID,
			Name: in.Name, DomainName: in.DomainName, Icon: in.Icon, Status: in.Status,
		})
	}
	return out, nil
}

// scopeFeatures are the features that need a scope Triage did not ask for
// when it was first released: a workspace installed before keeps working
// for everything else, and its settings row lists these until someone
// reinstalls (Slack then grants the new scopes).
var scopeFeatures = []struct{ Scope, Feature string }{
	{"channels:history", "replies in the threads of cards in public channels become comments"},
	{"groups:history", "replies in the threads of cards in private channels become comments"},
}

// MissingFeatures lists the features the granted scopes (as stored at
// install: comma or space separated) do not allow.
func MissingFeatures(granted string) []string {
	have := map[string]bool{}
	for _, s := range strings.FieldsFunc(granted, func(r rune) bool { return r == ',' || r == ' ' }) {
		have[s] = true
	}
	var out []string
	for _, f := range scopeFeatures {
		if !have[f.Scope] {
			out = append(out, f.Feature)
		}
	}
	return out
}

var statusText = map[string]string{
	triage.IntegrationActive:         "Active",
	triage.IntegrationNeedsReinstall: "Needs reinstall",
	triage.IntegrationDisabled:       "Disabled",
}

// SettingsSection is the Slack block of the organization settings page:
// its workspaces with their status, an install button for admins, and the
// user's own linked Slack accounts with unlink buttons.
func (i *Integration) SettingsSection(ctx context.Context, org *triage.Organization, user *triage.User, member *triage.Member) (template.HTML, error) {
	list, err := i.d.Store.IntegrationsForOrg(ctx, org.ID)
	if err != nil {
		return "", err
	}
	type ws struct {
		TeamID, Name, Domain, Icon, Status, StatusText, Reason, RemoveURL string
		// Missing lists what the workspace's scopes do not allow yet.
		Missing []string
	}
	type ident struct {
		SlackUser, Workspace string
		UnlinkURL            template.URL
	}
	byID := map[int64]*triage.Integration{}
	var rows []ws
	for _, in := range list {
		byID[in.ID] = in
		rows = append(rows, ws{in.ExternalID, in.Name, in.DomainName, in.Icon, in.Status, statusText[in.Status], in.StatusReason,
			fmt.Sprintf("/organizations/%s/integrations/slack/%d/remove/", url.PathEscape(org.Slug), in.ID), MissingFeatures(in.Scopes)})
	}
	var idents []ident
	if user != nil {
		ids, err := i.d.Store.IdentitiesForUser(ctx, user.ID)
		if err != nil {
			return "", err
		}
		for _, id := range ids {
			in := byID[id.IntegrationID]
			if in == nil {
				continue
			}
			u, err := i.UnlinkURL(LinkParams{IntegrationID: in.ID, SlackUserID: id.ExternalID})
			if err != nil {
				return "", err
			}
			idents = append(idents, ident{id.ExternalID, in.Name, template.URL(u)})
		}
	}
	return render("settings", map[string]any{
		"Workspaces": rows, "Identities": idents, "Socket": i.SocketState(),
		"Admin":      member != nil && member.Role.CanAdmin(),
		"Configured": i.d.Config.SlackConfigured(),
		"InstallURL": fmt.Sprintf("/organizations/%s/integrations/slack/setup/", url.PathEscape(org.Slug)),
	})
}
