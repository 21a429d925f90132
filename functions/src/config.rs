//! Settings read from the environment once per container.

use crate::tls::Trust;

/// What the functions need to know about their resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `SESSIONS_TABLE`.
    pub sessions_table: String,
    /// `USER_PROFILES_TABLE` (read by session persistence only).
    pub profiles_table: String,
    /// `KMS_KEY_ID`: key id, ARN or alias.
    pub kms_key_id: String,
    /// The GSI of the sessions table (`UserSessionIndex`).
    pub user_session_index: String,
    /// `KEY_CACHE_CAPACITY` (default 1000): data keys kept per container.
    pub key_cache_capacity: usize,
    /// `SESSION_TOUCH_INTERVAL_SECONDS` (default 300): how stale the session
    /// item's `updatedAt` may get before `add_turn` refreshes it.
    pub touch_interval_ms: u64,
    /// `ASSISTANT_WRITER_GROUP` (default `assistant-writers`): the
    /// Cognito group a token needs to write `assistant`/`system`
    /// turns and summaries (the stack parameter `AssistantWriterGroup`).
    pub assistant_writer_group: String,
    /// `KEY_CACHE_MAX_AGE_SECONDS` (default 600): how long an unwrapped data
    /// key may stay cached before KMS is asked again.
    /// `AUDIT_ID_KEY` (the stack sets its own stack id): the key of the
    /// pseudonyms a delegated request's log line names its actor and
    /// target by (`identity::audit_id`), so raw user ids stay out of logs.
    pub audit_id_key: String,
    pub key_cache_max_age_ms: u64,
    /// `TLS_TRUST_STORE` (default `amazon`): the roots the HTTPS client
    /// trusts, Amazon Trust Services', the public ones (`public`) or the
    /// operating system's (`system`); see `tls`.
    pub tls_trust: Trust,
    /// How long one DynamoDB or KMS attempt may take, and one call with its
    /// retries: together well inside the function's timeout, so a stalled
    /// dependency ends in the function's own 503 (see [`DependencyTimeouts`]).
    pub dependency_timeouts: DependencyTimeouts,
}

/// Timeouts for the AWS calls. A call that runs out is retried by the SDK
/// (standard mode) within the operation timeout, then answered with 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DependencyTimeouts {
    /// Opening a connection.
    pub connect: std::time::Duration,
    /// One attempt (DynamoDB and KMS answer in milliseconds when healthy).
    pub attempt: std::time::Duration,
    /// One call, every attempt and backoff included.
    pub operation: std::time::Duration,
}

