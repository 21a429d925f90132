//! End to end over HTTP against a running `cargo xtask dev` with the real
//! functions (built by dev itself): the deployment guide's two curl flows,
//! then get_context, list, restore, update, delete; and a second user who
//! cannot see the first one's session.

mod dev_support;

use dev_support::*;
use serde_json::{json, Value};
use std::time::Duration;

fn ok(r: &Resp, what: &str) -> Value {
    assert!(
        (200..300).contains(&r.status),
        "{what}: {} {}",
        r.status,
        r.body
    );
    r.json()
}

fn ids(list: &Value) -> Vec<String> {
    list["sessions"]
        .as_array()
        .unwrap_or_else(|| panic!("no sessions in {list}"))
        .iter()
        .map(|s| s["sessionId"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_deployment_guides_flows_and_the_rest_of_the_api() {
    let dir = data_dir("e2e");
    // The first build of the functions can take minutes on a cold cache.
    let dev = Dev::start_in(&dir, &[], Duration::from_secs(900));
    let alice = dev.token("alice");
    let bob = dev.token("bob");

    // The deployment guide's create and add_turn.
    let created = ok(
        &dev.post(
            "/sessions",
            Some(&alice),
            &json!({"action": "create", "session": {"currentTopic": "JavaScript Basics", "mode": "tutor"}}),
        ),
        "create",
    );
    let session = &created["session"];
    let id = session["sessionId"].as_str().unwrap().to_string();
    assert_eq!(session["currentTopic"], "JavaScript Basics");
    assert_eq!(session["mode"], "tutor");
    let added = ok(
        &dev.post(
            "/context",
            Some(&alice),
            &json!({"action": "add_turn", "sessionId": id, "turn": {"role": "user", "content": "What is a closure?", "language": "en"}}),
        ),
        "add_turn",
    );
    assert_eq!(
        added["context"]["turns"][0]["content"],
        "What is a closure?"
    );
    ok(
        &dev.post(
            "/context",
            Some(&alice),
            &json!({"action": "add_turn", "sessionId": id, "turn": {"role": "assistant", "content": "A function with the variables it closes over.", "language": "en"}}),
        ),
        "add_turn 2",
    );

    // get_context: both turns, in order.
    let ctx = ok(
        &dev.post(
            "/context",
            Some(&alice),
            &json!({"action": "get_context", "sessionId": id}),
        ),
        "get_context",
    );
    let turns: Vec<&str> = ctx["context"]["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        turns,
        [
            "What is a closure?",
            "A function with the variables it closes over."
        ]
    );

    // list and restore.
    let list = ok(
        &dev.post("/sessions", Some(&alice), &json!({"action": "list"})),
        "list",
    );
    assert_eq!(ids(&list), vec![id.clone()]);
    let restored = ok(
        &dev.post("/sessions", Some(&alice), &json!({"action": "restore"})),
        "restore",
    );
    assert_eq!(restored["session"]["sessionId"], id.as_str());
    assert_eq!(restored["context"]["turns"].as_array().unwrap().len(), 2);

    // update with the current version; a stale version is a conflict.
    let got = ok(
        &dev.post(
            "/sessions",
            Some(&alice),
            &json!({"action": "get", "sessionId": id}),
        ),
        "get",
    );
    let version = got["session"]["version"].as_u64().unwrap();
    let updated = ok(
        &dev.post(
            "/sessions",
            Some(&alice),
            &json!({"action": "update", "sessionId": id, "version": version, "session": {"currentTopic": "Closures"}}),
        ),
        "update",
    );
    assert_eq!(updated["session"]["currentTopic"], "Closures");
    let stale = dev.post(
        "/sessions",
        Some(&alice),
        &json!({"action": "update", "sessionId": id, "version": version, "session": {"currentTopic": "Again"}}),
    );
    assert_eq!(stale.status, 409, "{}", stale.body);

    // Bob sees nothing of Alice's: 404 like a missing session, an empty list.
    for (path, body) in [
        ("/sessions", json!({"action": "get", "sessionId": id})),
        (
            "/context",
            json!({"action": "get_context", "sessionId": id}),
        ),
        (
            "/context",
            json!({"action": "add_turn", "sessionId": id, "turn": {"role": "user", "content": "hi", "language": "en"}}),
        ),
        ("/sessions", json!({"action": "delete", "sessionId": id})),
    ] {
        let r = dev.post(path, Some(&bob), &body);
        assert_eq!(r.status, 404, "bob {body}: {}", r.body);
        assert!(!r.body.contains("What is a closure"), "{}", r.body);
    }
    let bobs = ok(
        &dev.post("/sessions", Some(&bob), &json!({"action": "list"})),
        "bob list",
    );
    assert!(ids(&bobs).is_empty(), "{bobs}");
    let r = dev.post("/sessions", Some(&bob), &json!({"action": "restore"}));
    assert_eq!(r.status, 404, "{}", r.body);
    // Alice's session is untouched by Bob's attempts.
    let ctx = ok(
        &dev.post(
            "/context",
            Some(&alice),
            &json!({"action": "get_context", "sessionId": id}),
        ),
        "get_context after bob",
    );
    assert_eq!(ctx["context"]["turns"].as_array().unwrap().len(), 2);

    // delete: gone for Alice too.
    ok(
        &dev.post(
            "/sessions",
            Some(&alice),
            &json!({"action": "delete", "sessionId": id}),
        ),
        "delete",
    );
    let r = dev.post(
        "/sessions",
        Some(&alice),
        &json!({"action": "get", "sessionId": id}),
    );
    assert_eq!(r.status, 404, "{}", r.body);
    let list = ok(
        &dev.post("/sessions", Some(&alice), &json!({"action": "list"})),
        "list after delete",
    );
    assert!(ids(&list).is_empty(), "{list}");

    // The function's own 401 never shows: the gateway refuses first.
    let before = dev.invocations();
    let r = dev.post("/sessions", None, &json!({"action": "list"}));
    assert_eq!(r.status, 401);
    assert_eq!(dev.invocations(), before);
}
