//! The JSON API: one [`App`] per container, [`App::handle`] per request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::config::{ConfigError, Settings};
use crate::crypto::{aad, content_aad, DataKey, KeyManager};
use crate::error::ApiError;
use crate::identity;
use crate::model::{self, WindowSpec};
use crate::store::{
    expires_at, live_owned, PutTurn, SessionRecord, SessionStore, SessionSummary, TurnRecord,
    SESSION_SK,
};
use crate::time::{iso8601, parse_iso8601, system_clock, Clock};
use crate::wire::{self, ContextRequest, NewTurn, Request as Wire, Role, SessionsRequest};

/// Which of the module's functions an [`App`] is (the stack's table of
/// them: binary, route, names).
pub use stack::Function;

mod turns;
mod views;
use views::*;

/// Turns read before `add_turn` writes: the idempotency horizon for a
/// retried `turnId` (at least this many, or the window's `maxTurns`, within
/// [`LOOKBACK_MAX_TURNS`]).
pub const IDEMPOTENCY_LOOKBACK: u32 = 20;
/// Attempts to find a free sequence slot under contention before 503 (a
/// session has one speaker and one assistant; more is a client bug or abuse,
/// and each attempt is a write).
pub const MAX_SLOT_ATTEMPTS: u32 = 16;
/// The most turns a session holds between clears (409 `session_full`).
pub const MAX_TURNS_PER_SESSION: u64 = 5_000;
/// The largest a turn item can be (content at its limit, sealed, plus every
/// other attribute at its limit; checked by the capacity test).
pub const MAX_TURN_ITEM_BYTES: usize = model::MAX_CONTENT_BYTES + 512;
/// What `add_turn`'s strongly consistent look-back may read at most. A
/// Query's `Limit` counts items, not bytes, so the bound is a number of
/// largest-possible turns
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html).
pub const LOOKBACK_MAX_BYTES: usize = 384 * 1024;
/// [`LOOKBACK_MAX_BYTES`] in turns: also the most turns `add_turn` answers
/// with (a larger window comes from `get_context`).
pub const LOOKBACK_MAX_TURNS: u32 = (LOOKBACK_MAX_BYTES / MAX_TURN_ITEM_BYTES) as u32;

// Checked when compiling: the bound holds, and `clamp` below cannot panic.
const _: () = assert!(LOOKBACK_MAX_TURNS as usize * MAX_TURN_ITEM_BYTES <= LOOKBACK_MAX_BYTES);
const _: () = assert!(LOOKBACK_MAX_TURNS >= IDEMPOTENCY_LOOKBACK);

/// How many turns `add_turn` reads for a window.
pub fn lookback_turns(window: WindowSpec) -> u32 {
    window
        .max_turns
        .clamp(IDEMPOTENCY_LOOKBACK, LOOKBACK_MAX_TURNS)
}

