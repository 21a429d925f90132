//! The items as Rust types: the session item, a turn, a `list` row, a
//! profile, and their conversions from and to DynamoDB attribute maps.

use super::*;

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
    pub(super) fn from_item(item: &Item) -> Result<Self, ApiError> {
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
