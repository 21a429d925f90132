//! Every action's happy path, with the deployment guide's seed examples.

use functions::Function::{ContextManager, SessionPersistence};
use serde_json::json;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_happy_path() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);

    // create: the seed example; no profile, so language defaults to en.
    let (status, v) = call(
        &sp,
        USER_A,
        json!({"action":"create","session":{"currentTopic":"JavaScript Basics","mode":"tutor"}}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let s = &v["session"];
    let sid = s["sessionId"].as_str().unwrap().to_string();
    assert_eq!(s["currentTopic"], "JavaScript Basics");
    assert_eq!(s["mode"], "tutor");
    assert_eq!(s["language"], "en");
    assert_eq!(s["status"], "active");
    assert_eq!(s["version"], 1);
    assert_eq!(s["turnCount"], 0);
    assert!(s.get("wrappedKey").is_none() && s.get("userId").is_none());

    // get
    let v = ok(&sp, USER_A, json!({"action":"get","sessionId":sid})).await;
    assert_eq!(v["session"]["sessionId"], sid.as_str());

    // add_turn: the seed example; answers with the updated window.
    let (status, v) = call(&cm, USER_A, turn(&sid, "What is a closure?")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["turn"]["seq"], 1);
    assert_eq!(v["turn"]["content"], "What is a closure?");
    assert_eq!(v["turn"]["role"], "user");
    assert_eq!(v["context"]["turns"].as_array().unwrap().len(), 1);
    assert_eq!(v["context"]["turnCount"], 1);
    let v = ok_as(
        &cm,
        &writer(USER_A),
        json!({"action":"add_turn","sessionId":sid,"turn":{"role":"assistant","content":"A closure is a function together with the variables it captured.","language":"en-US","turnId":"t-2"}}),
    )
    .await;
    assert_eq!(v["turn"]["seq"], 2);
    assert_eq!(v["turn"]["turnId"], "t-2");
    let turns = v["context"]["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[0]["content"], "What is a closure?");
    assert_eq!(turns[1]["role"], "assistant");

    // get_context, with the default window and with tighter budgets.
    let v = ok(&cm, USER_A, json!({"action":"get_context","sessionId":sid})).await;
    assert_eq!(v["context"]["turns"].as_array().unwrap().len(), 2);
    assert_eq!(v["context"]["summary"], serde_json::Value::Null);
    assert_eq!(v["context"]["hasOlderTurns"], false);
    let v = ok(
        &cm,
        USER_A,
        json!({"action":"get_context","sessionId":sid,"window":{"maxTurns":1}}),
    )
    .await;
    let turns = v["context"]["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0]["seq"], 2);
    assert_eq!(v["context"]["hasOlderTurns"], true);
    let v = ok(
        &cm,
        USER_A,
        json!({"action":"get_context","sessionId":sid,"window":{"maxTokens":17}}),
    )
    .await;
    assert_eq!(v["context"]["turns"].as_array().unwrap().len(), 1, "{v}");

    // set_summary, then the window carries it.
    let v = ok_as(&cm, &writer(USER_A), json!({"action":"set_summary","sessionId":sid,"summary":"The student asked about closures."})).await;
    assert_eq!(v["session"]["hasSummary"], true);
    let version_after_summary = v["session"]["version"].as_u64().unwrap();
    let v = ok(&cm, USER_A, json!({"action":"get_context","sessionId":sid})).await;
    assert_eq!(v["context"]["summary"], "The student asked about closures.");

    // update with the current version; a stale one gets 409.
    let v = ok(&sp, USER_A, json!({"action":"update","sessionId":sid,"version":version_after_summary,"session":{"currentTopic":"Closures","status":"paused"}})).await;
    assert_eq!(v["session"]["currentTopic"], "Closures");
    assert_eq!(v["session"]["status"], "paused");
    assert_eq!(v["session"]["version"], version_after_summary + 1);
    assert_eq!(v["session"]["turnCount"], 2);
    let (status, v) = call(&sp, USER_A, json!({"action":"update","sessionId":sid,"version":version_after_summary,"session":{"mode":"quiz"}})).await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "version_conflict");

    // create takes defaults from the profile when one exists.
    env.put_profile(USER_A, "es", "quiz").await;
    let v = ok(
        &sp,
        USER_A,
        json!({"action":"create","session":{"currentTopic":"Verbos"}}),
    )
    .await;
    assert_eq!(v["session"]["language"], "es");
    assert_eq!(v["session"]["mode"], "quiz");
    let newest = v["session"]["sessionId"].as_str().unwrap().to_string();
    let v = ok(
        &sp,
        USER_A,
        json!({"action":"create","session":{"currentTopic":"Python","mode":"tutor"}}),
    )
    .await;
    assert_eq!(v["session"]["mode"], "tutor");
    assert_eq!(v["session"]["language"], "es");
    let python = v["session"]["sessionId"].as_str().unwrap().to_string();

    // list: newest first, paged with an opaque cursor.
    let v = ok(&sp, USER_A, json!({"action":"list","limit":2})).await;
    let page1 = v["sessions"].as_array().unwrap().clone();
    assert_eq!(page1.len(), 2);
    assert_eq!(page1[0]["sessionId"], python.as_str());
    assert_eq!(page1[1]["sessionId"], newest.as_str());
    let cursor = v["cursor"].as_str().expect("a cursor").to_string();
    let v = ok(
        &sp,
        USER_A,
        json!({"action":"list","limit":2,"cursor":cursor}),
    )
    .await;
    let page2 = v["sessions"].as_array().unwrap();
    assert_eq!(page2.len(), 1);
    assert_eq!(page2[0]["sessionId"], sid.as_str());
    assert_eq!(page2[0]["currentTopic"], "Closures");
    assert!(page1[1]["updatedAt"].as_str() >= page2[0]["updatedAt"].as_str());
    if let Some(c) = v["cursor"].as_str() {
        let v = ok(&sp, USER_A, json!({"action":"list","cursor":c})).await;
        assert!(v["sessions"].as_array().unwrap().is_empty());
    }

    // restore: the latest active session (python), or a given one with its window.
    let v = ok(&sp, USER_A, json!({"action":"restore"})).await;
    assert_eq!(v["session"]["sessionId"], python.as_str());
    assert!(v["context"]["turns"].as_array().unwrap().is_empty());
    let v = ok(
        &sp,
        USER_A,
        json!({"action":"restore","sessionId":sid,"window":{"maxTurns":5}}),
    )
    .await;
    assert_eq!(v["session"]["sessionId"], sid.as_str());
    assert_eq!(v["context"]["turns"].as_array().unwrap().len(), 2);
    assert_eq!(v["context"]["summary"], "The student asked about closures.");

    // clear: turns and summary gone, session kept.
    let v = ok(&cm, USER_A, json!({"action":"clear","sessionId":sid})).await;
    assert_eq!(v["turnsDeleted"], 2);
    assert_eq!(v["session"]["hasSummary"], false);
    assert!(env.turn_items(&sid).await.is_empty());
    let v = ok(&cm, USER_A, json!({"action":"get_context","sessionId":sid})).await;
    assert!(v["context"]["turns"].as_array().unwrap().is_empty());
    assert_eq!(v["context"]["summary"], serde_json::Value::Null);

    // delete: the session and all its turns.
    ok(&cm, USER_A, turn(&sid, "one more")).await;
    let v = ok(&sp, USER_A, json!({"action":"delete","sessionId":sid})).await;
    assert_eq!(v["deleted"], true);
    assert_eq!(v["turnsDeleted"], 1);
    let (status, v) = call(&sp, USER_A, json!({"action":"get","sessionId":sid})).await;
    assert_eq!(status, 404, "{v}");
    let left: Vec<_> = env
        .scan(&env.settings.sessions_table)
        .await
        .into_iter()
        .filter(|i| s_of(i, "sessionId") == sid)
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_have_the_documented_shape_and_ttl() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    ok(&cm, USER_A, turn(&sid, "What is a closure?")).await;
    let items = env.scan(&env.settings.sessions_table).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let thirty_days = 30 * 24 * 3600;
    for item in &items {
        let exp: u64 = item["expiresAt"].as_n().unwrap().parse().unwrap();
        assert!(exp.abs_diff(now + thirty_days) < 120, "expiresAt {exp}");
        let sk = s_of(item, "sk");
        if sk == "SESSION" {
            assert_eq!(s_of(item, "userId"), USER_A);
            assert!(item["wrappedKey"].as_b().is_ok());
            assert!(item["updatedAt"].as_s().is_ok());
        } else {
            assert_eq!(sk, "TURN#0000000001");
            assert!(
                !item.contains_key("userId"),
                "turns stay out of the sparse GSI"
            );
            assert!(item["content"].as_b().is_ok());
            assert!(item["turnId"].as_s().is_ok());
        }
    }
    assert_eq!(items.len(), 2);
}
