package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
)

// SessionStore keeps scs sessions in the database, so a restart or a
// second Triage process behind the same database keeps everyone logged in.
// The token is scs's SHA-256 of the cookie value (HashTokenInStore), so a
// copy of the table logs nobody in. Each session records its user, so that
// a password change ends them all, and when it was last used: one that has
// not been used for the idle time ends, whatever its absolute lifetime.
//
// Expiry uses the wall clock, not the injected one: scs stamps deadlines
// with time.Now, and the store must agree with it.
type SessionStore struct {
	rows  SessionRows
	idle  time.Duration
	now   func() time.Time
	codec scs.Codec

	mu   sync.Mutex
	stop chan struct{}
	done chan struct{}
}

// SessionRows is the storage the sessions need (the store implements it).
type SessionRows interface {
	// FindSession returns a session's data unless it has expired or has
	// not been used since idleSince; found is false then.
	FindSession(ctx context.Context, token string, now, idleSince time.Time) (data []byte, lastSeen time.Time, found bool, err error)
	// CommitSession inserts or replaces a session; userID 0 is nobody.
	CommitSession(ctx context.Context, token string, data []byte, expiry time.Time, userID int64, now time.Time) error
	// TouchSession records a use of the session at now.
	TouchSession(ctx context.Context, token string, now time.Time) error
	// DeleteSession removes a session; an unknown token is not an error.
	DeleteSession(ctx context.Context, token string) error
	// DeleteExpiredSessions removes expired and idle sessions.
	DeleteExpiredSessions(ctx context.Context, now, idleSince time.Time) (int64, error)
}

var _ scs.CtxStore = (*SessionStore)(nil)

// NewSessionStore returns a store over rows whose sessions end after idle
// without use.
func NewSessionStore(rows SessionRows, idle time.Duration) *SessionStore {
	return &SessionStore{rows: rows, idle: idle, now: time.Now, codec: scs.GobCodec{}}
}

// touchEvery is how stale a session's last use may be recorded: a page
// view writes at most once in this time, not on every request.
func (s *SessionStore) touchEvery() time.Duration {
	return min(s.idle/100, 5*time.Minute)
}

// FindCtx returns the session data; found is false for an unknown,
// expired or idle token.
func (s *SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	now := s.now()
	b, seen, found, err := s.rows.FindSession(ctx, token, now, now.Add(-s.idle))
	if err != nil || !found {
		return nil, false, err
	}
	if now.Sub(seen) >= s.touchEvery() {
		if err := s.rows.TouchSession(ctx, token, now); err != nil {
			return nil, false, err
		}
	}
	return b, true, nil
}

// CommitCtx inserts or replaces the session, with the user it logs in.
func (s *SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	var userID int64
	if _, values, err := s.codec.Decode(b); err == nil {
		userID, _ = values[sessionUserKey].(int64)
	}
	return s.rows.CommitSession(ctx, token, b, expiry, userID, s.now())
}

// DeleteCtx removes the session; deleting an unknown token is not an error.
func (s *SessionStore) DeleteCtx(ctx context.Context, token string) error {
	return s.rows.DeleteSession(ctx, token)
}

// Find is FindCtx without a context (scs.Store).
func (s *SessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit is CommitCtx without a context (scs.Store).
func (s *SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx without a context (scs.Store).
func (s *SessionStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// DeleteExpired removes expired and idle sessions and returns how many.
func (s *SessionStore) DeleteExpired(ctx context.Context) (int64, error) {
	now := s.now()
	return s.rows.DeleteExpiredSessions(ctx, now, now.Add(-s.idle))
}

// StartCleanup removes expired sessions every interval until StopCleanup.
// Calling it twice does nothing.
func (s *SessionStore) StartCleanup(interval time.Duration, log *slog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		return
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go func(stop, done chan struct{}) {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if n, err := s.DeleteExpired(ctx); err != nil {
					log.Warn("session cleanup failed", "err", err)
				} else if n > 0 {
					log.Debug("expired sessions removed", "count", n)
				}
				cancel()
			}
		}
	}(s.stop, s.done)
}

// StopCleanup stops the cleanup goroutine and waits for it to finish.
func (s *SessionStore) StopCleanup() {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.stop, s.done = nil, nil
	s.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// newSessionManager configures scs: a cookie only this site's pages send
// (SameSite=Lax), that scripts cannot read (HttpOnly), and that travels
// only over TLS when Triage is served over https.
func newSessionManager(st *SessionStore, urlPrefix string, onError func(http.ResponseWriter, *http.Request, error)) *scs.SessionManager {
	m := scs.New()
	m.Store = st
	m.Codec = st.codec
	m.HashTokenInStore = true
	// An absolute lifetime here; the idle timeout is the store's
	// (TRIAGE_SESSION_IDLE), which records a use at most every few minutes,
	// where scs's own rewrites the session row on every page view.
	m.Lifetime = 14 * 24 * time.Hour
	m.Cookie.Name = "triage_session"
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Path = "/"
	m.Cookie.Secure = strings.HasPrefix(strings.ToLower(urlPrefix), "https://")
	m.ErrorFunc = onError
	return m
}
