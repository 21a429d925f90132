//! The smoke test: one real request through each deployed function, so the
//! functions' own roles exercise DynamoDB (both tables), table SSE and the
//! KMS key, as a real caller would.
//!
//! Each function's `live` alias (what the API invokes) is invoked directly (`lambda:Invoke`, RequestResponse) with
//! the payload-2.0 event API Gateway's HTTP API sends after its JWT
//! authorizer accepted a token: the caller is
//! `requestContext.authorizer.jwt.claims.sub`, here a reserved verification
//! user `xtask-verify-<random>` no real Cognito user can be. The gateway and
//! its authorizer are not exercised (that needs a real token); `verify`'s API
//! checks cover their configuration.
//!
//! Steps: create (session persistence) → add_turn → get_context (context
//! manager; the turn must come back decrypted) → delete (always, once a
//! session exists, even when a middle step failed).
//!
//! Event format: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
//! Invoke's StatusCode, FunctionError and Payload: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html

use super::check::Check;
use super::functions::function_names;
use super::resources::{self, StackResources};
use crate::error::{failed, Result};
use crate::report::{Report, Style, Text};
use crate::text::short;
use apigw_event::{parse_response, Parsed, Request, RequestContext};
use aws_config::SdkConfig;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use functions::wire::{self, ContextRequest, SessionsRequest};
use serde_json::{json, Value};
use std::future::Future;
use std::time::Duration;

/// How long the smoke test waits between tries while a fresh role or key
/// grant has not reached every endpoint yet: IAM and KMS changes are
/// eventually consistent, and right after a create a function can be
/// refused by KMS or DynamoDB for some seconds
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>,
/// <https://docs.aws.amazon.com/kms/latest/developerguide/accessing-kms.html#eventual-consistency>).
/// 15 s in all.
pub const PROPAGATION_DELAYS: &[Duration] = &[
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];

/// An answer that a propagating IAM or KMS change explains: Lambda could
/// not use the key for the function's environment, the function is not
/// ready yet, or the function answered 503 (its own role was refused by
/// DynamoDB or KMS, or they were unavailable; nothing was written).
fn propagating(answer: &std::result::Result<Invoked, InvokeRefused>) -> bool {
    match answer {
        Err(r) => r.code.as_deref().is_some_and(|c| {
            c.starts_with("KMS")
                || matches!(
                    c,
                    "ResourceNotReadyException"
                        | "ResourceConflictException"
                        | "TooManyRequestsException"
                )
        }),
        Ok(i) => {
            i.function_error.is_none()
                && matches!(parse_response(&i.payload), Parsed::Structured(r) if r.status == 503)
        }
    }
}

/// Every verification user's id starts with this.
pub const USER_PREFIX: &str = "xtask-verify-";

/// The functions to invoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    pub session_persistence: String,
    pub context_manager: String,
}

impl Targets {
    /// The stack's function names (physical ids) when known, else the design's.
    pub fn from_stack(names: &stack::Names, resources: Option<&StackResources>) -> Self {
        let [session_persistence, context_manager] =
            function_names(names, resources.unwrap_or(&StackResources::default()));
        Targets {
            session_persistence,
            context_manager,
        }
    }
}

/// What Invoke returned: its StatusCode, FunctionError and Payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoked {
    pub status_code: i32,
    /// `Handled` or `Unhandled` when the function itself failed.
    pub function_error: Option<String>,
    pub payload: Vec<u8>,
}

/// Invoke refused by the Lambda service (the function did not answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeRefused {
    /// The AWS error code; `None` when no service answered (network).
    pub code: Option<String>,
    pub message: String,
    pub http_status: Option<u16>,
}

/// Something that invokes a function by name: Lambda itself, or (tests) the
/// function code in process.
pub trait Invoker {
    fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
    ) -> impl Future<Output = Result<Invoked, InvokeRefused>>;
}

/// `lambda:Invoke`, synchronous.
pub struct LambdaInvoker(pub aws_sdk_lambda::Client);

impl Invoker for LambdaInvoker {
    fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
    ) -> impl Future<Output = Result<Invoked, InvokeRefused>> {
        let request = self
            .0
            .invoke()
            .function_name(function)
            // What the API invokes.
            .qualifier(stack::function::LIVE_ALIAS)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload));
        async move {
            match request.send().await {
                Ok(o) => Ok(Invoked {
                    status_code: o.status_code(),
                    function_error: o.function_error().map(str::to_string),
                    payload: o.payload().map(|b| b.as_ref().to_vec()).unwrap_or_default(),
                }),
                Err(e) => Err(InvokeRefused {
                    code: e.code().map(str::to_string),
                    message: e
                        .message()
                        .map(str::to_string)
                        .unwrap_or_else(|| crate::aws::error_chain(&e)),
                    http_status: e.raw_response().map(|r| r.status().as_u16()),
                }),
            }
        }
    }
}

