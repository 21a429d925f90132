//! The JSON API: one [`App`] per container, [`App::handle`] per request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{json, Value};

use crate::config::{ConfigError, Settings};
use crate::crypto::{aad, content_aad, DataKey, KeyManager};
use crate::error::ApiError;
use crate::identity;
use crate::model::{self, Action, NewTurn, WindowSpec};
use crate::store::{
    expires_at, PutTurn, SessionRecord, SessionStore, SessionSummary, TurnRecord, SESSION_SK,
};
use crate::time::{iso8601, now_ms, parse_iso8601};

/// Which of the two functions an [`App`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Function {
    /// `POST /sessions`: create, get, update, delete, list, restore.
    SessionPersistence,
    /// `POST /context`: add_turn, get_context, set_summary, clear.
    ContextManager,
}

impl Function {
    pub fn actions(self) -> &'static [&'static str] {
        match self {
            Function::SessionPersistence => model::SESSION_ACTIONS,
            Function::ContextManager => model::CONTEXT_ACTIONS,
        }
    }

    /// The Cargo binary name.
    pub fn name(self) -> &'static str {
        match self {
            Function::SessionPersistence => "session-persistence",
            Function::ContextManager => "context-manager",
        }
    }
}

/// Turns read before `add_turn` writes: the idempotency horizon for a
/// retried `turnId` (at least this many, or the window's `maxTurns`).
pub const IDEMPOTENCY_LOOKBACK: u32 = 20;
/// Attempts to find a free sequence slot under contention before 503.
pub const MAX_SLOT_ATTEMPTS: u32 = 400;

struct Inner {
    function: Function,
    store: SessionStore,
    keys: KeyManager,
    settings: Settings,
}

/// A function's state: its AWS clients (built once per container), key cache
/// and settings. Cheap to clone; share one per container.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

impl App {
    /// Builds the clients from `sdk` (e.g. `aws_config::load_defaults`, so
    /// `AWS_ENDPOINT_URL` is honoured). `interceptor`, when given, is added to
    /// both the DynamoDB and the KMS client (tests record operations with it).
    pub fn new(
        function: Function,
        sdk: &SdkConfig,
        settings: Settings,
        interceptor: Option<SharedInterceptor>,
    ) -> App {
        let mut ddb = aws_sdk_dynamodb::config::Builder::from(sdk);
        let mut kms = aws_sdk_kms::config::Builder::from(sdk);
        if let Some(i) = interceptor {
            ddb.push_interceptor(i.clone());
            kms.push_interceptor(i);
        }
        let ddb = aws_sdk_dynamodb::Client::from_conf(ddb.build());
        let kms = aws_sdk_kms::Client::from_conf(kms.build());
        App {
            inner: Arc::new(Inner {
                function,
                store: SessionStore::new(
                    ddb,
                    settings.sessions_table.clone(),
                    settings.profiles_table.clone(),
                    settings.user_session_index.clone(),
                ),
                keys: KeyManager::new(
                    kms,
                    settings.kms_key_id.clone(),
                    settings.key_cache_capacity,
                ),
                settings,
            }),
        }
    }

    /// What the binaries do: settings from the environment, AWS
    /// configuration from the standard chain.
    pub async fn from_env(function: Function) -> Result<App, ConfigError> {
        let settings = Settings::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(App::new(function, &sdk, settings, None))
    }

    pub fn function(&self) -> Function {
        self.inner.function
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Data keys cached in this container.
    pub fn cached_keys(&self) -> usize {
        self.inner.keys.cached()
    }

    /// Handles one API Gateway HTTP API (payload 2.0) request. Never fails:
    /// errors become JSON error responses.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let started = Instant::now();
        let request_id = identity::request_id(&req);
        let lambda_request_id = req
            .lambda_context_ref()
            .map(|c| c.request_id.clone())
            .unwrap_or_default();
        let mut action = "unknown";
        let result = self.dispatch(&req, &mut action).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let function = self.inner.function.name();
        match result {
            Ok((status, body)) => {
                tracing::info!(request_id = %request_id, lambda_request_id = %lambda_request_id, function, action, outcome = "ok", status = status.as_u16(), latency_ms, "request");
                respond(status, &body)
            }
            Err(e) => {
                let status = e.status();
                if status.is_server_error() {
                    tracing::error!(request_id = %request_id, lambda_request_id = %lambda_request_id, function, action, outcome = e.code(), status = status.as_u16(), latency_ms, "request");
                } else {
                    tracing::info!(request_id = %request_id, lambda_request_id = %lambda_request_id, function, action, outcome = e.code(), status = status.as_u16(), field = e.field().unwrap_or(""), latency_ms, "request");
                }
                respond(status, &e.to_json(&request_id))
            }
        }
    }

