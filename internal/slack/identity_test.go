package slack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"triage/internal/slack"
	"triage/internal/store"
	"triage/internal/testutil/dbtest"
)

func TestLinkIdentity(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s, "v2")
		ctx := context.Background()
		in := b.install(b.owner, "T1", "U1")

		respURL := b.fake.NewResponseURL("T1", "C1", "U2")
		link, err := b.integ.LinkURL(slack.LinkParams{IntegrationID: in.ID, SlackUserID: "U2", ChannelID: "C1", ResponseURL: respURL})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(link, prefix+"/extensions/slack/link-identity/") {
			t.Fatalf("link = %q", link)
		}

		// Logged out: to login, and back.
		w := b.do("GET", link, nil, nil)
		if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "next=%2Fextensions%2Fslack%2Flink-identity%2F") {
			t.Errorf("logged out: %d %q", w.Code, w.Header().Get("Location"))
		}
		// An outsider: 404, nothing linked.
		if w := b.do("GET", link, b.outsider, nil); w.Code != http.StatusNotFound {
			t.Errorf("outsider GET: %d", w.Code)
		}
		if w := b.do("POST", link, b.outsider, nil); w.Code != http.StatusNotFound || b.linkedUser(in, "U2") != 0 {
			t.Errorf("outsider POST: %d", w.Code)
		}
		// The member: a confirm page naming workspace and organization.
		w = b.do("GET", link, b.member, nil)
		if body := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(body, "Acme Slack") ||
			!strings.Contains(body, "Acme Inc") || !strings.Contains(body, `method="post"`) {
			t.Fatalf("confirm page: %d %s", w.Code, body)
		}
		if b.linkedUser(in, "U2") != 0 {
			t.Fatal("GET linked")
		}
		w = b.do("POST", link, b.member, nil)
		if body := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(body, "slack://channel?id=C1&amp;team=T1") {
			t.Fatalf("link POST: %d %s", w.Code, body)
		}
		if b.linkedUser(in, "U2") != b.member.ID {
			t.Fatal("not linked")
		}
		posts := b.fake.ResponseURLPosts(respURL)
		if len(posts) != 1 || posts[0].Status != http.StatusOK {
			t.Fatalf("response URL posts = %+v", posts)
		}
		var msg map[string]any
		_ = json.Unmarshal(posts[0].Body, &msg)
		if msg["response_type"] != "ephemeral" || msg["replace_original"] != false || !strings.Contains(msg["text"].(string), "member@example.com") {
			t.Errorf("confirmation = %s", posts[0].Body)
		}

		// Relinking moves the link on both sides: the owner (U1) takes U2.
		relink, _ := b.integ.LinkURL(slack.LinkParams{IntegrationID: in.ID, SlackUserID: "U2", ChannelID: "C1"})
		if w := b.do("POST", relink, b.owner, nil); w.Code != http.StatusOK {
			t.Fatalf("relink: %d %s", w.Code, w.Body)
		}
		if b.linkedUser(in, "U2") != b.owner.ID || b.linkedUser(in, "U1") != 0 {
			t.Error("newest link did not win on both sides")
		}
		// Without a response URL the confirmation is an ephemeral message.
		if calls := b.fake.Calls("chat.postEphemeral"); len(calls) != 1 || calls[0].Error != "" || calls[0].Params["user"] != "U2" ||
			!strings.Contains(calls[0].Params["text"], "owner@example.com") {
			t.Errorf("chat.postEphemeral calls = %+v", calls)
		}
		// Without a channel either, a direct message.
		dm, _ := b.integ.LinkURL(slack.LinkParams{IntegrationID: in.ID, SlackUserID: "U3"})
		if w := b.do("POST", dm, b.admin, nil); w.Code != http.StatusOK {
			t.Fatalf("dm link: %d", w.Code)
		}
		if calls := b.fake.Calls("chat.postMessage"); len(calls) != 1 || calls[0].Error != "" || len(b.fake.Calls("conversations.open")) != 1 {
			t.Errorf("direct message calls = %+v", calls)
		}

		// Unlink: GET confirms, POST unlinks.
		unlink, _ := b.integ.UnlinkURL(slack.LinkParams{IntegrationID: in.ID, SlackUserID: "U2", ChannelID: "C1"})
		if w := b.do("GET", unlink, b.owner, nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Unlink") {
			t.Errorf("unlink GET: %d", w.Code)
		}
		if w := b.do("POST", unlink, b.member, nil); w.Code != http.StatusForbidden || b.linkedUser(in, "U2") != b.owner.ID {
			t.Errorf("someone else's unlink: %d", w.Code)
		}
		if w := b.do("POST", unlink, b.owner, nil); w.Code != http.StatusOK || b.linkedUser(in, "U2") != 0 {
			t.Errorf("unlink POST: %d", w.Code)
		}

		// Bad links: 400 with how to get a new one, nothing changed.
		// Tamper with one character of the signature, always changing it.
		flip := "A"
		if link[len(link)-5] == 'A' {
			flip = "B"
		}
		bad := map[string]string{
			"tampered":       link[:len(link)-5] + flip + link[len(link)-4:],
			"unlink purpose": strings.Replace(unlink, "unlink-identity", "link-identity", 1),
		}
		for name, u := range bad {
			w := b.do("POST", u, b.member, nil)
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "/triage link") {
				t.Errorf("%s: %d %s", name, w.Code, w.Body)
			}
		}
		b.clock.Advance(49 * time.Hour)
		w = b.do("GET", link, b.member, nil)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "expired") {
			t.Errorf("expired: %d %s", w.Code, w.Body)
		}
		if b.linkedUser(in, "U2") != 0 {
			t.Error("a bad link changed the identity")
		}

		// Detached from the organization: 404.
		fresh, _ := b.integ.LinkURL(slack.LinkParams{IntegrationID: in.ID, SlackUserID: "U2"})
		if err := s.DetachIntegration(ctx, b.org.ID, in.ID); err != nil {
			t.Fatal(err)
		}
		if w := b.do("GET", fresh, b.member, nil); w.Code != http.StatusNotFound {
			t.Errorf("detached: %d", w.Code)
		}
	})
}

func TestLinkForNamedOrganization(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s, "v2")
		ctx := context.Background()
		in := b.install(b.owner, "T1", "U1")
		other, err := s.CreateOrganization(ctx, "other", "Other", b.outsider.ID)
		if err != nil {
			t.Fatal(err)
		}
		_ = s.AttachIntegration(ctx, other.ID, in.ID)
		// The outsider belongs to "other", which the workspace is attached
		// to, but the link names acme: 404.
		link, _ := b.integ.LinkURL(slack.LinkParams{IntegrationID: in.ID, SlackUserID: "U3", OrgID: b.org.ID})
		if w := b.do("GET", link, b.outsider, nil); w.Code != http.StatusNotFound {
			t.Errorf("named org, not a member: %d", w.Code)
		}
		open, _ := b.integ.LinkURL(slack.LinkParams{IntegrationID: in.ID, SlackUserID: "U3"})
		if w := b.do("GET", open, b.outsider, nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Other") {
			t.Errorf("any attached org: %d", w.Code)
		}
	})
}
