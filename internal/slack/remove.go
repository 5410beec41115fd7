package slack

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"triage"
)

// Remove detaches a workspace from an organization (POST, org owner or
// admin). The workspace stays installed for any other organization it
// serves; its people's links stay, so re-adding it needs no relinking.
func (i *Integration) Remove() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, org, ok := i.adminOrg(w, r)
		if !ok {
			return
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			i.errorPage(w, r, http.StatusNotFound, "Not found", "There is no such Slack workspace here.", "")
			return
		}
		err = i.d.Store.DetachIntegration(r.Context(), org.ID, id)
		if triage.ErrorCode(err) == triage.ENOTFOUND {
			i.errorPage(w, r, http.StatusNotFound, "Not found", "There is no such Slack workspace here.", "")
			return
		} else if err != nil {
			i.internalError(w, r, "detach integration", err)
			return
		}
		i.log.Info("slack workspace removed from organization", "org", org.Slug, "integration_id", id, "user_id", user.ID)
		http.Redirect(w, r, fmt.Sprintf("/organizations/%s/settings/", url.PathEscape(org.Slug)), http.StatusSeeOther)
	})
}
