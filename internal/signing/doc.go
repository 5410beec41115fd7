// Package signing makes short-lived, tamper-evident tokens that carry a small
// JSON value through a URL: the Slack "link identity" and "unlink identity"
// links, OAuth state, and anything else Triage hands to a browser and must
// trust when it comes back.
//
// A token is bound to a purpose. Each purpose gets its own HMAC-SHA256 key,
// derived with HKDF from the application secret (TRIAGE_SECRET_KEY), so a
// token minted for "link" is worthless as an "unlink" token even though the
// payloads look alike. The time of issue is inside the signed payload, and
// the caller chooses the maximum age when verifying, so the lifetime is a
// property of the place that accepts the token rather than the place that
// made it.
//
// Tokens are signed, not encrypted: anyone holding one can read its payload.
// Put only identifiers in it, never secrets.
//
// Verify tells two kinds of failure apart so that pages can say the right
// thing: ErrInvalid (tampered, wrong purpose, wrong key, malformed) and
// ErrExpired (genuine, but too old or issued too far in the future).
package signing
