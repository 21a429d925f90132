//! The DynamoDB side: session and turn items, and every read and write the
//! functions make (see the crate docs for the data model and its costs).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, ReturnValue, ReturnValuesOnConditionCheckFailure, Select,
    WriteRequest,
};
use base64::Engine;

use crate::error::{classify, ApiError};
use crate::model::SessionChanges;
use crate::time::{iso8601, parse_iso8601, TTL_SECONDS};

pub type Item = HashMap<String, AttributeValue>;

/// Sort key of the session item.
pub const SESSION_SK: &str = "SESSION";
/// Prefix of turn sort keys.
pub const TURN_PREFIX: &str = "TURN#";

/// `TURN#` and the sequence number, zero-padded so keys sort by number.
pub fn turn_sk(seq: u64) -> String {
    format!("{TURN_PREFIX}{seq:010}")
}

fn parse_turn_sk(sk: &str) -> Option<u64> {
    sk.strip_prefix(TURN_PREFIX)?.parse().ok()
}

/// The stored session item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub session_id: String,
    pub user_id: String,
    pub current_topic: String,
    pub mode: String,
    pub language: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    pub expires_at: u64,
    pub turn_count: u64,
    /// Sealed summary (AAD field `summary` of item `SESSION`).
    pub summary: Option<Vec<u8>>,
    pub wrapped_key: Vec<u8>,
    pub version: u64,
}

/// The stored turn item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnRecord {
    pub session_id: String,
    pub seq: u64,
    pub turn_id: String,
    pub role: String,
    /// Sealed content (AAD field `content` of item `TURN#…`).
    pub content: Vec<u8>,
    pub language: String,
    pub created_at: String,
    pub tokens: u32,
    pub expires_at: u64,
}

/// What `list` shows of a session (what `UserSessionIndex` projects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub session_id: String,
    pub current_topic: String,
    pub mode: String,
    pub language: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    pub expires_at: u64,
    pub turn_count: u64,
}

/// Non-key attributes `UserSessionIndex` projects (INCLUDE projection).
/// The stack's index must project exactly these (checked by the functions'
/// tests against `stack::module::USER_SESSION_INDEX_PROJECTION`).
pub const INDEX_PROJECTION: &[&str] = &[
    "createdAt",
    "currentTopic",
    "expiresAt",
    "language",
    "mode",
    "status",
    "turnCount",
];

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

impl SessionRecord {
    pub fn to_item(&self) -> Item {
        let mut item = HashMap::from([
            ("sessionId".to_string(), s(&self.session_id)),
            ("sk".to_string(), s(SESSION_SK)),
            ("userId".to_string(), s(&self.user_id)),
            ("currentTopic".to_string(), s(&self.current_topic)),
            ("mode".to_string(), s(&self.mode)),
            ("language".to_string(), s(&self.language)),
            ("status".to_string(), s(&self.status)),
            ("createdAt".to_string(), s(&self.created_at)),
            ("updatedAt".to_string(), s(&self.updated_at)),
            ("expiresAt".to_string(), n(self.expires_at)),
            ("turnCount".to_string(), n(self.turn_count)),
            ("wrappedKey".to_string(), b(&self.wrapped_key)),
            ("version".to_string(), n(self.version)),
        ]);
        if let Some(sum) = &self.summary {
            item.insert("summary".to_string(), b(sum));
        }
        item
    }

    pub fn from_item(item: &Item) -> Result<Self, ApiError> {
        let req_s = |k| get_s(item, k).ok_or_else(|| corrupt("session"));
        Ok(SessionRecord {
            session_id: req_s("sessionId")?,
            user_id: req_s("userId")?,
            current_topic: req_s("currentTopic")?,
            mode: req_s("mode")?,
            language: req_s("language")?,
            status: req_s("status")?,
            created_at: req_s("createdAt")?,
            updated_at: req_s("updatedAt")?,
            expires_at: get_n(item, "expiresAt").unwrap_or(0),
            turn_count: get_n(item, "turnCount").unwrap_or(0),
            summary: get_b(item, "summary"),
            wrapped_key: get_b(item, "wrappedKey").ok_or_else(|| corrupt("session key"))?,
            version: get_n(item, "version").ok_or_else(|| corrupt("session version"))?,
        })
    }
}

