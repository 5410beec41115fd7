// Package ingest turns what the official Sentry SDKs send into Triage events.
//
// The SDKs are not ours and cannot be changed, so this package is liberal in
// what it accepts and strict only where safety demands it. A request flows
// through four steps, each a pure function that the HTTP handler chains:
//
//  1. Authentication: the project's public key comes from the X-Sentry-Auth
//     header, the sentry_key query parameter or the dsn in the envelope
//     header (see [AuthFromRequest] and [ParseDSN]).
//  2. Decoding: the body is decompressed according to Content-Encoding (gzip,
//     deflate with or without the zlib wrapper, br, zstd) under hard size
//     limits, so a decompression bomb stops at the limit instead of filling
//     memory (see [DecodeBody]).
//  3. Parsing: an envelope ([ParseEnvelope]) is split into items; only "event"
//     items are kept, every other item type (transactions, sessions,
//     attachments, client reports, replays, profiles, check-ins and types not
//     invented yet) is accepted and skipped, because an SDK must never see a
//     failure for data Triage does not use. The legacy /store/ endpoint
//     carries one bare event ([ParseStore]).
//  4. Normalization: [Normalize] maps the loosely typed event JSON onto
//     [Event], whose fields are what the store saves. Fields of the wrong type
//     are dropped, over-long fields are truncated; nothing is rejected for
//     its length alone except a whole event over [MaxEventSize]. The JSON is
//     read in one pass over its tokens (eventjson.go), skipping what Triage
//     does not use: about 16µs for a 3 KiB sentry-go event, a third of what
//     encoding/json takes. [Handler] also skips the frames' source lines
//     ([NormalizeOptions].SkipSource): the sink stores the SDK's JSON, which
//     is normalized again, source included, when the event is shown.
//
// [Handler] chains the steps for POST /api/{project_id}/envelope/ and
// /store/, and saves the events of a request only when every step
// succeeded, so a rejected request leaves nothing behind. It answers 200
// {"id": "<first event id>"} ({} when the envelope held no event), or
// {"detail": "…"} with 400 (malformed), 401 (no key, unknown project), 403
// (key not valid for the project), 413 (a limit below), 429 (the optional
// per-key rate limit, with Retry-After and X-Sentry-Rate-Limits), 503 with
// Retry-After (the memory [Budget] is spent, or the sink reports
// [ErrUnavailable]: SDKs retry a 503 where they drop after a 500) or 500.
//
// Memory: every buffer a request fills is granted from one [Budget] shared
// by all requests, so the memory ingestion holds is bounded whatever the
// mix of requests in flight. A key in the header or query is checked
// before the body is read; when the envelope header's dsn is the only key,
// only the first line is decoded (at most 64 KiB) before it is checked.
//
// Grouping ([Event.GroupingHash], version 2) decides which issue an event
// belongs to. A fingerprint sent by the SDK wins. Otherwise every exception
// of the chain counts by its type and the module (else file) and function
// of its in-app frames (all frames when none is in-app), never by line
// numbers or the error message: Go's error types are coarse
// (*errors.errorString), so grouping by message would split one bug into
// thousands of issues, while the call stack is stable from one run of a
// program to the next. Stacks sent outside exceptions (the crashed or
// current thread, a top-level stacktrace) count the same way. JavaScript
// frames are normalized first, so that one error reported by different
// browsers or deployments is one issue: no receiver prefixes ("Object.",
// "HTMLButtonElement."), no native, eval'd or anonymous frames, file names
// without host, query, hash, version directories or content hashes.
// Consecutive identical frames (recursion) count once. Without frames, the
// exception values or the message with their variable parts (numbers, hex
// ids, UUIDs, emails, IPs, URLs, dates) masked are used (see
// maskVariables); message events group by their template, or their masked
// text when they have none. The cost of this choice: different errors
// captured at the same place in the code, of the same Go type, share an
// issue; an SDK fingerprint ("{{ default }}", "{{ error.value }}") splits
// them where that matters.
//
// Issues record the grouping version they were created under. Version 1
// ([Event.GroupingHashV1]) hashed only the thrown exception and read no
// thread or top-level stack; the writer looks an event up by both hashes,
// so issues created under version 1 keep receiving their events.
//
// Titles and culprits follow Sentry's rules (title.go).
//
// # Limits
//
// Request limits, enforced before anything reaches the store:
//
//	MaxCompressedBodySize  20 MiB  request body as sent (413)
//	MaxEnvelopeSize        20 MiB  body after decompression (413)
//	MaxEventSize            1 MiB  one event item or /store/ body (413)
//	MaxItems                1000   items in one envelope (413)
//	MaxEvents                100   event items in one envelope (413)
//
// Field limits, applied by truncation (characters, not bytes; a truncated
// string ends in "…"):
//
//	title, culprit, transaction, release, server name     200
//	environment, platform, SDK name and version             64
//	message and message template                          8192
//	exception type and module                              256
//	exception value                                       4096
//	exceptions per event (the last ones, nearest the throw)  25
//	frames per stack trace (oldest 50 and newest 200)       250
//	frame module, function, filename                       256
//	frame abs_path, context lines                         1024
//	pre/post context lines per frame                          5
//	tags: 100 per event, key 64, value 200
//	user id, email, username, ip address                   256
//	fingerprint: 32 entries of 256
//
// Timestamps more than a minute in the future or older than 30 days are
// replaced by the time the event was received, as Sentry does, so a client
// with a wrong clock cannot put events outside the retention window.
package ingest
