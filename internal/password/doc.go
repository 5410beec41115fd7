// Package password stores what people and programs use to prove who they
// are: login passwords, hashed slowly with Argon2id, and API tokens, hashed
// quickly with SHA-256.
//
// The two get different treatment on purpose. A password is chosen by a
// person and may be guessable, so each guess must be expensive; a token is
// 256 random bits made by NewToken, so no guess can succeed and the hash
// only has to be one-way and fast enough to look up on every API request.
//
// Password hashes use the PHC string format that other Argon2 libraries
// read and write, with the parameters stored beside the hash, so the cost
// can be raised later (see NeedsRehash) without invalidating stored hashes.
package password
