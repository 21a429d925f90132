//! Deletes and clears that finish, the turn cap, and expiry: a delete or a
//! clear that fails part-way (a failure injected through the recording
//! interceptor) leaves the session gone (or cleared) for every reader, and
//! a retry finishes; a turn sealed before `clear` never opens after it, and
//! `clear` gives the session a new data key, so what the old one sealed opens
//! with no stored key; a session past `expiresAt` is gone on every read and
//! write.

use aws_sdk_dynamodb::types::AttributeValue;
use functions::Function::{ContextManager, SessionPersistence};
use serde_json::{json, Value};

use crate::common::*;

fn sid_items(items: &[functions::store::Item], sid: &str) -> Vec<functions::store::Item> {
    items
        .iter()
        .filter(|i| s_of(i, "sessionId") == sid)
        .cloned()
        .collect()
}

/// Every read and write a client could try on `sid`, each expected 404.
async fn assert_gone(sp: &functions::App, cm: &functions::App, sid: &str, why: &str) {
    let bodies: Vec<(bool, Value)> = vec![
        (true, json!({"action":"get","sessionId":sid})),
        (true, json!({"action":"restore","sessionId":sid})),
        (
            true,
            json!({"action":"update","sessionId":sid,"version":1,"session":{"mode":"quiz"}}),
        ),
        (false, json!({"action":"get_context","sessionId":sid})),
        (false, turn(sid, "still there?")),
        (
            false,
            json!({"action":"set_summary","sessionId":sid,"summary":"s"}),
        ),
        (false, json!({"action":"clear","sessionId":sid})),
    ];
    for (on_sp, body) in bodies {
        let app = if on_sp { sp } else { cm };
        let (status, v) = call_as(app, &writer(USER_A), body.clone()).await;
        assert_eq!(status, 404, "{why}: {body} -> {v}");
        assert_eq!(v["error"]["code"], "not_found", "{why}: {v}");
    }
    let v = ok(sp, USER_A, json!({"action":"list","limit":50})).await;
    assert!(
        v["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["sessionId"] != sid),
        "{why}: listed: {v}"
    );
    let (status, v) = call(sp, USER_A, json!({"action":"restore"})).await;
    assert!(
        status == 404 || v["session"]["sessionId"] != sid,
        "{why}: restored: {v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_that_fails_half_way_is_gone_and_a_retry_finishes() {
    let env = Env::new().await;
    let (sp, sp_rec) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    seed_turns(&env, &sid, USER_A, 1, 60, "a turn of the conversation").await;

    // The second batch of turn deletes fails (every attempt).
    sp_rec.fail_after("dynamodb:BatchWriteItem", 1);
    let (status, v) = call(&sp, USER_A, json!({"action":"delete","sessionId":sid})).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error"]["retryable"], true);
    let left = sid_items(&env.scan(&env.settings.sessions_table).await, &sid);
    let session = left
        .iter()
        .find(|i| s_of(i, "sk") == "SESSION")
        .expect("the session item is deleted last");
    assert_eq!(s_of(session, "status"), "deleting");
    assert_eq!(
        s_of(session, "userId"),
        USER_A,
        "the owner stays for the retry"
    );
    assert_eq!(left.len(), 1 + 35, "25 turns deleted, 35 left");

    assert_gone(&sp, &cm, &sid, "half-deleted").await;
    // Another user cannot finish (or probe) it.
    let (status, _) = call(&sp, USER_B, json!({"action":"delete","sessionId":sid})).await;
    assert_eq!(status, 404);

    let v = ok(&sp, USER_A, json!({"action":"delete","sessionId":sid})).await;
    assert_eq!(v["deleted"], true);
    assert_eq!(v["turnsDeleted"], 35);
    assert!(sid_items(&env.scan(&env.settings.sessions_table).await, &sid).is_empty());
    let (status, _) = call(&sp, USER_A, json!({"action":"delete","sessionId":sid})).await;
    assert_eq!(status, 404, "a third delete: nothing left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clear_that_fails_half_way_is_cleared_and_a_retry_finishes() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, cm_rec) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    seed_turns(&env, &sid, USER_A, 1, 60, "a turn of the conversation").await;
    ok_as(
        &cm,
        &writer(USER_A),
        json!({"action":"set_summary","sessionId":sid,"summary":"so far"}),
    )
    .await;

    cm_rec.fail_after("dynamodb:BatchWriteItem", 1);
    let (status, v) = call(&cm, USER_A, json!({"action":"clear","sessionId":sid})).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(
        env.turn_items(&sid).await.len(),
        35,
        "old turns left behind"
    );

    // Cleared already for every reader: no turn, no summary, count 0.
    let v = ok(&cm, USER_A, json!({"action":"get_context","sessionId":sid})).await;
    assert_eq!(v["context"]["turns"], json!([]), "{v}");
    assert_eq!(v["context"]["summary"], Value::Null);
    assert_eq!(v["context"]["turnCount"], 0);
    assert_eq!(v["context"]["hasOlderTurns"], false);
    let v = ok(&sp, USER_A, json!({"action":"get","sessionId":sid})).await;
    assert_eq!(v["session"]["turnCount"], 0);
    assert_eq!(v["session"]["hasSummary"], false);

    // The retry finishes the cleanup.
    let v = ok(&cm, USER_A, json!({"action":"clear","sessionId":sid})).await;
    assert_eq!(v["turnsDeleted"], 35);
    assert!(env.turn_items(&sid).await.is_empty());

    // And the session goes on: numbering continues after the cleared turns.
    let v = ok(&cm, USER_A, turn(&sid, "a fresh start")).await;
    assert_eq!(v["turn"]["seq"], 61);
    assert_eq!(v["context"]["turnCount"], 1);
    assert_eq!(v["context"]["hasOlderTurns"], false);
    assert_eq!(v["context"]["turns"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_sealed_before_clear_does_not_open_after_it() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    ok(&cm, USER_A, turn(&sid, "before the clear")).await;
    let old = get_item(&env, &sid, "TURN#0000000001").await.unwrap();
    ok(&cm, USER_A, json!({"action":"clear","sessionId":sid})).await;
    let v = ok(&cm, USER_A, turn(&sid, "after the clear")).await;
    let new_sk = functions::store::turn_sk(v["turn"]["seq"].as_u64().unwrap());

    // The old item written back (a backup restored, a late write): not part
    // of the context.
    put_raw(&env, old.clone()).await;
    let v = ok(&cm, USER_A, json!({"action":"get_context","sessionId":sid})).await;
    let contents: Vec<&str> = v["context"]["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, vec!["after the clear"], "{v}");

    // Relabelled as a turn of the current generation (its label and the
    // session's count moved so it would be shown), it does not open: the
    // generation is part of what it was sealed with.
    let session = get_item(&env, &sid, "SESSION").await.unwrap();
    assert_eq!(s_of(&session, "sk"), "SESSION");
    let mut forged = old.clone();
    forged.insert("gen".into(), session["gen"].clone());
    put_raw(&env, forged).await;
    set_attr(
        &env,
        &sid,
        "SESSION",
        "turnBase",
        AttributeValue::N("0".into()),
    )
    .await;
    let (status, v) = call(&cm, USER_A, json!({"action":"get_context","sessionId":sid})).await;
    assert_eq!(
        (status, v["error"]["code"].clone()),
        (500, json!("integrity_error")),
        "{v}"
    );
    let _ = new_sk;
}

/// The session's stored data key, unwrapped with KMS as the functions do.
async fn unwrap_key(env: &Env, sid: &str, wrapped: &[u8]) -> functions::crypto::DataKey {
    let out = env
        .kms
        .decrypt()
        .key_id(&env.settings.kms_key_id)
        .ciphertext_blob(aws_smithy_types::Blob::new(wrapped.to_vec()))
        .encryption_context("sessionId", sid)
        .encryption_context("userId", USER_A)
        .send()
        .await
        .expect("decrypt the wrapped data key");
    functions::crypto::DataKey::from_bytes(out.plaintext.unwrap().as_ref()).unwrap()
}

fn bytes_of(item: &functions::store::Item, k: &str) -> Vec<u8> {
    match item.get(k) {
        Some(AttributeValue::B(b)) => b.as_ref().to_vec(),
        other => panic!("{k} is not binary: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_gives_the_session_a_new_data_key() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, calls) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    ok(&cm, USER_A, turn(&sid, "before the clear")).await;
    let old_session = get_item(&env, &sid, "SESSION").await.unwrap();
    let old_turn = get_item(&env, &sid, "TURN#0000000001").await.unwrap();
    let old_wrapped = bytes_of(&old_session, "wrappedKey");
    let gen = s_of(&old_turn, "gen").parse::<u64>().unwrap_or(0);
    let turn_aad = functions::crypto::content_aad(&sid, "TURN#0000000001", "user", gen);
    let content = bytes_of(&old_turn, "content");
    // Control: the old key opens it with its own associated data.
    let old_key = unwrap_key(&env, &sid, &old_wrapped).await;
    assert_eq!(
        old_key.open_str(&turn_aad, &content).unwrap(),
        "before the clear"
    );

    let encrypts = calls.count("kms:Encrypt");
    ok(&cm, USER_A, json!({"action":"clear","sessionId":sid})).await;
    assert_eq!(
        calls.count("kms:Encrypt"),
        encrypts + 1,
        "one new key wrapped"
    );
    let new_wrapped = bytes_of(
        &get_item(&env, &sid, "SESSION").await.unwrap(),
        "wrappedKey",
    );
    assert_ne!(new_wrapped, old_wrapped, "clear kept the data key");
    // The stored key does not open the old turn, even with the associated
    // data it was sealed with: only the discarded key would.
    let new_key = unwrap_key(&env, &sid, &new_wrapped).await;
    assert!(new_key.open_str(&turn_aad, &content).is_err());

    // The session goes on under the new key, in this container and in a
    // fresh one (which unwraps the new key from the table).
    ok(&cm, USER_A, turn(&sid, "after the clear")).await;
    let (fresh, _) = env.app(ContextManager);
    for app in [&cm, &fresh] {
        let v = ok(app, USER_A, json!({"action":"get_context","sessionId":sid})).await;
        assert_eq!(
            v["context"]["turns"][0]["content"], "after the clear",
            "{v}"
        );
    }
    // A container that cached the old key before the clear picks the new
    // one up: the cache is keyed by the wrapped key it read.
    let (stale, _) = env.app(ContextManager);
    ok(
        &stale,
        USER_A,
        json!({"action":"get_context","sessionId":sid}),
    )
    .await;
    ok(&cm, USER_A, json!({"action":"clear","sessionId":sid})).await;
    ok(&cm, USER_A, turn(&sid, "after the second clear")).await;
    let v = ok(
        &stale,
        USER_A,
        json!({"action":"get_context","sessionId":sid}),
    )
    .await;
    assert_eq!(
        v["context"]["turns"][0]["content"], "after the second clear",
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_session_refuses_turns_until_cleared() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    seed_turns(&env, &sid, USER_A, 4_999, 5_000, "late in a long session").await;
    let before = env.snapshot().await;
    let (status, v) = call(&cm, USER_A, turn(&sid, "one more")).await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "session_full");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("5000") && message.contains("start a new session or clear"),
        "{message}"
    );
    assert_eq!(env.snapshot().await, before);
    // A retry of a stored turn is still answered.
    let v = ok(
        &cm,
        USER_A,
        json!({"action":"add_turn","sessionId":sid,"turn":{"role":"user","content":"late in a long session","language":"en","turnId":"seed-5000"}}),
    )
    .await;
    assert_eq!(v["turn"]["seq"], 5000);
    // Cleared, it takes turns again.
    ok(&cm, USER_A, json!({"action":"clear","sessionId":sid})).await;
    let v = ok(&cm, USER_A, turn(&sid, "one more")).await;
    assert_eq!(v["turn"]["seq"], 5001);
    assert_eq!(v["context"]["turnCount"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_gone_for_every_read_and_write() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);
    let live = create_session(&sp, USER_A).await;
    let sid = create_session(&sp, USER_A).await;
    ok(&cm, USER_A, turn(&sid, "hello")).await;
    // DynamoDB's TTL deletes expired items only eventually: the item is
    // still there, past its expiry.
    let now_s = functions::time::now_ms() / 1000;
    set_attr(
        &env,
        &sid,
        "SESSION",
        "expiresAt",
        AttributeValue::N((now_s - 1).to_string()),
    )
    .await;
    let before = env.snapshot().await;
    assert_gone(&sp, &cm, &sid, "expired").await;
    let (status, _) = call(&sp, USER_A, json!({"action":"delete","sessionId":sid})).await;
    assert_eq!(status, 404);
    assert_eq!(env.snapshot().await, before, "an expired session changed");
    let v = ok(&sp, USER_A, json!({"action":"restore"})).await;
    assert_eq!(v["session"]["sessionId"], live.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_is_checked_at_now_and_every_write_is_conditional_on_it() {
    let env = Env::new().await;
    let clock = TestClock::new();
    let (sp, _) = env.app_with_clock(SessionPersistence, env.settings.clone(), clock.clock());
    let (cm, _) = env.app_with_clock(ContextManager, env.settings.clone(), clock.clock());
    let sid = create_session(&sp, USER_A).await;
    ok(&cm, USER_A, turn(&sid, "hello")).await;
    let expires_ms = get_item(&env, &sid, "SESSION").await.unwrap()["expiresAt"]
        .as_n()
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1000;

    // One millisecond before: live. At `expiresAt` exactly: gone.
    clock.set(expires_ms - 1);
    ok(&sp, USER_A, json!({"action":"get","sessionId":sid})).await;
    clock.set(expires_ms);
    let before = env.snapshot().await;
    assert_gone(&sp, &cm, &sid, "at expiresAt").await;
    assert_eq!(env.snapshot().await, before);

    // The writes themselves carry the condition: each refuses an expired
    // session even when the caller read it while it was live.
    let store = cm.store();
    let read = store
        .owned_session(&sid, USER_A, true, expires_ms - 1)
        .await
        .expect("live a moment ago");
    let key = session_key(&env, &sid, USER_A).await;
    let sealed = key
        .seal_str(
            &functions::crypto::aad(&sid, "SESSION", "summary", read.generation),
            "late",
        )
        .unwrap();
    let expired_now = expires_ms;
    assert_eq!(
        store
            .set_summary(&sid, USER_A, &sealed, read.generation, expired_now)
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    assert_eq!(
        store
            .start_generation(&read, 1, &read.wrapped_key, expired_now)
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    assert_eq!(
        store
            .update_session(
                &sid,
                USER_A,
                read.version,
                &functions::wire::SessionChanges {
                    mode: Some(functions::wire::Mode::Quiz),
                    ..Default::default()
                },
                expired_now,
            )
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    store
        .touch_session(&sid, USER_A, expired_now, "9999-12-31T23:59:59.999Z", 5)
        .await
        .expect("a refused touch is not an error");
    assert_eq!(
        store
            .delete_session(&sid, USER_A, expired_now)
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    assert_eq!(
        env.snapshot().await,
        before,
        "a write went through on an expired session"
    );
}
