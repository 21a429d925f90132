//! Shared test harness: one moto server per test binary (on loopback, gone
//! when the process exits), per-test tables and KMS key created through the
//! SDK, real API Gateway HTTP API payload-2.0 events, and an SDK interceptor
//! that records every AWS operation each function makes and refuses any the
//! function's role does not grant (like IAM would).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use functions::store::Item;
use functions::{App, Function, Settings};
use serde_json::{json, Value};

pub const USER_A: &str = "3f1c8a52-7d4e-4b7a-9a31-aaaaaaaaaaaa";
pub const USER_B: &str = "9b2e6d14-0c5f-4e8b-8d72-bbbbbbbbbbbb";

static MOTO: OnceLock<emulator::MotoServer> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The binary's moto server, started on first use.
pub fn moto() -> &'static emulator::MotoServer {
    MOTO.get_or_init(|| {
        emulator::MotoServer::start(emulator::MotoOptions::default()).expect("start moto")
    })
}

/// Where an operation was aimed, in the terms of the role's policy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    SessionsTable,
    UserSessionIndex,
    ProfilesTable,
    Key,
    Other(String),
}

/// One recorded call: IAM action (e.g. `dynamodb:GetItem`) and resource.
pub type Call = (Resource, String);

/// What the role of `function` grants, per resource (from
/// `stack::permissions`, the list the stack grants from).
pub fn granted(function: Function) -> BTreeSet<Call> {
    use stack::permissions as p;
    let (table, index, profiles, kms): (&[&str], &[&str], &[&str], &[&str]) = match function {
        Function::SessionPersistence => (
            p::SESSION_PERSISTENCE_SESSIONS_TABLE,
            p::SESSION_PERSISTENCE_INDEX,
            p::SESSION_PERSISTENCE_PROFILES_TABLE,
            p::SESSION_PERSISTENCE_KMS,
        ),
        Function::ContextManager => (
            p::CONTEXT_MANAGER_SESSIONS_TABLE,
            p::CONTEXT_MANAGER_INDEX,
            p::CONTEXT_MANAGER_PROFILES_TABLE,
            p::CONTEXT_MANAGER_KMS,
        ),
    };
    let mut set = BTreeSet::new();
    for (res, actions) in [
        (Resource::SessionsTable, table),
        (Resource::UserSessionIndex, index),
        (Resource::ProfilesTable, profiles),
        (Resource::Key, kms),
    ] {
        for a in actions {
            set.insert((res.clone(), a.to_string()));
        }
    }
    set
}

/// Every call each function made in this test binary (all tests).
static SUITE: OnceLock<Mutex<BTreeMap<Function, BTreeSet<Call>>>> = OnceLock::new();

pub fn suite_calls() -> BTreeMap<Function, BTreeSet<Call>> {
    SUITE.get_or_init(Default::default).lock().unwrap().clone()
}

/// Orders every operation's start and end across the binary (a counter,
/// not a clock: which call began after which ended).
static EVENTS: AtomicUsize = AtomicUsize::new(0);

/// One operation: its action, when it started and when it ended (event
/// numbers from [`EVENTS`]).
#[derive(Debug, Clone)]
pub struct Span {
    pub action: String,
    pub start: usize,
    pub end: Option<usize>,
}

/// The index of an operation's span, kept in its config bag.
#[derive(Debug, Clone)]
struct SpanIndex(usize);
impl Storable for SpanIndex {
    type Storer = StoreReplace<Self>;
}

/// Marks an operation the test asked to fail (every attempt).
#[derive(Debug, Clone)]
struct InjectedFault;
impl Storable for InjectedFault {
    type Storer = StoreReplace<Self>;
}

/// Calls recorded for one handler instance ("container").
#[derive(Default)]
pub struct Recorder {
    calls: Mutex<Vec<Call>>,
    /// Each KMS call's action and the encryption context it carried.
    kms_contexts: Mutex<Vec<(String, BTreeMap<String, String>)>>,
    spans: Mutex<Vec<Span>>,
    /// (action, how many more calls of it succeed before one fails).
    faults: Mutex<Vec<(String, usize)>>,
}

impl Recorder {
    /// Makes the call of `action` after the next `skip` ones fail as a
    /// network failure would (the SDK answers a dispatch failure).
    pub fn fail_after(&self, action: &str, skip: usize) {
        self.faults.lock().unwrap().push((action.to_string(), skip));
    }

