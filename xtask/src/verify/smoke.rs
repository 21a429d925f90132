//! The smoke test: one real request through each deployed function, so the
//! functions' own roles exercise DynamoDB (both tables), table SSE and the
//! KMS key, as a real caller would.
//!
//! Each function is invoked directly (`lambda:Invoke`, RequestResponse) with
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

use super::functions::function_names;
use super::resources::{self, StackResources};
use super::Check;
use crate::deploy::ui::{self, Colour, Ui};
use anyhow::{anyhow, Result};
use aws_config::SdkConfig;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use base64::Engine;
use serde_json::{json, Value};
use std::future::Future;

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
                        .unwrap_or_else(|| crate::deploy::aws::error_chain(&e)),
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
            Step::Create | Step::Delete => "/sessions",
            Step::AddTurn | Step::GetContext => "/context",
        }
    }

    /// The status the API answers on success (README, "The HTTP API").
    pub fn expected_status(self) -> u16 {
        match self {
            Step::Create => 201,
            _ => 200,
        }
    }
}

/// A fresh verification user: `xtask-verify-` and 16 random hex digits.
pub fn new_user() -> String {
    let mut b = [0u8; 8];
    // A fixed fallback would only make two runs share a user; still cleaned up.
    let _ = aws_lc_rs::rand::fill(&mut b);
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{USER_PREFIX}{hex}")
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `28/Nov/2026:03:05:23 +0000`, the form of `requestContext.time`.
fn apigw_time(epoch_ms: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = (epoch_ms / 1000) as i64;
    // Days to civil date (Howard Hinnant's algorithm).
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let s = secs.rem_euclid(86_400);
    format!(
        "{d:02}/{}/{y}:{:02}:{:02}:{:02} +0000",
        MONTHS[(m - 1) as usize],
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

/// The payload-2.0 event API Gateway's HTTP API sends for `POST path` with
/// a JSON `body`, after its JWT authorizer accepted a token of `user`.
pub fn event(path: &str, user: &str, body: &Value, request_id: &str, now_ms: u64) -> Value {
    let route_key = format!("POST {path}");
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "content-type": "application/json",
            "user-agent": "cargo-xtask-verify",
        },
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "xtask-verify",
            "authorizer": {
                "jwt": {
                    "claims": { "sub": user, "token_use": "access" },
                    "scopes": null,
                },
            },
            "domainName": "xtask-verify.invalid",
            "domainPrefix": "xtask-verify",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "cargo-xtask-verify",
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": apigw_time(now_ms),
            "timeEpoch": now_ms,
        },
        "body": body.to_string(),
        "isBase64Encoded": false,
    })
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
                    ui::short(&r.message, 200)
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
                ui::short(&r.message, 200)
            ));
        }
    };
    if let Some(kind) = &invoked.function_error {
        // The runtime's error object; anything else (an emulator's text) as is.
        let p: Value = serde_json::from_slice(&invoked.payload).unwrap_or(Value::Null);
        let what = match (p["errorType"].as_str(), p["errorMessage"].as_str()) {
            (Some(t), m) => format!("{t}: {}", ui::short(m.unwrap_or(""), 200)),
            (None, Some(m)) => ui::short(m, 200),
            (None, None) => ui::short(&String::from_utf8_lossy(&invoked.payload), 200),
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
            ui::short(&String::from_utf8_lossy(&invoked.payload), 120)
        )
    };
    let response: Value = serde_json::from_slice(&invoked.payload).map_err(|_| not_payload_2())?;
    let Some(status) = response["statusCode"].as_u64() else {
        return Err(not_payload_2());
    };
    let text = match &response["body"] {
        Value::String(s) if response["isBase64Encoded"] == Value::Bool(true) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|_| not_payload_2())?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
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
            format!(" ({})", ui::short(message, 120))
        }
    ))
}

