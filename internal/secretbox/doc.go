// Package secretbox encrypts the credentials Triage keeps in its database,
// such as Slack bot, user and refresh tokens, so that a leaked backup or a
// read-only SQL injection does not hand out live tokens.
//
// The key is derived with HKDF-SHA256 from the application secret
// (TRIAGE_SECRET_KEY) under its own label, so it is independent of the keys
// used for signing links. Values are sealed with AES-256-GCM and a random
// nonce, and stored as printable text: "v1:" followed by unpadded URL-safe
// base64 of nonce, ciphertext and tag. The version prefix leaves room to
// change the algorithm or rotate the key while old rows can still be read.
//
// Changing TRIAGE_SECRET_KEY makes existing values unreadable: Open returns
// ErrDecrypt, and the affected integrations have to be installed again.
package secretbox