    /// Index for [`Recorder::round_trips_since`].
    pub fn span_mark(&self) -> usize {
        self.spans.lock().unwrap().len()
    }

    /// Sequential round trips since `mark`: the longest chain of operations
    /// each of which started after the previous one ended (operations that
    /// overlap count once).
    pub fn round_trips_since(&self, mark: usize) -> usize {
        let spans = self.spans.lock().unwrap()[mark..].to_vec();
        let mut depth = vec![0usize; spans.len()];
        for i in 0..spans.len() {
            let before = (0..spans.len())
                .filter(|&j| spans[j].end.is_some_and(|e| e < spans[i].start))
                .map(|j| depth[j])
                .max()
                .unwrap_or(0);
            depth[i] = before + 1;
        }
        // Spans are in start order, so each one's predecessors came first.
        depth.into_iter().max().unwrap_or(0)
    }

    pub fn spans_since(&self, mark: usize) -> Vec<Span> {
        self.spans.lock().unwrap()[mark..].to_vec()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
    pub fn count(&self, action: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, a)| a == action)
            .count()
    }
    pub fn set(&self) -> BTreeSet<Call> {
        self.calls().into_iter().collect()
    }
    pub fn clear(&self) {
        self.calls.lock().unwrap().clear();
    }
    /// Calls recorded since `mark` (an index from [`Recorder::len`]).
    pub fn since(&self, mark: usize) -> Vec<Call> {
        self.calls.lock().unwrap()[mark..].to_vec()
    }
    pub fn kms_contexts(&self) -> Vec<(String, BTreeMap<String, String>)> {
        self.kms_contexts.lock().unwrap().clone()
    }
    pub fn len(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

struct Interceptor {
    function: Function,
    settings: Settings,
    granted: BTreeSet<Call>,
    recorder: Arc<Recorder>,
}

impl fmt::Debug for Interceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecordingInterceptor")
    }
}

impl Interceptor {
    fn table(&self, table: Option<&str>, index: Option<&str>) -> Resource {
        match (table, index) {
            (Some(t), Some(i))
                if t == self.settings.sessions_table && i == self.settings.user_session_index =>
            {
                Resource::UserSessionIndex
            }
            (Some(t), None) if t == self.settings.sessions_table => Resource::SessionsTable,
            (Some(t), None) if t == self.settings.profiles_table => Resource::ProfilesTable,
            (t, i) => Resource::Other(format!("{t:?}/{i:?}")),
        }
    }

    fn resource(
        &self,
        service: &str,
        ctx: &BeforeSerializationInterceptorContextRef<'_>,
    ) -> Resource {
        use aws_sdk_dynamodb::operation as op;
        if service == "kms" {
            return Resource::Key;
        }
        let input = ctx.input();
        if let Some(i) = input.downcast_ref::<op::get_item::GetItemInput>() {
            return self.table(i.table_name(), None);
        }
        if let Some(i) = input.downcast_ref::<op::put_item::PutItemInput>() {
            return self.table(i.table_name(), None);
        }
        if let Some(i) = input.downcast_ref::<op::update_item::UpdateItemInput>() {
            return self.table(i.table_name(), None);
        }
        if let Some(i) = input.downcast_ref::<op::delete_item::DeleteItemInput>() {
            return self.table(i.table_name(), None);
        }
        if let Some(i) = input.downcast_ref::<op::query::QueryInput>() {
            return self.table(i.table_name(), i.index_name());
        }
        if let Some(i) = input.downcast_ref::<op::batch_write_item::BatchWriteItemInput>() {
            let tables: Vec<&String> = i
                .request_items()
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            return match tables.as_slice() {
                [t] => self.table(Some(t), None),
                _ => Resource::Other(format!("{tables:?}")),
            };
        }
        Resource::Other("unclassified input".into())
    }
}

