//! Capacity units from DynamoDB's item-size formula (moto's ConsumedCapacity
//! is constant): add_turn for a 1 KB turn at turn 1 and turn 1,000, and a
//! 20-turn get_context.

use aws_sdk_dynamodb::types::AttributeValue;
use functions::capacity::{item_size, read_units, write_units};
use functions::store::{turn_sk, Item};
use functions::Function::{ContextManager, SessionPersistence};
use serde_json::json;

use crate::common::*;

const WRITES: &[&str] = &[
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
];

async fn get_item(env: &Env, sid: &str, sk: &str) -> Item {
    env.ddb
        .get_item()
        .table_name(&env.settings.sessions_table)
        .key("sessionId", AttributeValue::S(sid.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("item")
}

/// Adds a turn through the handler; returns (seq, write units) after checking
/// the only write was the turn's PutItem.
async fn add_measured(
    env: &Env,
    app: &functions::App,
    rec: &Recorder,
    sid: &str,
    content: &str,
) -> (u64, u64) {
    let mark = rec.len();
    let v = ok(app, USER_A, turn(sid, content)).await;
    let writes: Vec<_> = rec
        .since(mark)
        .into_iter()
        .filter(|(_, a)| WRITES.contains(&a.as_str()))
        .collect();
    assert_eq!(
        writes,
        vec![(Resource::SessionsTable, "dynamodb:PutItem".to_string())],
        "add_turn wrote more than its turn"
    );
    let seq = v["turn"]["seq"].as_u64().unwrap();
    let item = get_item(env, sid, &turn_sk(seq)).await;
    assert!(
        !item.contains_key("userId"),
        "a turn would also be written to the GSI"
    );
    (seq, write_units(item_size(&item)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_turn_costs_at_most_two_write_units_at_any_length() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, rec) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    let one_kb = "k".repeat(1024);

    let (seq1, wcu1) = add_measured(&env, &cm, &rec, &sid, &one_kb).await;
    assert_eq!(seq1, 1);
    seed_turns(&env, &sid, USER_A, 2, 999, &one_kb).await;
    let (seq1000, wcu1000) = add_measured(&env, &cm, &rec, &sid, &one_kb).await;
    assert_eq!(seq1000, 1000);
    assert!(
        wcu1 <= 2 && wcu1000 <= 2,
        "add_turn: {wcu1} WCU at turn 1, {wcu1000} at turn 1000"
    );
    let turn_bytes = item_size(&get_item(&env, &sid, &turn_sk(1000)).await);

    // get_context with a 20-turn window: the session item (GetItem) and one
    // Query of 20 turns, both eventually consistent (add_turn's own reads
    // are strongly consistent: it allocates the next sequence number).
    let session_bytes = item_size(&get_item(&env, &sid, "SESSION").await);
    let mark = rec.len();
    let v = ok(
        &cm,
        USER_A,
        json!({"action":"get_context","sessionId":sid,"window":{"maxTurns":20,"maxTokens":32000}}),
    )
    .await;
    assert_eq!(v["context"]["turns"].as_array().unwrap().len(), 20);
    let reads: Vec<_> = rec
        .since(mark)
        .into_iter()
        .map(|(_, a)| a)
        .filter(|a| a.starts_with("dynamodb:"))
        .collect();
    assert_eq!(
        reads,
        vec!["dynamodb:GetItem".to_string(), "dynamodb:Query".to_string()]
    );
    let mut query_bytes = 0;
    for seq in 981..=1000 {
        query_bytes += item_size(&get_item(&env, &sid, &turn_sk(seq)).await);
    }
    let rcu_1kb = read_units(session_bytes, false) + read_units(query_bytes, false);

    // The same for typical voice turns of about 200 characters.
    let small = create_session(&sp, USER_A).await;
    let typical = "t".repeat(200);
    for _ in 0..20 {
        ok(&cm, USER_A, turn(&small, &typical)).await;
    }
    let small_query: usize = env.turn_items(&small).await.iter().map(item_size).sum();
    let rcu_small = read_units(session_bytes, false) + read_units(small_query, false);
    assert!(rcu_small <= 2.0, "20 typical turns: {rcu_small} RCU");
    let add_turn_reads_small = read_units(session_bytes, true) + read_units(small_query, true);

    // The amortised extra: once per SESSION_TOUCH_INTERVAL_SECONDS the session
    // item is refreshed too (an UpdateItem plus the GSI entry's key change).
    let mut eager = env.settings.clone();
    eager.touch_interval_ms = 0;
    let (cm_touch, rec_touch) = env.app_with(ContextManager, eager);
    let before = item_size(&get_item(&env, &small, "SESSION").await);
    let mark = rec_touch.len();
    ok(&cm_touch, USER_A, turn(&small, &one_kb)).await;
    let writes: Vec<_> = rec_touch
        .since(mark)
        .into_iter()
        .map(|(_, a)| a)
        .filter(|a| WRITES.contains(&a.as_str()))
        .collect();
    assert_eq!(
        writes,
        vec![
            "dynamodb:PutItem".to_string(),
            "dynamodb:UpdateItem".to_string()
        ]
    );
    let after_item = get_item(&env, &small, "SESSION").await;
    let after = item_size(&after_item);
    let index_entry: usize = after_item
        .iter()
        .filter(|(k, _)| {
            ["sessionId", "sk", "userId", "updatedAt"].contains(&k.as_str())
                || stack::module::USER_SESSION_INDEX_PROJECTION.contains(&k.as_str())
        })
        .map(|(k, v)| k.len() + functions::capacity::value_size(v))
        .sum();
    let touch_extra = write_units(before.max(after)) + 2 * write_units(index_entry);

    eprintln!(
        "CAPACITY: add_turn 1 KB content ({turn_bytes} B item): {wcu1} WCU at turn 1, {wcu1000} WCU at turn 1000; \
         +{touch_extra} WCU once per touch interval (session item {after} B + GSI entry {index_entry} B x2). \
         get_context 20 turns (eventually consistent): 1 KB turns {rcu_1kb} RCU ({query_bytes} B + session {session_bytes} B), \
         200-char turns {rcu_small} RCU ({small_query} B); add_turn's own reads with 200-char turns {add_turn_reads_small} RCU (strongly consistent)"
    );
}

/// Worst-case read and write units per action, from real items at their
/// size limits (topic 200 four-byte characters, summary 16 KiB, turns of
/// 16 KiB with a 64-character turnId and a 35-character language tag) and
/// the operations each action was recorded making.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worst_case_units_per_action() {
    use functions::api::{LOOKBACK_MAX_TURNS, MAX_TURNS_PER_SESSION, MAX_TURN_ITEM_BYTES};
    use functions::model::{
        MAX_CONTENT_BYTES, MAX_LIST_LIMIT, MAX_SUMMARY_BYTES, MAX_WINDOW_TURNS,
    };
    let env = Env::new().await;
    let (sp, sp_rec) = env.app(SessionPersistence);
    let mut eager = env.settings.clone();
    eager.touch_interval_ms = 0; // the worst case: add_turn also refreshes the session
    let (cm, cm_rec) = env.app_with(ContextManager, eager);
    let w = writer(USER_A);
    let topic = "𝄞".repeat(200);
    let v = ok(
        &sp,
        USER_A,
        json!({"action":"create","session":{"currentTopic":topic,"mode":"conversation","language":"sgn-BE-FR-abcdefgh-abcdefgh-abcdefg"}}),
    )
    .await;
    let sid = v["session"]["sessionId"].as_str().unwrap().to_string();
    ok_as(
        &cm,
        &w,
        json!({"action":"set_summary","sessionId":sid,"summary":"s".repeat(MAX_SUMMARY_BYTES)}),
    )
    .await;
    let big = "k".repeat(MAX_CONTENT_BYTES);
    seed_turns(&env, &sid, USER_A, 1, MAX_WINDOW_TURNS as u64, &big).await;
    let max_turn = json!({"action":"add_turn","sessionId":sid,"turn":{"role":"assistant","content":big,"language":"sgn-BE-FR-abcdefgh-abcdefgh-abcdefg","turnId":"t".repeat(64)}});
    let mark = cm_rec.len();
    let v = ok_as(&cm, &w, max_turn.clone()).await;
    let ops: Vec<String> = cm_rec.since(mark).into_iter().map(|(_, a)| a).collect();
    assert_eq!(
        counts(&ops),
        counts(&[
            "dynamodb:GetItem".to_string(),
            "dynamodb:Query".to_string(),
            "dynamodb:PutItem".to_string(),
            "dynamodb:UpdateItem".to_string(),
        ]),
        "add_turn's operations (warm)"
    );
    let seq = v["turn"]["seq"].as_u64().unwrap();
    let turn_bytes = item_size(&get_item(&env, &sid, &turn_sk(seq)).await);
    assert!(
        turn_bytes <= MAX_TURN_ITEM_BYTES,
        "{turn_bytes} > {MAX_TURN_ITEM_BYTES}"
    );
    let session_item = get_item(&env, &sid, "SESSION").await;
    let session = item_size(&session_item);
    let index_entry: usize = session_item
        .iter()
        .filter(|(k, _)| {
            ["sessionId", "sk", "userId", "updatedAt"].contains(&k.as_str())
                || stack::module::USER_SESSION_INDEX_PROJECTION.contains(&k.as_str())
        })
        .map(|(k, v)| k.len() + functions::capacity::value_size(v))
        .sum();
    let t = MAX_TURN_ITEM_BYTES;
    let rc = |bytes: usize| read_units(bytes, true);
    let re = |bytes: usize| read_units(bytes, false);
    // A Query reads at most 1 MB per call
    // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.html).
    let page = |turns: usize| (turns * t).min(1024 * 1024);
    let sw = write_units(session);
    // A new session has no summary yet.
    let summary_attr = "summary".len() + functions::capacity::value_size(&session_item["summary"]);
    let new_session = session - summary_attr;
    let iw = write_units(index_entry);
    let lines = [
        ("create", re(64), write_units(new_session) + iw),
        ("get", rc(session) + rc(t), 0),
        ("update", rc(t), sw + 2 * iw),
        (
            "list",
            functions::store::LIST_QUERIES as f64 * re(MAX_LIST_LIMIT as usize * index_entry),
            0,
        ),
        (
            "restore",
            20.0 * re(25 * index_entry) + re(session) + re(page(MAX_WINDOW_TURNS as usize)),
            0,
        ),
        (
            "add_turn",
            rc(session) + rc(page(LOOKBACK_MAX_TURNS as usize)),
            write_units(t) + sw + 2 * iw,
        ),
        (
            "get_context",
            re(session) + re(page(MAX_WINDOW_TURNS as usize)),
            0,
        ),
        ("set_summary", re(session) + rc(t), sw + 2 * iw),
        (
            "clear (per 1,000 turns)",
            rc(session) + rc(t) + 1000.0 * rc(t),
            sw + 2 * iw + 1000 * write_units(t),
        ),
        (
            "delete (per 1,000 turns)",
            1000.0 * rc(t),
            sw + 2 * iw + 1000 * write_units(t) + sw + iw,
        ),
    ];
    let mut out = format!(
        "CAPACITY WORST CASE (session item {session} B, GSI entry {index_entry} B, turn item {turn_bytes} B <= {t} B; \
         add_turn reads at most {LOOKBACK_MAX_TURNS} turns; at most {MAX_TURNS_PER_SESSION} turns per session):"
    );
    for (action, rcu, wcu) in lines {
        out.push_str(&format!("\n  {action}: {rcu} RCU, {wcu} WCU"));
    }
    eprintln!("{out}");
    let _ = sp_rec;
}
