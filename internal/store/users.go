package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"triage"
)

const userCols = `u.id, u.email, u.name, u.is_superuser, u.created_at`

func scanUser(row rowScanner) (*triage.User, error) {
	var u triage.User
	var created int64
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.IsSuperuser, &created); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

// NormalizeEmail is how emails are compared: trimmed and lowercased.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CreateUser stores a user with an already hashed password. It returns
// EINVALID for an email without '@' and ECONFLICT for a taken email.
func (q *Queries) CreateUser(ctx context.Context, email, name, passwordHash string, superuser bool) (*triage.User, error) {
	email = NormalizeEmail(email)
	if !strings.Contains(email, "@") || strings.ContainsAny(email, " \t\r\n") {
		return nil, triage.Errorf(triage.EINVALID, "invalid email %q", email)
	}
	row := q.q.QueryRowContext(ctx,
		`INSERT INTO users (email, name, password_hash, is_superuser, created_at)
		 VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		email, strings.TrimSpace(name), passwordHash, superuser, micros(q.now()))
	var id int64
	if err := row.Scan(&id); err != nil {
		return nil, translate(err, "user with email "+email)
	}
	return q.UserByID(ctx, id)
}

// UserByID returns ENOTFOUND if there is no such user.
func (q *Queries) UserByID(ctx context.Context, id int64) (*triage.User, error) {
	u, err := scanUser(q.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = $1`, id))
	if err != nil {
		return nil, translate(err, "user")
	}
	return u, nil
}

// UserByEmail returns ENOTFOUND if no user has that email.
func (q *Queries) UserByEmail(ctx context.Context, email string) (*triage.User, error) {
	u, err := scanUser(q.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.email = $1`, NormalizeEmail(email)))
	if err != nil {
		return nil, translate(err, fmt.Sprintf("user with email %q", NormalizeEmail(email)))
	}
	return u, nil
}

// PasswordHash returns the stored hash of the user with that email, with the
// user; ENOTFOUND when there is none.
func (q *Queries) PasswordHash(ctx context.Context, email string) (*triage.User, string, error) {
	row := q.q.QueryRowContext(ctx, `SELECT `+userCols+`, u.password_hash FROM users u WHERE u.email = $1`, NormalizeEmail(email))
	var u triage.User
	var created int64
	var hash string
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.IsSuperuser, &created, &hash); err != nil {
		return nil, "", translate(err, "user")
	}
	u.CreatedAt = fromMicros(created)
	return &u, hash, nil
}

// CountUsers tells whether the instance has been set up.
func (q *Queries) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// CreateAPIToken stores the hash of a new token for the user; a zero
// expiresAt never expires.
func (q *Queries) CreateAPIToken(ctx context.Context, userID int64, name, tokenHash string, expiresAt time.Time) (*triage.APIToken, error) {
	var id int64
	now := q.now()
	err := q.q.QueryRowContext(ctx,
		`INSERT INTO api_tokens (user_id, token_hash, name, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		userID, tokenHash, name, micros(now), nullMicros(expiresAt)).Scan(&id)
	if err != nil {
		return nil, translate(err, "token")
	}
	return &triage.APIToken{ID: id, UserID: userID, Name: name, CreatedAt: now, ExpiresAt: expiresAt}, nil
}

// tokenTouchEvery is how stale a token's last-used time may get: one
// write a minute per busy token, not one per request.
const tokenTouchEvery = time.Minute

// UserByTokenHash returns the token's user and records the token's use;
// EUNAUTHORIZED when no token has that hash or it has expired. It reads
// the database every time, so a revoked token stops working at once in
// every process.
func (q *Queries) UserByTokenHash(ctx context.Context, tokenHash string) (*triage.User, error) {
	now := q.now()
	var u triage.User
	var created, tokenID int64
	var lastUsed sql.NullInt64
	err := q.q.QueryRowContext(ctx,
		`SELECT `+userCols+`, t.id, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id
		 WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > $2)`, tokenHash, micros(now)).
		Scan(&u.ID, &u.Email, &u.Name, &u.IsSuperuser, &created, &tokenID, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, triage.Errorf(triage.EUNAUTHORIZED, "invalid token")
	} else if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	u.CreatedAt = fromMicros(created)
	if !lastUsed.Valid || now.Sub(fromMicros(lastUsed.Int64)) >= tokenTouchEvery {
		if _, err := q.q.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, micros(now), tokenID); err != nil {
			return nil, fmt.Errorf("record a token's use: %w", err)
		}
	}
	return &u, nil
}

// APITokens lists the user's tokens, oldest first.
func (q *Queries) APITokens(ctx context.Context, userID int64) ([]*triage.APIToken, error) {
	rows, err := q.q.QueryContext(ctx,
		`SELECT id, user_id, name, created_at, expires_at, last_used_at FROM api_tokens WHERE user_id = $1 ORDER BY id`, userID)
	return collect(rows, err, "list tokens", func(r rowScanner) (*triage.APIToken, error) {
		var t triage.APIToken
		var created int64
		var expires, used sql.NullInt64
		if err := r.Scan(&t.ID, &t.UserID, &t.Name, &created, &expires, &used); err != nil {
			return nil, err
		}
		t.CreatedAt = fromMicros(created)
		if expires.Valid {
			t.ExpiresAt = fromMicros(expires.Int64)
		}
		if used.Valid {
			t.LastUsedAt = fromMicros(used.Int64)
		}
		return &t, nil
	})
}

// RevokeAPIToken deletes a token; ENOTFOUND when there is none with that id.
func (q *Queries) RevokeAPIToken(ctx context.Context, id int64) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "no token with id %d", id)
	}
	return nil
}

// SetPassword stores a new password hash for the user and ends every one
// of the user's sessions; ENOTFOUND when there is no such user. Run it in
// a transaction so that both happen or neither.
func (q *Queries) SetPassword(ctx context.Context, userID int64, passwordHash string) error {
	res, err := q.q.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, passwordHash, userID)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "user not found")
	}
	return q.DeleteUserSessions(ctx, userID)
}

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

// Setting returns a stored setting; ENOTFOUND when unset.
func (q *Queries) Setting(ctx context.Context, key string) (string, error) {
	var v string
	if err := q.q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v); err != nil {
		return "", translate(err, "setting "+key)
	}
	return v, nil
}

// SetSettingIfAbsent stores value under key unless the key is set, and
// returns whichever value is stored afterwards: two processes starting at
// once agree on one value.
func (q *Queries) SetSettingIfAbsent(ctx context.Context, key, value string) (string, error) {
	if _, err := q.q.ExecContext(ctx,
		`INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
		return "", fmt.Errorf("store setting %s: %w", key, err)
	}
	return q.Setting(ctx, key)
}

// ReplacePassword sets a new password hash only if the stored one is still
// oldHash, and ends the user's sessions: the one-time step of a password
// reset (a second use of the same link finds the hash changed). It returns
// ENOTFOUND when the password changed meanwhile or there is no such user.
// Run it in a transaction so that both happen or neither.
func (q *Queries) ReplacePassword(ctx context.Context, userID int64, oldHash, newHash string) error {
	res, err := q.q.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3`, newHash, userID, oldHash)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return triage.Errorf(triage.ENOTFOUND, "password changed meanwhile")
	}
	return q.DeleteUserSessions(ctx, userID)
}