/// One step of the smoke test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create,
    AddTurn,
    GetContext,
    Delete,
}

impl Step {
    pub fn action(self) -> &'static str {
        match self {
            Step::Create => "create",
            Step::AddTurn => "add_turn",
            Step::GetContext => "get_context",
            Step::Delete => "delete",
        }
    }

    /// The route the step belongs to.
    pub fn path(self) -> &'static str {
        match self {
            Step::Create | Step::Delete => stack::Function::SessionPersistence.path(),
            Step::AddTurn | Step::GetContext => stack::Function::ContextManager.path(),
        }
    }

    /// The status the API answers on success (docs/api.md).
    pub fn expected_status(self) -> u16 {
        match self {
            Step::Create => 201,
            _ => 200,
        }
    }
}

/// A request as the function reads it (built from the functions' own
/// request types, so the smoke test cannot send what they would refuse).
fn body(request: impl serde::Serialize) -> Value {
    serde_json::to_value(request).expect("a request serializes")
}

/// A fresh verification user: `xtask-verify-` and 16 random hex digits.
pub fn new_user() -> String {
    let mut b = [0u8; 8];
    // A fixed fallback would only make two runs share a user; still cleaned up.
    let _ = aws_lc_rs::rand::fill(&mut b);
    format!("{USER_PREFIX}{}", lambda_package::hex(&b))
}

/// The payload-2.0 event API Gateway's HTTP API sends for `POST path` with
/// a JSON `body`, after its JWT authorizer accepted a token of `user`.
pub fn event(path: &str, user: &str, body: &Value, request_id: &str, now_ms: u64) -> Value {
    let mut headers = serde_json::Map::new();
    for (k, v) in [
        ("accept", "application/json"),
        ("content-type", "application/json"),
        ("user-agent", "cargo-xtask-verify"),
    ] {
        headers.insert(k.into(), v.into());
    }
    let claims = json!({ "sub": user, "token_use": "access" });
    Request {
        method: "POST".into(),
        path: path.into(),
        route_key: format!("POST {path}"),
        headers,
        body: body.to_string().into_bytes(),
        claims: claims.as_object().cloned(),
        context: RequestContext {
            account_id: "anonymous".into(),
            api_id: "xtask-verify".into(),
            domain_name: "xtask-verify.invalid".into(),
            protocol: "HTTP/1.1".into(),
            source_ip: "127.0.0.1".into(),
            request_id: request_id.into(),
            time_epoch_ms: now_ms,
        },
        ..Request::default()
    }
    .to_event()
}

fn logs_hint(function: &str) -> String {
    format!("the function's logs name the failing call: `aws logs tail /aws/lambda/{function} --since 15m`")
}

