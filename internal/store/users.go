package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

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

// CreateAPIToken stores the hash of a new token for the user.
func (q *Queries) CreateAPIToken(ctx context.Context, userID int64, name, tokenHash string) (*triage.APIToken, error) {
	var id int64
	now := q.now()
	err := q.q.QueryRowContext(ctx,
		`INSERT INTO api_tokens (user_id, token_hash, name, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		userID, tokenHash, name, micros(now)).Scan(&id)
	if err != nil {
		return nil, translate(err, "token")
	}
	return &triage.APIToken{ID: id, UserID: userID, Name: name, CreatedAt: now}, nil
}

// UserByTokenHash returns the token's user; EUNAUTHORIZED when no token has
// that hash.
func (q *Queries) UserByTokenHash(ctx context.Context, tokenHash string) (*triage.User, error) {
	u, err := scanUser(q.q.QueryRowContext(ctx,
		`SELECT `+userCols+` FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1`, tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, triage.Errorf(triage.EUNAUTHORIZED, "invalid token")
	} else if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	return u, nil
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
