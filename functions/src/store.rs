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
/// The largest sequence number a 10-digit turn key holds.
pub const MAX_SEQ: u64 = 9_999_999_999;

/// `TURN#` and the sequence number, zero-padded so keys sort by number.
pub fn turn_sk(seq: u64) -> String {
    format!("{TURN_PREFIX}{seq:010}")
}

fn parse_turn_sk(sk: &str) -> Option<u64> {
    sk.strip_prefix(TURN_PREFIX)?.parse().ok()
}

/// `status` of a session whose `delete` has started: gone for every reader,
/// kept (with `userId`) only so a retried delete can finish.
pub const DELETING: &str = "deleting";

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
    /// Bumped by every `clear` (attribute `gen`, absent = 0): only turns of
    /// the current generation are visible, and it is bound into the AAD.
    pub generation: u64,
    /// The highest sequence number when the session was last cleared
    /// (attribute `turnBase`): turns of this generation come after it.
    pub turn_base: u64,
}

impl SessionRecord {
    /// Neither being deleted nor expired at `now_ms` (`expiresAt` is the TTL
    /// attribute, epoch seconds; DynamoDB deletes expired items only
    /// eventually, so readers must not rely on TTL:
    /// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html).
    pub fn is_live(&self, now_ms: u64) -> bool {
        self.status != DELETING && self.expires_at > now_ms / 1000
    }

    /// The turns of the current generation, in the order given.
    pub fn visible(&self, turns: Vec<TurnRecord>) -> Vec<TurnRecord> {
        turns
            .into_iter()
            .filter(|t| t.generation == self.generation && t.seq > self.turn_base)
            .collect()
    }

    /// Turns since the last clear, given the highest sequence number.
    pub fn count_since_clear(&self, last_seq: u64) -> u64 {
        last_seq.saturating_sub(self.turn_base)
    }
}

/// The session if it exists, is `user_id`'s and is live; else 404 (the same
/// answer for each case).
pub fn live_owned(
    rec: Option<SessionRecord>,
    user_id: &str,
    now_ms: u64,
) -> Result<SessionRecord, ApiError> {
    match rec {
        Some(rec) if rec.user_id == user_id && rec.is_live(now_ms) => Ok(rec),
        _ => Err(ApiError::NotFound),
    }
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
    /// The session's generation when the turn was written (`gen`).
    pub generation: u64,
    /// Keyed digest of role and content (`digest`; absent on turns written
    /// before digests existed).
    pub digest: Option<Vec<u8>>,
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
            ("gen".to_string(), n(self.generation)),
            ("turnBase".to_string(), n(self.turn_base)),
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
            generation: get_n(item, "gen").unwrap_or(0),
            turn_base: get_n(item, "turnBase").unwrap_or(0),
        })
    }
}

impl TurnRecord {
    pub fn sk(&self) -> String {
        turn_sk(self.seq)
    }

