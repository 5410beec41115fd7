package access

import "triage"

// RequireRoleGrant returns EFORBIDDEN unless m may give someone role in
// org (inviting them with it): owners give any role, admins member and
// admin, members none. doing ends the refusal as in AdminOrg.
func RequireRoleGrant(org *triage.Organization, m *triage.Member, role triage.Role, doing string) error {
	if err := RequireAdmin(org, m, doing); err != nil {
		return err
	}
	if role == triage.RoleOwner && m.Role != triage.RoleOwner {
		return triage.Errorf(triage.EFORBIDDEN, "Only an owner of %s can make someone an owner.", org.Name)
	}
	return nil
}