impl Intercept for Interceptor {
    fn name(&self) -> &'static str {
        "RecordingInterceptor"
    }

    // Per attempt: an injected fault fails before anything is sent.
    fn read_before_transmit(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<InjectedFault>().is_some() {
            return Err("injected failure (test)".into());
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        _ctx: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(SpanIndex(i)) = cfg.load::<SpanIndex>().cloned() {
            let end = EVENTS.fetch_add(1, Ordering::SeqCst);
            if let Some(span) = self.recorder.spans.lock().unwrap().get_mut(i) {
                span.end = Some(end);
            }
        }
        Ok(())
    }

    // Runs once per operation (not per retry attempt), after the operation's
    // configuration (with its Metadata) is in the bag.
    fn read_before_serialization(
        &self,
        ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let meta = cfg.load::<Metadata>().ok_or("no operation metadata")?;
        let service = meta.service().to_ascii_lowercase();
        let call: Call = (
            self.resource(&service, ctx),
            format!("{service}:{}", meta.name()),
        );
        self.recorder.calls.lock().unwrap().push(call.clone());
        {
            let mut spans = self.recorder.spans.lock().unwrap();
            cfg.interceptor_state().store_put(SpanIndex(spans.len()));
            spans.push(Span {
                action: call.1.clone(),
                start: EVENTS.fetch_add(1, Ordering::SeqCst),
                end: None,
            });
        }
        {
            let mut faults = self.recorder.faults.lock().unwrap();
            if let Some(pos) = faults.iter().position(|(a, _)| *a == call.1) {
                if faults[pos].1 == 0 {
                    faults.remove(pos);
                    cfg.interceptor_state().store_put(InjectedFault);
                } else {
                    faults[pos].1 -= 1;
                }
            }
        }
        if service == "kms" {
            use aws_sdk_kms::operation as op;
            let input = ctx.input();
            let context = input
                .downcast_ref::<op::encrypt::EncryptInput>()
                .and_then(|i| i.encryption_context())
                .or_else(|| {
                    input
                        .downcast_ref::<op::decrypt::DecryptInput>()
                        .and_then(|i| i.encryption_context())
                })
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            self.recorder
                .kms_contexts
                .lock()
                .unwrap()
                .push((call.1.clone(), context));
        }
        SUITE
            .get_or_init(Default::default)
            .lock()
            .unwrap()
            .entry(self.function)
            .or_default()
            .insert(call.clone());
        if self.granted.contains(&call) {
            Ok(())
        } else {
            // What IAM would do: the call is refused, the test sees a 5xx.
            eprintln!(
                "ACCESS DENIED (not in the role): {:?} {call:?}",
                self.function
            );
            Err(format!(
                "AccessDenied: {call:?} is not granted to {:?}",
                self.function
            )
            .into())
        }
    }
}

/// One test's world: fresh tables and key in the shared moto server.
pub struct Env {
    pub sdk: SdkConfig,
    pub ddb: aws_sdk_dynamodb::Client,
    pub kms: aws_sdk_kms::Client,
    pub settings: Settings,
}

pub async fn sdk_config() -> SdkConfig {
    let m = moto();
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(m.endpoint_url())
        .region(Region::new(emulator::TEST_REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            emulator::TEST_ACCESS_KEY_ID,
            emulator::TEST_SECRET_ACCESS_KEY,
            None,
            None,
            "moto",
        ))
        .load()
        .await
}

impl Env {
    pub async fn new() -> Env {
        capture_logs();
        let sdk = sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let kms = aws_sdk_kms::Client::new(&sdk);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let names = stack::names::Names::new(None).unwrap();
        let sessions = format!("{}-t{n}", names.sessions_table);
        let profiles = format!("{}-t{n}", names.user_profiles_table);
        create_tables(&ddb, &sessions, &profiles, &names.user_session_index).await;
        let key = kms
            .create_key()
            .description(format!("test key {n}"))
            .send()
            .await
            .expect("create key")
            .key_metadata
            .expect("key metadata")
            .key_id;
        let mut settings = Settings::new(sessions, profiles, key);
        settings.user_session_index = names.user_session_index.clone();
        settings.audit_id_key = "arn:aws:cloudformation:us-east-1:123456789012:stack/test/00000000-0000-0000-0000-000000000000".into();
        Env {
            sdk,
            ddb,
            kms,
            settings,
        }
    }

    /// A new handler instance (a "container") of `function`, with its own
    /// clients, key cache and recorder.
    pub fn app(&self, function: Function) -> (App, Arc<Recorder>) {
        self.app_with(function, self.settings.clone())
    }

    pub fn app_with(&self, function: Function, settings: Settings) -> (App, Arc<Recorder>) {
        self.app_with_clock(function, settings, functions::time::system_clock())
    }

