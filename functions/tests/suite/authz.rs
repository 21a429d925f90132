//! Authorization matrix: user B on every action against user A's session
//! gets 404 (the answer for a missing session) and A's data stays as it was.
//! No identity at all gets 401 on every action. Who may write what: an
//! end-user token adds `user` turns only; `assistant`/`system` turns and
//! summaries need the configured Cognito group (`cognito:groups`); an OAuth
//! scope of the same name (bare or `resource-server/name`) does not count;
//! else 403 `forbidden_role` and nothing changes. A writer may act on
//! another user's session by naming its owner (`userId`) on `add_turn`
//! (assistant and system turns only), `get_context` and `set_summary`; any
//! other token naming someone else gets 403 and changes nothing.

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
    ok_as(
        &cm,
        &writer(USER_A),
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
        // B even holds the assistant-writer group: the role rule never
        // opens another user's session.
        let (status, v) = call_as(app, &writer(USER_B), body.clone()).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_summaries_need_the_writer_group_not_a_scope() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    // The deployment guide's example keeps working with an end-user token.
    ok(&cm, USER_A, turn(&sid, "What is a closure?")).await;
    let add = |role: &str, content: &str| json!({"action":"add_turn","sessionId":sid,"turn":{"role":role,"content":content,"language":"en"}});
    let summary = json!({"action":"set_summary","sessionId":sid,"summary":"closures"});
    let tok = |groups: Option<&str>, scope: Option<&str>, scopes: Option<Vec<&str>>| Token {
        sub: USER_A.to_string(),
        groups: groups.map(str::to_string),
        scope: scope.map(str::to_string),
        scopes: scopes.map(|v| v.into_iter().map(str::to_string).collect()),
    };
    // Tokens that are not writers: none, near misses, another group.
    let not_writers = [
        tok(None, None, None),
        tok(Some("[students]"), None, None),
        tok(Some("[assistant-writers-old]"), None, None),
        tok(Some("[xassistant-writers]"), None, None),
        tok(Some("assistant writers"), None, None),
        tok(None, Some("openid assistant-writers.read"), None),
        tok(None, None, Some(vec!["aws.cognito.signin.user.admin"])),
        // A scope is not writer proof (any student could ask for it on the
        // students' app client): bare, in Cognito's resource-server form,
        // or in the authorizer's scopes list.
        tok(None, Some("openid assistant-writers"), None),
        tok(None, Some("voice-learning/assistant-writers"), None),
        tok(None, None, Some(vec!["openid", "assistant-writers"])),
    ];
    let forbidden_bodies = [
        add("assistant", "A closure captures variables."),
        add("system", "You are a tutor."),
        summary.clone(),
    ];
    let before = env.snapshot().await;
    let mut forbidden_cases = 0;
    for t in &not_writers {
        for body in &forbidden_bodies {
            let (status, v) = call_as(&cm, t, body.clone()).await;
            assert_eq!(status, 403, "{t:?} {body} -> {v}");
            assert_eq!(v["error"]["code"], "forbidden_role");
            assert!(v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("assistant-writer"));
            forbidden_cases += 1;
        }
        // The same token still adds user turns (checked without writing).
        let (status, v) = call_as(&cm, t, json!({"action":"get_context","sessionId":sid})).await;
        assert_eq!(status, 200, "{v}");
    }
    assert_eq!(
        env.snapshot().await,
        before,
        "a forbidden write changed data"
    );

    // Writers: the group, alone or among others.
    let writers = [
        tok(Some("[assistant-writers]"), None, None),
        tok(Some("[students assistant-writers]"), None, None),
    ];
    for (i, t) in writers.iter().enumerate() {
        let v = ok_as(&cm, t, add("assistant", &format!("answer {i}"))).await;
        assert_eq!(v["turn"]["role"], "assistant");
        ok_as(&cm, t, add("system", &format!("system {i}"))).await;
        ok_as(&cm, t, summary.clone()).await;
    }

    // The group is a setting: another value, another rule.
    let mut tutors = env.settings.clone();
    tutors.assistant_writer_group = "tutors".into();
    let (cm_tutors, _) = env.app_with(ContextManager, tutors);
    let (status, v) = call_as(&cm_tutors, &writer(USER_A), add("assistant", "x")).await;
    assert_eq!(
        (status, v["error"]["code"].clone()),
        (403, json!("forbidden_role"))
    );
    ok_as(
        &cm_tutors,
        &tok(Some("[tutors]"), None, None),
        add("assistant", "from a tutor"),
    )
    .await;
    eprintln!(
        "AUTHZ roles: {forbidden_cases} forbidden writes (403) + {} writer tokens allowed + 2 setting cases",
        writers.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_turn_id_with_other_role_or_content_is_a_conflict() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    let body = |role: &str, content: &str| json!({"action":"add_turn","sessionId":sid,"turn":{"role":role,"content":content,"language":"en","turnId":"t-1"}});
    let w = writer(USER_A);
    let first = ok_as(&cm, &w, body("user", "What is a closure?")).await;
    let before = env.snapshot().await;
    for (role, content) in [
        ("user", "What is a closure!"),
        ("assistant", "What is a closure?"),
        ("system", "What is a closure?"),
    ] {
        let (status, v) = call_as(&cm, &w, body(role, content)).await;
        assert_eq!(status, 409, "{role} {content}: {v}");
        assert_eq!(v["error"]["code"], "turn_id_conflict");
    }
    assert_eq!(
        env.snapshot().await,
        before,
        "a conflicting retry changed data"
    );
    // The true retry still answers as the first time.
    assert_eq!(
        ok_as(&cm, &w, body("user", "What is a closure?")).await,
        first
    );

    // Two different turns racing under one turnId: one is stored, the other
    // is told so.
    let mut tasks = Vec::new();
    for content in ["first version", "second version"] {
        let app = cm.clone();
        let b = json!({"action":"add_turn","sessionId":sid,"turn":{"role":"user","content":content,"language":"en","turnId":"t-race"}});
        tasks.push(tokio::spawn(async move { call(&app, USER_A, b).await }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        let (status, v) = t.await.unwrap();
        if status == 409 {
            assert_eq!(v["error"]["code"], "turn_id_conflict");
        }
        statuses.push(status);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 409]);
    let ids: Vec<String> = turn_ids(&env.turn_items(&sid).await)
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(counts(&ids)["t-race"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_acts_on_a_students_session_by_naming_its_owner() {
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);
    // The assistant backend: its own identity, a machine user in the
    // writer group.
    let backend = Token {
        groups: Some("[assistant-writers]".into()),
        ..user("backend-client-7f3k2")
    };
    let sid = create_session(&sp, USER_A).await;
    ok(&cm, USER_A, turn(&sid, "What is a closure?")).await;

    // Without `userId` the backend is not the owner: 404, as for anyone.
    let (status, _) = call_as(
        &cm,
        &backend,
        json!({"action":"get_context","sessionId":sid}),
    )
    .await;
    assert_eq!(status, 404);

    // Naming the owner: it reads the context, answers, keeps the summary.
    let v = ok_as(
        &cm,
        &backend,
        json!({"action":"get_context","sessionId":sid,"userId":USER_A}),
    )
    .await;
    assert_eq!(v["context"]["turns"][0]["content"], "What is a closure?");
    ok_as(
        &cm,
        &backend,
        json!({"action":"add_turn","sessionId":sid,"userId":USER_A,"turn":{"role":"assistant","content":"A function with its environment.","language":"en"}}),
    )
    .await;
    ok_as(
        &cm,
        &backend,
        json!({"action":"set_summary","sessionId":sid,"userId":USER_A,"summary":"closures"}),
    )
    .await;
    // The student sees both, under their own token.
    let v = ok(&cm, USER_A, json!({"action":"get_context","sessionId":sid})).await;
    let roles: Vec<&str> = v["context"]["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant"], "{v}");
    assert_eq!(v["context"]["summary"], "closures", "{v}");
    // The delegated requests are marked in the log, with who acted for
    // whom as keyed pseudonyms, never the raw user ids.
    let key = &env.settings.audit_id_key;
    let actor = functions::identity::audit_id(key, "backend-client-7f3k2");
    let student = functions::identity::audit_id(key, USER_A);
    assert_ne!(actor, student);
    let audited: Vec<serde_json::Value> = log_lines()
        .into_iter()
        .filter(|l| l["message"] == "request" && l["actor"] == actor.as_str())
        .collect();
    assert!(audited.len() >= 3, "{audited:#?}");
    for l in &audited {
        assert_eq!(l["on_behalf"], true, "{l}");
        assert_eq!(l["on_behalf_of"], student.as_str(), "{l}");
        let text = l.to_string();
        assert!(
            !text.contains(USER_A) && !text.contains("backend-client-7f3k2"),
            "{text}"
        );
    }

    // The wrong owner: 404 (the session is not theirs), nothing changes.
    let before = env.snapshot().await;
    let (status, _) = call_as(
        &cm,
        &backend,
        json!({"action":"get_context","sessionId":sid,"userId":USER_B}),
    )
    .await;
    assert_eq!(status, 404);

    // Not a writer: naming another user is 403 on every action that takes
    // it, whatever the role; naming oneself is allowed.
    let student_b = user(USER_B);
    let cases = [
        json!({"action":"get_context","sessionId":sid,"userId":USER_A}),
        json!({"action":"add_turn","sessionId":sid,"userId":USER_A,"turn":{"role":"user","content":"injected","language":"en"}}),
        json!({"action":"set_summary","sessionId":sid,"userId":USER_A,"summary":"overwritten"}),
    ];
    for body in &cases {
        let (status, v) = call_as(&cm, &student_b, body.clone()).await;
        assert_eq!(status, 403, "{body} -> {v}");
        assert_eq!(v["error"]["code"], "forbidden_role", "{v}");
    }
    // A writer acting for the student writes no `user` turn in the
    // student's name: 403, nothing changes.
    let (status, v) = call_as(
        &cm,
        &backend,
        json!({"action":"add_turn","sessionId":sid,"userId":USER_A,"turn":{"role":"user","content":"words the student never said","language":"en"}}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("forbidden_role")),
        "{v}"
    );
    ok(
        &cm,
        USER_A,
        json!({"action":"get_context","sessionId":sid,"userId":USER_A}),
    )
    .await;
    // Bad ids and actions without delegation: 400, nothing read.
    for (body, code, field) in [
        (
            json!({"action":"get_context","sessionId":sid,"userId":""}),
            "invalid_field",
            "userId",
        ),
        (
            json!({"action":"get_context","sessionId":sid,"userId":"a#b"}),
            "invalid_field",
            "userId",
        ),
        (
            json!({"action":"get_context","sessionId":sid,"userId":7}),
            "invalid_field",
            "userId",
        ),
        (
            json!({"action":"clear","sessionId":sid,"userId":USER_A}),
            "unknown_field",
            "userId",
        ),
    ] {
        let (status, v) = call_as(&cm, &backend, body.clone()).await;
        assert_eq!(
            (
                status,
                v["error"]["code"].as_str(),
                v["error"]["field"].as_str()
            ),
            (400, Some(code), Some(field)),
            "{body} -> {v}"
        );
    }
    let (status, v) = call_as(
        &sp,
        &backend,
        json!({"action":"get","sessionId":sid,"userId":USER_A}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("unknown_field")),
        "{v}"
    );
    assert_eq!(
        env.snapshot().await,
        before,
        "a refused request changed data"
    );
    eprintln!(
        "AUTHZ delegation: 3 delegated actions allowed, {} refused (403), 5 bad (400)",
        cases.len()
    );
}