    pub fn to_item(&self) -> Item {
        let mut item = HashMap::from([
            ("sessionId".to_string(), s(&self.session_id)),
            ("sk".to_string(), s(self.sk())),
            ("turnId".to_string(), s(&self.turn_id)),
            ("role".to_string(), s(&self.role)),
            ("content".to_string(), b(&self.content)),
            ("language".to_string(), s(&self.language)),
            ("createdAt".to_string(), s(&self.created_at)),
            ("tokens".to_string(), n(self.tokens)),
            ("expiresAt".to_string(), n(self.expires_at)),
            ("gen".to_string(), n(self.generation)),
        ]);
        if let Some(d) = &self.digest {
            item.insert("digest".to_string(), b(d));
        }
        item
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
            generation: get_n(item, "gen").unwrap_or(0),
            digest: get_b(item, "digest"),
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

    /// The session item and its `limit` most recent turns (newest first, any
    /// generation), read at the same time: one round trip. Nothing read here
    /// may be returned or decrypted before the caller's ownership check.
    pub async fn session_and_turns(
        &self,
        session_id: &str,
        limit: u32,
        consistent: bool,
    ) -> Result<(Option<SessionRecord>, Vec<TurnRecord>), ApiError> {
        tokio::try_join!(
            self.get_session(session_id, consistent),
            self.recent_turns(session_id, limit, consistent)
        )
    }

    /// The session item and the highest turn sequence number, read at the
    /// same time (the number is not returned before the ownership check).
    pub async fn session_and_last_seq(
        &self,
        session_id: &str,
        consistent: bool,
    ) -> Result<(Option<SessionRecord>, u64), ApiError> {
        tokio::try_join!(
            self.get_session(session_id, consistent),
            self.last_seq(session_id)
        )
    }

    /// The session if it exists, belongs to `user_id` and is live; else 404.
    pub async fn owned_session(
        &self,
        session_id: &str,
        user_id: &str,
        consistent: bool,
        now_ms: u64,
    ) -> Result<SessionRecord, ApiError> {
        live_owned(
            self.get_session(session_id, consistent).await?,
            user_id,
            now_ms,
        )
    }

    /// 404 when the session is missing, someone else's, being deleted or
    /// expired; else `conflict` (a condition failed on a live session).
    async fn classify_failed_condition(
        &self,
        session_id: &str,
        user_id: &str,
        now_ms: u64,
        conflict: impl FnOnce(&SessionRecord) -> ApiError,
    ) -> ApiError {
        match self.owned_session(session_id, user_id, true, now_ms).await {
            Ok(cur) => conflict(&cur),
            Err(e) => e,
        }
    }

    /// Applies `changes` if the stored version is `version` and the session
    /// is the user's and live. 404 when missing, someone else's, being
    /// deleted or expired; 409 when stale.
    pub async fn update_session(
        &self,
        session_id: &str,
        user_id: &str,
        version: u64,
        changes: &SessionChanges,
        now_ms: u64,
    ) -> Result<SessionRecord, ApiError> {
        let mut sets = vec![
            "updatedAt = :now".to_string(),
            "expiresAt = :exp".to_string(),
            "version = version + :one".to_string(),
        ];
        let mut values = HashMap::from([
            (":now".to_string(), s(iso8601(now_ms))),
            (":exp".to_string(), n(expires_at(now_ms))),
            (":one".to_string(), n(1)),
            (":uid".to_string(), s(user_id)),
            (":ver".to_string(), n(version)),
        ]);
        let mut names = HashMap::new();
        live_condition(&mut names, &mut values, now_ms);
        let fields: [(&str, &str, &Option<String>); 4] = [
            ("currentTopic", ":topic", &changes.current_topic),
            ("mode", ":mode", &changes.mode),
            ("language", ":lang", &changes.language),
            ("status", ":status", &changes.status),
        ];
        for (attr, placeholder, value) in fields {
            if let Some(v) = value {
                sets.push(format!("#{attr} = {placeholder}"));
                names.insert(format!("#{attr}"), attr.to_string());
                values.insert(placeholder.to_string(), s(v));
            }
        }
        let res = self
            .ddb
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(format!("userId = :uid AND version = :ver AND {LIVE}"))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match res {
            Ok(out) => SessionRecord::from_item(&out.attributes.unwrap_or_default()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Err(self
                    .classify_failed_condition(session_id, user_id, now_ms, |cur| {
                        ApiError::Conflict(format!(
                            "version {version} is stale; the session is at version {}",
                            cur.version
                        ))
                    })
                    .await),
                _ => Err(ApiError::from(classify("dynamodb:UpdateItem", &e))),
            },
        }
    }

    /// Deletes a session so that a failure part-way leaves it gone for every
    /// reader and a retry finishes: first marks it `deleting` (the owner
    /// check; `userId` stays), then deletes its turns, then the session item
    /// (with the wrapped data key) last. Returns the number of turns deleted
    /// by this call. 404 when missing, someone else's or expired.
    pub async fn delete_session(
        &self,
        session_id: &str,
        user_id: &str,
        now_ms: u64,
    ) -> Result<usize, ApiError> {
        // A retry of an interrupted delete finds the session already marked;
        // an expired one is left to TTL like any other expired item.
        self.ddb
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .update_expression("SET #st = :deleting")
            .condition_expression("userId = :uid AND (expiresAt > :nows OR #st = :deleting)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":deleting", s(DELETING))
            .expression_attribute_values(":uid", s(user_id))
            .expression_attribute_values(":nows", n(now_ms / 1000))
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => ApiError::NotFound,
                _ => ApiError::from(classify("dynamodb:UpdateItem", &e)),
            })?;
        let deleted = self.delete_turns(session_id, None).await?;
        let res = self
            .ddb
            .delete_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .condition_expression("userId = :uid AND #st = :deleting")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":uid", s(user_id))
            .expression_attribute_values(":deleting", s(DELETING))
            .send()
            .await;
        match res {
            Ok(_) => Ok(deleted),
            // A concurrent retry of the same delete finished first.
            Err(e) => match e.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(deleted),
                _ => Err(ApiError::from(classify("dynamodb:DeleteItem", &e))),
            },
        }
    }

    /// Deletes the session's turns (25 per BatchWriteItem, retrying
    /// unprocessed items), all of them, or with `keep` those of that
    /// generation. Returns how many were deleted.
    pub async fn delete_turns(
        &self,
        session_id: &str,
        keep: Option<u64>,
    ) -> Result<usize, ApiError> {
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
                .projection_expression("sessionId, sk, #g")
                .expression_attribute_names("#g", "gen")
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| ApiError::from(classify("dynamodb:Query", &e)))?;
            let keys: Vec<Item> = out
                .items
                .unwrap_or_default()
                .into_iter()
                .filter(|i| keep.is_none() || get_n(i, "gen").unwrap_or(0) != keep.unwrap_or(0))
                .map(|mut i| {
                    i.remove("gen");
                    i
                })
                .collect();
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

    /// Starts a new generation (the `clear`): turns of earlier generations
    /// are invisible from this write on, the summary is removed and the
    /// turn count starts again after `turn_base`, and `wrapped_key` (a new
    /// data key) replaces the session's, so what an earlier generation left
    /// behind no longer opens with any stored key. Conditional on the owner,
    /// a live session and the generation the caller read (a concurrent
    /// clear is a 409). The caller then deletes the old generations' turns.
    pub async fn start_generation(
        &self,
        rec: &SessionRecord,
        turn_base: u64,
        wrapped_key: &[u8],
        now_ms: u64,
    ) -> Result<SessionRecord, ApiError> {
        let mut names = HashMap::new();
        let mut values = HashMap::from([
            (":now".to_string(), s(iso8601(now_ms))),
            (":exp".to_string(), n(expires_at(now_ms))),
            (":one".to_string(), n(1)),
            (":uid".to_string(), s(&rec.user_id)),
            (":zero".to_string(), n(0)),
            (":gnext".to_string(), n(rec.generation + 1)),
            (":base".to_string(), n(turn_base)),
            (":wk".to_string(), b(wrapped_key)),
        ]);
        live_condition(&mut names, &mut values, now_ms);
        let gen_cond = generation_condition(&mut names, &mut values, rec.generation);
        let res = self
            .ddb
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(&rec.session_id)))
            .update_expression(
                "SET updatedAt = :now, expiresAt = :exp, version = version + :one, \
                 turnCount = :zero, #g = :gnext, turnBase = :base, wrappedKey = :wk \
                 REMOVE summary",
            )
            .condition_expression(format!("userId = :uid AND {LIVE} AND {gen_cond}"))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match res {
            Ok(out) => SessionRecord::from_item(&out.attributes.unwrap_or_default()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Err(self
                    .classify_failed_condition(&rec.session_id, &rec.user_id, now_ms, |_| {
                        ApiError::Conflict("the session was cleared concurrently; retry".into())
                    })
                    .await),
                _ => Err(ApiError::from(classify("dynamodb:UpdateItem", &e))),
            },
        }
    }

    /// One page of the user's live sessions, newest `updatedAt` first.
    /// Sessions being deleted or expired are filtered out; since DynamoDB
    /// applies `Limit` before the filter
    /// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.FilterExpression.html),
    /// a short page is topped up with a few more queries.
    pub async fn list_sessions(
        &self,
        user_id: &str,
        limit: u32,
        cursor: Option<&str>,
        now_ms: u64,
    ) -> Result<(Vec<SessionSummary>, Option<String>), ApiError> {
        let mut start = cursor.map(|c| decode_cursor(c, user_id)).transpose()?;
        let mut sessions = Vec::new();
        for _ in 0..LIST_QUERIES {
            let out = self
                .ddb
                .query()
                .table_name(&self.sessions)
                .index_name(&self.index)
                .key_condition_expression("userId = :uid")
                .filter_expression("#st <> :deleting AND expiresAt > :nows")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":uid", s(user_id))
                .expression_attribute_values(":deleting", s(DELETING))
                .expression_attribute_values(":nows", n(now_ms / 1000))
                .scan_index_forward(false)
                .limit((limit as usize - sessions.len()) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| ApiError::from(classify("dynamodb:Query", &e)))?;
            for item in out.items.unwrap_or_default() {
                sessions.push(SessionSummary::from_item(&item)?);
            }
            start = out.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() || sessions.len() >= limit as usize {
                break;
            }
        }
        let next = start.as_ref().map(encode_cursor).transpose()?;
        Ok((sessions, next))
    }

    /// The user's most recently updated live session whose status is `active`.
    pub async fn latest_active(
        &self,
        user_id: &str,
        now_ms: u64,
    ) -> Result<Option<String>, ApiError> {
        let mut start: Option<Item> = None;
        for _ in 0..20 {
            let out = self
                .ddb
                .query()
                .table_name(&self.sessions)
                .index_name(&self.index)
                .key_condition_expression("userId = :uid")
                .filter_expression("#st = :active AND expiresAt > :nows")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":uid", s(user_id))
                .expression_attribute_values(":active", s("active"))
                .expression_attribute_values(":nows", n(now_ms / 1000))
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

    /// The `limit` most recent turns, newest first.
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

    /// Up to `limit` turns after sequence number `after`, oldest first
    /// (strongly consistent): what a writer that lost a slot skips over.
    pub async fn turns_after(
        &self,
        session_id: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<TurnRecord>, ApiError> {
        let out = self
            .ddb
            .query()
            .table_name(&self.sessions)
            .key_condition_expression("sessionId = :sid AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":sid", s(session_id))
            .expression_attribute_values(":from", s(turn_sk(after + 1)))
            .expression_attribute_values(":to", s(turn_sk(MAX_SEQ)))
            .limit(limit.max(1) as i32)
            .consistent_read(true)
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

    /// Stores a turn in its sequence slot unless the slot is taken
    /// (`attribute_not_exists` on the key: a conditional put never
    /// overwrites,
    /// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html).
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
    /// unless another writer already did since `stale_before`, or the
    /// session is being deleted or expired. Best effort: a failed condition
    /// is not an error.
    pub async fn touch_session(
        &self,
        session_id: &str,
        user_id: &str,
        now_ms: u64,
        stale_before: &str,
        turn_count: u64,
    ) -> Result<(), ApiError> {
        let mut names = HashMap::new();
        let mut values = HashMap::from([
            (":now".to_string(), s(iso8601(now_ms))),
            (":exp".to_string(), n(expires_at(now_ms))),
            (":tc".to_string(), n(turn_count)),
            (":uid".to_string(), s(user_id)),
            (":stale".to_string(), s(stale_before)),
        ]);
        live_condition(&mut names, &mut values, now_ms);
        let res = self
            .ddb
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .update_expression("SET updatedAt = :now, expiresAt = :exp, turnCount = :tc")
            .condition_expression(format!("userId = :uid AND updatedAt < :stale AND {LIVE}"))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
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

    /// Sets the sealed summary (sealed for `generation`) and marks activity,
    /// if the session is the user's, live and still at `generation`. 404
    /// when not the user's or not live; 409 when cleared meanwhile.
    pub async fn set_summary(
        &self,
        session_id: &str,
        user_id: &str,
        sealed: &[u8],
        generation: u64,
        now_ms: u64,
    ) -> Result<SessionRecord, ApiError> {
        let mut names = HashMap::new();
        let mut values = HashMap::from([
            (":now".to_string(), s(iso8601(now_ms))),
            (":exp".to_string(), n(expires_at(now_ms))),
            (":one".to_string(), n(1)),
            (":uid".to_string(), s(user_id)),
            (":sum".to_string(), b(sealed)),
        ]);
        live_condition(&mut names, &mut values, now_ms);
        let gen_cond = generation_condition(&mut names, &mut values, generation);
        let res = self
            .ddb
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .update_expression(
                "SET updatedAt = :now, expiresAt = :exp, version = version + :one, summary = :sum",
            )
            .condition_expression(format!("userId = :uid AND {LIVE} AND {gen_cond}"))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match res {
            Ok(out) => SessionRecord::from_item(&out.attributes.unwrap_or_default()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Err(self
                    .classify_failed_condition(session_id, user_id, now_ms, |_| {
                        ApiError::Conflict(
                            "the session was cleared while the summary was written; retry".into(),
                        )
                    })
                    .await),
                _ => Err(ApiError::from(classify("dynamodb:UpdateItem", &e))),
            },
        }
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
