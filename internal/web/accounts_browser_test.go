package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"triage/internal/testutil/browser"
	"triage/internal/testutil/mailpit"
)

// The tests below take many steps, each a page load: they get longer than
// browser.DefaultTimeout, which a loaded machine can exceed.

// TestBrowserInviteAccept is what people do, on both engines: an owner
// invites someone into team backend from the settings page; the invitee
// opens the emailed link, creates an account, and sees the project's
// issues.
func TestBrowserInviteAccept(t *testing.T) {
	t.Parallel()
	mp := mailpit.New(t)
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			browserInviteAccept(t, setupWith(t, engine, options{mail: mp}), mp)
		})
	}
}

func browserInviteAccept(t *testing.T, b *bundle, mp *mailpit.Server) {
	ctx := browser.NewTimeout(t, 3*time.Minute)
	text, click := textReader(t, ctx), pageClicker(t, ctx)
	navigate := func(u string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
			t.Fatalf("open %s: %v", u, err)
		}
	}
	typeIn := func(sel, v string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(sel), v)); err != nil {
			t.Fatalf("type in %s: %v", sel, err)
		}
	}

	navigate(b.url + "/auth/login/")
	typeIn("#email", "alice@example.com")
	typeIn("#password", testPassword)
	click("#login")
	navigate(b.url + "/organizations/acme/settings/members/")
	click("#invite-people")
	to := mailpit.Address(t, "newcomer")
	typeIn("#email", to)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#teams input[value="backend"]`))); err != nil {
		t.Fatal(err)
	}
	click("#invite")
	if got := text("#invite-emailed"); !strings.Contains(got, to) {
		t.Fatalf("after inviting: %q", got)
	}
	if got := text("#pending-invites"); !strings.Contains(got, to) || !strings.Contains(got, "backend") {
		t.Errorf("pending invites: %q", got)
	}
	click("#logout")

	msg := mp.Wait(t, to, 1)[0]
	links := msg.Links()
	if len(links) != 1 {
		t.Fatalf("links in the invite: %v", links)
	}
	navigate(links[0])
	if got := text("#invite-summary"); !strings.Contains(got, "Acme") || !strings.Contains(got, "Backend") {
		t.Errorf("invite page: %q", got)
	}
	typeIn("#name", "Newcomer")
	typeIn("#password", "newcomer's password")
	click("#accept")
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if loc != b.url+"/organizations/acme/issues/" {
		t.Fatalf("after accepting the browser is at %s", loc)
	}
	if got := text("#flash"); got != "Welcome to Acme." {
		t.Errorf("flash: %q", got)
	}
	if got := text("#issues"); !strings.Contains(got, "TypeError: x is undefined") {
		t.Errorf("the new member does not see project web's issues: %q", got)
	}
	if got := text(".who"); got != to {
		t.Errorf("logged in as %q, want %s", got, to)
	}
}

// TestBrowserPasswordReset: from the login page, through the mailed link,
// to a new password that logs in, on both engines.
func TestBrowserPasswordReset(t *testing.T) {
	t.Parallel()
	mp := mailpit.New(t)
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			browserPasswordReset(t, setupWith(t, engine, options{mail: mp}), mp)
		})
	}
}

func browserPasswordReset(t *testing.T, b *bundle, mp *mailpit.Server) {
	u := b.resetUser(t, "browserreset")
	ctx := browser.NewTimeout(t, 3*time.Minute)
	text, click := textReader(t, ctx), pageClicker(t, ctx)
	typeIn := func(sel, v string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(sel), v)); err != nil {
			t.Fatalf("type in %s: %v", sel, err)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(b.url+"/auth/login/")); err != nil {
		t.Fatal(err)
	}
	click("#forgot-password")
	typeIn("#email", u.Email)
	click("#send-reset")
	if got := text("#reset-sent"); !strings.Contains(got, u.Email) {
		t.Fatalf("after asking: %q", got)
	}
	links := mp.Wait(t, u.Email, 1)[0].Links()
	if len(links) != 1 {
		t.Fatalf("links in the email: %v", links)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(links[0])); err != nil {
		t.Fatal(err)
	}
	typeIn("#password", "the new password")
	click("#set-password")
	if got := text("#flash"); !strings.Contains(got, "Your password is set") {
		t.Errorf("flash: %q", got)
	}
	click("#logout")
	typeIn("#email", u.Email)
	typeIn("#password", "the new password")
	click("#login")
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if loc != b.url+"/organizations/acme/issues/" {
		t.Errorf("logging in with the new password lands at %s", loc)
	}
}
