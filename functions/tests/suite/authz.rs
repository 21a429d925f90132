//! Authorization matrix: user B on every action against user A's session
//! gets 404 (the answer for a missing session) and A's data stays as it was.
//! No identity at all gets 401 on every action.

use functions::Function::{self, ContextManager, SessionPersistence};
use serde_json::{json, Value};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_b_cannot_touch_user_as_session() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    ok(&cm, USER_A, turn(&sid, "What is a closure?")).await;
    ok(
        &cm,
        USER_A,
        json!({"action":"set_summary","sessionId":sid,"summary":"closures"}),
    )
    .await;
    let b_sid = create_session(&sp, USER_B).await;
    let before = env.snapshot().await;

    let cases: Vec<(Function, Value)> = vec![
        (SessionPersistence, json!({"action":"get","sessionId":sid})),
        (
            SessionPersistence,
            json!({"action":"update","sessionId":sid,"version":2,"session":{"currentTopic":"pwned"}}),
        ),
        (
            SessionPersistence,
            json!({"action":"update","sessionId":sid,"version":1,"session":{"status":"completed"}}),
        ),
        (
            SessionPersistence,
            json!({"action":"delete","sessionId":sid}),
        ),
        (
            SessionPersistence,
            json!({"action":"restore","sessionId":sid}),
        ),
        (ContextManager, turn(&sid, "injected")),
        (
            ContextManager,
            json!({"action":"add_turn","sessionId":sid,"turn":{"role":"system","content":"x","language":"en","turnId":"t-1"}}),
        ),
        (
            ContextManager,
            json!({"action":"get_context","sessionId":sid}),
        ),
        (
            ContextManager,
            json!({"action":"set_summary","sessionId":sid,"summary":"overwritten"}),
        ),
        (ContextManager, json!({"action":"clear","sessionId":sid})),
    ];
    // The same 404 as for a session that does not exist at all.
    let missing = "00000000-0000-4000-8000-000000000000";
    let (_, not_found) = call(&sp, USER_B, json!({"action":"get","sessionId":missing})).await;
    for (f, body) in &cases {
        let app = if *f == SessionPersistence { &sp } else { &cm };
        let (status, v) = call(app, USER_B, body.clone()).await;
        assert_eq!(status, 404, "{body} -> {v}");
        assert_eq!(v["error"]["code"], "not_found");
        assert_eq!(v["error"]["message"], not_found["error"]["message"]);
        assert!(!v.to_string().contains(USER_A));
    }
    // list and restore-latest show B only B's own session.
    let v = ok(&sp, USER_B, json!({"action":"list"})).await;
    let listed: Vec<&str> = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sessionId"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![b_sid.as_str()]);
    let v = ok(&sp, USER_B, json!({"action":"restore"})).await;
    assert_eq!(v["session"]["sessionId"], b_sid.as_str());
    // A cursor made from A's page positions B's query only; it cannot reach A's data.
    let v = ok(&sp, USER_A, json!({"action":"list","limit":1})).await;
    assert_eq!(v["sessions"].as_array().unwrap().len(), 1);
    let a_page = ok(&sp, USER_A, json!({"action":"list"})).await;
    let a_cursor = {
        use base64::Engine;
        let s = &a_page["sessions"][0];
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            "{}|{}",
            "9999-12-31T23:59:59.999Z",
            s["sessionId"].as_str().unwrap()
        ))
    };
    let v = ok(&sp, USER_B, json!({"action":"list","cursor":a_cursor})).await;
    for s in v["sessions"].as_array().unwrap() {
        assert_eq!(
            s["sessionId"],
            b_sid.as_str(),
            "a cursor reached another user's data: {v}"
        );
    }

    assert_eq!(env.snapshot().await, before, "A's data changed");
    // A still sees everything.
    let v = ok(&cm, USER_A, json!({"action":"get_context","sessionId":sid})).await;
    assert_eq!(v["context"]["summary"], "closures");
    assert_eq!(v["context"]["turns"][0]["content"], "What is a closure?");
    eprintln!(
        "AUTHZ cases: {} cross-user actions + 3 list/restore/cursor = {}",
        cases.len(),
        cases.len() + 3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_identity_is_401_on_every_action() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    let before = env.snapshot().await;
    let bodies = [
        (
            SessionPersistence,
            json!({"action":"create","session":{"currentTopic":"JavaScript Basics","mode":"tutor"}}),
        ),
        (SessionPersistence, json!({"action":"get","sessionId":sid})),
        (
            SessionPersistence,
            json!({"action":"update","sessionId":sid,"version":1,"session":{"mode":"quiz"}}),
        ),
        (
            SessionPersistence,
            json!({"action":"delete","sessionId":sid}),
        ),
        (SessionPersistence, json!({"action":"list"})),
        (SessionPersistence, json!({"action":"restore"})),
        (ContextManager, turn(&sid, "What is a closure?")),
        (
            ContextManager,
            json!({"action":"get_context","sessionId":sid}),
        ),
        (
            ContextManager,
            json!({"action":"set_summary","sessionId":sid,"summary":"s"}),
        ),
        (ContextManager, json!({"action":"clear","sessionId":sid})),
    ];
    for (f, body) in &bodies {
        let app = if *f == SessionPersistence { &sp } else { &cm };
        let (status, v) = call_raw(app, None, Some(&body.to_string()), false).await;
        assert_eq!(status, 401, "{body} -> {v}");
        assert_eq!(v["error"]["code"], "unauthorized");
        assert!(v["error"]["requestId"]
            .as_str()
            .unwrap()
            .starts_with("req-"));
    }
    // A `userId` in the body is not an identity: it is an unknown field.
    let (status, v) = call_raw(
        &sp,
        None,
        Some(&json!({"action":"list","userId":USER_A}).to_string()),
        false,
    )
    .await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(env.snapshot().await, before);
}
