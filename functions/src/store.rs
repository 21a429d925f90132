//! The DynamoDB side: session and turn items, and every read and write the
//! functions make (see the crate docs for the data model and its costs).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::QueryError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, ReturnValue, ReturnValuesOnConditionCheckFailure, Select,
    WriteRequest,
};
use base64::Engine;

use crate::error::{classify, ApiError};
use crate::time::{iso8601, parse_iso8601, TTL_SECONDS};
use crate::wire::SessionChanges;

pub type Item = HashMap<String, AttributeValue>;

mod records;
mod sessions;
mod turns;

pub use records::*;

/// Sort key of the session item.
pub const SESSION_SK: &str = "SESSION";
/// Prefix of turn sort keys.
pub const TURN_PREFIX: &str = "TURN#";
/// The largest sequence number a 10-digit turn key holds.
pub const MAX_SEQ: u64 = 9_999_999_999;

/// `TURN#` and the sequence number, zero-padded so keys sort by number.
pub fn turn_sk(seq: u64) -> String {
    format!("{TURN_PREFIX}{seq:010}")
}

fn parse_turn_sk(sk: &str) -> Option<u64> {
    sk.strip_prefix(TURN_PREFIX)?.parse().ok()
}

/// A failed `Query`, classified (the error code only).
fn query_failed(e: aws_sdk_dynamodb::error::SdkError<QueryError>) -> ApiError {
    ApiError::from(classify("dynamodb:Query", &e))
}

/// The turns of a `Query` page, in its order.
fn turns_of(items: Option<Vec<Item>>) -> Result<Vec<TurnRecord>, ApiError> {
    items
        .unwrap_or_default()
        .iter()
        .map(TurnRecord::from_item)
        .collect()
}

/// `status` of a session whose `delete` has started: gone for every reader,
/// kept (with `userId`) only so a retried delete can finish.
pub const DELETING: &str = "deleting";

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn b(v: &[u8]) -> AttributeValue {
    AttributeValue::B(Blob::new(v.to_vec()))
}

fn get_s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}
fn get_n(item: &Item, k: &str) -> Option<u64> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}
fn get_b(item: &Item, k: &str) -> Option<Vec<u8>> {
    item.get(k)
        .and_then(|v| v.as_b().ok())
        .map(|b| b.as_ref().to_vec())
}

fn corrupt(what: &str) -> ApiError {
    tracing::error!(
        event = "corrupt_item",
        what,
        "a stored item is missing attributes"
    );
    ApiError::Internal
}

/// All DynamoDB access of both functions.
#[derive(Clone)]
pub struct SessionStore {
    ddb: aws_sdk_dynamodb::Client,
    sessions: String,
    profiles: String,
    index: String,
}

impl SessionStore {
    pub fn new(
        ddb: aws_sdk_dynamodb::Client,
        sessions: String,
        profiles: String,
        index: String,
    ) -> Self {
        SessionStore {
            ddb,
            sessions,
            profiles,
            index,
        }
    }

    fn session_key(session_id: &str) -> Item {
        HashMap::from([
            ("sessionId".to_string(), s(session_id)),
            ("sk".to_string(), s(SESSION_SK)),
        ])
    }
}

/// Queries `list` makes at most to fill a page past filtered-out sessions.
pub const LIST_QUERIES: usize = 4;

/// The condition every write to a session item carries: not being deleted
/// and not expired (DynamoDB evaluates it atomically with the write).
const LIVE: &str = "#st <> :deleting AND expiresAt > :nows";

fn live_condition(
    names: &mut HashMap<String, String>,
    values: &mut HashMap<String, AttributeValue>,
    now_ms: u64,
) {
    names.insert("#st".to_string(), "status".to_string());
    values.insert(":deleting".to_string(), s(DELETING));
    values.insert(":nows".to_string(), n(now_ms / 1000));
}

/// "The item is at `generation`" (absent `gen` is generation 0).
fn generation_condition(
    names: &mut HashMap<String, String>,
    values: &mut HashMap<String, AttributeValue>,
    generation: u64,
) -> &'static str {
    names.insert("#g".to_string(), "gen".to_string());
    values.insert(":gread".to_string(), n(generation));
    if generation == 0 {
        "(attribute_not_exists(#g) OR #g = :gread)"
    } else {
        "#g = :gread"
    }
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The opaque `list` cursor: the position (updatedAt, sessionId) only; the
/// user is always the caller, so a cursor cannot reach another user's data.
fn encode_cursor(key: &Item) -> Result<String, ApiError> {
    let updated = get_s(key, "updatedAt").ok_or(ApiError::Internal)?;
    let sid = get_s(key, "sessionId").ok_or(ApiError::Internal)?;
    Ok(B64.encode(format!("{updated}|{sid}")))
}

fn decode_cursor(cursor: &str, user_id: &str) -> Result<Item, ApiError> {
    let bad = || ApiError::invalid("cursor", "is not a cursor this API returned");
    let raw = B64.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (updated, sid) = text.split_once('|').ok_or_else(bad)?;
    if parse_iso8601(updated).is_none() || !crate::model::is_uuid(sid) {
        return Err(bad());
    }
    Ok(HashMap::from([
        ("userId".to_string(), s(user_id)),
        ("updatedAt".to_string(), s(updated)),
        ("sessionId".to_string(), s(sid)),
        ("sk".to_string(), s(SESSION_SK)),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_keys_sort_by_number() {
        assert_eq!(turn_sk(7), "TURN#0000000007");
        assert!(turn_sk(10) > turn_sk(9));
        assert_eq!(parse_turn_sk(&turn_sk(1234)), Some(1234));
    }

    #[test]
    fn cursor_round_trip_and_rejects_garbage() {
        let key = HashMap::from([
            ("updatedAt".to_string(), s("2026-11-28T03:00:00.000Z")),
            (
                "sessionId".to_string(),
                s("0b5a3f9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"),
            ),
        ]);
        let c = encode_cursor(&key).unwrap();
        let k = decode_cursor(&c, "user-a").unwrap();
        assert_eq!(get_s(&k, "userId").as_deref(), Some("user-a"));
        assert!(decode_cursor("!!!", "u").is_err());
        assert!(decode_cursor(&B64.encode("x|y"), "u").is_err());
    }
}
