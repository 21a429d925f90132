//! Capacity units from DynamoDB's item-size formula (moto's ConsumedCapacity
//! is constant): add_turn for a 1 KB turn at turn 1 and turn 1,000, and a
//! 20-turn get_context.

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use functions::capacity::{item_size, read_units, write_units};
use functions::crypto::{content_aad, DataKey};
use functions::store::{turn_sk, Item, TurnRecord};
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

/// Stores turns `from..=to` directly (properly sealed with the session's key).
async fn seed_turns(env: &Env, sid: &str, from: u64, to: u64, content: &str) {
    let session = get_item(env, sid, "SESSION").await;
    let wrapped = session["wrappedKey"].as_b().unwrap().as_ref().to_vec();
    let plain = env
        .kms
        .decrypt()
        .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(wrapped))
        .encryption_context("sessionId", sid)
        .encryption_context("userId", USER_A)
        .send()
        .await
        .unwrap()
        .plaintext
        .unwrap();
    let key = DataKey::from_bytes(plain.as_ref()).unwrap();
    let seqs: Vec<u64> = (from..=to).collect();
    for chunk in seqs.chunks(25) {
        let requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|&seq| {
                let rec = TurnRecord {
                    session_id: sid.to_string(),
                    seq,
                    turn_id: format!("seed-{seq}"),
                    role: "user".into(),
                    content: key
                        .seal_str(&content_aad(sid, &turn_sk(seq), "user"), content)
                        .unwrap(),
                    language: "en".into(),
                    created_at: "2026-11-28T03:00:00.000Z".into(),
                    tokens: functions::model::estimate_tokens(content),
                    expires_at: 1_798_416_000,
                };
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(rec.to_item()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        let out = env
            .ddb
            .batch_write_item()
            .request_items(&env.settings.sessions_table, requests)
            .send()
            .await
            .unwrap();
        assert!(out.unprocessed_items.unwrap_or_default().is_empty());
    }
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
    seed_turns(&env, &sid, 2, 999, &one_kb).await;
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
