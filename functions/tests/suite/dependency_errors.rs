//! AWS failures are mapped, never echoed: an unreachable dependency is a
//! retryable 503, a permanent AWS error a 500 without its text.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use functions::Function::{ContextManager, SessionPersistence};
use functions::{App, Settings};
use serde_json::json;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_dependency_is_a_retryable_503() {
    // Nothing listens on this port.
    let port = emulator::free_port().unwrap();
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
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