/// One call's outcome: the response body, or one sentence naming the call,
/// the AWS error code or HTTP status and body error code, and what to do.
pub fn classify(
    step: Step,
    function: &str,
    answer: Result<Invoked, InvokeRefused>,
) -> Result<Value, String> {
    let call = format!("lambda:Invoke {function} ({})", step.action());
    let invoked = match answer {
        Ok(i) => i,
        Err(r) => {
            let Some(code) = r.code else {
                return Err(format!(
                    "{call} could not reach Lambda ({}): check the region, the network, or --endpoint-url",
                    short(&r.message, 200)
                ));
            };
            let status = r
                .http_status
                .map(|s| format!(" (HTTP {s})"))
                .unwrap_or_default();
            let what_to_do = match code.as_str() {
                "ResourceNotFoundException" => "the function does not exist: deploy the stack (`cargo xtask deploy`) or pass the --stage / --region it was deployed with".to_string(),
                "AccessDeniedException" | "AccessDenied" => format!(
                    "the identity running the smoke test needs lambda:InvokeFunction on {function} (or skip it: verify --no-smoke, deploy --no-verify)"
                ),
                c if c.starts_with("KMS") => "Lambda could not decrypt the function's environment with the stack's key: check the key policy lets the function's role use it (a role deleted and recreated needs the function redeployed)".to_string(),
                "TooManyRequestsException" => "throttled: re-run in a minute (the function's reserved concurrency is a parameter)".to_string(),
                "ResourceNotReadyException" | "ResourceConflictException" => "the function is still being created or updated: re-run `cargo xtask verify` in a minute".to_string(),
                _ => format!("re-run; if it persists, {}", logs_hint(function)),
            };
            return Err(format!(
                "{call} failed: {code}{status}: {}; {what_to_do}",
                short(&r.message, 200)
            ));
        }
    };
    if let Some(kind) = &invoked.function_error {
        // The runtime's error object; anything else (an emulator's text) as is.
        let p: Value = serde_json::from_slice(&invoked.payload).unwrap_or(Value::Null);
        let what = match (p["errorType"].as_str(), p["errorMessage"].as_str()) {
            (Some(t), m) => format!("{t}: {}", short(m.unwrap_or(""), 200)),
            (None, Some(m)) => short(m, 200),
            (None, None) => short(&String::from_utf8_lossy(&invoked.payload), 200),
        };
        return Err(format!(
            "{call}: the function failed (FunctionError {kind}): {what}; {}",
            logs_hint(function)
        ));
    }
    if invoked.status_code != 200 {
        return Err(format!(
            "{call}: Invoke answered StatusCode {} (200 expected for a synchronous call)",
            invoked.status_code
        ));
    }
    let not_payload_2 = || {
        format!(
            "{call}: the function answered {}, not a payload-2.0 response ({{statusCode, body}}): is the deployed code this module's? `cargo xtask deploy` the current code",
            short(&String::from_utf8_lossy(&invoked.payload), 120)
        )
    };
    let Parsed::Structured(response) = parse_response(&invoked.payload) else {
        return Err(not_payload_2());
    };
    let status = u64::from(response.status);
    let text = String::from_utf8_lossy(&response.body).into_owned();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status == u64::from(step.expected_status()) {
        return Ok(body);
    }
    let code = body["error"]["code"].as_str().unwrap_or("no error code");
    let message = body["error"]["message"].as_str().unwrap_or("");
    let field = body["error"]["field"]
        .as_str()
        .map(|f| format!(" (field {f})"))
        .unwrap_or_default();
    let what_to_do = match status {
        401 => "the function found no caller identity at requestContext.authorizer.jwt.claims.sub: the deployed code and this xtask disagree on the event; deploy the current code".to_string(),
        400 | 413 => format!("the function rejected the request{field}: the deployed code's API differs from this xtask; deploy the current code"),
        404 => "the session just created was not found: do both functions use the same SESSIONS_TABLE? (see the function environment checks)".to_string(),
        503 => format!(
            "DynamoDB or the KMS key refused the function's own role, or was unavailable: check the role's policy and the key policy; {}",
            logs_hint(function)
        ),
        _ => logs_hint(function),
    };
    Err(format!(
        "{call} answered HTTP {status} {code}{}; {what_to_do}",
        if message.is_empty() {
            String::new()
        } else {
            format!(" ({})", short(message, 120))
        }
    ))
}

async fn call<I: Invoker>(
    invoker: &I,
    step: Step,
    function: &str,
    user: &str,
    body: Value,
    delays: &[Duration],
) -> Result<Value, String> {
    let request_id = format!("{user}-{}", step.action());
    let mut retries = 0;
    loop {
        let event = event(
            step.path(),
            user,
            &body,
            &request_id,
            apigw_event::time::now_ms(),
        );
        let answer = invoker
            .invoke(function, event.to_string().into_bytes())
            .await;
        if let Some(delay) = delays.get(retries).filter(|_| propagating(&answer)) {
            tokio::time::sleep(*delay).await;
            retries += 1;
            continue;
        }
        return classify(step, function, answer).map_err(|why| {
            if retries == 0 {
                why
            } else {
                let waited: Duration = delays[..retries].iter().sum();
                format!(
                    "{why} (the same after {retries} retries over {} s, longer than IAM and KMS changes take to propagate)",
                    waited.as_secs()
                )
            }
        });
    }
}

fn step_name(step: Step, function: &str) -> String {
    format!("smoke {} ({function})", step.action())
}

/// The four steps as `user`, each tried once; every call is one check.
pub async fn run_with<I: Invoker>(invoker: &I, targets: &Targets, user: &str) -> Vec<Check> {
    run_retrying(invoker, targets, user, &[]).await
}