async fn call<I: Invoker>(
    invoker: &I,
    step: Step,
    function: &str,
    user: &str,
    body: Value,
) -> Result<Value, String> {
    let request_id = format!("{user}-{}", step.action());
    let event = event(step.path(), user, &body, &request_id, now_ms());
    let answer = invoker
        .invoke(function, event.to_string().into_bytes())
        .await;
    classify(step, function, answer)
}

fn step_name(step: Step, function: &str) -> String {
    format!("smoke {} ({function})", step.action())
}

/// The four steps as `user`; every call is one check.
pub async fn run_with<I: Invoker>(invoker: &I, targets: &Targets, user: &str) -> Vec<Check> {
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
        json!({"action": "create", "session": {"currentTopic": "xtask verify smoke test", "mode": "tutor"}}),
    )
    .await
    .and_then(|b| {
        b["session"]["sessionId"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("create answered 201 without session.sessionId: {b}"))
    });
    let session_id = match created {
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
        json!({"action": "add_turn", "sessionId": session_id, "turn": {"role": "user", "content": content, "language": "en"}}),
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
            json!({"action": "get_context", "sessionId": session_id}),
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
                    ui::short(&b.to_string(), 200)
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
        json!({"action": "delete", "sessionId": session_id}),
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
    run_with(
        &LambdaInvoker(aws_sdk_lambda::Client::new(conf)),
        targets,
        &new_user(),
    )
    .await
}

/// The smoke test against the deployed stack of `stage`: the stack's
/// function names (the design's when the stack cannot be read), then
/// [`run`]. What `verify` and `deploy` run; every check must be ok.
pub async fn smoke(conf: &SdkConfig, stage: Option<&str>) -> Result<Vec<Check>> {
    let names = stack::Names::new(stage)?;
    let cfn = aws_sdk_cloudformation::Client::new(conf);
    let deployed = resources::read(&cfn, &names.stack).await.ok();
    Ok(run(conf, &Targets::from_stack(&names, deployed.as_ref())).await)
}

