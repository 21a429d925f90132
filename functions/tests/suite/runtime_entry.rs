//! The binaries' entry point (`functions::runtime`): an event whose base64
//! body does not decode is a 400 that touches nothing (lambda_http itself
//! would panic on it); every other event goes through lambda_http's own
//! conversion to the handler. The `init` line names every phase the bench
//! reads.

use base64::Engine;
use functions::Function::SessionPersistence;
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use lambda_http::{service_fn, Adapter, Error, Request};
use serde_json::{json, Value};

use crate::common::*;

fn event(body: &str) -> LambdaEvent<Value> {
    let payload = serde_json::from_str(&event_json("/sessions", Some("user-a"), Some(body), true))
        .expect("event JSON");
    LambdaEvent {
        payload,
        context: Context::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_base64_is_a_400_that_changes_nothing() {
    let env = Env::new().await;
    let (app, recorder) = env.app(SessionPersistence);
    let handler = service_fn(move |req: Request| {
        let app = app.clone();
        async move { Ok::<_, Error>(app.handle(req).await) }
    });
    let mut adapter = Adapter::from(handler);
    let before = env.snapshot().await;

    for bad in ["%%% not base64 %%%", "eyJhY3Rpb24iOi", "e30=e30="] {
        let out = functions::runtime::handle_event(&mut adapter, event(bad))
            .await
            .expect("an answer, not a crash");
        assert_eq!(out["statusCode"], 400, "{bad}: {out}");
        assert_eq!(out["headers"]["content-type"], "application/json");
        let body: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "invalid_encoding", "{body}");
        assert_eq!(body["error"]["field"], "body", "{body}");
        assert!(
            body["error"]["requestId"]
                .as_str()
                .unwrap()
                .starts_with("req-"),
            "{body}"
        );
    }
    assert_eq!(recorder.len(), 0, "no AWS call for a rejected event");
    assert_eq!(env.snapshot().await, before, "nothing changed");

    // A valid base64 body goes through to the handler.
    let create = json!({"action": "create", "session": {"currentTopic": "JavaScript Basics", "mode": "tutor"}});
    let encoded = base64::engine::general_purpose::STANDARD.encode(create.to_string());
    let out = functions::runtime::handle_event(&mut adapter, event(&encoded))
        .await
        .unwrap();
    assert_eq!(out["statusCode"], 201, "{out}");
    let body: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body["session"]["currentTopic"], "JavaScript Basics",
        "{body}"
    );
    assert_ne!(env.snapshot().await, before, "the valid create was stored");
}

#[test]
fn the_init_line_carries_every_phase_and_the_total() {
    capture_logs();
    let mut init = functions::runtime::InitTimes::start();
    init.settings_us = init.lap();
    init.log();
    let line = log_lines()
        .into_iter()
        .rev()
        .find(|l| l["message"] == "init")
        .expect("an init line");
    for phase in functions::runtime::INIT_PHASES {
        assert!(line[phase].is_u64(), "{phase} missing from {line}");
    }
    let total = line["total_us"].as_u64().expect("total_us");
    let sum: u64 = functions::runtime::INIT_PHASES
        .iter()
        .map(|p| line[*p].as_u64().unwrap_or(0))
        .sum();
    assert!(sum <= total, "{line}");
}
