package invite

import (
	"context"

	"triage"
	mailer "triage/internal/mail"
)

var inviteEmail = mailer.MustTemplate(
	`{{.Inviter}} invited you to {{.Org}} on Triage`,
	`{{.Inviter}} invited you to join {{.Org}} on Triage as {{.Article}} {{.Role}}.

Accept the invite:
{{.URL}}

The link works once and until {{.Expires}}. If you did not expect this
invite, ignore this email.
`,
	`<p>{{.Inviter}} invited you to join <strong>{{.Org}}</strong> on Triage as {{.Article}} {{.Role}}.</p>
<p><a href="{{.URL}}" id="accept" style="display: inline-block; padding: 8px 16px; background: #1f6feb; color: #fff; border-radius: 6px; text-decoration: none">Accept the invite</a></p>
<p style="color: #59636e">Or open this link: {{.URL}}<br>It works once and until {{.Expires}}. If you did not expect this invite, ignore this email.</p>`)

var _ mailer.Composer = (*Service)(nil)

// Compose writes the invite email, with a freshly signed link. An invite
// revoked, used or expired since is ENOTFOUND: nothing to send.
func (s *Service) Compose(ctx context.Context, ref int64, to string) (mailer.Message, error) {
	inv, err := s.store.InviteByID(ctx, ref)
	if err != nil {
		return mailer.Message{}, err
	}
	if !inv.AcceptedAt.IsZero() || !s.now().Before(inv.ExpiresAt) || inv.Email != to {
		return mailer.Message{}, triage.Errorf(triage.ENOTFOUND, "invite no longer pending")
	}
	org, err := s.store.OrganizationByID(ctx, inv.OrgID)
	if err != nil {
		return mailer.Message{}, err
	}
	inviter := "The administrator of Triage"
	if inv.InvitedBy != 0 {
		if u, err := s.store.UserByID(ctx, inv.InvitedBy); err == nil {
			inviter = u.DisplayName()
		} else if triage.ErrorCode(err) != triage.ENOTFOUND {
			return mailer.Message{}, err
		}
	}
	link, err := s.link(inv.ID)
	if err != nil {
		return mailer.Message{}, err
	}
	article := "a"
	if inv.Role == triage.RoleAdmin || inv.Role == triage.RoleOwner {
		article = "an"
	}
	return inviteEmail.Render(to, map[string]any{
		"Inviter": inviter, "Org": org.Name, "Role": string(inv.Role), "Article": article, "URL": link,
		"Expires": inv.ExpiresAt.UTC().Format("January 2, 2006 15:04 UTC"),
	})
}

// Failed records on the invite that its email could not be sent, for the
// invites page.
func (s *Service) Failed(ctx context.Context, ref int64, _ string, reason string) error {
	return s.store.SetInviteEmailStatus(ctx, ref, "failed: "+reason)
}

// Sent records on the invite that its email went out.
func (s *Service) Sent(ctx context.Context, ref int64, _ string) error {
	return s.store.SetInviteEmailStatus(ctx, ref, "sent")
}