    async fn dispatch(
        &self,
        req: &Request,
        action_name: &mut &'static str,
    ) -> Result<(StatusCode, Value), ApiError> {
        let user = identity::user_id(req)?;
        let body = body_text(req)?;
        let action = model::parse_action_named(body, self.inner.function.actions(), action_name)?;
        *action_name = action.name();
        match action {
            Action::Create(new) => self.create(&user, new).await,
            Action::Get { session_id } => self.get(&user, &session_id).await,
            Action::Update {
                session_id,
                version,
                changes,
            } => {
                let rec = self
                    .inner
                    .store
                    .update_session(&session_id, &user, version, &changes, now_ms())
                    .await?;
                let count = self.inner.store.last_seq(&session_id).await?;
                Ok((
                    StatusCode::OK,
                    json!({ "session": session_view(&rec, Some(count)) }),
                ))
            }
            Action::Delete { session_id } => {
                let turns = self.inner.store.delete_session(&session_id, &user).await?;
                self.inner.keys.forget(&session_id);
                Ok((
                    StatusCode::OK,
                    json!({ "sessionId": session_id, "deleted": true, "turnsDeleted": turns }),
                ))
            }
            Action::List { limit, cursor } => {
                let (sessions, next) = self
                    .inner
                    .store
                    .list_sessions(&user, limit, cursor.as_deref())
                    .await?;
                let list: Vec<Value> = sessions.iter().map(summary_view).collect();
                Ok((StatusCode::OK, json!({ "sessions": list, "cursor": next })))
            }
            Action::Restore { session_id, window } => {
                let id = match session_id {
                    Some(id) => id,
                    None => self
                        .inner
                        .store
                        .latest_active(&user)
                        .await?
                        .ok_or(ApiError::NotFound)?,
                };
                let rec = self.inner.store.owned_session(&id, &user, false).await?;
                let key = self.key(&rec).await?;
                let turns = self
                    .inner
                    .store
                    .recent_turns(&id, window.max_turns, false)
                    .await?;
                let ctx = context_view(&rec, &key, &turns, window)?;
                let count = turns.first().map_or(0, |t| t.seq);
                Ok((
                    StatusCode::OK,
                    json!({ "session": session_view(&rec, Some(count)), "context": ctx }),
                ))
            }
            Action::AddTurn {
                session_id,
                turn,
                window,
            } => self.add_turn(&user, &session_id, turn, window).await,
            Action::GetContext { session_id, window } => {
                let rec = self
                    .inner
                    .store
                    .owned_session(&session_id, &user, false)
                    .await?;
                let key = self.key(&rec).await?;
                let turns = self
                    .inner
                    .store
                    .recent_turns(&session_id, window.max_turns, false)
                    .await?;
                Ok((
                    StatusCode::OK,
                    json!({ "context": context_view(&rec, &key, &turns, window)? }),
                ))
            }
            Action::SetSummary {
                session_id,
                summary,
            } => {
                let rec = self
                    .inner
                    .store
                    .owned_session(&session_id, &user, false)
                    .await?;
                let key = self.key(&rec).await?;
                let sealed = key.seal_str(&aad(&session_id, SESSION_SK, "summary"), &summary)?;
                let rec = self
                    .inner
                    .store
                    .set_summary(&session_id, &user, Some(&sealed), now_ms(), false)
                    .await?;
                let count = self.inner.store.last_seq(&session_id).await?;
                Ok((
                    StatusCode::OK,
                    json!({ "session": session_view(&rec, Some(count)) }),
                ))
            }
            Action::Clear { session_id } => {
                self.inner
                    .store
                    .owned_session(&session_id, &user, false)
                    .await?;
                let cleared = self.inner.store.delete_turns(&session_id).await?;
                let rec = self
                    .inner
                    .store
                    .set_summary(&session_id, &user, None, now_ms(), true)
                    .await?;
                Ok((
                    StatusCode::OK,
                    json!({ "session": session_view(&rec, Some(0)), "turnsDeleted": cleared }),
                ))
            }
        }
    }

    async fn key(&self, rec: &SessionRecord) -> Result<Arc<DataKey>, ApiError> {
        self.inner
            .keys
            .session_key(&rec.session_id, &rec.user_id, &rec.wrapped_key)
            .await
    }