impl TurnRecord {
    pub fn sk(&self) -> String {
        turn_sk(self.seq)
    }

    pub fn to_item(&self) -> Item {
        HashMap::from([
            ("sessionId".to_string(), s(&self.session_id)),
            ("sk".to_string(), s(self.sk())),
            ("turnId".to_string(), s(&self.turn_id)),
            ("role".to_string(), s(&self.role)),
            ("content".to_string(), b(&self.content)),
            ("language".to_string(), s(&self.language)),
            ("createdAt".to_string(), s(&self.created_at)),
            ("tokens".to_string(), n(self.tokens)),
            ("expiresAt".to_string(), n(self.expires_at)),
        ])
    }

    pub fn from_item(item: &Item) -> Result<Self, ApiError> {
        let req_s = |k| get_s(item, k).ok_or_else(|| corrupt("turn"));
        Ok(TurnRecord {
            session_id: req_s("sessionId")?,
            seq: parse_turn_sk(&req_s("sk")?).ok_or_else(|| corrupt("turn key"))?,
            turn_id: req_s("turnId")?,
            role: req_s("role")?,
            content: get_b(item, "content").ok_or_else(|| corrupt("turn content"))?,
            language: req_s("language")?,
            created_at: req_s("createdAt")?,
            tokens: get_n(item, "tokens").unwrap_or(1) as u32,
            expires_at: get_n(item, "expiresAt").unwrap_or(0),
        })
    }
}

impl SessionSummary {
    fn from_item(item: &Item) -> Result<Self, ApiError> {
        let req_s = |k| get_s(item, k).ok_or_else(|| corrupt("index entry"));
        Ok(SessionSummary {
            session_id: req_s("sessionId")?,
            current_topic: req_s("currentTopic")?,
            mode: req_s("mode")?,
            language: req_s("language")?,
            status: req_s("status")?,
            created_at: req_s("createdAt")?,
            updated_at: req_s("updatedAt")?,
            expires_at: get_n(item, "expiresAt").unwrap_or(0),
            turn_count: get_n(item, "turnCount").unwrap_or(0),
        })
    }
}

/// Defaults for new sessions from the user-profiles table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub language: Option<String>,
    pub mode: Option<String>,
}

/// Result of trying to store a turn in a sequence slot.
#[derive(Debug)]
pub enum PutTurn {
    Stored,
    /// The slot was taken; here is what is in it.
    Taken(Box<TurnRecord>),
}

