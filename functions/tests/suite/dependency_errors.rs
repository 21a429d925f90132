//! AWS failures are mapped, never echoed: an unreachable dependency is a
//! retryable 503, a permanent AWS error a 500 without its text, an endpoint
//! whose certificate the trust store refuses a 500 whose log says what to do.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use functions::Function::{ContextManager, SessionPersistence};
use functions::{App, Settings};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;

/// The SDK configuration of the binaries (their HTTPS client, with
/// `TLS_TRUST_STORE` unset: Amazon's roots) aimed at `endpoint`, no retries.
async fn sdk_at(endpoint: &str) -> aws_config::SdkConfig {
    loader_at(endpoint)
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

/// The binaries' HTTPS client, a test region and credentials, at `endpoint`.
fn loader_at(endpoint: &str) -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(functions::tls::http_client(functions::tls::Trust::default()))
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_dependency_is_a_retryable_503() {
    // Nothing listens on this port.
    let port = emulator::free_port().unwrap();
    let sdk = sdk_at(&format!("http://127.0.0.1:{port}")).await;
    let settings = Settings::new(
        "voice-learning-sessions",
        "voice-learning-user-profiles",
        "alias/none",
    );
    for (app, body) in [
        (
            App::new(SessionPersistence, &sdk, settings.clone(), None),
            json!({"action":"create","session":{"currentTopic":"JavaScript Basics","mode":"tutor"}}),
        ),
        (
            App::new(ContextManager, &sdk, settings.clone(), None),
            turn("0b5a3f9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "What is a closure?"),
        ),
    ] {
        let (status, v) = call(&app, USER_A, body).await;
        assert_eq!(status, 503, "{v}");
        assert_eq!(v["error"]["code"], "service_unavailable");
        assert_eq!(v["error"]["retryable"], true);
        let text = v.to_string().to_lowercase();
        assert!(
            !text.contains("dispatch") && !text.contains("connect") && !text.contains("127.0.0.1"),
            "{v}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_aws_errors_are_500_without_their_text() {
    let env = Env::new().await;
    // A table that does not exist: DynamoDB answers ResourceNotFoundException.
    let mut settings = env.settings.clone();
    settings.sessions_table = "no-such-table".into();
    settings.profiles_table = "no-such-profiles".into();
    let app = App::new(SessionPersistence, &env.sdk, settings, None);
    let (status, v) = call(&app, USER_A, json!({"action":"list"})).await;
    assert_eq!(status, 500, "{v}");
    assert_eq!(v["error"]["code"], "internal_error");
    let text = v.to_string();
    assert!(
        !text.contains("ResourceNotFound") && !text.contains("no-such-table"),
        "{v}"
    );
}

/// A TLS server on loopback presenting a self-signed certificate for
/// 127.0.0.1 (`tests/fixtures/untrusted-localhost.*`, made for this test):
/// its port, and how many handshakes it saw start.
async fn untrusted_tls_server() -> (u16, Arc<AtomicUsize>) {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let cert = CertificateDer::from_pem_file(dir.join("untrusted-localhost.cert.pem")).unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("untrusted-localhost.key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let seen = handshakes.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            // The client aborts the handshake: the error is the point.
            tokio::spawn(async move { acceptor.accept(stream).await.map(drop) });
        }
    });
    (port, handshakes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_outside_the_amazon_roots_is_refused_and_the_log_says_what_to_do() {
    capture_logs();
    let (port, handshakes) = untrusted_tls_server().await;
    let sdk = sdk_at(&format!("https://127.0.0.1:{port}")).await;
    let settings = Settings::new("sessions", "profiles", "alias/none");
    let app = App::new(SessionPersistence, &sdk, settings, None);
    let (status, v) = call(&app, USER_A, json!({"action":"list"})).await;
    assert!(
        handshakes.load(Ordering::SeqCst) >= 1,
        "the client never reached the TLS server"
    );
    assert_eq!(status, 500, "{v}");
    assert_eq!(v["error"]["code"], "internal_error");
    assert!(v["error"].get("retryable").is_none(), "{v}");
    let request_id = v["error"]["requestId"].as_str().unwrap().to_string();
    let line = log_lines()
        .into_iter()
        .find(|l| l["aws_error"] == functions::error::UNTRUSTED_CERTIFICATE)
        .unwrap_or_else(|| panic!("no UntrustedCertificate log line for {request_id}"));
    let hint = line["hint"].as_str().unwrap_or_default();
    assert!(
        hint.contains("TlsTrustStore=system") && hint.contains("TLS_TRUST_STORE=system"),
        "{line}"
    );
    assert_eq!(line["operation"], "dynamodb:Query", "{line}");
}

/// A loopback listener that accepts connections and never answers: a
/// stalled dependency. Counts the connections it accepted.
async fn stalled_endpoint() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let seen = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (port, accepted)
}

/// The binaries' SDK configuration (timeouts and standard retries from
/// [`functions::api::call_policy`]) aimed at `endpoint`.
async fn binaries_sdk_at(
    endpoint: &str,
    timeouts: functions::config::DependencyTimeouts,
) -> aws_config::SdkConfig {
    let (timeout_config, retry_config) = functions::api::call_policy(timeouts);
    loader_at(endpoint)
        .timeout_config(timeout_config)
        .retry_config(retry_config)
        .load()
        .await
}

/// The X-Ray trace header Lambda passes with the invocation.
const TRACE_ID: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// `body` as an invocation that Lambda ends at `deadline_ms`: the status,
/// the `Retry-After` header and the JSON body.
async fn invoke_until(
    app: &App,
    deadline_ms: u64,
    body: serde_json::Value,
) -> (u16, Option<String>, serde_json::Value) {
    use lambda_http::RequestExt;
    let ev = event_json_for(
        path_of(app.function()),
        Some(&user(USER_A)),
        Some(&body.to_string()),
        false,
    );
    let mut context = lambda_http::Context::default();
    context.deadline = deadline_ms;
    context.xray_trace_id = Some(TRACE_ID.into());
    let req = lambda_http::request::from_str(&ev)
        .expect("payload 2.0 event")
        .with_lambda_context(context);
    let resp = app.handle(req).await;
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = match resp.body() {
        lambda_http::Body::Text(t) => t.clone(),
        other => panic!("unexpected body {other:?}"),
    };
    (
        resp.status().as_u16(),
        retry_after,
        serde_json::from_str(&text).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_dependency_ends_in_the_functions_own_503_with_retry_after() {
    // The SDK's attempt timeout ends each stalled attempt and standard mode
    // retries within the operation timeout; then the function answers 503,
    // long before an invocation deadline an hour away.
    let (port, accepted) = stalled_endpoint().await;
    let timeouts = functions::config::DependencyTimeouts {
        connect: Duration::from_millis(200),
        attempt: Duration::from_millis(150),
        operation: Duration::from_millis(2_000),
    };
    let sdk = binaries_sdk_at(&format!("http://127.0.0.1:{port}"), timeouts).await;
    let settings = Settings::new("sessions", "profiles", "alias/none");
    let app = App::new(SessionPersistence, &sdk, settings, None);
    let hour_away = functions::time::now_ms() + 3_600_000;
    let (status, retry_after, v) = invoke_until(&app, hour_away, json!({"action":"list"})).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error"]["code"], "service_unavailable");
    assert_eq!(v["error"]["retryable"], true);
    assert_eq!(
        retry_after.as_deref(),
        Some(functions::api::RETRY_AFTER_SECONDS)
    );
    assert!(
        accepted.load(Ordering::SeqCst) >= 2,
        "the SDK did not retry the stalled call ({} connection(s))",
        accepted.load(Ordering::SeqCst)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_still_waiting_near_the_deadline_is_answered_503_before_it() {
    // With the binaries' default timeouts a stalled call outlives an
    // invocation that has 1.5 s left: the function keeps
    // `DEADLINE_MARGIN` back and answers 503 itself, so the gateway never
    // has to answer 504 for it.
    capture_logs();
    let (port, accepted) = stalled_endpoint().await;
    let timeouts = functions::config::DependencyTimeouts::default();
    let sdk = binaries_sdk_at(&format!("http://127.0.0.1:{port}"), timeouts).await;
    let app = App::new(
        SessionPersistence,
        &sdk,
        Settings::new("sessions", "profiles", "alias/none"),
        None,
    );
    let deadline = functions::time::now_ms() + 1_500;
    let (status, retry_after, v) = invoke_until(&app, deadline, json!({"action":"list"})).await;
    let answered = functions::time::now_ms();
    assert_eq!(status, 503, "{v}");
    assert_eq!(
        retry_after.as_deref(),
        Some(functions::api::RETRY_AFTER_SECONDS)
    );
    assert!(
        accepted.load(Ordering::SeqCst) >= 1,
        "the call never reached the endpoint"
    );
    assert!(
        answered < deadline,
        "answered {} ms after the deadline",
        answered - deadline
    );
    let request_id = v["error"]["requestId"].as_str().unwrap().to_string();
    let lines = log_lines();
    assert!(
        lines.iter().any(|l| l["event"] == "deadline"
            && l["margin_ms"] == 1000
            && l["trace_id"] == TRACE_ID),
        "no deadline log line with the trace id for {request_id}"
    );
    // The request line carries the invocation's trace id too.
    assert!(
        lines.iter().any(|l| l["message"] == "request"
            && l["request_id"] == request_id.as_str()
            && l["trace_id"] == TRACE_ID),
        "no request line with the trace id for {request_id}"
    );
}
