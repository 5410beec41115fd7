package web

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// Login throttling. Guessing passwords costs an attacker a growing wait,
// per account and per client address, and never locks anyone out for
// good: a wait is at most loginMaxDelay and the count of failures is
// forgotten loginForget after the last one.
//
// Password checks are expensive on purpose (argon2id: 64 MiB and about
// 170 ms each), so only loginSlots run at once. A flood of wrong passwords
// must not keep a real user from logging in: a check for an account (and
// from an address) with no recent failures may take any slot, while the
// others take turns on one, so slots (and most of the CPU) are left for the
// former.
const (
	loginSlots = 4
	// loginFreeAccount and loginFreeAddr are the failures allowed before
	// each further attempt must wait: per account (any address) and per
	// client address (any account).
	loginFreeAccount = 10
	loginFreeAddr    = 30
	loginMaxDelay    = time.Minute
	loginForget      = 15 * time.Minute
	// loginSuspectAddr is the failures from an address that make its
	// checks queue behind clean ones.
	loginSuspectAddr = 1
)

// PasswordCheckMemory is the most memory password checks hold at once:
// argon2id's 64 MiB for each slot.
const PasswordCheckMemory = loginSlots * 64 << 20

type failures struct {
	count int
	last  time.Time
}

// loginThrottle counts failed logins in this process's memory. Several
// processes behind a load balancer each count their own, which multiplies
// an attacker's rate by their number; the delays still grow.
type loginThrottle struct {
	now func() time.Time

	mu       sync.Mutex
	accounts map[string]*failures
	addrs    map[string]*failures
	swept    time.Time

	any     chan struct{} // loginSlots tokens: any check
	suspect chan struct{} // 1 token: checks with recent failures
}

func newLoginThrottle(now func() time.Time) *loginThrottle {
	return &loginThrottle{now: now, accounts: map[string]*failures{}, addrs: map[string]*failures{},
		any: make(chan struct{}, loginSlots), suspect: make(chan struct{}, 1)}
}

// delay is how long after its last failure a key may try again: nothing
// for the first free failures, then 1 s doubling up to loginMaxDelay.
func delay(f *failures, free int) time.Duration {
	if f == nil || f.count < free {
		return 0
	}
	d := time.Second << min(f.count-free, 6)
	return min(d, loginMaxDelay)
}

// wait tells how long the caller must wait before trying account from
// addr (0: go ahead), and whether its check is suspect.
func (t *loginThrottle) wait(account, addr string) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweep(now)
	acc, ad := t.accounts[account], t.addrs[addr]
	var w time.Duration
	if acc != nil {
		w = max(w, acc.last.Add(delay(acc, loginFreeAccount)).Sub(now))
	}
	if ad != nil {
		w = max(w, ad.last.Add(delay(ad, loginFreeAddr)).Sub(now))
	}
	suspect := acc != nil || (ad != nil && ad.count >= loginSuspectAddr)
	return max(w, 0), suspect
}

// failed records a wrong password; account "" records only the address
// (a login that found no free slot: its address is taking part in a
// flood, and should not keep competing with clean checks).
func (t *loginThrottle) failed(account, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	count := func(m map[string]*failures, k string) {
		f := m[k]
		if f == nil {
			f = &failures{}
			m[k] = f
		}
		f.count++
		f.last = now
	}
	count(t.addrs, addr)
	if account != "" {
		count(t.accounts, account)
	}
}

// succeeded forgets the account's failures: its owner is back. The
// address keeps its count, so that an attacker cannot clear it by logging
// into an account of their own.
func (t *loginThrottle) succeeded(account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.accounts, account)
}

// sweep drops failures older than loginForget, at most once a minute.
func (t *loginThrottle) sweep(now time.Time) {
	if now.Sub(t.swept) < time.Minute {
		return
	}
	t.swept = now
	for _, m := range []map[string]*failures{t.accounts, t.addrs} {
		for k, f := range m {
			if now.Sub(f.last) > loginForget {
				delete(m, k)
			}
		}
	}
}

// slot takes a password-check slot (suspect checks leave one free) and
// returns its release.
func (t *loginThrottle) slot(ctx context.Context, suspect bool) (func(), error) {
	if suspect {
		select {
		case t.suspect <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	select {
	case t.any <- struct{}{}:
	case <-ctx.Done():
		if suspect {
			<-t.suspect
		}
		return nil, ctx.Err()
	}
	return func() {
		<-t.any
		if suspect {
			<-t.suspect
		}
	}, nil
}

// clientAddr is the address a login is counted against: the peer's IP.
// Triage does not read X-Forwarded-For (anyone can send it); behind a
// proxy every login counts against the proxy's address, which the
// per-address limit allows for by being looser than the per-account one.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