/// Expiry (epoch seconds) for something active at `now_ms`.
pub fn expires_at(now_ms: u64) -> u64 {
    now_ms / 1000 + TTL_SECONDS
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

    /// The user's profile defaults, if the user has a profile.
    pub async fn profile(&self, user_id: &str) -> Result<Option<Profile>, ApiError> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.profiles)
            .key("userId", s(user_id))
            .send()
            .await
            .map_err(|e| ApiError::from(classify("dynamodb:GetItem", &e)))?;
        Ok(out.item.map(|item| Profile {
            language: get_s(&item, "language").filter(|l| crate::model::is_bcp47(l)),
            mode: get_s(&item, "mode").filter(|m| crate::model::MODES.contains(&m.as_str())),
        }))
    }

    /// Stores a new session item (never overwriting one).
    pub async fn put_session(&self, rec: &SessionRecord) -> Result<(), ApiError> {
        self.ddb
            .put_item()
            .table_name(&self.sessions)
            .set_item(Some(rec.to_item()))
            .condition_expression("attribute_not_exists(sessionId)")
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => {
                    ApiError::Conflict("session id collision; retry".into())
                }
                _ => ApiError::from(classify("dynamodb:PutItem", &e)),
            })?;
        Ok(())
    }

    /// The session item, if it exists.
    /// `consistent`: a strongly consistent read (2x the read units).
    pub async fn get_session(
        &self,
        session_id: &str,
        consistent: bool,
    ) -> Result<Option<SessionRecord>, ApiError> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| ApiError::from(classify("dynamodb:GetItem", &e)))?;
        out.item.as_ref().map(SessionRecord::from_item).transpose()
    }

    /// The session if it exists and belongs to `user_id`; else 404.
    pub async fn owned_session(
        &self,
        session_id: &str,
        user_id: &str,
        consistent: bool,
    ) -> Result<SessionRecord, ApiError> {
        match self.get_session(session_id, consistent).await? {
            Some(rec) if rec.user_id == user_id => Ok(rec),
            _ => Err(ApiError::NotFound),
        }
    }

    /// Applies `changes` if the stored version is `version` and the session
    /// is the user's. 404 when missing or someone else's, 409 when stale.
    pub async fn update_session(
        &self,
        session_id: &str,
        user_id: &str,
        version: u64,
        changes: &SessionChanges,
        now_ms: u64,
    ) -> Result<SessionRecord, ApiError> {
        let mut sets = vec![
            "updatedAt = :now",
            "expiresAt = :exp",
            "version = version + :one",
        ];
        let mut values = HashMap::from([
            (":now".to_string(), s(iso8601(now_ms))),
            (":exp".to_string(), n(expires_at(now_ms))),
            (":one".to_string(), n(1)),
            (":uid".to_string(), s(user_id)),
            (":ver".to_string(), n(version)),
        ]);
        let mut names = HashMap::new();
        let fields: [(&str, &str, &Option<String>); 4] = [
            ("currentTopic", ":topic", &changes.current_topic),
            ("mode", ":mode", &changes.mode),
            ("language", ":lang", &changes.language),
            ("status", ":status", &changes.status),
        ];
        let mut exprs = Vec::new();
        for (attr, placeholder, value) in fields {
            if let Some(v) = value {
                exprs.push(format!("#{attr} = {placeholder}"));
                names.insert(format!("#{attr}"), attr.to_string());
                values.insert(placeholder.to_string(), s(v));
            }
        }
        let mut all: Vec<String> = sets.drain(..).map(str::to_string).collect();
        all.extend(exprs);
        let res = self
            .ddb
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .update_expression(format!("SET {}", all.join(", ")))
            .condition_expression("userId = :uid AND version = :ver")
            .set_expression_attribute_names(if names.is_empty() { None } else { Some(names) })
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(out) => SessionRecord::from_item(&out.attributes.unwrap_or_default()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    // Missing or another user's: 404. The user's own at another version: 409.
                    match self.get_session(session_id, true).await? {
                        Some(cur) if cur.user_id == user_id => Err(ApiError::Conflict(format!(
                            "version {version} is stale; the session is at version {}",
                            cur.version
                        ))),
                        _ => Err(ApiError::NotFound),
                    }
                }
                _ => Err(ApiError::from(classify("dynamodb:UpdateItem", &e))),
            },
        }
    }

    /// Deletes the session item if it is the user's (404 otherwise), then all
    /// its turns. Returns the number of turns deleted.
    pub async fn delete_session(&self, session_id: &str, user_id: &str) -> Result<usize, ApiError> {
        self.ddb
            .delete_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .condition_expression("userId = :uid")
            .expression_attribute_values(":uid", s(user_id))
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(_)) => ApiError::NotFound,
                _ => ApiError::from(classify("dynamodb:DeleteItem", &e)),
            })?;
        self.delete_turns(session_id).await
    }

    /// Deletes every turn of a session (25 per BatchWriteItem, retrying
    /// unprocessed items). Returns how many were deleted.
    pub async fn delete_turns(&self, session_id: &str) -> Result<usize, ApiError> {
        let mut deleted = 0;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .ddb
                .query()
                .table_name(&self.sessions)
                .key_condition_expression("sessionId = :sid AND begins_with(sk, :p)")
                .expression_attribute_values(":sid", s(session_id))
                .expression_attribute_values(":p", s(TURN_PREFIX))
                .projection_expression("sessionId, sk")
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| ApiError::from(classify("dynamodb:Query", &e)))?;
            let keys: Vec<Item> = out.items.unwrap_or_default();
            for chunk in keys.chunks(25) {
                let mut requests: Vec<WriteRequest> = chunk
                    .iter()
                    .map(|k| {
                        WriteRequest::builder()
                            .delete_request(
                                DeleteRequest::builder()
                                    .set_key(Some(k.clone()))
                                    .build()
                                    .expect("key set"),
                            )
                            .build()
                    })
                    .collect();
                let mut attempt = 0u32;
                while !requests.is_empty() {
                    let out = self
                        .ddb
                        .batch_write_item()
                        .request_items(&self.sessions, requests)
                        .send()
                        .await
                        .map_err(|e| ApiError::from(classify("dynamodb:BatchWriteItem", &e)))?;
                    requests = out
                        .unprocessed_items
                        .and_then(|mut m| m.remove(&self.sessions))
                        .unwrap_or_default();
                    if !requests.is_empty() {
                        attempt += 1;
                        if attempt > 8 {
                            return Err(ApiError::Unavailable);
                        }
                        tokio::time::sleep(Duration::from_millis(20 << attempt.min(5))).await;
                    }
                }
                deleted += chunk.len();
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(deleted)
    }

    /// One page of the user's sessions, newest `updatedAt` first.
    pub async fn list_sessions(
        &self,
        user_id: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<(Vec<SessionSummary>, Option<String>), ApiError> {
        let start = cursor.map(|c| decode_cursor(c, user_id)).transpose()?;
        let out = self
            .ddb
            .query()
            .table_name(&self.sessions)
            .index_name(&self.index)
            .key_condition_expression("userId = :uid")
            .expression_attribute_values(":uid", s(user_id))
            .scan_index_forward(false)
            .limit(limit as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| ApiError::from(classify("dynamodb:Query", &e)))?;
        let items = out.items.unwrap_or_default();
        let sessions = items
            .iter()
            .map(SessionSummary::from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = match out.last_evaluated_key {
            Some(k) if !k.is_empty() => Some(encode_cursor(&k)?),
            _ => None,
        };
        Ok((sessions, next))
    }

    /// The user's most recently updated session whose status is `active`.
    pub async fn latest_active(&self, user_id: &str) -> Result<Option<String>, ApiError> {
        let mut start: Option<Item> = None;
        for _ in 0..20 {
            let out = self
                .ddb
                .query()
                .table_name(&self.sessions)
                .index_name(&self.index)
                .key_condition_expression("userId = :uid")
                .filter_expression("#st = :active")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":uid", s(user_id))
                .expression_attribute_values(":active", s("active"))
                .scan_index_forward(false)
                .limit(25)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| ApiError::from(classify("dynamodb:Query", &e)))?;
            if let Some(first) = out.items.unwrap_or_default().first() {
                return Ok(get_s(first, "sessionId"));
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The `limit` most recent turns, newest first (strongly consistent).
    pub async fn recent_turns(
        &self,
        session_id: &str,
        limit: u32,
        consistent: bool,
    ) -> Result<Vec<TurnRecord>, ApiError> {
        let out = self
            .ddb
            .query()
            .table_name(&self.sessions)
            .key_condition_expression("sessionId = :sid AND begins_with(sk, :p)")
            .expression_attribute_values(":sid", s(session_id))
            .expression_attribute_values(":p", s(TURN_PREFIX))
            .scan_index_forward(false)
            .limit(limit.max(1) as i32)
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| ApiError::from(classify("dynamodb:Query", &e)))?;
        out.items
            .unwrap_or_default()
            .iter()
            .map(TurnRecord::from_item)
            .collect()
    }

    /// The highest turn sequence number (0 when there are none).
    pub async fn last_seq(&self, session_id: &str) -> Result<u64, ApiError> {
        let out = self
            .ddb
            .query()
            .table_name(&self.sessions)
            .key_condition_expression("sessionId = :sid AND begins_with(sk, :p)")
            .expression_attribute_values(":sid", s(session_id))
            .expression_attribute_values(":p", s(TURN_PREFIX))
            .projection_expression("sk")
            .select(Select::SpecificAttributes)
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| ApiError::from(classify("dynamodb:Query", &e)))?;
        Ok(out
            .items
            .unwrap_or_default()
            .first()
            .and_then(|i| get_s(i, "sk"))
            .and_then(|sk| parse_turn_sk(&sk))
            .unwrap_or(0))
    }

    /// Stores a turn in its sequence slot unless the slot is taken.
    pub async fn put_turn(&self, turn: &TurnRecord) -> Result<PutTurn, ApiError> {
        let res = self
            .ddb
            .put_item()
            .table_name(&self.sessions)
            .set_item(Some(turn.to_item()))
            .condition_expression("attribute_not_exists(sk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(_) => Ok(PutTurn::Stored),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    let existing = match c.item() {
                        Some(item) if !item.is_empty() => TurnRecord::from_item(item)?,
                        _ => self
                            .get_turn(&turn.session_id, turn.seq)
                            .await?
                            .ok_or(ApiError::Unavailable)?,
                    };
                    Ok(PutTurn::Taken(Box::new(existing)))
                }
                _ => Err(ApiError::from(classify("dynamodb:PutItem", &e))),
            },
        }
    }

    async fn get_turn(&self, session_id: &str, seq: u64) -> Result<Option<TurnRecord>, ApiError> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.sessions)
            .key("sessionId", s(session_id))
            .key("sk", s(turn_sk(seq)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| ApiError::from(classify("dynamodb:GetItem", &e)))?;
        out.item.as_ref().map(TurnRecord::from_item).transpose()
    }

    /// Refreshes the session's `updatedAt`, `expiresAt` and `turnCount`
    /// unless another writer already did since `stale_before`. Best effort:
    /// a lost race is not an error.
    pub async fn touch_session(
        &self,
        session_id: &str,
        user_id: &str,
        now_ms: u64,
        stale_before: &str,
        turn_count: u64,
    ) -> Result<(), ApiError> {
        let res = self
            .ddb
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .update_expression("SET updatedAt = :now, expiresAt = :exp, turnCount = :tc")
            .condition_expression("userId = :uid AND updatedAt < :stale")
            .expression_attribute_values(":now", s(iso8601(now_ms)))
            .expression_attribute_values(":exp", n(expires_at(now_ms)))
            .expression_attribute_values(":tc", n(turn_count))
            .expression_attribute_values(":uid", s(user_id))
            .expression_attribute_values(":stale", s(stale_before))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(ApiError::from(classify("dynamodb:UpdateItem", &e))),
            },
        }
    }

    /// Sets (or with `None`, removes) the sealed summary and marks activity;
    /// also resets `turnCount` when `reset_turns`. 404 if not the user's.
    pub async fn set_summary(
        &self,
        session_id: &str,
        user_id: &str,
        sealed: Option<&[u8]>,
        now_ms: u64,
        reset_turns: bool,
    ) -> Result<SessionRecord, ApiError> {
        let mut set =
            String::from("SET updatedAt = :now, expiresAt = :exp, version = version + :one");
        let mut values = HashMap::from([
            (":now".to_string(), s(iso8601(now_ms))),
            (":exp".to_string(), n(expires_at(now_ms))),
            (":one".to_string(), n(1)),
            (":uid".to_string(), s(user_id)),
        ]);
        if reset_turns {
            set.push_str(", turnCount = :zero");
            values.insert(":zero".to_string(), n(0));
        }
        let expr = match sealed {
            Some(bytes) => {
                values.insert(":sum".to_string(), b(bytes));
                format!("{set}, summary = :sum")
            }
            None => format!("{set} REMOVE summary"),
        };
        let res = self
            .ddb
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .update_expression(expr)
            .condition_expression("userId = :uid")
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match res {
            Ok(out) => SessionRecord::from_item(&out.attributes.unwrap_or_default()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Err(ApiError::NotFound)
                }
                _ => Err(ApiError::from(classify("dynamodb:UpdateItem", &e))),
            },
        }
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