    async fn create(
        &self,
        user: &str,
        new: model::NewSession,
    ) -> Result<(StatusCode, Value), ApiError> {
        let needs_profile = new.mode.is_none() || new.language.is_none();
        let profile = if needs_profile {
            self.inner.store.profile(user).await?.unwrap_or_default()
        } else {
            Default::default()
        };
        let session_id = new_uuid()?;
        let (_key, wrapped) = self.inner.keys.new_session_key(&session_id, user).await?;
        let now = now_ms();
        let rec = SessionRecord {
            session_id,
            user_id: user.to_string(),
            current_topic: new.current_topic,
            mode: new.mode.or(profile.mode).unwrap_or_else(|| "tutor".into()),
            language: new
                .language
                .or(profile.language)
                .unwrap_or_else(|| "en".into()),
            status: "active".into(),
            created_at: iso8601(now),
            updated_at: iso8601(now),
            expires_at: expires_at(now),
            turn_count: 0,
            summary: None,
            wrapped_key: wrapped,
            version: 1,
        };
        self.inner.store.put_session(&rec).await?;
        Ok((
            StatusCode::CREATED,
            json!({ "session": session_view(&rec, Some(0)) }),
        ))
    }

    async fn get(&self, user: &str, session_id: &str) -> Result<(StatusCode, Value), ApiError> {
        let rec = self
            .inner
            .store
            .owned_session(session_id, user, true)
            .await?;
        let count = self.inner.store.last_seq(session_id).await?;
        Ok((
            StatusCode::OK,
            json!({ "session": session_view(&rec, Some(count)) }),
        ))
    }

    async fn add_turn(
        &self,
        user: &str,
        session_id: &str,
        turn: NewTurn,
        window: WindowSpec,
    ) -> Result<(StatusCode, Value), ApiError> {
        let store = &self.inner.store;
        let rec = store.owned_session(session_id, user, true).await?;
        let key = self.key(&rec).await?;
        let lookback = window.max_turns.max(IDEMPOTENCY_LOOKBACK);
        let mut recent = store.recent_turns(session_id, lookback, true).await?;
        let turn_id = match &turn.turn_id {
            Some(id) => id.clone(),
            None => new_uuid()?,
        };
        // A retry of a turn already stored: the same answer, nothing written.
        if let Some(existing) = recent.iter().find(|t| t.turn_id == turn_id) {
            let stored = turn_view(&key, existing)?;
            return Ok((
                StatusCode::OK,
                json!({ "turn": stored, "context": context_view(&rec, &key, &recent, window)? }),
            ));
        }
        let now = now_ms();
        let mut seq = recent.first().map_or(0, |t| t.seq) + 1;
        let mut contended = false;
        let mut attempt = 0u32;
        let stored = loop {
            let sealing_aad =
                content_aad(session_id, &crate::store::turn_sk(seq), turn.role.as_str());
            let record = TurnRecord {
                session_id: session_id.to_string(),
                seq,
                turn_id: turn_id.clone(),
                role: turn.role.as_str().to_string(),
                content: key.seal_str(&sealing_aad, &turn.content)?,
                language: turn.language.clone(),
                created_at: iso8601(now),
                tokens: model::estimate_tokens(&turn.content),
                expires_at: expires_at(now),
            };
            match store.put_turn(&record).await? {
                PutTurn::Stored => break record,
                PutTurn::Taken(other) if other.turn_id == turn_id => {
                    // A concurrent duplicate won this slot: answer as it did.
                    let recent = store
                        .recent_turns(session_id, window.max_turns, true)
                        .await?;
                    return Ok((
                        StatusCode::OK,
                        json!({ "turn": turn_view(&key, &other)?, "context": context_view(&rec, &key, &recent, window)? }),
                    ));
                }
                PutTurn::Taken(other) => {
                    contended = true;
                    attempt += 1;
                    if attempt >= MAX_SLOT_ATTEMPTS {
                        tracing::warn!(
                            event = "turn_slot_contention",
                            attempts = attempt,
                            "giving up on a free turn slot"
                        );
                        return Err(ApiError::Unavailable);
                    }
                    seq = other.seq + 1;
                    // Spread competing writers a little (full jitter, capped).
                    let mut r = [0u8; 1];
                    let _ = aws_lc_rs::rand::fill(&mut r);
                    let cap = 2u64 << attempt.min(4);
                    tokio::time::sleep(Duration::from_millis(u64::from(r[0]) % cap)).await;
                }
            }
        };
        // Lazily refresh the session item (see the crate docs for why).
        let last_touch = parse_iso8601(&rec.updated_at).unwrap_or(0);
        if now.saturating_sub(last_touch) >= self.inner.settings.touch_interval_ms {
            let stale_before = iso8601(
                now.saturating_sub(self.inner.settings.touch_interval_ms)
                    .saturating_add(1),
            );
            store
                .touch_session(session_id, user, now, &stale_before, stored.seq)
                .await?;
        }
        if contended {
            recent = store
                .recent_turns(session_id, window.max_turns, true)
                .await?;
        } else {
            recent.insert(0, stored.clone());
        }
        let view = json!({
            "seq": stored.seq,
            "turnId": stored.turn_id,
            "role": stored.role,
            "content": turn.content,
            "language": stored.language,
            "createdAt": stored.created_at,
            "tokens": stored.tokens,
        });
        Ok((
            StatusCode::OK,
            json!({ "turn": view, "context": context_view(&rec, &key, &recent, window)? }),
        ))
    }
}