struct Inner {
    function: Function,
    store: SessionStore,
    keys: KeyManager,
    settings: Settings,
    clock: Clock,
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
        App::with_clock(function, sdk, settings, interceptor, system_clock())
    }

    /// [`App::new`] with the clock for "now" (tests move it).
    pub fn with_clock(
        function: Function,
        sdk: &SdkConfig,
        settings: Settings,
        interceptor: Option<SharedInterceptor>,
        clock: Clock,
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
                    settings.key_cache_max_age_ms,
                    clock.clone(),
                ),
                settings,
                clock,
            }),
        }
    }

    /// What the binaries do: settings from the environment, AWS
    /// configuration from the standard chain.
    pub async fn from_env(
        function: Function,
        init: &mut crate::runtime::InitTimes,
    ) -> Result<App, ConfigError> {
        let settings = Settings::from_env()?;
        init.settings_us = init.lap();
        let http = crate::tls::http_client(settings.tls_trust);
        init.http_client_us = init.lap();
        let (timeouts, retry) = call_policy(settings.dependency_timeouts);
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .timeout_config(timeouts)
            .retry_config(retry)
            .load()
            .await;
        init.aws_config_us = init.lap();
        let app = App::new(function, &sdk, settings, None);
        init.clients_us = init.lap();
        Ok(app)
    }

    pub fn function(&self) -> Function {
        self.inner.function
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The store this app uses (tests drive its conditional writes directly).
    pub fn store(&self) -> &SessionStore {
        &self.inner.store
    }

    /// Data keys cached in this container.
    pub fn cached_keys(&self) -> usize {
        self.inner.keys.cached()
    }

    fn now(&self) -> u64 {
        (self.inner.clock)()
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
        // X-Ray's trace id (Lambda passes one on every invocation; with
        // active tracing the trace is recorded), to find the request's trace.
        let trace_id = req
            .lambda_context_ref()
            .and_then(|c| c.xray_trace_id.clone())
            .unwrap_or_default();
        let mut action = "unknown";
        let mut on_behalf = None;
        let dispatched = self.dispatch(&req, &mut action, &mut on_behalf);
        let result = match req.lambda_context_ref().and_then(|c| time_left(c.deadline)) {
            Some(left) => match tokio::time::timeout(left, dispatched).await {
                Ok(result) => result,
                Err(_) => {
                    // Stopping at an await is what a failed call there does:
                    // each write is a single conditional request, and the
                    // client's retry (same turnId) finishes the job.
                    tracing::warn!(
                        event = "deadline",
                        trace_id = %trace_id,
                        margin_ms = DEADLINE_MARGIN.as_millis() as u64,
                        "stopped before the function timeout"
                    );
                    Err(ApiError::Unavailable)
                }
            },
            None => dispatched.await,
        };
        // Only when a writer acted on another user's session (audit): who
        // acted for whom, as pseudonyms.
        let (actor, on_behalf_of) = on_behalf.unzip();
        let on_behalf = actor.is_some().then_some(true);
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let function = self.inner.function.binary();
        match result {
            Ok((status, body)) => {
                tracing::info!(request_id = %request_id, lambda_request_id = %lambda_request_id, trace_id = %trace_id, function, action, outcome = "ok", status = status.as_u16(), on_behalf, actor, on_behalf_of, latency_ms, "request");
                respond(status, body)
            }
            Err(e) => {
                let status = e.status();
                if status.is_server_error() {
                    tracing::error!(request_id = %request_id, lambda_request_id = %lambda_request_id, trace_id = %trace_id, function, action, outcome = e.code(), status = status.as_u16(), on_behalf, actor, on_behalf_of, latency_ms, "request");
                } else {
                    tracing::info!(request_id = %request_id, lambda_request_id = %lambda_request_id, trace_id = %trace_id, function, action, outcome = e.code(), status = status.as_u16(), field = e.log_field(), on_behalf, actor, on_behalf_of, latency_ms, "request");
                }
                respond(status, e.to_json(&request_id).to_string())
            }
        }
    }

    async fn dispatch(
        &self,
        req: &Request,
        action_name: &mut &'static str,
        on_behalf: &mut Option<(String, String)>,
    ) -> Result<Answer, ApiError> {
        let caller = identity::caller(req, &self.inner.settings.assistant_writer_group)?;
        let body = body_text(req)?;
        let action = wire::parse(body, self.inner.function, action_name)?;
        // The session owner: the caller, or the user a writer names.
        let (user, delegated) = caller.acting_for(action.owner())?;
        if delegated {
            let key = &self.inner.settings.audit_id_key;
            *on_behalf = Some((
                identity::audit_id(key, &caller.user_id),
                identity::audit_id(key, user),
            ));
        }
        let user = user.to_string();
        let user = user.as_str();
        let store = &self.inner.store;
        let now = self.now();
        use wire::answer::{
            ClearAction, ClearResponse, ContextResponse, DeleteAction, DeleteResponse,
            GetContextAction, ListAction, ListResponse, RestoreAction, RestoreResponse,
            SessionAnswerAction as SessionAction,
        };
        match action {
            Wire::Sessions(request) => match request {
                SessionsRequest::Create(c) => self.create(user, c.session, now).await,
                SessionsRequest::Get(r) => {
                    let (rec, last) = store.session_and_last_seq(&r.session_id, true).await?;
                    let rec = live_owned(rec, user, now)?;
                    let count = rec.count_since_clear(last);
                    answer(
                        StatusCode::OK,
                        &session_answer(SessionAction::Get, &rec, count),
                    )
                }
                SessionsRequest::Update(u) => {
                    // The count is read alongside and returned only if the
                    // conditional update (the ownership check) succeeded.
                    let (rec, last) = tokio::try_join!(
                        store.update_session(
                            &u.session_id,
                            user,
                            u.version.get().into(),
                            &u.session,
                            now
                        ),
                        store.last_seq(&u.session_id)
                    )?;
                    let count = rec.count_since_clear(last);
                    answer(
                        StatusCode::OK,
                        &session_answer(SessionAction::Update, &rec, count),
                    )
                }
                SessionsRequest::Delete(r) => {
                    let turns = store.delete_session(&r.session_id, user, now).await?;
                    self.inner.keys.forget(&r.session_id);
                    answer(
                        StatusCode::OK,
                        &DeleteResponse {
                            action: DeleteAction::Delete,
                            session_id: r.session_id.into_string(),
                            deleted: true,
                            turns_deleted: turns as u64,
                        },
                    )
                }
                SessionsRequest::List(l) => {
                    let (sessions, next) = store
                        .list_sessions(user, l.limit(), l.cursor.as_deref(), now)
                        .await?;
                    answer(
                        StatusCode::OK,
                        &ListResponse {
                            action: ListAction::List,
                            sessions: sessions.iter().map(summary_view).collect(),
                            cursor: next,
                        },
                    )
                }
                SessionsRequest::Restore(r) => {
                    let window = wire::window_spec(&r.window);
                    let id = match r.session_id {
                        Some(id) => id.into_string(),
                        None => store
                            .latest_active(user, now)
                            .await?
                            .ok_or(ApiError::NotFound)?,
                    };
                    let (rec, turns) = store
                        .session_and_turns(&id, window.max_turns, false)
                        .await?;
                    let rec = live_owned(rec, user, now)?;
                    let key = self.key(&rec).await?;
                    let turns = rec.visible(turns);
                    let context = context_view(&rec, &key, &turns, window)?;
                    let count = turns.first().map_or(0, |t| rec.count_since_clear(t.seq));
                    answer(
                        StatusCode::OK,
                        &RestoreResponse {
                            action: RestoreAction::Restore,
                            session: session_view(&rec, count),
                            context,
                        },
                    )
                }
            },
            Wire::Context(request) => match request {
                ContextRequest::AddTurn(a) => {
                    if a.turn.role != Role::User {
                        caller.require_writer()?;
                    } else if delegated {
                        // A student's own words come with the student's token.
                        return Err(ApiError::ForbiddenRole);
                    }
                    let window = wire::window_spec(&a.window);
                    self.add_turn(user, &a.session_id, a.turn, window, now)
                        .await
                }
                ContextRequest::GetContext(g) => {
                    let window = wire::window_spec(&g.window);
                    let (rec, turns) = store
                        .session_and_turns(&g.session_id, window.max_turns, false)
                        .await?;
                    let rec = live_owned(rec, user, now)?;
                    let key = self.key(&rec).await?;
                    let turns = rec.visible(turns);
                    answer(
                        StatusCode::OK,
                        &ContextResponse {
                            action: GetContextAction::GetContext,
                            context: context_view(&rec, &key, &turns, window)?,
                        },
                    )
                }
                ContextRequest::SetSummary(s) => {
                    caller.require_writer()?;
                    let session_id = s.session_id.as_str();
                    let (rec, last) = store.session_and_last_seq(session_id, false).await?;
                    let rec = live_owned(rec, user, now)?;
                    let key = self.key(&rec).await?;
                    let sealed = key.seal_str(
                        &aad(session_id, SESSION_SK, "summary", rec.generation),
                        &s.summary,
                    )?;
                    let rec = store
                        .set_summary(session_id, user, &sealed, rec.generation, now)
                        .await?;
                    let count = rec.count_since_clear(last);
                    answer(
                        StatusCode::OK,
                        &session_answer(SessionAction::SetSummary, &rec, count),
                    )
                }
                ContextRequest::Clear(c) => {
                    let session_id = c.session_id.as_str();
                    let (rec, last) = store.session_and_last_seq(session_id, true).await?;
                    let rec = live_owned(rec, user, now)?;
                    // A new data key for the new generation: the old one is
                    // dropped with this write, so turns it sealed that are
                    // left behind (a racing add_turn, a restored backup)
                    // cannot be opened by anyone, KMS access or not.
                    let (_, wrapped) = self.inner.keys.new_session_key(session_id, user).await?;
                    // From this write on the old turns are invisible (and
                    // never open again: the generation is in their AAD and
                    // their key is gone); deleting them is cleanup that a
                    // retried clear finishes.
                    let rec = store
                        .start_generation(&rec, last.max(rec.turn_base), &wrapped, now)
                        .await?;
                    let cleared = store.delete_turns(session_id, Some(rec.generation)).await?;
                    answer(
                        StatusCode::OK,
                        &ClearResponse {
                            action: ClearAction::Clear,
                            session: session_view(&rec, 0),
                            turns_deleted: cleared as u64,
                        },
                    )
                }
            },
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
        new: wire::NewSession,
        now: u64,
    ) -> Result<Answer, ApiError> {
        let store = &self.inner.store;
        let session_id = new_uuid()?;
        // The profile (only when a default is needed) and the key wrap are
        // independent: one round trip, then the write.
        let needs_profile = new.mode.is_none() || new.language.is_none();
        let profile = async {
            if needs_profile {
                Ok(store.profile(user).await?.unwrap_or_default())
            } else {
                Ok(Default::default())
            }
        };
        let (profile, (_key, wrapped)) =
            tokio::try_join!(profile, self.inner.keys.new_session_key(&session_id, user))?;
        let rec = SessionRecord {
            session_id,
            user_id: user.to_string(),
            current_topic: new.current_topic.into_string(),
            mode: new
                .mode
                .map(|m| m.as_str().to_string())
                .or(profile.mode)
                .unwrap_or_else(|| wire::Mode::Tutor.as_str().into()),
            language: new
                .language
                .map(wire::LanguageTag::into_string)
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
            generation: 0,
            turn_base: 0,
        };
        store.put_session(&rec).await?;
        answer(
            StatusCode::CREATED,
            &session_answer(wire::SessionAnswerAction::Create, &rec, 0),
        )
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

/// The binaries' timeouts and retries for DynamoDB and KMS. Without
/// timeouts the SDK waits on a stalled connection until Lambda stops the
/// function and the gateway answers 504; with them the function answers 503
/// itself. Standard retry mode keeps a retry quota, so a failing dependency
/// is not hammered
/// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html,
/// https://docs.aws.amazon.com/sdk-for-rust/latest/dg/timeouts.html).
pub fn call_policy(
    t: crate::config::DependencyTimeouts,
) -> (
    aws_config::timeout::TimeoutConfig,
    aws_config::retry::RetryConfig,
) {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(t.connect)
        .operation_attempt_timeout(t.attempt)
        .operation_timeout(t.operation)
        .build();
    (
        timeouts,
        aws_config::retry::RetryConfig::standard().with_max_attempts(3),
    )
}

/// What a 503 tells the client to wait before retrying (`Retry-After`).
pub const RETRY_AFTER_SECONDS: &str = "1";

/// The time kept back before Lambda's deadline to answer 503 rather than be
/// stopped (which the gateway answers with 504 and no body).
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(1_000);

/// Time left to work on a request whose invocation ends at `deadline_ms`
/// (Lambda's `Lambda-Runtime-Deadline-Ms`, ms since the epoch), keeping
/// [`DEADLINE_MARGIN`] back; `None` when there is no deadline.
fn time_left(deadline_ms: u64) -> Option<Duration> {
    if deadline_ms == 0 {
        return None;
    }
    let now = crate::time::now_ms();
    Some(Duration::from_millis(deadline_ms.saturating_sub(now)).saturating_sub(DEADLINE_MARGIN))
}

/// A random (v4) UUID, lowercase and hyphenated, from aws-lc-rs's generator.
pub fn new_uuid() -> Result<String, ApiError> {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| ApiError::Internal)?;
    Ok(uuid::Builder::from_random_bytes(b)
        .into_uuid()
        .hyphenated()
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_canonical_random_v4() {
        let u = new_uuid().unwrap();
        assert!(model::is_uuid(&u), "{u}");
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        assert_ne!(u, new_uuid().unwrap());
        assert!(!model::is_uuid(&u.to_uppercase()));
    }

    #[test]
    fn the_look_back_is_bounded_in_bytes() {
        let w = |max_turns| WindowSpec {
            max_turns,
            max_tokens: 4000,
        };
        assert_eq!(lookback_turns(w(1)), IDEMPOTENCY_LOOKBACK);
        assert_eq!(lookback_turns(w(100)), LOOKBACK_MAX_TURNS);
    }
}