/// The four steps as `user`; a call refused the way a propagating IAM or
/// KMS change explains is tried again after each of `delays`.
pub async fn run_retrying<I: Invoker>(
    invoker: &I,
    targets: &Targets,
    user: &str,
    delays: &[Duration],
) -> Vec<Check> {
    let mut out = vec![];
    let sp = &targets.session_persistence;
    let cm = &targets.context_manager;

    // No `language`: create then reads the user's profile, so the profiles
    // table is exercised too.
    let created = call(
        invoker,
        Step::Create,
        sp,
        user,
        body(
            SessionsRequest::create("xtask verify smoke test", Some(wire::Mode::Tutor))
                .expect("a valid topic"),
        ),
        delays,
    )
    .await
    .and_then(|b| {
        b["session"]["sessionId"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("create answered 201 without session.sessionId: {b}"))
    });
    let session_id = match created.and_then(|id| {
        wire::SessionId::try_from(id.as_str())
            .map_err(|e| format!("create answered 201 with session.sessionId {id:?}, which {e}"))
    }) {
        Ok(id) => {
            out.push(Check::ok(
                step_name(Step::Create, sp),
                format!("201, session {id} of {user}"),
            ));
            id
        }
        Err(why) => {
            out.push(Check::fail(
                step_name(Step::Create, sp),
                format!("{why} (later steps not run; no session to clean up)"),
            ));
            return out;
        }
    };

    let content = format!("verification turn of {user}");

    let added = call(
        invoker,
        Step::AddTurn,
        cm,
        user,
        body(
            ContextRequest::add_turn(&session_id, wire::Role::User, &content, "en")
                .expect("a valid turn"),
        ),
        delays,
    )
    .await;
    let added_ok = added.is_ok();
    out.push(match added {
        Ok(_) => Check::ok(step_name(Step::AddTurn, cm), "200, turn stored"),
        Err(why) => Check::fail(step_name(Step::AddTurn, cm), why),
    });

    if added_ok {
        let got = call(
            invoker,
            Step::GetContext,
            cm,
            user,
            body(ContextRequest::get_context(&session_id)),
            delays,
        )
        .await
        .and_then(|b| {
            let back = b["context"]["turns"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["content"] == content.as_str()));
            if back {
                Ok(())
            } else {
                Err(format!(
                    "get_context answered 200 without the turn add_turn stored (it was not written, or did not decrypt): {}",
                    short(&b.to_string(), 200)
                ))
            }
        });
        out.push(match got {
            Ok(()) => Check::ok(
                step_name(Step::GetContext, cm),
                "200, the turn came back decrypted",
            ),
            Err(why) => Check::fail(step_name(Step::GetContext, cm), why),
        });
    }

    // Always, once a session exists.
    let deleted = call(
        invoker,
        Step::Delete,
        sp,
        user,
        body(SessionsRequest::delete(&session_id)),
        delays,
    )
    .await
    .and_then(|b| {
        if b["deleted"] == Value::Bool(true) {
            Ok(())
        } else {
            Err(format!("delete answered 200 without deleted: true: {b}"))
        }
    });
    out.push(match deleted {
        Ok(()) => Check::ok(step_name(Step::Delete, sp), "200, cleaned up"),
        Err(why) => Check::fail(
            step_name(Step::Delete, sp),
            format!(
                "{why}; the verification session {session_id} of {user} is left behind (it expires by TTL in 30 days)"
            ),
        ),
    });
    out
}

/// The smoke test against `targets` with `lambda:Invoke`, as a fresh
/// verification user.
pub async fn run(conf: &SdkConfig, targets: &Targets) -> Vec<Check> {
    run_retrying(
        &LambdaInvoker(crate::record::recorded_client!(aws_sdk_lambda, conf)),
        targets,
        &new_user(),
        PROPAGATION_DELAYS,
    )
    .await
}

/// The smoke test against the deployed stack of `stage`: the stack's
/// function names (the design's when the stack cannot be read), then
/// [`run`]. What `verify` and `deploy` run; every check must be ok.
pub async fn smoke(conf: &SdkConfig, stage: Option<&str>) -> Result<Vec<Check>> {
    let names = stack::Names::new(stage)?;
    let cfn = crate::record::recorded_client!(aws_sdk_cloudformation, conf);
    let deployed = resources::read(&cfn, &names.stack).await.ok();
    Ok(run(conf, &Targets::from_stack(&names, deployed.as_ref())).await)
}

/// `deploy`'s last step: the smoke test, reported; an error (exit 1) when
/// it failed, saying the stack itself is deployed.
pub async fn after_deploy(
    conf: &SdkConfig,
    names: &stack::Names,
    report: &mut impl Report,
) -> Result<()> {
    report.say("smoke test: create, add_turn, get_context, delete through both functions (lambda:Invoke) …");
    let checks = smoke(conf, names.stage.as_deref()).await?;
    for c in &checks {
        let (style, label) = if c.is_ok() {
            (Style::Good, "ok  ")
        } else {
            (Style::Bad, "FAIL")
        };
        report.line(
            Text::plain("  ")
                .then(style, label)
                .then(Style::Plain, format!(" {} {}", c.name, c.detail)),
        );
    }
    if checks.iter().all(Check::is_ok) {
        return Ok(());
    }
    report.result(crate::results::to_json(
        &crate::results::DeployResult::SmokeFailed {
            stack: names.stack.clone(),
            smoke: checks.clone(),
        },
    ));
    let first = checks.iter().find(|c| !c.is_ok()).expect("a failed check");
    Err(failed!(
        "{} is deployed, but the smoke test failed: {}: {}\n(fix it and run `cargo xtask verify`; `deploy --no-verify` skips the smoke test)",
        names.stack,
        first.name,
        first.detail
    ))
}
