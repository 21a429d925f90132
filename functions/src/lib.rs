//! The library both Lambda functions share: the API's JSON types
//! ([`wire`]) and limits ([`model`]), the DynamoDB store ([`store`]), envelope encryption
//! ([`crypto`]), identity from the JWT authorizer ([`identity`]), the error
//! model ([`error`]), the JSON API and its router ([`api`]), DynamoDB's
//! item-size formula ([`capacity`]) and JSON logging ([`telemetry`]).
//!
//! The binaries are thin: they build one [`App`] per container from the
//! standard AWS configuration and hand every request to [`App::handle`].
//!
//! # Data model and write cost
//!
//! One table, `voice-learning-sessions`, key `sessionId` (S) + `sk` (S):
//!
//! * the session item, `sk = "SESSION"`, carries `userId` and `updatedAt`
//!   (S, ISO-8601 UTC with milliseconds, so it sorts as text), the keys of the
//!   sparse GSI `UserSessionIndex`;
//! * one item per turn, `sk = "TURN#" + 10-digit sequence number`, without
//!   `userId`, so turns never reach the index.
//!
//! `add_turn` writes exactly one item, the turn, with a conditional
//! `PutItem` on `attribute_not_exists(sk)`: 2 write units for a 1 KB turn
//! whatever the session's length. The sequence number is the last one seen
//! plus one; a writer that loses the slot to a concurrent writer learns the
//! winner from `ReturnValuesOnConditionCheckFailure` and moves to the next
//! slot, so sequence numbers are dense and define one order every reader
//! sees. The same walk (a writer that lost a slot reads every turn it skips)
//! finds a concurrent duplicate of the same `turnId`, and the window read
//! before writing finds a retried one (the idempotency horizon is the most
//! recent `max(window.maxTurns, 20)` turns, at most 23: the look-back reads
//! at most 384 KiB). A duplicate must carry the same role and content (a
//! keyed digest stored with the turn), else 409 `turn_id_conflict`. A session
//! holds at most 5,000 turns between clears (409 `session_full`).
//!
//! Sessions have a generation (`gen`, absent = 0) and `turnBase`: `clear`
//! bumps the generation and sets `turnBase` to the highest sequence number
//! in one conditional write, which also replaces the session's data key;
//! only turns of the current generation above `turnBase` are visible, the
//! generation is in their AES-GCM associated data and their key is gone, so
//! older turns never open again. Numbering goes on across a clear.
//!
//! The session item is touched (`updatedAt`, `expiresAt`, `turnCount`) lazily:
//! only when the turn arrives more than `SESSION_TOUCH_INTERVAL_SECONDS`
//! (default 300) after the last touch. That write and its GSI update cost
//! about 3 more write units once per interval, instead of on every turn.
//! Transactions are not used. Consequences, by design: `turnCount` in the
//! session item and in `list` lags by up to one interval (the context
//! actions and `get` report the exact count, the last sequence number), and
//! `list`'s order by `updatedAt` has the same granularity.
//!
//! Reads: `add_turn`, `get` and `clear` read strongly consistently
//! (`add_turn` needs the latest sequence number); `get_context`, `restore`
//! and `set_summary` read the session eventually consistently (half the read
//! units; their writes are conditional, so a stale read cannot authorise
//! anything). The session item and the turns are read at the same time (one
//! round trip); nothing is returned or decrypted before the ownership check.
//!
//! A session is gone (404 everywhere, filtered out of `list`) when its
//! `expiresAt <= now` or its `status` is `deleting`; every write to the
//! session item is conditional on neither. `delete` marks the session
//! `deleting` (conditional on the owner; `userId` stays), deletes the turns,
//! then the session item (with the wrapped data key) last, so a retry after
//! a failure finishes. Known gap: a turn written by an `add_turn` that read
//! the session just before the mark can land after the sweep; it is
//! unreadable without the session's key and expires with its TTL.
//!
//! # Running the binaries
//!
//! Environment: `SESSIONS_TABLE`, `USER_PROFILES_TABLE`, `KMS_KEY_ID`
//! (required), `SESSION_TOUCH_INTERVAL_SECONDS` (default 300),
//! `KEY_CACHE_CAPACITY` (default 1000), `KEY_CACHE_MAX_AGE_SECONDS` (default
//! 600), `ASSISTANT_WRITER_GROUP` (default `assistant-writers`: the
//! Cognito group allowed to write `assistant`/`system` turns and
//! summaries), `TLS_TRUST_STORE` (default `amazon`: Amazon Trust Services'
//! roots; `public` for the public roots browsers trust, `system` for the
//! operating system's store, see [`tls`]),
//! `RUST_LOG` (default `info`), plus the
//! standard AWS variables (`AWS_REGION`, `AWS_ENDPOINT_URL` for an emulator,
//! credentials) and the Lambda runtime's own (`AWS_LAMBDA_RUNTIME_API`...).
//! In process: `App::new(Function::ContextManager, &sdk_config,
//! Settings::new(sessions, profiles, key_id), None)` then
//! `app.handle(request).await`.
//!
//! # Errors
//!
//! `{"error":{"code","message","requestId"}}`, plus `field` on 400/413 and
//! `retryable: true` on 503. Codes: 400 `invalid_json`, `missing_body`,
//! `invalid_encoding`, `missing_field`, `invalid_field`, `unknown_field`,
//! `unknown_action`; 401 `unauthorized`; 403 `forbidden_role`; 404
//! `not_found` (also another user's, an expired or a deleting session); 409
//! `version_conflict`, `turn_id_conflict`, `session_full`; 413
//! `payload_too_large`; 500
//! `integrity_error` (a ciphertext that does not open where it is),
//! `internal_error`; 503 `service_unavailable`.

pub mod api;
pub mod capacity;
pub mod config;
pub mod crypto;
pub mod error;
pub mod identity;
pub mod model;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod runtime;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod tls;
pub mod wire;

pub use api::{App, Function};
pub use config::Settings;
pub use error::ApiError;