    /// A container whose "now" is `clock`.
    pub fn app_with_clock(
        &self,
        function: Function,
        settings: Settings,
        clock: functions::time::Clock,
    ) -> (App, Arc<Recorder>) {
        let recorder = Arc::new(Recorder::default());
        let interceptor = Interceptor {
            function,
            settings: settings.clone(),
            granted: granted(function),
            recorder: recorder.clone(),
        };
        let app = App::with_clock(
            function,
            &self.sdk,
            settings,
            Some(SharedInterceptor::new(interceptor)),
            clock,
        );
        (app, recorder)
    }

    /// Every item of a table, sorted by key (for before/after comparisons).
    pub async fn scan(&self, table: &str) -> Vec<Item> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .ddb
                .scan()
                .table_name(table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .expect("scan");
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        items.sort_by_key(item_key);
        items
    }

    /// Both tables, sorted.
    pub async fn snapshot(&self) -> (Vec<Item>, Vec<Item>) {
        (
            self.scan(&self.settings.sessions_table).await,
            self.scan(&self.settings.profiles_table).await,
        )
    }

    pub async fn put_profile(&self, user: &str, language: &str, mode: &str) {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        self.ddb
            .put_item()
            .table_name(&self.settings.profiles_table)
            .item("userId", A::S(user.into()))
            .item("language", A::S(language.into()))
            .item("mode", A::S(mode.into()))
            .send()
            .await
            .expect("put profile");
    }

    pub async fn turn_items(&self, session_id: &str) -> Vec<Item> {
        self.scan(&self.settings.sessions_table)
            .await
            .into_iter()
            .filter(|i| s_of(i, "sessionId") == session_id && s_of(i, "sk").starts_with("TURN#"))
            .collect()
    }
}

pub fn s_of(item: &Item, k: &str) -> String {
    item.get(k)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

fn item_key(i: &Item) -> (String, String, String) {
    (s_of(i, "sessionId"), s_of(i, "sk"), s_of(i, "userId"))
}

async fn create_tables(
    ddb: &aws_sdk_dynamodb::Client,
    sessions: &str,
    profiles: &str,
    index: &str,
) {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    let mut projection = Projection::builder().projection_type(ProjectionType::Include);
    // The projection the stack declares, so the test tables match the stack's.
    for a in stack::module::USER_SESSION_INDEX_PROJECTION {
        projection = projection.non_key_attributes(*a);
    }
    ddb.create_table()
        .table_name(sessions)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("sessionId"))
        .attribute_definitions(attr("sk"))
        .attribute_definitions(attr("userId"))
        .attribute_definitions(attr("updatedAt"))
        .key_schema(key("sessionId", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index)
                .key_schema(key("userId", KeyType::Hash))
                .key_schema(key("updatedAt", KeyType::Range))
                .projection(projection.build())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create sessions table");
    ddb.update_time_to_live()
        .table_name(sessions)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expiresAt")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable TTL");
    ddb.create_table()
        .table_name(profiles)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("userId"))
        .key_schema(key("userId", KeyType::Hash))
        .send()
        .await
        .expect("create profiles table");
}

/// Every log line the functions wrote in this test binary.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogSink;

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends the functions' JSON logs to [`log_lines`] (once per binary).
pub fn capture_logs() {
    functions::telemetry::init_with_writer(|| LogSink);
}

/// The JSON log lines written so far.
pub fn log_lines() -> Vec<Value> {
    let logs = LOGS.lock().unwrap();
    String::from_utf8_lossy(&logs)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
        .collect()
}

static REQ: AtomicUsize = AtomicUsize::new(0);

/// A token's identity as the JWT authorizer hands it over: `sub`, and the
/// `cognito:groups` and `scope` claims rendered as API Gateway renders them
/// (every claim a string, an array as `[a b]`), plus the `scopes` list.
#[derive(Debug, Clone, Default)]
pub struct Token {
    pub sub: String,
    pub groups: Option<String>,
    pub scope: Option<String>,
    pub scopes: Option<Vec<String>>,
}

/// An end user's token (no group, no scope): the deployment guide's caller.
pub fn user(sub: &str) -> Token {
    Token {
        sub: sub.to_string(),
        ..Token::default()
    }
}

/// A token in the `assistant-writers` group (the stack's default).
pub fn writer(sub: &str) -> Token {
    Token {
        groups: Some("[assistant-writers]".into()),
        ..user(sub)
    }
}

fn claims_of(token: Option<&Token>) -> (Value, Value) {
    let iss = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test";
    let Some(t) = token else {
        return (json!({ "iss": iss }), Value::Null);
    };
    let mut claims = json!({ "sub": t.sub, "iss": iss, "token_use": "access" });
    if let Some(g) = &t.groups {
        claims["cognito:groups"] = json!(g);
    }
    if let Some(s) = &t.scope {
        claims["scope"] = json!(s);
    }
    (claims, json!(t.scopes))
}

