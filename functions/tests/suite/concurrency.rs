//! Concurrency: 100 add_turn calls on one session from several handler
//! instances at once (with retried turnIds among them): 100 turns stored,
//! none lost, none duplicated, one order every reader sees.

use std::collections::{BTreeMap, BTreeSet};

use functions::Function::{ContextManager, SessionPersistence};
use serde_json::{json, Value};

use crate::common::*;

const TURNS: usize = 100;
const INSTANCES: usize = 4;
const RETRIED: usize = 10;
/// 503 retries a client makes before giving up.
const CLIENT_RETRIES: usize = 30;

/// A well-behaved client: a 503 (retryable) is sent again unchanged (the
/// same turnId) after a jittered backoff, up to [`CLIENT_RETRIES`] times.
/// The function gives up on a contended slot after a bounded number of
/// attempts, so concurrent writers of one session are sometimes sent back.
/// The status, body and retries of the last answer.
async fn call_retrying_503(
    app: &functions::App,
    token: &Token,
    body: &Value,
    n: usize,
) -> (u16, Value, usize) {
    let mut retries = 0;
    loop {
        let (status, v) = call_as(app, token, body.clone()).await;
        if status == 503 && retries < CLIENT_RETRIES {
            retries += 1;
            let jitter = (n as u64 * 7919 + retries as u64 * 104_729) % 50;
            tokio::time::sleep(std::time::Duration::from_millis(
                10 * retries as u64 + jitter,
            ))
            .await;
            continue;
        }
        return (status, v, retries);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_turns_from_several_instances() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let sid = create_session(&sp, USER_A).await;
    let apps: Vec<_> = (0..INSTANCES).map(|_| env.app(ContextManager).0).collect();

    // 100 distinct turns, plus a second copy of 10 of them (a client retry
    // racing the original), spread over the instances, all at once.
    let mut requests: Vec<(usize, String)> =
        (0..TURNS).map(|i| (i, format!("turn-{i:03}"))).collect();
    requests.extend((0..RETRIED).map(|i| (i * 7, format!("turn-{:03}", i * 7))));
    let mut tasks = Vec::new();
    for (n, (i, turn_id)) in requests.into_iter().enumerate() {
        let app = apps[n % INSTANCES].clone();
        let sid = sid.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"action":"add_turn","sessionId":sid,"turn":{"role":if i % 2 == 0 {"user"} else {"assistant"},"content":format!("message number {i}"),"language":"en","turnId":turn_id}});
            // 110 writers racing for one session's next slot are partly sent
            // back with 503 and retry.
            let (status, v, retries) = call_retrying_503(&app, &writer(USER_A), &body, n).await;
            (turn_id, status, v, retries)
        }));
    }
    let mut answers: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut client_retries = 0;
    for t in tasks {
        let (turn_id, status, v, retries) = t.await.unwrap();
        assert_eq!(status, 200, "{turn_id}: {v}");
        client_retries += retries;
        answers.entry(turn_id).or_default().push(v["turn"].clone());
    }
    assert_eq!(answers.len(), TURNS);

    // Stored: exactly 100 turns, seq 1..=100, each turnId once.
    let items = env.turn_items(&sid).await;
    let ids = turn_ids(&items);
    assert_eq!(items.len(), TURNS, "lost or duplicated turns");
    let expected_sks: Vec<String> = (1..=TURNS as u64).map(functions::store::turn_sk).collect();
    assert_eq!(
        ids.iter().map(|(sk, _)| sk.clone()).collect::<Vec<_>>(),
        expected_sks
    );
    let distinct: BTreeSet<_> = ids.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(distinct.len(), TURNS, "a turnId was stored twice");

    // Every answer names the slot its turn is stored in; a retried turnId got
    // the same answer as the original.
    let by_sk: BTreeMap<String, String> = ids.into_iter().collect();
    for (turn_id, turns) in &answers {
        let seq = turns[0]["seq"].as_u64().unwrap();
        assert_eq!(by_sk[&functions::store::turn_sk(seq)], *turn_id);
        for t in turns {
            assert_eq!(
                t, &turns[0],
                "{turn_id}: different answers to the same turn"
            );
        }
    }

    // One order, whoever reads: every instance returns the same 100 turns.
    let mut orders = Vec::new();
    for app in &apps {
        let v = ok(app, USER_A, json!({"action":"get_context","sessionId":sid,"window":{"maxTurns":100,"maxTokens":32000}})).await;
        let order: Vec<(u64, String)> = v["context"]["turns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["seq"].as_u64().unwrap(),
                    t["turnId"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(order.len(), TURNS);
        assert!(order.windows(2).all(|w| w[0].0 + 1 == w[1].0));
        orders.push(order);
    }
    assert!(orders.windows(2).all(|w| w[0] == w[1]));
    eprintln!(
        "CONCURRENCY: {} requests ({TURNS} turns + {RETRIED} racing retries) over {INSTANCES} instances: {TURNS} stored, 0 lost, 0 duplicated; client 503 retries: {client_retries}",
        TURNS + RETRIED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_turn_id_is_stored_once_with_the_same_answer() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm1, _) = env.app(ContextManager);
    let (cm2, _) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    let body = json!({"action":"add_turn","sessionId":sid,"turn":{"role":"user","content":"What is a closure?","language":"en","turnId":"client-42"}});
    let first = ok(&cm1, USER_A, body.clone()).await;
    let again = ok(&cm1, USER_A, body.clone()).await;
    let elsewhere = ok(&cm2, USER_A, body.clone()).await;
    assert_eq!(first, again, "a retry answers the same");
    assert_eq!(
        first, elsewhere,
        "a retry through another instance answers the same"
    );
    assert_eq!(env.turn_items(&sid).await.len(), 1);

    // Retried after other turns: still recognised (within the horizon).
    for i in 0..5 {
        ok(&cm1, USER_A, turn(&sid, &format!("later {i}"))).await;
    }
    let late = ok(&cm2, USER_A, body.clone()).await;
    assert_eq!(late["turn"], first["turn"]);
    assert_eq!(env.turn_items(&sid).await.len(), 6);

    // Five copies of a new turnId at the same moment: one stored.
    let mut tasks = Vec::new();
    for n in 0..5 {
        let app = if n % 2 == 0 { cm1.clone() } else { cm2.clone() };
        let b = json!({"action":"add_turn","sessionId":sid,"turn":{"role":"assistant","content":"A closure captures variables.","language":"en","turnId":"client-43"}});
        tasks.push(tokio::spawn(async move {
            ok_as(&app, &writer(USER_A), b).await["turn"].clone()
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    let items = env.turn_items(&sid).await;
    assert_eq!(items.len(), 7);
    assert_eq!(
        counts(
            &turn_ids(&items)
                .into_iter()
                .map(|(_, id)| id)
                .collect::<Vec<_>>()
        )["client-43"],
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_streams_keep_each_speakers_order() {
    // Four instances, each sending 25 turns one after another, all four at
    // once: every stream's turns are stored in the order it sent them.
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let sid = create_session(&sp, USER_A).await;
    let mut tasks = Vec::new();
    for stream in 0..INSTANCES {
        let (app, _) = env.app(ContextManager);
        let sid = sid.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for n in 0..TURNS / INSTANCES {
                let body = json!({"action":"add_turn","sessionId":sid,"turn":{"role":"user","content":format!("stream {stream} turn {n}"),"language":"en","turnId":format!("s{stream}-{n}")}});
                // A turn sent back with 503 is retried before the next one
                // is sent, so the stream's order is the client's.
                let (status, v, retries) =
                    call_retrying_503(&app, &user(USER_A), &body, stream * 100 + n).await;
                if retries > 0 {
                    eprintln!("stream {stream} turn {n}: sent back {retries} time(s) with 503");
                }
                assert_eq!(status, 200, "{body} -> {v}");
                seqs.push(v["turn"]["seq"].as_u64().unwrap());
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let seqs = t.await.unwrap();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "a stream's order was not kept: {seqs:?}"
        );
        all.extend(seqs);
    }
    all.sort_unstable();
    assert_eq!(all, (1..=TURNS as u64).collect::<Vec<_>>());
    let items = env.turn_items(&sid).await;
    assert_eq!(items.len(), TURNS);
    for item in &items {
        let id = s_of(item, "turnId");
        let (stream, n) = id[1..].split_once('-').unwrap();
        let _: (usize, usize) = (stream.parse().unwrap(), n.parse().unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_was_lost_succeeds_when_the_sdk_retries_it() {
    // The SDK retries a PutItem whose answer was lost (a dropped connection
    // after DynamoDB applied it); the retry finds the item its first attempt
    // stored. That is success, not a 409 "collision"; another session's item
    // under the same id still is a collision, and neither changes anything.
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let sid = create_session(&sp, USER_A).await;
    let stored = get_item(&env, &sid, functions::store::SESSION_SK)
        .await
        .unwrap();
    let rec = functions::store::SessionRecord::from_item(&stored).unwrap();
    let before = env.snapshot().await;
    sp.store()
        .put_session(&rec)
        .await
        .expect("the retry of the same put");
    let mut other = rec.clone();
    other.current_topic = "Recursion".into();
    let err = sp.store().put_session(&other).await.unwrap_err();
    assert_eq!(err.code(), "version_conflict", "{err}");
    assert_eq!(env.snapshot().await, before, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_or_clear_whose_answer_was_lost_succeeds_when_the_sdk_retries_it() {
    // The SDK sends the same request again (same version, same time); the
    // write it repeats is already there. That is success, and the retry
    // changes nothing; another writer's stale version is still a 409.
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let sid = create_session(&sp, USER_A).await;
    let store = sp.store();
    let now = functions::time::now_ms();
    let changes = functions::wire::SessionChanges {
        status: Some(functions::wire::Status::Paused),
        ..Default::default()
    };
    let first = store
        .update_session(&sid, USER_A, 1, &changes, now)
        .await
        .unwrap();
    assert_eq!((first.version, first.status.as_str()), (2, "paused"));
    let after_first = env.snapshot().await;
    let retried = store
        .update_session(&sid, USER_A, 1, &changes, now)
        .await
        .expect("the retry of the same update");
    assert_eq!(retried.version, 2);
    assert_eq!(
        env.snapshot().await,
        after_first,
        "the retry changed nothing"
    );
    let stale = store
        .update_session(&sid, USER_A, 1, &changes, now + 5)
        .await
        .unwrap_err();
    assert_eq!(stale.code(), "version_conflict", "{stale}");

    // A clear, the same way.
    let rec = functions::store::SessionRecord::from_item(
        &get_item(&env, &sid, functions::store::SESSION_SK)
            .await
            .unwrap(),
    )
    .unwrap();
    let cleared = store
        .start_generation(&rec, 0, &rec.wrapped_key, now + 10)
        .await
        .unwrap();
    let after_clear = env.snapshot().await;
    let again = store
        .start_generation(&rec, 0, &rec.wrapped_key, now + 10)
        .await
        .expect("the retry of the same clear");
    assert_eq!(again.generation, cleared.generation);
    assert_eq!(
        env.snapshot().await,
        after_clear,
        "the retry changed nothing"
    );
    let err = store
        .start_generation(&rec, 0, &rec.wrapped_key, now + 20)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "version_conflict", "{err}");
}
