//! Sequential round trips to DynamoDB and KMS per action, counted by the
//! recording interceptor: operations that overlap (issued together) count
//! once, one that starts after another ended counts again. Warm means the
//! container already holds the session's data key.

use functions::Function::{ContextManager, SessionPersistence};
use serde_json::json;

use crate::common::*;

async fn trips(
    app: &functions::App,
    rec: &Recorder,
    token: &Token,
    body: serde_json::Value,
) -> usize {
    let mark = rec.span_mark();
    ok_as(app, token, body).await;
    let n = rec.round_trips_since(mark);
    eprintln!(
        "  {:?}",
        rec.spans_since(mark)
            .iter()
            .map(|s| s.action.as_str())
            .collect::<Vec<_>>()
    );
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_action_takes_its_budget_of_round_trips() {
    let env = Env::new().await;
    let (sp, sp_rec) = env.app(SessionPersistence);
    let mut eager = env.settings.clone();
    eager.touch_interval_ms = 0; // every add_turn also refreshes the session
    let (cm, cm_rec) = env.app_with(ContextManager, eager);
    let a = user(USER_A);

    // create: the profile is needed (no mode/language given) and not.
    env.put_profile(USER_A, "es", "quiz").await;
    let create_profile = trips(
        &sp,
        &sp_rec,
        &a,
        json!({"action":"create","session":{"currentTopic":"Verbos"}}),
    )
    .await;
    let create_plain = trips(
        &sp,
        &sp_rec,
        &a,
        json!({"action":"create","session":{"currentTopic":"JS","mode":"tutor","language":"en"}}),
    )
    .await;
    let sid = create_session(&sp, USER_A).await;

    let get = trips(&sp, &sp_rec, &a, json!({"action":"get","sessionId":sid})).await;
    let add_cold = trips(&cm, &cm_rec, &a, turn(&sid, "What is a closure?")).await;
    let add_warm = trips(&cm, &cm_rec, &a, turn(&sid, "And a callback?")).await;
    let ctx_warm = trips(
        &cm,
        &cm_rec,
        &a,
        json!({"action":"get_context","sessionId":sid}),
    )
    .await;

    eprintln!(
        "ROUND TRIPS: create {create_profile} (profile read) / {create_plain} (no profile), get {get}, \
         add_turn {add_warm} warm / {add_cold} cold (with the session refresh), get_context {ctx_warm} warm"
    );
    assert_eq!(add_warm, 2, "add_turn, warm");
    assert_eq!(ctx_warm, 1, "get_context, warm");
    assert_eq!(get, 1, "get");
    assert_eq!(
        create_profile, 2,
        "create with a profile read, including KMS"
    );
    assert_eq!(create_plain, 2, "create, including KMS");
    assert_eq!(
        add_cold, 3,
        "add_turn, cold: the data key's unwrap in between"
    );
}
