//! The library both Lambda functions share: domain types and validation
//! ([`model`]), the DynamoDB store ([`store`]), envelope encryption
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
//! sees. The same walk finds a concurrent duplicate of the same `turnId`, and
//! the window read before writing finds a retried one (the idempotency
//! horizon is the most recent `max(window.maxTurns, 20)` turns).
//!
//! The session item is touched (`updatedAt`, `expiresAt`, `turnCount`) lazily:
//! only when the turn arrives more than `SESSION_TOUCH_INTERVAL_SECONDS`
//! (default 300) after the last touch. That write and its GSI update cost
//! about 3 more write units once per interval, instead of on every turn.
//! Transactions are not used.

pub mod api;
pub mod capacity;
pub mod config;
pub mod crypto;
pub mod error;
pub mod identity;
pub mod model;
pub mod store;
pub mod telemetry;
pub mod time;

pub use api::{App, Function};
pub use config::Settings;
pub use error::ApiError;
