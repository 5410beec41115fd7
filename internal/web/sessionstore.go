package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"triage"

	"github.com/alexedwards/scs/v2"
)

// SessionStore keeps scs sessions in the sessions table, so a restart or a
// second Triage process behind the same database keeps everyone logged in.
// The token column holds scs's SHA-256 of the cookie value
// (HashTokenInStore), so a copy of the table logs nobody in.
//
// Expiry uses the wall clock, not the injected one: scs stamps deadlines
// with time.Now, and the store must agree with it.
type SessionStore struct {
	db triage.SessionStore

	mu   sync.Mutex
	stop chan struct{}
	done chan struct{}
}

var _ scs.CtxStore = (*SessionStore)(nil)

// NewSessionStore returns a store over db (internal/store keeps the
// sessions table).
func NewSessionStore(db triage.SessionStore) *SessionStore { return &SessionStore{db: db} }

// FindCtx returns the session data; found is false for an unknown or
// expired token.
func (s *SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	return s.db.FindSession(ctx, token, time.Now())
}

// CommitCtx inserts or replaces the session.
func (s *SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	return s.db.CommitSession(ctx, token, b, expiry)
}

// DeleteCtx removes the session; deleting an unknown token is not an error.
func (s *SessionStore) DeleteCtx(ctx context.Context, token string) error {
	return s.db.DeleteSession(ctx, token)
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

// DeleteExpired removes expired sessions and returns how many.
func (s *SessionStore) DeleteExpired(ctx context.Context) (int64, error) {
	return s.db.DeleteExpiredSessions(ctx, time.Now())
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
	m.HashTokenInStore = true
	// An absolute lifetime and no idle timeout: an idle timeout rewrites the
	// session row on every page view.
	m.Lifetime = 14 * 24 * time.Hour
	m.Cookie.Name = "triage_session"
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Path = "/"
	m.Cookie.Secure = strings.HasPrefix(strings.ToLower(urlPrefix), "https://")
	m.ErrorFunc = onError
	return m
}