/// A real API Gateway HTTP API payload-2.0 event for `POST path`, with the
/// JWT authorizer's claims (`sub` when given), as Lambda would deliver it.
pub fn event_json(path: &str, sub: Option<&str>, body: Option<&str>, base64: bool) -> String {
    event_json_for(path, sub.map(user).as_ref(), body, base64)
}

/// [`event_json`] for a full token.
pub fn event_json_for(
    path: &str,
    token: Option<&Token>,
    body: Option<&str>,
    base64: bool,
) -> String {
    let n = REQ.fetch_add(1, Ordering::SeqCst);
    let (claims, scopes) = claims_of(token);
    let authorizer = json!({ "jwt": { "claims": claims, "scopes": scopes } });
    json!({
        "version": "2.0",
        "routeKey": format!("POST {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "content-type": "application/json",
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "authorizer": authorizer,
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": { "method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "functions-tests" },
            "requestId": format!("req-{n}"),
            "routeKey": format!("POST {path}"),
            "stage": "$default",
            "time": "28/Nov/2026:03:00:00 +0000",
            "timeEpoch": 1795834800000u64
        },
        "body": body,
        "isBase64Encoded": base64
    })
    .to_string()
}

pub fn path_of(function: Function) -> &'static str {
    function.path()
}

/// Sends `body` as user `sub` to `app`; returns status and JSON body.
pub async fn call_raw(
    app: &App,
    sub: Option<&str>,
    body: Option<&str>,
    base64: bool,
) -> (u16, Value) {
    call_token_raw(app, sub.map(user).as_ref(), body, base64).await
}

/// Sends `body` with `token` to `app`.
pub async fn call_as(app: &App, token: &Token, body: Value) -> (u16, Value) {
    call_token_raw(app, Some(token), Some(&body.to_string()), false).await
}

/// [`call_as`], asserting a 2xx.
pub async fn ok_as(app: &App, token: &Token, body: Value) -> Value {
    let (status, v) = call_as(app, token, body.clone()).await;
    assert!((200..300).contains(&status), "{body} -> {status} {v}");
    v
}

pub async fn call_token_raw(
    app: &App,
    token: Option<&Token>,
    body: Option<&str>,
    base64: bool,
) -> (u16, Value) {
    let ev = event_json_for(path_of(app.function()), token, body, base64);
    let req = lambda_http::request::from_str(&ev).expect("payload 2.0 event");
    let resp = app.handle(req).await;
    let status = resp.status().as_u16();
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let text = match resp.body() {
        lambda_http::Body::Text(t) => t.clone(),
        other => panic!("unexpected body {other:?}"),
    };
    let v: Value = serde_json::from_str(&text).expect("JSON response");
    // Every answer names the request's action (clients narrow by it).
    if (200..300).contains(&status) {
        use base64::Engine as _;
        let text = match body {
            Some(b) if base64 => base64::engine::general_purpose::STANDARD
                .decode(b)
                .ok()
                .and_then(|b| String::from_utf8(b).ok()),
            b => b.map(str::to_string),
        };
        let asked: Value = text
            .and_then(|b| serde_json::from_str(&b).ok())
            .unwrap_or_default();
        assert_eq!(v["action"], asked["action"], "the answer's action: {v}");
    }
    (status, v)
}

pub async fn call(app: &App, sub: &str, body: Value) -> (u16, Value) {
    call_raw(app, Some(sub), Some(&body.to_string()), false).await
}

/// Calls and asserts a 2xx, returning the body.
pub async fn ok(app: &App, sub: &str, body: Value) -> Value {
    let (status, v) = call(app, sub, body.clone()).await;
    assert!((200..300).contains(&status), "{body} -> {status} {v}");
    v
}

/// Creates a session for `sub` with the seed example; returns its id.
pub async fn create_session(app: &App, sub: &str) -> String {
    let v = ok(
        app,
        sub,
        json!({"action":"create","session":{"currentTopic":"JavaScript Basics","mode":"tutor"}}),
    )
    .await;
    v["session"]["sessionId"].as_str().unwrap().to_string()
}

pub fn turn(session_id: &str, content: &str) -> Value {
    json!({"action":"add_turn","sessionId":session_id,"turn":{"role":"user","content":content,"language":"en"}})
}

