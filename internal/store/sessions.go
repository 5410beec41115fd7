package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Sessions are scs's: the token column holds the SHA-256 of the cookie
// value, data scs's encoded values. user_id says whose session it is (so
// a password change ends them all) and last_seen when it was last used
// (so an idle one ends). Times are the caller's: scs stamps expiries with
// the wall clock.

// FindSession returns a session's data unless it has expired or has not
// been used since idleSince; found is false then, or for an unknown token.
func (q *Queries) FindSession(ctx context.Context, token string, now, idleSince time.Time) (data []byte, lastSeen time.Time, found bool, err error) {
	var seen int64
	err = q.q.QueryRowContext(ctx,
		`SELECT data, last_seen FROM sessions WHERE token = $1 AND expiry > $2 AND last_seen > $3`,
		token, micros(now), micros(idleSince)).Scan(&data, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, false, nil
	} else if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("find session: %w", err)
	}
	return data, fromMicros(seen), true, nil
}

// CommitSession inserts or replaces a session; userID 0 is a visitor who
// is not logged in.
func (q *Queries) CommitSession(ctx context.Context, token string, data []byte, expiry time.Time, userID int64, now time.Time) error {
	uid := sql.NullInt64{Int64: userID, Valid: userID != 0}
	_, err := q.q.ExecContext(ctx,
		`INSERT INTO sessions (token, data, expiry, user_id, last_seen) VALUES ($1, $2, $3, $4, $5)
		 ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry,
		   user_id = excluded.user_id, last_seen = excluded.last_seen`,
		token, data, micros(expiry), uid, micros(now))
	if err != nil {
		return fmt.Errorf("commit session: %w", err)
	}
	return nil
}

// TouchSession records that a session was used at now.
func (q *Queries) TouchSession(ctx context.Context, token string, now time.Time) error {
	if _, err := q.q.ExecContext(ctx, `UPDATE sessions SET last_seen = $1 WHERE token = $2`, micros(now), token); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession removes a session; an unknown token is not an error.
func (q *Queries) DeleteSession(ctx context.Context, token string) error {
	if _, err := q.q.ExecContext(ctx, `DELETE FROM sessions WHERE token = $1`, token); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of the user.
func (q *Queries) DeleteUserSessions(ctx context.Context, userID int64) error {
	if _, err := q.q.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("end the sessions of user %d: %w", userID, err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions past their expiry or idle since
// idleSince, and returns how many.
func (q *Queries) DeleteExpiredSessions(ctx context.Context, now, idleSince time.Time) (int64, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM sessions WHERE expiry <= $1 OR last_seen <= $2`, micros(now), micros(idleSince))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
