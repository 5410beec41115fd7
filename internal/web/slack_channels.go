package web

import (
	"net/http"

	"triage"
	"triage/internal/alert"
)

// The organization's Slack channels page: what each channel follows.
//
//	GET   /organizations/{org}/settings/slack/
//	POST  /organizations/{org}/settings/slack/subscriptions/{id}/         (query=…)
//	POST  /organizations/{org}/settings/slack/subscriptions/{id}/delete/
//
// Channel subscriptions (/triage subscribe) are listed with their query,
// which anyone who may see the project can change or remove, as in Slack;
// teams linked to channels (/triage link team) are listed beside them.

// maxChannelForm bounds the subscription form's body.
const maxChannelForm = 16 << 10

func slackChannelsURL(org *triage.Organization) string {
	return "/organizations/" + org.Slug + "/settings/slack/"
}

func (s *Server) handleSlackChannels() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderSlackChannels(w, r, http.StatusOK, 0, "", "")
	})
}

// renderSlackChannels shows the page; a refused query (for subscription
// failed) is shown next to it, as typed.
func (s *Server) renderSlackChannels(w http.ResponseWriter, r *http.Request, status int, failed int64, typed, problem string) {
	type row struct {
		*alert.Subscription
		Typed, Error string
	}
	type data struct {
		Subscriptions []row
		Teams         []*triage.TeamChannel
	}
	ctx, u := r.Context(), CurrentUser(r)
	org, _, err := s.orgMember(ctx, r, u)
	if err == nil && s.d.Alerts == nil {
		err = triage.Errorf(triage.ENOTIMPLEMENTED, "Slack channels are not available on this server.")
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	subs, teams, err := s.d.Alerts.OrgFollows(ctx, u.ID, org)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	d := data{Teams: teams}
	for _, sub := range subs {
		rw := row{Subscription: sub, Typed: sub.Query}
		if sub.ID == failed {
			rw.Typed, rw.Error = typed, problem
		}
		d.Subscriptions = append(d.Subscriptions, rw)
	}
	s.render(w, r, status, "slack_channels.html", &view{Title: "Slack channels", Org: org, Nav: "settings", Data: d})
}

func (s *Server) handleSubscriptionUpdate(remove bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, u := r.Context(), CurrentUser(r)
		org, _, err := s.orgMember(ctx, r, u)
		if err == nil && s.d.Alerts == nil {
			err = triage.Errorf(triage.ENOTIMPLEMENTED, "Slack channels are not available on this server.")
		}
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		id, err := parseID(r.PathValue("id"), "subscription")
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxChannelForm)
		if err := r.ParseForm(); err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		if remove {
			err = s.d.Alerts.DeleteSubscription(ctx, u.ID, org, id)
		} else {
			query := r.PostForm.Get("query")
			err = s.d.Alerts.UpdateSubscription(ctx, u.ID, org, id, query)
			if triage.ErrorCode(err) == triage.EINVALID {
				s.renderSlackChannels(w, r, http.StatusBadRequest, id, query, triage.ErrorMessage(err))
				return
			}
		}
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		if remove {
			s.flash(r, "Subscription removed: the channel no longer gets that project's issues.")
		} else {
			s.flash(r, "Subscription saved.")
		}
		http.Redirect(w, r, slackChannelsURL(org), http.StatusSeeOther)
	})
}
