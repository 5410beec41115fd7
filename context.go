package triage

import "context"

type contextKey int

const userContextKey contextKey = 1

// NewContextWithUser returns ctx carrying the logged-in user, so that
// handlers in any package can read who is acting without importing the web
// layer.
func NewContextWithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userContextKey, u)
}

// UserFromContext returns the logged-in user, or nil.
func UserFromContext(ctx context.Context) *User {
	u, _ := ctx.Value(userContextKey).(*User)
	return u
}
