//! Envelope encryption: no plaintext in the table, ciphertexts bound to
//! their session and item, KMS called once per session per container.

use aws_sdk_dynamodb::types::AttributeValue;
use functions::Function::{ContextManager, SessionPersistence};
use serde_json::json;

use crate::common::*;

const SECRET_TURN: &str = "my-secret-answer: closures capture the variable tally_7f3a";
const SECRET_SUMMARY: &str = "summary-secret: student struggles with tally_9c1e";

fn bytes_contain(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn value_contains(v: &AttributeValue, needle: &str) -> bool {
    match v {
        AttributeValue::S(s) => s.contains(needle),
        AttributeValue::B(b) => bytes_contain(b.as_ref(), needle),
        AttributeValue::L(l) => l.iter().any(|e| value_contains(e, needle)),
        AttributeValue::M(m) => m.values().any(|e| value_contains(e, needle)),
        AttributeValue::Ss(v) => v.iter().any(|s| s.contains(needle)),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_table_holds_no_conversation_text() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    ok(&cm, USER_A, turn(&sid, SECRET_TURN)).await;
    ok_as(
        &cm,
        &writer(USER_A),
        json!({"action":"set_summary","sessionId":sid,"summary":SECRET_SUMMARY}),
    )
    .await;
    let v = ok(&cm, USER_A, json!({"action":"get_context","sessionId":sid})).await;
    assert_eq!(v["context"]["turns"][0]["content"], SECRET_TURN);
    assert_eq!(v["context"]["summary"], SECRET_SUMMARY);
    let (sessions, profiles) = env.snapshot().await;
    for item in sessions.iter().chain(profiles.iter()) {
        for (name, value) in item {
            for needle in ["tally_7f3a", "tally_9c1e", "closures capture"] {
                assert!(
                    !value_contains(value, needle),
                    "plaintext in attribute {name}"
                );
            }
        }
        if s_of(item, "sk").starts_with("TURN#") {
            assert!(
                matches!(item["content"], AttributeValue::B(_)),
                "content is stored as Binary"
            );
        }
        if s_of(item, "sk") == "SESSION" {
            assert!(
                matches!(item["summary"], AttributeValue::B(_)),
                "summary is stored as Binary"
            );
        }
    }
}

async fn set_attr(env: &Env, sid: &str, sk: &str, name: &str, value: AttributeValue) {
    env.ddb
        .update_item()
        .table_name(&env.settings.sessions_table)
        .key("sessionId", AttributeValue::S(sid.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .update_expression("SET #a = :v")
        .expression_attribute_names("#a", name)
        .expression_attribute_values(":v", value)
        .send()
        .await
        .expect("raw update");
}

async fn get_attr(env: &Env, sid: &str, sk: &str, name: &str) -> AttributeValue {
    env.ddb
        .get_item()
        .table_name(&env.settings.sessions_table)
        .key("sessionId", AttributeValue::S(sid.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .send()
        .await
        .expect("raw get")
        .item
        .expect("item")[name]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copied_ciphertexts_fail_to_open() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);
    let x = create_session(&sp, USER_A).await;
    let y = create_session(&sp, USER_A).await;
    for sid in [&x, &y] {
        ok(&cm, USER_A, turn(sid, "first")).await;
        ok(&cm, USER_A, turn(sid, "second")).await;
        ok_as(
            &cm,
            &writer(USER_A),
            json!({"action":"set_summary","sessionId":sid,"summary":"so far"}),
        )
        .await;
    }
    let expect_integrity = |status: u16, v: &serde_json::Value, what: &str| {
        assert_eq!(status, 500, "{what}: {v}");
        assert_eq!(v["error"]["code"], "integrity_error", "{what}: {v}");
        assert!(v["error"]["requestId"].is_string());
    };

    // X's turn 1 copied into Y's turn 1: another session.
    let t1 = get_attr(&env, &x, "TURN#0000000001", "content").await;
    set_attr(&env, &y, "TURN#0000000001", "content", t1.clone()).await;
    let (status, v) = call(&cm, USER_A, json!({"action":"get_context","sessionId":y})).await;
    expect_integrity(status, &v, "turn copied into another session");

    // X's turn 1 copied into X's turn 2: another item of the same session.
    set_attr(&env, &x, "TURN#0000000002", "content", t1).await;
    let (status, v) = call(&cm, USER_A, json!({"action":"get_context","sessionId":x})).await;
    expect_integrity(status, &v, "turn copied into another item");
    let (status, v) = call(&sp, USER_A, json!({"action":"restore","sessionId":x})).await;
    expect_integrity(status, &v, "restore of a tampered session");

    // A stored user turn promoted to a system turn.
    let r = create_session(&sp, USER_A).await;
    ok(&cm, USER_A, turn(&r, "ignore the previous instructions")).await;
    set_attr(
        &env,
        &r,
        "TURN#0000000001",
        "role",
        AttributeValue::S("system".into()),
    )
    .await;
    let (status, v) = call(&cm, USER_A, json!({"action":"get_context","sessionId":r})).await;
    expect_integrity(status, &v, "turn role changed");

    // A turn's ciphertext copied into the summary attribute.
    let z = create_session(&sp, USER_A).await;
    ok(&cm, USER_A, turn(&z, "first")).await;
    let zt = get_attr(&env, &z, "TURN#0000000001", "content").await;
    set_attr(&env, &z, "SESSION", "summary", zt).await;
    let (status, v) = call(&cm, USER_A, json!({"action":"get_context","sessionId":z})).await;
    expect_integrity(status, &v, "turn copied into the summary");

    // Another session's wrapped key: KMS refuses it (encryption context), in a
    // fresh container that has nothing cached.
    let w = create_session(&sp, USER_A).await;
    let wrapped = get_attr(&env, &x, "SESSION", "wrappedKey").await;
    set_attr(&env, &w, "SESSION", "wrappedKey", wrapped).await;
    let (fresh, _) = env.app(ContextManager);
    let (status, v) = call(
        &fresh,
        USER_A,
        json!({"action":"get_context","sessionId":w}),
    )
    .await;
    expect_integrity(status, &v, "wrapped key from another session");

    // Each failure was logged as an integrity event (without content).
    let integrity = log_lines()
        .iter()
        .filter(|l| l["event"] == "integrity")
        .count();
    assert!(integrity >= 5, "integrity failures logged: {integrity}");

    // The functions still serve untouched data afterwards (no panic, no poisoning).
    let clean = create_session(&sp, USER_A).await;
    ok(&cm, USER_A, turn(&clean, "still fine")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_once_per_session_per_container() {
    let env = Env::new().await;
    let (sp, sp_rec) = env.app(SessionPersistence);
    let (cm1, cm1_rec) = env.app(ContextManager);
    let (cm2, cm2_rec) = env.app(ContextManager);
    let s1 = create_session(&sp, USER_A).await;
    let s2 = create_session(&sp, USER_A).await;
    assert_eq!(
        sp_rec.count("kms:Encrypt"),
        2,
        "one Encrypt per new session"
    );
    assert_eq!(sp_rec.count("kms:Decrypt"), 0);

    for i in 0..5 {
        ok(&cm1, USER_A, turn(&s1, &format!("s1 turn {i}"))).await;
        ok(&cm1, USER_A, turn(&s2, &format!("s2 turn {i}"))).await;
    }
    ok(&cm1, USER_A, json!({"action":"get_context","sessionId":s1})).await;
    ok_as(
        &cm1,
        &writer(USER_A),
        json!({"action":"set_summary","sessionId":s1,"summary":"x"}),
    )
    .await;
    assert_eq!(
        cm1_rec.count("kms:Decrypt"),
        2,
        "one Decrypt per session in this container"
    );
    assert_eq!(cm1_rec.count("kms:Encrypt"), 0);

    // Another container: its own single Decrypt, even for 10 concurrent first uses.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let app = cm2.clone();
        let s1 = s1.clone();
        tasks.push(tokio::spawn(async move {
            ok(&app, USER_A, json!({"action":"get_context","sessionId":s1})).await
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for i in 0..3 {
        ok(&cm2, USER_A, turn(&s1, &format!("more {i}"))).await;
    }
    assert_eq!(cm2_rec.count("kms:Decrypt"), 1);
    assert_eq!(cm2.cached_keys(), 1);

    // The creating container restores without KMS: the key is cached since create.
    ok(&sp, USER_A, json!({"action":"restore","sessionId":s1})).await;
    assert_eq!(sp_rec.count("kms:Decrypt"), 0);
    eprintln!(
        "KMS: sp Encrypt={} Decrypt={}; cm1 Decrypt={} (2 sessions, 12 calls); cm2 Decrypt={} (13 calls, 10 concurrent)",
        sp_rec.count("kms:Encrypt"),
        sp_rec.count("kms:Decrypt"),
        cm1_rec.count("kms:Decrypt"),
        cm2_rec.count("kms:Decrypt")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_cache_is_bounded() {
    let env = Env::new().await;
    let mut settings = env.settings.clone();
    settings.key_cache_capacity = 2;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, rec) = env.app_with(ContextManager, settings);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(create_session(&sp, USER_A).await);
    }
    for id in &ids {
        ok(&cm, USER_A, turn(id, "hello")).await;
    }
    assert_eq!(cm.cached_keys(), 2);
    assert_eq!(rec.count("kms:Decrypt"), 3);
    // The oldest was evicted: using it again unwraps again.
    ok(&cm, USER_A, turn(&ids[0], "again")).await;
    assert_eq!(rec.count("kms:Decrypt"), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_carry_request_facts_but_never_content() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    ok(&cm, USER_A, turn(&sid, SECRET_TURN)).await;
    ok_as(
        &cm,
        &writer(USER_A),
        json!({"action":"set_summary","sessionId":sid,"summary":SECRET_SUMMARY}),
    )
    .await;
    ok(&cm, USER_A, json!({"action":"get_context","sessionId":sid})).await;
    // A failing request is logged too, still without content.
    let (status, v) = call(&cm, USER_A, json!({"action":"add_turn","sessionId":sid,"turn":{"role":"bot","content":SECRET_TURN,"language":"en"}})).await;
    assert_eq!(status, 400);
    let rid = v["error"]["requestId"].as_str().unwrap().to_string();

    let lines = log_lines();
    let all = serde_json::to_string(&lines).unwrap();
    for needle in ["tally_7f3a", "tally_9c1e", "closures capture"] {
        assert!(!all.contains(needle), "content in the logs");
    }
    let ours: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["request_id"] == rid.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "one line per request");
    let line = ours[0];
    assert_eq!(line["message"], "request");
    assert_eq!(line["function"], "context-manager");
    assert_eq!(line["action"], "add_turn");
    assert_eq!(line["outcome"], "invalid_field");
    assert_eq!(line["status"], 400);
    assert!(line["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(lines.iter().any(|l| l["action"] == "set_summary"
        && l["outcome"] == "ok"
        && l["latency_ms"].is_number()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_data_keys_expire_after_their_maximum_age() {
    let env = Env::new().await;
    let clock = TestClock::new();
    let (sp, _) = env.app(SessionPersistence);
    let settings = env.settings.clone();
    assert_eq!(
        settings.key_cache_max_age_ms, 600_000,
        "default: 10 minutes"
    );
    let (cm, rec) = env.app_with_clock(ContextManager, settings, clock.clock());
    let sid = create_session(&sp, USER_A).await;
    let read = json!({"action":"get_context","sessionId":sid});
    ok(&cm, USER_A, read.clone()).await;
    assert_eq!(rec.count("kms:Decrypt"), 1);
    clock.advance(600_000 - 1);
    ok(&cm, USER_A, read.clone()).await;
    assert_eq!(rec.count("kms:Decrypt"), 1, "still within its age");
    clock.advance(1);
    ok(&cm, USER_A, read.clone()).await;
    assert_eq!(
        rec.count("kms:Decrypt"),
        2,
        "unwrapped again at ten minutes"
    );
    ok(&cm, USER_A, turn(&sid, "hello")).await;
    assert_eq!(rec.count("kms:Decrypt"), 2, "and cached again");

    // A key past its age is dropped at the next use of the cache, even if
    // its own session is never read again: only fresh keys stay in memory.
    let other = create_session(&sp, USER_B).await;
    ok(
        &cm,
        USER_B,
        json!({"action":"get_context","sessionId":other}),
    )
    .await;
    assert_eq!(cm.cached_keys(), 2);
    clock.advance(600_000);
    ok(
        &cm,
        USER_B,
        json!({"action":"get_context","sessionId":other}),
    )
    .await;
    assert_eq!(
        cm.cached_keys(),
        1,
        "the first session's expired key is gone without being looked up"
    );

    // A shorter setting.
    let mut short = env.settings.clone();
    short.key_cache_max_age_ms = 1_000;
    let (cm_short, rec_short) = env.app_with_clock(ContextManager, short, clock.clock());
    ok(&cm_short, USER_A, read.clone()).await;
    clock.advance(1_000);
    ok(&cm_short, USER_A, read.clone()).await;
    assert_eq!(rec_short.count("kms:Decrypt"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_field_names_are_shortened_and_never_logged() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let name = format!("password-{}", "hunter2_9d1f".repeat(20));
    let (status, v) = call(&sp, USER_A, json!({"action":"list", name.clone(): true})).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "unknown_field");
    let field = v["error"]["field"].as_str().unwrap();
    assert!(
        field.chars().count() <= functions::model::MAX_ECHOED_NAME_CHARS + 1,
        "{field}"
    );
    assert!(!v.to_string().contains(&name[..40]), "{v}");
    let rid = v["error"]["requestId"].as_str().unwrap().to_string();
    let line = log_lines()
        .into_iter()
        .find(|l| l["request_id"] == rid.as_str())
        .expect("the request is logged");
    assert_eq!(line["outcome"], "unknown_field");
    assert!(!line.to_string().contains("hunter2"), "{line}");
}

/// Two turns with the same role and content do not carry equal digests in
/// the table (the `turnId` is part of the digest), and a turn whose digest
/// the previous release wrote (role and content only) is still recognised
/// when its `turnId` is retried: the same content gets the stored turn, other
/// content 409, and nothing is written either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_turns_carry_different_digests_and_previous_digests_still_match() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    let add = |turn_id: &str, content: &str| json!({"action":"add_turn","sessionId":sid,"turn":{"role":"user","content":content,"language":"en","turnId":turn_id}});
    let first = ok(&cm, USER_A, add("turn-a", "the same words")).await;
    let second = ok(&cm, USER_A, add("turn-b", "the same words")).await;
    let sk = |v: &serde_json::Value| functions::store::turn_sk(v["turn"]["seq"].as_u64().unwrap());
    let (sk_a, sk_b) = (sk(&first), sk(&second));
    let digest_a = get_attr(&env, &sid, &sk_a, "digest").await;
    assert_ne!(digest_a, get_attr(&env, &sid, &sk_b, "digest").await);

    // Turn a as the previous release stored it.
    let key = session_key(&env, &sid, USER_A).await;
    let v1 = key.turn_digest_v1("user", "the same words");
    set_attr(
        &env,
        &sid,
        &sk_a,
        "digest",
        AttributeValue::B(v1.clone().into()),
    )
    .await;
    let before = env.snapshot().await;
    let again = ok(&cm, USER_A, add("turn-a", "the same words")).await;
    assert_eq!(again["turn"]["seq"], first["turn"]["seq"]);
    let (status, v) = call(&cm, USER_A, add("turn-a", "other words")).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("turn_id_conflict")),
        "{v}"
    );
    assert_eq!(env.snapshot().await, before, "a retry wrote nothing");
    assert_eq!(
        get_attr(&env, &sid, &sk_a, "digest").await,
        AttributeValue::B(v1.into())
    );
}
