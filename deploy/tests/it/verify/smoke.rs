//! The smoke test: events the functions read, answers classified, the real function code in process.

use deploy::verify::check::{Check, Outcome};
use deploy::verify::smoke::{
    classify, event, new_user, run, run_retrying, run_with, InvokeRefused, Invoked, Invoker, Step,
    Targets,
};
use serde_json::{json, Value};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

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
    let encoded = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(r#"{"deleted":true}"#)
    };
    let b64 = Ok(Invoked {
        status_code: 200,
        function_error: None,
        payload: json!({"statusCode": 200, "isBase64Encoded": true, "body": encoded})
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
        payload: br#"{"errorType":"Runtime.ExitError","errorMessage":"exit status 101"}"#.to_vec(),
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

/// Lambda refusing the first `refusals` invocations the way it does while a
/// fresh key grant propagates, then the functions themselves.
struct Propagating {
    inner: InProcess,
    refusals: AtomicUsize,
}

impl Invoker for Propagating {
    fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
    ) -> impl Future<Output = Result<Invoked, InvokeRefused>> {
        let refuse = self
            .refusals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let answer = (!refuse).then(|| self.inner.invoke(function, payload));
        async move {
            match answer {
                Some(a) => a.await,
                None => Err(InvokeRefused {
                    code: Some("KMSAccessDeniedException".into()),
                    message: "Lambda was unable to decrypt the environment variables because KMS access was denied".into(),
                    http_status: Some(502),
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
    let (template, model) = local::model::LocalModel::synth(None).unwrap();
    let provisioned = local::provision::provision(&template, &model, &endpoint)
        .await
        .unwrap();
    let conf = local::provision::sdk_config(&endpoint).await;
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

    // Right after a create, Lambda cannot use the key for two calls: the
    // smoke test tries again, and the refused calls never reached a function.
    let delays = [Duration::ZERO; 4];
    let flaky = Propagating {
        inner: invoker(None),
        refusals: AtomicUsize::new(2),
    };
    let checks = run_retrying(&flaky, &targets(), &new_user(), &delays).await;
    assert!(checks.iter().all(Check::is_ok), "{checks:#?}");
    assert_eq!(
        *flaky.inner.calls.lock().unwrap(),
        vec!["create", "add_turn", "get_context", "delete"]
    );
    // Refused for longer than the retries: it fails, and says it waited.
    let stuck = Propagating {
        inner: invoker(None),
        refusals: AtomicUsize::new(usize::MAX),
    };
    let checks = run_retrying(&stuck, &targets(), &new_user(), &delays).await;
    assert_eq!(checks.len(), 1, "{checks:#?}");
    assert!(
        checks[0].detail.contains("KMSAccessDeniedException")
            && checks[0].detail.contains("after 4 retries"),
        "{checks:#?}"
    );
    // Tried once, the same refusal fails at once.
    let once = Propagating {
        inner: invoker(None),
        refusals: AtomicUsize::new(1),
    };
    let checks = run_with(&once, &targets(), &new_user()).await;
    assert_eq!(checks[0].outcome, Outcome::Fail, "{checks:#?}");
    assert_eq!(items(&ddb, &names.sessions_table).await, 0, "cleaned up");

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
    let replay = crate::support::verify_replay("invoke-function-error.json");
    let checks = run(&replay.sdk_config().await, &targets()).await;
    assert_eq!(checks.len(), 1, "{checks:#?}");
    assert_eq!(checks[0].outcome, Outcome::Fail);
    assert!(
        checks[0]
            .detail
            .contains("(create): the function failed (FunctionError Unhandled): Runtime.ExitError"),
        "{checks:#?}"
    );
    let sent = replay
        .requests("POST /2015-03-31/functions/voice-learning-session-persistence/invocations");
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains(r#""sub":"xtask-verify-"#), "{sent:?}");

    let replay = crate::support::verify_replay("invoke-not-found.json");
    let checks = run(&replay.sdk_config().await, &targets()).await;
    assert!(
        checks[0]
            .detail
            .contains("failed: ResourceNotFoundException (HTTP 404): Function not found"),
        "{checks:#?}"
    );
}