/// Turn items' seq and turnId, in key order.
pub fn turn_ids(items: &[Item]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|i| (s_of(i, "sk"), s_of(i, "turnId")))
        .collect()
}

pub fn counts<T: Ord + Clone>(v: &[T]) -> BTreeMap<T, usize> {
    let mut m = BTreeMap::new();
    for x in v {
        *m.entry(x.clone()).or_insert(0) += 1;
    }
    m
}

pub fn as_map(v: &Value) -> HashMap<String, Value> {
    v.as_object()
        .map(|m| m.clone().into_iter().collect())
        .unwrap_or_default()
}

/// A clock the test moves by hand (milliseconds since the epoch).
#[derive(Clone)]
pub struct TestClock(Arc<AtomicU64>);

impl TestClock {
    /// Starts at the system's now.
    pub fn new() -> TestClock {
        TestClock(Arc::new(AtomicU64::new(functions::time::now_ms())))
    }
    pub fn clock(&self) -> functions::time::Clock {
        let t = self.0.clone();
        Arc::new(move || t.load(Ordering::SeqCst))
    }
    pub fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

/// One item of the sessions table.
pub async fn get_item(env: &Env, sid: &str, sk: &str) -> Option<Item> {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    env.ddb
        .get_item()
        .table_name(&env.settings.sessions_table)
        .key("sessionId", A::S(sid.into()))
        .key("sk", A::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

/// Writes an item to the sessions table as is (tests that tamper or restore).
pub async fn put_raw(env: &Env, item: Item) {
    env.ddb
        .put_item()
        .table_name(&env.settings.sessions_table)
        .set_item(Some(item))
        .send()
        .await
        .expect("raw put");
}

/// Sets one attribute of an item of the sessions table.
pub async fn set_attr(
    env: &Env,
    sid: &str,
    sk: &str,
    name: &str,
    value: aws_sdk_dynamodb::types::AttributeValue,
) {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    env.ddb
        .update_item()
        .table_name(&env.settings.sessions_table)
        .key("sessionId", A::S(sid.into()))
        .key("sk", A::S(sk.into()))
        .update_expression("SET #a = :v")
        .expression_attribute_names("#a", name)
        .expression_attribute_values(":v", value)
        .send()
        .await
        .expect("raw update");
}

/// The session's data key, unwrapped with KMS as the test's own identity.
pub async fn session_key(env: &Env, sid: &str, owner: &str) -> functions::crypto::DataKey {
    let session = get_item(env, sid, "SESSION").await.expect("session item");
    let wrapped = session["wrappedKey"].as_b().unwrap().as_ref().to_vec();
    let plain = env
        .kms
        .decrypt()
        .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(wrapped))
        .encryption_context("sessionId", sid)
        .encryption_context("userId", owner)
        .send()
        .await
        .unwrap()
        .plaintext
        .unwrap();
    functions::crypto::DataKey::from_bytes(plain.as_ref()).unwrap()
}

/// Stores `user` turns `from..=to` of generation 0 directly (properly sealed
/// with the session's key), 25 per BatchWriteItem.
pub async fn seed_turns(env: &Env, sid: &str, owner: &str, from: u64, to: u64, content: &str) {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    use functions::crypto::content_aad;
    use functions::store::{turn_sk, TurnRecord};
    let key = session_key(env, sid, owner).await;
    let seqs: Vec<u64> = (from..=to).collect();
    for chunk in seqs.chunks(25) {
        let requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|&seq| {
                let rec = TurnRecord {
                    session_id: sid.to_string(),
                    seq,
                    turn_id: format!("seed-{seq}"),
                    role: "user".into(),
                    content: key
                        .seal_str(&content_aad(sid, &turn_sk(seq), "user", 0), content)
                        .unwrap(),
                    language: "en".into(),
                    created_at: "2026-11-28T03:00:00.000Z".into(),
                    tokens: functions::model::estimate_tokens(content),
                    expires_at: functions::time::now_ms() / 1000 + 86_400,
                    generation: 0,
                    digest: Some(key.turn_digest(&format!("seed-{seq}"), "user", content)),
                };
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(rec.to_item()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        let out = env
            .ddb
            .batch_write_item()
            .request_items(&env.settings.sessions_table, requests)
            .send()
            .await
            .unwrap();
        assert!(out.unprocessed_items.unwrap_or_default().is_empty());
    }
}