impl Default for DependencyTimeouts {
    fn default() -> Self {
        use std::time::Duration;
        DependencyTimeouts {
            connect: Duration::from_millis(1_000),
            attempt: Duration::from_millis(2_000),
            operation: Duration::from_millis(4_000),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set; the stack sets it on the function")]
    Missing(&'static str),
    #[error("environment variable {0} is not a whole number")]
    NotANumber(&'static str),
    #[error("environment variable TLS_TRUST_STORE is {0:?}: set it to `amazon` (the default), `public` or `system` (the stack parameter TlsTrustStore)")]
    TrustStore(String),
}

pub const DEFAULT_KEY_CACHE_CAPACITY: usize = 1000;
pub const DEFAULT_TOUCH_INTERVAL_SECONDS: u64 = 300;
pub const USER_SESSION_INDEX: &str = "UserSessionIndex";
pub const DEFAULT_ASSISTANT_WRITER_GROUP: &str = "assistant-writers";
pub const DEFAULT_KEY_CACHE_MAX_AGE_SECONDS: u64 = 600;

impl Settings {
    /// Settings for the given table names and key, with default tuning.
    pub fn new(
        sessions_table: impl Into<String>,
        profiles_table: impl Into<String>,
        kms_key_id: impl Into<String>,
    ) -> Self {
        Settings {
            sessions_table: sessions_table.into(),
            profiles_table: profiles_table.into(),
            kms_key_id: kms_key_id.into(),
            user_session_index: USER_SESSION_INDEX.to_string(),
            key_cache_capacity: DEFAULT_KEY_CACHE_CAPACITY,
            touch_interval_ms: DEFAULT_TOUCH_INTERVAL_SECONDS * 1000,
            assistant_writer_group: DEFAULT_ASSISTANT_WRITER_GROUP.to_string(),
            key_cache_max_age_ms: DEFAULT_KEY_CACHE_MAX_AGE_SECONDS * 1000,
            tls_trust: Trust::default(),
            dependency_timeouts: DependencyTimeouts::default(),
            audit_id_key: String::new(),
        }
    }

    /// Reads `SESSIONS_TABLE`, `USER_PROFILES_TABLE`, `KMS_KEY_ID` and the
    /// optional tuning variables through `get` (e.g. `std::env::var`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let req = |name: &'static str| {
            get(name)
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let num = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(name).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => v.trim().parse().map_err(|_| ConfigError::NotANumber(name)),
            }
        };
        let mut s = Settings::new(
            req("SESSIONS_TABLE")?,
            req("USER_PROFILES_TABLE")?,
            req("KMS_KEY_ID")?,
        );
        s.key_cache_capacity =
            num("KEY_CACHE_CAPACITY", DEFAULT_KEY_CACHE_CAPACITY as u64)? as usize;
        s.touch_interval_ms = num(
            "SESSION_TOUCH_INTERVAL_SECONDS",
            DEFAULT_TOUCH_INTERVAL_SECONDS,
        )? * 1000;
        s.key_cache_max_age_ms = num(
            "KEY_CACHE_MAX_AGE_SECONDS",
            DEFAULT_KEY_CACHE_MAX_AGE_SECONDS,
        )? * 1000;
        if let Some(g) = get("ASSISTANT_WRITER_GROUP").filter(|v| !v.trim().is_empty()) {
            s.assistant_writer_group = g.trim().to_string();
        }
        if let Some(k) = get("AUDIT_ID_KEY") {
            s.audit_id_key = k;
        }
        if let Some(t) = get("TLS_TRUST_STORE").filter(|v| !v.trim().is_empty()) {
            s.tls_trust = Trust::parse(&t).ok_or(ConfigError::TrustStore(t))?;
        }
        Ok(s)
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_env() {
        let env = |k: &str| match k {
            "SESSIONS_TABLE" => Some("s".to_string()),
            "USER_PROFILES_TABLE" => Some("p".to_string()),
            "KMS_KEY_ID" => Some("alias/k".to_string()),
            "SESSION_TOUCH_INTERVAL_SECONDS" => Some("60".to_string()),
            "ASSISTANT_WRITER_GROUP" => Some("tutors".to_string()),
            _ => None,
        };
        let s = Settings::from_lookup(env).unwrap();
        assert_eq!(s.touch_interval_ms, 60_000);
        assert_eq!(s.assistant_writer_group, "tutors");
        assert_eq!(s.key_cache_max_age_ms, 600_000);
        assert_eq!(s.key_cache_capacity, DEFAULT_KEY_CACHE_CAPACITY);
        assert_eq!(s.tls_trust, Trust::Amazon);
        assert!(matches!(
            Settings::from_lookup(|_| None),
            Err(ConfigError::Missing("SESSIONS_TABLE"))
        ));
    }

    #[test]
    fn trust_store_setting() {
        let with = |value: &'static str| {
            Settings::from_lookup(move |k| match k {
                "SESSIONS_TABLE" | "USER_PROFILES_TABLE" | "KMS_KEY_ID" => Some("x".to_string()),
                "TLS_TRUST_STORE" => Some(value.to_string()),
                _ => None,
            })
        };
        assert_eq!(with("system").unwrap().tls_trust, Trust::System);
        assert_eq!(with("amazon").unwrap().tls_trust, Trust::Amazon);
        assert_eq!(with("public").unwrap().tls_trust, Trust::Public);
        assert_eq!(with("").unwrap().tls_trust, Trust::Amazon);
        let err = with("mozilla").unwrap_err().to_string();
        assert!(
            err.contains("\"mozilla\"")
                && err.contains("`public`")
                && err.contains("`amazon`")
                && err.contains("`system`"),
            "{err}"
        );
    }
}