/// The request body as text: base64 bodies are decoded by lambda_http; the
/// result must be valid UTF-8 and not larger than the limit.
fn body_text(req: &Request) -> Result<&str, ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => return Err(ApiError::bad("missing_body", "body", "is required")),
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => return Err(ApiError::invalid("body", "must be a JSON text")),
    };
    if bytes.len() > model::MAX_BODY_BYTES {
        return Err(ApiError::too_large(
            "body",
            format!("must be at most {} bytes", model::MAX_BODY_BYTES),
        ));
    }
    if bytes.is_empty() {
        return Err(ApiError::bad("missing_body", "body", "is required"));
    }
    std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad("invalid_encoding", "body", "must be UTF-8"))
}

fn respond(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::Text(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// A random (v4) UUID from aws-lc-rs's generator.
pub fn new_uuid() -> Result<String, ApiError> {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| ApiError::Internal)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

fn session_view(rec: &SessionRecord, turn_count: Option<u64>) -> Value {
    json!({
        "sessionId": rec.session_id,
        "currentTopic": rec.current_topic,
        "mode": rec.mode,
        "language": rec.language,
        "status": rec.status,
        "createdAt": rec.created_at,
        "updatedAt": rec.updated_at,
        "expiresAt": rec.expires_at,
        "turnCount": turn_count.unwrap_or(rec.turn_count),
        "hasSummary": rec.summary.is_some(),
        "version": rec.version,
    })
}

fn summary_view(s: &SessionSummary) -> Value {
    json!({
        "sessionId": s.session_id,
        "currentTopic": s.current_topic,
        "mode": s.mode,
        "language": s.language,
        "status": s.status,
        "createdAt": s.created_at,
        "updatedAt": s.updated_at,
        "expiresAt": s.expires_at,
        "turnCount": s.turn_count,
    })
}

fn turn_view(key: &DataKey, t: &TurnRecord) -> Result<Value, ApiError> {
    let content = key.open_str(&content_aad(&t.session_id, &t.sk(), &t.role), &t.content)?;
    Ok(json!({
        "seq": t.seq,
        "turnId": t.turn_id,
        "role": t.role,
        "content": content,
        "language": t.language,
        "createdAt": t.created_at,
        "tokens": t.tokens,
    }))
}

/// The context window from turns read newest first: the most recent turns
/// within the turn and token budgets, returned oldest first, plus the summary.
fn context_view(
    rec: &SessionRecord,
    key: &DataKey,
    newest_first: &[TurnRecord],
    window: WindowSpec,
) -> Result<Value, ApiError> {
    let mut picked = Vec::new();
    let mut tokens = 0u32;
    for t in newest_first.iter().take(window.max_turns as usize) {
        if tokens.saturating_add(t.tokens) > window.max_tokens {
            break;
        }
        tokens += t.tokens;
        picked.push(t);
    }
    let has_older =
        picked.last().is_some_and(|t| t.seq > 1) || (picked.is_empty() && !newest_first.is_empty());
    let turns = picked
        .iter()
        .rev()
        .map(|t| turn_view(key, t))
        .collect::<Result<Vec<_>, _>>()?;
    let summary = rec
        .summary
        .as_ref()
        .map(|s| key.open_str(&aad(&rec.session_id, SESSION_SK, "summary"), s))
        .transpose()?;
    Ok(json!({
        "sessionId": rec.session_id,
        "summary": summary,
        "turns": turns,
        "turnCount": newest_first.first().map_or(0, |t| t.seq),
        "tokens": tokens,
        "hasOlderTurns": has_older,
    }))
}
