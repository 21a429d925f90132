//! The AWS actions each function's code performs. The stack grants exactly
//! these (see `module.rs`), and the functions' least-privilege test records
//! every operation the code makes and checks the set equals this list.
//!
//! Keep this file in step with `functions/src/store.rs`, `crypto.rs` and
//! `api.rs` (owned by the functions crate; checked by its least-privilege test).

/// DynamoDB actions of `voice-learning-session-persistence`, on the sessions
/// table (and its `UserSessionIndex` for `Query`) and the user-profiles table.
pub const SESSION_PERSISTENCE_SESSIONS_TABLE: &[&str] = &[
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
];
/// Of those, the ones that touch `UserSessionIndex` (granted on the index ARN).
pub const SESSION_PERSISTENCE_INDEX: &[&str] = &["dynamodb:Query"];
pub const SESSION_PERSISTENCE_PROFILES_TABLE: &[&str] = &["dynamodb:GetItem"];

/// DynamoDB actions of `voice-learning-context-manager` (sessions table only).
pub const CONTEXT_MANAGER_SESSIONS_TABLE: &[&str] = &[
    "dynamodb:BatchWriteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
];
pub const CONTEXT_MANAGER_INDEX: &[&str] = &[];
pub const CONTEXT_MANAGER_PROFILES_TABLE: &[&str] = &[];

/// KMS actions of `voice-learning-session-persistence`: `create` wraps a new
/// session's data key (`kms:Encrypt`); `restore` unwraps it to return the
/// context window (`kms:Decrypt`). Both under the encryption context
/// `{sessionId, userId}`.
pub const SESSION_PERSISTENCE_KMS: &[&str] = &["kms:Decrypt", "kms:Encrypt"];

/// KMS actions of `voice-learning-context-manager`: it only unwraps data keys
/// (`kms:Decrypt`); it never creates sessions, so it never calls `kms:Encrypt`.
pub const CONTEXT_MANAGER_KMS: &[&str] = &["kms:Decrypt"];

/// The encryption-context keys the KMS grant requires.
pub const ENCRYPTION_CONTEXT_KEYS: &[&str] = &["sessionId", "userId"];
