package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"triage"
)

var _ triage.SessionStore = (*Store)(nil)

// FindSession returns the data of the session with that token hash that
// has not expired at now; found is false for an unknown or expired token.
func (q *Queries) FindSession(ctx context.Context, token string, now time.Time) ([]byte, bool, error) {
	var b []byte
	err := q.q.QueryRowContext(ctx,
		`SELECT data FROM sessions WHERE token = $1 AND expiry > $2`, token, now.UnixMicro()).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("find session: %w", err)
	}
	return b, true, nil
}

// CommitSession inserts or replaces the session.
func (q *Queries) CommitSession(ctx context.Context, token string, data []byte, expiry time.Time) error {
	_, err := q.q.ExecContext(ctx,
		`INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, $3)
		 ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`,
		token, data, expiry.UnixMicro())
	if err != nil {
		return fmt.Errorf("commit session: %w", err)
	}
	return nil
}

// DeleteSession removes the session; deleting an unknown token is not an
// error.
func (q *Queries) DeleteSession(ctx context.Context, token string) error {
	if _, err := q.q.ExecContext(ctx, `DELETE FROM sessions WHERE token = $1`, token); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes the sessions expired at now and returns
// how many.
func (q *Queries) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM sessions WHERE expiry <= $1`, now.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