/// `deploy`'s last step: the smoke test, printed; an error (exit 1) when it
/// failed, saying the stack itself is deployed.
pub async fn after_deploy(
    conf: &SdkConfig,
    names: &stack::Names,
    ui: &mut Ui,
    json: bool,
) -> Result<()> {
    ui.line("smoke test: create, add_turn, get_context, delete through both functions (lambda:Invoke) …");
    let checks = smoke(conf, names.stage.as_deref()).await?;
    for c in &checks {
        let label = if c.is_ok() {
            ui.paint(Colour::Green, "ok  ")
        } else {
            ui.paint(Colour::Red, "FAIL")
        };
        ui.line(&format!("  {label} {} {}", c.name, c.detail));
    }
    if checks.iter().all(Check::is_ok) {
        return Ok(());
    }
    if json {
        Ui::print_json(&json!({"stack": names.stack, "result": "smoke-failed", "smoke": checks}));
    }
    let first = checks.iter().find(|c| !c.is_ok()).expect("a failed check");
    Err(anyhow!(
        "{} is deployed, but the smoke test failed: {}: {}\n(fix it and run `cargo xtask verify`; `deploy --no-verify` skips the smoke test)",
        names.stack,
        first.name,
        first.detail
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::replay::Replay;
    use crate::verify::Outcome;

    const SP: &str = "voice-learning-session-persistence";
    const CM: &str = "voice-learning-context-manager";

    fn targets() -> Targets {
        Targets {
            session_persistence: SP.into(),
            context_manager: CM.into(),
        }
    }

    fn response(status: u16, body: Value) -> Result<Invoked, InvokeRefused> {
        Ok(Invoked {
            status_code: 200,
            function_error: None,
            payload: json!({
                "statusCode": status,
                "headers": {"content-type": "application/json"},
                "body": body.to_string(),
                "isBase64Encoded": false,
            })
            .to_string()
            .into_bytes(),
        })
    }

    #[test]
    fn the_event_is_one_the_functions_read_the_user_from() {
        let user = new_user();
        assert!(
            user.starts_with("xtask-verify-") && user.len() == 29,
            "{user}"
        );
        assert_ne!(user, new_user());
        let body = json!({"action": "create", "session": {"currentTopic": "t"}});
        let e = event("/sessions", &user, &body, "req-1", 1_584_040_638_000);
        assert_eq!(e["version"], "2.0");
        assert_eq!(e["routeKey"], "POST /sessions");
        assert_eq!(e["requestContext"]["time"], "12/Mar/2020:19:17:18 +0000");
        // What the deployed code does with it: lambda_http's own parser and
        // the functions' identity extraction.
        let req = lambda_http::request::from_str(&e.to_string()).expect("a payload-2.0 event");
        assert_eq!(functions::identity::user_id(&req).unwrap(), user);
        assert_eq!(functions::identity::request_id(&req), "req-1");
        assert_eq!(req.method(), "POST");
        assert_eq!(req.uri().path(), "/sessions");
        let sent: Value = match req.body() {
            lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(sent, body);
    }

    #[test]
    fn responses_are_classified_with_the_failing_call_and_what_to_do() {
        // Success: the body.
        let ok = classify(
            Step::Create,
            SP,
            response(201, json!({"session": {"sessionId": "s1"}})),
        )
        .unwrap();
        assert_eq!(ok["session"]["sessionId"], "s1");
        // A base64 body decodes the same.
        let b64 = Ok(Invoked {
            status_code: 200,
            function_error: None,
            payload: json!({"statusCode": 200, "isBase64Encoded": true,
                "body": base64::engine::general_purpose::STANDARD.encode(r#"{"deleted":true}"#)})
            .to_string()
            .into_bytes(),
        });
        assert_eq!(classify(Step::Delete, SP, b64).unwrap()["deleted"], true);

        let err = |step, answer| classify(step, SP, answer).unwrap_err();
        let refused = |code: &str, status| {
            Err(InvokeRefused {
                code: Some(code.into()),
                message: "details".into(),
                http_status: Some(status),
            })
        };
        let e = err(Step::Create, refused("ResourceNotFoundException", 404));
        assert!(
            e.starts_with("lambda:Invoke voice-learning-session-persistence (create) failed: ResourceNotFoundException (HTTP 404)")
                && e.contains("cargo xtask deploy"),
            "{e}"
        );
        let e = err(Step::Create, refused("AccessDeniedException", 403));
        assert!(
            e.contains("needs lambda:InvokeFunction") && e.contains("--no-smoke"),
            "{e}"
        );
        let e = err(Step::Create, refused("KMSAccessDeniedException", 502));
        assert!(e.contains("key policy"), "{e}");
        let e = err(
            Step::Create,
            Err(InvokeRefused {
                code: None,
                message: "dns error".into(),
                http_status: None,
            }),
        );
        assert!(e.contains("could not reach Lambda (dns error)"), "{e}");

        let crashed = Ok(Invoked {
            status_code: 200,
            function_error: Some("Unhandled".into()),
            payload: br#"{"errorType":"Runtime.ExitError","errorMessage":"exit status 101"}"#
                .to_vec(),
        });
        let e = err(Step::AddTurn, crashed);
        assert!(
            e.contains("(add_turn): the function failed (FunctionError Unhandled): Runtime.ExitError: exit status 101")
                && e.contains("aws logs tail /aws/lambda/voice-learning-session-persistence"),
            "{e}"
        );

        // moto without Docker: a Handled error whose payload is plain text.
        let text = Ok(Invoked {
            status_code: 200,
            function_error: Some("Handled".into()),
            payload: b"error running docker: connection refused".to_vec(),
        });
        let e = err(Step::Create, text);
        assert!(
            e.contains("(FunctionError Handled): error running docker: connection refused"),
            "{e}"
        );

        let e = err(
            Step::AddTurn,
            response(
                503,
                json!({"error": {"code": "service_unavailable", "message": "a dependency is unavailable; retry", "retryable": true}}),
            ),
        );
        assert!(
            e.contains("(add_turn) answered HTTP 503 service_unavailable")
                && e.contains("role's policy"),
            "{e}"
        );
        let e = err(
            Step::Create,
            response(401, json!({"error": {"code": "unauthorized"}})),
        );
        assert!(
            e.contains("HTTP 401 unauthorized") && e.contains("claims.sub"),
            "{e}"
        );
        let e = err(
            Step::Create,
            response(
                400,
                json!({"error": {"code": "invalid_field", "field": "session.mode"}}),
            ),
        );
        assert!(e.contains("(field session.mode)"), "{e}");
        // 200 where 201 is the answer is not a success either.
        let e = err(Step::Create, response(200, json!({})));
        assert!(e.contains("answered HTTP 200"), "{e}");

        let raw = Ok(Invoked {
            status_code: 200,
            function_error: None,
            payload: br#"{"hello":"world"}"#.to_vec(),
        });
        assert!(err(Step::Create, raw).contains("not a payload-2.0 response"));
    }

    /// The real function code, in process: what Lambda would run, against
    /// tables and key `dev` provisions in moto.
    struct InProcess {
        apps: Vec<(String, functions::App)>,
        /// Answer this action with a 503 instead of running it.
        broken: Option<&'static str>,
        calls: std::sync::Mutex<Vec<String>>,
    }

    impl Invoker for InProcess {
        fn invoke(
            &self,
            function: &str,
            payload: Vec<u8>,
        ) -> impl Future<Output = Result<Invoked, InvokeRefused>> {
            let app = self
                .apps
                .iter()
                .find(|(n, _)| n == function)
                .map(|(_, a)| a.clone());
            let event: Value = serde_json::from_slice(&payload).unwrap();
            let body: Value = serde_json::from_str(event["body"].as_str().unwrap_or("{}")).unwrap();
            let action = body["action"].as_str().unwrap_or_default().to_string();
            self.calls.lock().unwrap().push(action.clone());
            let broken = self.broken == Some(action.as_str());
            async move {
                let Some(app) = app else {
                    return Err(InvokeRefused {
                        code: Some("ResourceNotFoundException".into()),
                        message: "Function not found".into(),
                        http_status: Some(404),
                    });
                };
                if broken {
                    return response(503, json!({"error": {"code": "service_unavailable"}}));
                }
                let handler = lambda_http::service_fn(move |req: lambda_http::Request| {
                    let app = app.clone();
                    async move { Ok::<_, lambda_http::Error>(app.handle(req).await) }
                });
                let mut adapter = lambda_http::Adapter::from(handler);
                let ev = lambda_http::lambda_runtime::LambdaEvent {
                    payload: event,
                    context: lambda_http::lambda_runtime::Context::default(),
                };
                match functions::runtime::handle_event(&mut adapter, ev).await {
                    Ok(v) => Ok(Invoked {
                        status_code: 200,
                        function_error: None,
                        payload: v.to_string().into_bytes(),
                    }),
                    Err(e) => Ok(Invoked {
                        status_code: 200,
                        function_error: Some("Unhandled".into()),
                        payload: json!({"errorType": "Error", "errorMessage": e.to_string()})
                            .to_string()
                            .into_bytes(),
                    }),
                }
            }
        }
    }

    async fn items(ddb: &aws_sdk_dynamodb::Client, table: &str) -> usize {
        ddb.scan()
            .table_name(table)
            .send()
            .await
            .unwrap()
            .items()
            .len()
    }

    /// All four steps through the real function code; a failure in the
    /// middle still deletes the session.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn smoke_runs_through_the_functions_and_cleans_up_after_a_failure() {
        let moto = emulator::MotoServer::start(Default::default()).expect("moto");
        let endpoint = moto.endpoint_url();
        let (template, model) = crate::dev::model::LocalModel::synth(None).unwrap();
        let provisioned = crate::dev::provision::provision(&template, &model, &endpoint)
            .await
            .unwrap();
        let conf = crate::dev::provision::sdk_config(&endpoint).await;
        let names = stack::Names::new(None).unwrap();
        let settings = functions::config::Settings::new(
            &names.sessions_table,
            &names.user_profiles_table,
            &provisioned.key_id,
        );
        let app = |f| functions::App::new(f, &conf, settings.clone(), None);
        let invoker = |broken| InProcess {
            apps: vec![
                (SP.to_string(), app(functions::Function::SessionPersistence)),
                (CM.to_string(), app(functions::Function::ContextManager)),
            ],
            broken,
            calls: Default::default(),
        };
        let ddb = aws_sdk_dynamodb::Client::new(&conf);

        let healthy = invoker(None);
        let checks = run_with(&healthy, &targets(), &new_user()).await;
        assert!(checks.iter().all(Check::is_ok), "{checks:#?}");
        assert_eq!(
            checks.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            vec![
                "smoke create (voice-learning-session-persistence)",
                "smoke add_turn (voice-learning-context-manager)",
                "smoke get_context (voice-learning-context-manager)",
                "smoke delete (voice-learning-session-persistence)",
            ]
        );
        assert_eq!(items(&ddb, &names.sessions_table).await, 0, "cleaned up");

        let broken = invoker(Some("add_turn"));
        let checks = run_with(&broken, &targets(), &new_user()).await;
        let outcomes: Vec<(&str, Outcome)> = checks
            .iter()
            .map(|c| (c.name.as_str(), c.outcome))
            .collect();
        assert_eq!(
            outcomes,
            vec![
                (
                    "smoke create (voice-learning-session-persistence)",
                    Outcome::Ok
                ),
                (
                    "smoke add_turn (voice-learning-context-manager)",
                    Outcome::Fail
                ),
                (
                    "smoke delete (voice-learning-session-persistence)",
                    Outcome::Ok
                ),
            ]
        );
        assert!(
            checks[1]
                .detail
                .contains("(add_turn) answered HTTP 503 service_unavailable"),
            "{checks:#?}"
        );
        assert_eq!(
            *broken.calls.lock().unwrap(),
            vec!["create", "add_turn", "delete"]
        );
        assert_eq!(
            items(&ddb, &names.sessions_table).await,
            0,
            "deleted after the failure"
        );

        // A function that is not there: create fails, nothing else is tried.
        let missing = InProcess {
            apps: vec![],
            broken: None,
            calls: Default::default(),
        };
        let checks = run_with(&missing, &targets(), &new_user()).await;
        assert_eq!(checks.len(), 1, "{checks:#?}");
        assert!(
            checks[0]
                .detail
                .contains("ResourceNotFoundException (HTTP 404)"),
            "{checks:#?}"
        );
    }

    /// Lambda's own answers, through the SDK: a function error and a missing
    /// function stop the smoke test at create, named as such.
    #[tokio::test]
    async fn lambda_invoke_answers_are_read_from_the_sdk() {
        let replay = Replay::from_fixture("invoke-function-error.json");
        let checks = run(&replay.sdk_config().await, &targets()).await;
        assert_eq!(checks.len(), 1, "{checks:#?}");
        assert_eq!(checks[0].outcome, Outcome::Fail);
        assert!(
            checks[0].detail.contains(
                "(create): the function failed (FunctionError Unhandled): Runtime.ExitError"
            ),
            "{checks:#?}"
        );
        let sent = replay
            .requests("POST /2015-03-31/functions/voice-learning-session-persistence/invocations");
        assert_eq!(sent.len(), 1);
        assert!(sent[0].contains(r#""sub":"xtask-verify-"#), "{sent:?}");

        let replay = Replay::from_fixture("invoke-not-found.json");
        let checks = run(&replay.sdk_config().await, &targets()).await;
        assert!(
            checks[0]
                .detail
                .contains("failed: ResourceNotFoundException (HTTP 404): Function not found"),
            "{checks:#?}"
        );
    }
}
