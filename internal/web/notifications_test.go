package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The notification settings page: what a person sees, what saving does,
// and what it refuses (another organization's project, a cross-site post).
func TestNotificationSettingsPage(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			b := setup(t, engine)
			c := b.client()
			if r := b.get(c, "/account/notifications/"); r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "/auth/login/") {
				t.Fatalf("logged out: %d %s", r.status, r.header.Get("Location"))
			}
			b.login(c, "bob")
			r := b.get(c, "/account/notifications/")
			if r.status != http.StatusOK || !strings.Contains(r.body, `id="dm-assigned" checked`) || !strings.Contains(r.body, `id="dm-comments" checked`) ||
				!strings.Contains(r.body, "acme / web") || strings.Contains(r.body, "other / secret") {
				t.Fatalf("page: %d\n%s", r.status, r.body)
			}
			same := []string{"Origin", b.url, "Sec-Fetch-Site", "same-origin"}
			r = b.post(c, "/account/notifications/", url.Values{"regressed": {"on"}, "project": {itoa(b.web.ID)}}, same...)
			if r.status != http.StatusSeeOther {
				t.Fatalf("save: %d %s", r.status, r.body)
			}
			set, err := b.store.DMSettings(t.Context(), b.bob.ID)
			if err != nil || set.Assigned || !set.Regressed || set.Comments || len(set.ProjectIDs) != 1 || set.ProjectIDs[0] != b.web.ID {
				t.Fatalf("saved %+v, %v", set, err)
			}
			if r := b.get(c, "/account/notifications/"); !strings.Contains(r.body, "saved") || strings.Contains(r.body, `id="dm-assigned" checked`) ||
				!strings.Contains(r.body, `id="dm-project-`+itoa(b.web.ID)+`" checked`) {
				t.Errorf("page after saving:\n%s", r.body)
			}
			// Another organization's project: 400 naming the field, nothing saved.
			r = b.post(c, "/account/notifications/", url.Values{"assigned": {"on"}, "project": {itoa(b.secret.ProjectID)}}, same...)
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, "project:") {
				t.Errorf("foreign project: %d\n%s", r.status, r.body)
			}
			if set, _ := b.store.DMSettings(t.Context(), b.bob.ID); set.Assigned {
				t.Error("a refused form was saved")
			}
			// A cross-site post is refused.
			r = b.post(c, "/account/notifications/", url.Values{"assigned": {"on"}}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
			if r.status != http.StatusForbidden {
				t.Errorf("cross-site post: %d", r.status)
			}
			if set, _ := b.store.DMSettings(t.Context(), b.bob.ID); set.Assigned {
				t.Error("a cross-site post was saved")
			}
		})
	}
}
