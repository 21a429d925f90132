//! Bad input: every case gets its documented 4xx code (naming the field for
//! 400 and 413) and changes nothing in either table.

use base64::Engine;
use functions::Function::{self, ContextManager, SessionPersistence};
use serde_json::json;

use crate::common::*;

/// How the body reaches the function.
enum Body {
    Json(serde_json::Value),
    Text(String),
    None,
    Base64(Vec<u8>),
}

struct Case {
    name: &'static str,
    function: Function,
    body: Body,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
}

fn case(
    name: &'static str,
    function: Function,
    body: Body,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
) -> Case {
    Case {
        name,
        function,
        body,
        status,
        code,
        field,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_rejected_and_changes_nothing() {
    use Body::{Base64, Json, Text};
    let env = Env::new().await;
    let (sp, _) = env.app(SessionPersistence);
    let (cm, _) = env.app(ContextManager);
    let sid = create_session(&sp, USER_A).await;
    ok(&cm, USER_A, turn(&sid, "What is a closure?")).await;
    env.put_profile(USER_A, "en", "tutor").await;
    let sp_ = SessionPersistence;
    let cm_ = ContextManager;
    let s = sid.as_str();
    let add = |t: serde_json::Value| json!({"action":"add_turn","sessionId":s,"turn":t});
    let big = "x".repeat(functions::model::MAX_CONTENT_BYTES + 1);
    let missing = "00000000-0000-4000-8000-000000000000";
    ok(
        &cm,
        USER_A,
        json!({"action":"add_turn","sessionId":s,"turn":{"role":"user","content":"Known turn","language":"en","turnId":"t-known"}}),
    )
    .await;
    // A session at the turn cap, an expired one and one being deleted.
    let full = create_session(&sp, USER_A).await;
    seed_turns(&env, &full, USER_A, 5000, 5000, "the last turn").await;
    let expired = create_session(&sp, USER_A).await;
    set_attr(
        &env,
        &expired,
        "SESSION",
        "expiresAt",
        aws_sdk_dynamodb::types::AttributeValue::N(
            (functions::time::now_ms() / 1000 - 1).to_string(),
        ),
    )
    .await;
    let deleting = create_session(&sp, USER_A).await;
    set_attr(
        &env,
        &deleting,
        "SESSION",
        "status",
        aws_sdk_dynamodb::types::AttributeValue::S("deleting".into()),
    )
    .await;
    let long_name = "secret-".repeat(150);
    let echoed: &'static str = Box::leak(
        format!("{}…", &long_name[..functions::model::MAX_ECHOED_NAME_CHARS]).into_boxed_str(),
    );
    let echoed_turn: &'static str = Box::leak(format!("turn.{echoed}").into_boxed_str());

    let cases = vec![
        case(
            "malformed JSON",
            sp_,
            Text("{\"action\":".into()),
            400,
            "invalid_json",
            Some("body"),
        ),
        case(
            "trailing garbage",
            sp_,
            Text("{\"action\":\"list\"} x".into()),
            400,
            "invalid_json",
            Some("body"),
        ),
        case(
            "no body",
            sp_,
            Body::None,
            400,
            "missing_body",
            Some("body"),
        ),
        case(
            "empty body",
            cm_,
            Text(String::new()),
            400,
            "missing_body",
            Some("body"),
        ),
        case(
            "array body",
            sp_,
            Json(json!([1, 2])),
            400,
            "invalid_field",
            Some("body"),
        ),
        case(
            "string body",
            cm_,
            Json(json!("add_turn")),
            400,
            "invalid_field",
            Some("body"),
        ),
        case(
            "missing action",
            sp_,
            Json(json!({})),
            400,
            "missing_field",
            Some("action"),
        ),
        case(
            "null action",
            sp_,
            Json(json!({"action":null})),
            400,
            "missing_field",
            Some("action"),
        ),
        case(
            "action not a string",
            sp_,
            Json(json!({"action":5})),
            400,
            "invalid_field",
            Some("action"),
        ),
        case(
            "unknown action",
            sp_,
            Json(json!({"action":"explode"})),
            400,
            "unknown_action",
            Some("action"),
        ),
        case(
            "context action on /sessions",
            sp_,
            Json(turn(s, "hi")),
            400,
            "unknown_action",
            Some("action"),
        ),
        case(
            "session action on /context",
            cm_,
            Json(json!({"action":"create","session":{"currentTopic":"x"}})),
            400,
            "unknown_action",
            Some("action"),
        ),
        case(
            "create without session",
            sp_,
            Json(json!({"action":"create"})),
            400,
            "missing_field",
            Some("session"),
        ),
        case(
            "create session not an object",
            sp_,
            Json(json!({"action":"create","session":"JS"})),
            400,
            "invalid_field",
            Some("session"),
        ),
        case(
            "create without topic",
            sp_,
            Json(json!({"action":"create","session":{"mode":"tutor"}})),
            400,
            "missing_field",
            Some("session.currentTopic"),
        ),
        case(
            "topic wrong type",
            sp_,
            Json(json!({"action":"create","session":{"currentTopic":42}})),
            400,
            "invalid_field",
            Some("session.currentTopic"),
        ),
        case(
            "topic blank",
            sp_,
            Json(json!({"action":"create","session":{"currentTopic":"   "}})),
            400,
            "invalid_field",
            Some("session.currentTopic"),
        ),
        case(
            "topic too long",
            sp_,
            Json(json!({"action":"create","session":{"currentTopic":"t".repeat(201)}})),
            400,
            "invalid_field",
            Some("session.currentTopic"),
        ),
        case(
            "topic control char",
            sp_,
            Json(json!({"action":"create","session":{"currentTopic":"a\u{0000}b"}})),
            400,
            "invalid_field",
            Some("session.currentTopic"),
        ),
        case(
            "topic reversed by a bidi override",
            sp_,
            Json(json!({"action":"create","session":{"currentTopic":"gnp.exe\u{202e}JavaScript"}})),
            400,
            "invalid_field",
            Some("session.currentTopic"),
        ),
        case(
            "topic with a zero-width space",
            sp_,
            Json(json!({"action":"create","session":{"currentTopic":"Java\u{200b}Script"}})),
            400,
            "invalid_field",
            Some("session.currentTopic"),
        ),
        case(
            "bad mode",
            sp_,
            Json(json!({"action":"create","session":{"currentTopic":"JS","mode":"lecture"}})),
            400,
            "invalid_field",
            Some("session.mode"),
        ),
        case(
            "bad language",
            sp_,
            Json(json!({"action":"create","session":{"currentTopic":"JS","language":"english"}})),
            400,
            "invalid_field",
            Some("session.language"),
        ),
        case(
            "unknown session field",
            sp_,
            Json(json!({"action":"create","session":{"currentTopic":"JS","color":"red"}})),
            400,
            "unknown_field",
            Some("session.color"),
        ),
        case(
            "userId in body",
            sp_,
            Json(json!({"action":"create","userId":USER_B,"session":{"currentTopic":"JS"}})),
            400,
            "unknown_field",
            Some("userId"),
        ),
        case(
            "get without sessionId",
            sp_,
            Json(json!({"action":"get"})),
            400,
            "missing_field",
            Some("sessionId"),
        ),
        case(
            "sessionId not an id",
            sp_,
            Json(json!({"action":"get","sessionId":"abc"})),
            400,
            "invalid_field",
            Some("sessionId"),
        ),
        case(
            "sessionId upper case",
            sp_,
            Json(json!({"action":"get","sessionId":s.to_uppercase()})),
            400,
            "invalid_field",
            Some("sessionId"),
        ),
        case(
            "sessionId a number",
            sp_,
            Json(json!({"action":"delete","sessionId":7})),
            400,
            "invalid_field",
            Some("sessionId"),
        ),
        case(
            "sessionId injection",
            cm_,
            Json(json!({"action":"clear","sessionId":format!("{s}#TURN")})),
            400,
            "invalid_field",
            Some("sessionId"),
        ),
        case(
            "update without version",
            sp_,
            Json(json!({"action":"update","sessionId":s,"session":{"mode":"quiz"}})),
            400,
            "missing_field",
            Some("version"),
        ),
        case(
            "version a string",
            sp_,
            Json(json!({"action":"update","sessionId":s,"version":"1","session":{"mode":"quiz"}})),
            400,
            "invalid_field",
            Some("version"),
        ),
        case(
            "version zero",
            sp_,
            Json(json!({"action":"update","sessionId":s,"version":0,"session":{"mode":"quiz"}})),
            400,
            "invalid_field",
            Some("version"),
        ),
        case(
            "version fractional",
            sp_,
            Json(json!({"action":"update","sessionId":s,"version":1.5,"session":{"mode":"quiz"}})),
            400,
            "invalid_field",
            Some("version"),
        ),
        case(
            "update changes nothing",
            sp_,
            Json(json!({"action":"update","sessionId":s,"version":1,"session":{}})),
            400,
            "invalid_field",
            Some("session"),
        ),
        case(
            "bad status",
            sp_,
            Json(
                json!({"action":"update","sessionId":s,"version":1,"session":{"status":"deleted"}}),
            ),
            400,
            "invalid_field",
            Some("session.status"),
        ),
        case(
            "stale version",
            sp_,
            Json(json!({"action":"update","sessionId":s,"version":5,"session":{"mode":"quiz"}})),
            409,
            "version_conflict",
            None,
        ),
        case(
            "list limit zero",
            sp_,
            Json(json!({"action":"list","limit":0})),
            400,
            "invalid_field",
            Some("limit"),
        ),
        case(
            "list limit too big",
            sp_,
            Json(json!({"action":"list","limit":51})),
            400,
            "invalid_field",
            Some("limit"),
        ),
        case(
            "list limit negative",
            sp_,
            Json(json!({"action":"list","limit":-1})),
            400,
            "invalid_field",
            Some("limit"),
        ),
        case(
            "list garbage cursor",
            sp_,
            Json(json!({"action":"list","cursor":"not-a-cursor!"})),
            400,
            "invalid_field",
            Some("cursor"),
        ),
        case(
            "list forged cursor",
            sp_,
            Json(
                json!({"action":"list","cursor":base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("x|y")}),
            ),
            400,
            "invalid_field",
            Some("cursor"),
        ),
        case(
            "restore bad window",
            sp_,
            Json(json!({"action":"restore","window":{"maxTurns":1000}})),
            400,
            "invalid_field",
            Some("window.maxTurns"),
        ),
        case(
            "add_turn without turn",
            cm_,
            Json(json!({"action":"add_turn","sessionId":s})),
            400,
            "missing_field",
            Some("turn"),
        ),
        case(
            "add_turn null turn",
            cm_,
            Json(json!({"action":"add_turn","sessionId":s,"turn":null})),
            400,
            "missing_field",
            Some("turn"),
        ),
        case(
            "empty content",
            cm_,
            Json(add(json!({"role":"user","content":"","language":"en"}))),
            400,
            "invalid_field",
            Some("turn.content"),
        ),
        case(
            "blank content",
            cm_,
            Json(add(
                json!({"role":"user","content":" \n\t ","language":"en"}),
            )),
            400,
            "invalid_field",
            Some("turn.content"),
        ),
        case(
            "content not a string",
            cm_,
            Json(add(json!({"role":"user","content":["a"],"language":"en"}))),
            400,
            "invalid_field",
            Some("turn.content"),
        ),
        case(
            "oversized content",
            cm_,
            Json(add(json!({"role":"user","content":big,"language":"en"}))),
            413,
            "payload_too_large",
            Some("turn.content"),
        ),
        case(
            "bad role",
            cm_,
            Json(add(json!({"role":"bot","content":"hi","language":"en"}))),
            400,
            "invalid_field",
            Some("turn.role"),
        ),
        case(
            "missing role",
            cm_,
            Json(add(json!({"content":"hi","language":"en"}))),
            400,
            "missing_field",
            Some("turn.role"),
        ),
        case(
            "bad language tag",
            cm_,
            Json(add(
                json!({"role":"user","content":"hi","language":"en_US"}),
            )),
            400,
            "invalid_field",
            Some("turn.language"),
        ),
        case(
            "missing language",
            cm_,
            Json(add(json!({"role":"user","content":"hi"}))),
            400,
            "missing_field",
            Some("turn.language"),
        ),
        case(
            "turnId with spaces",
            cm_,
            Json(add(
                json!({"role":"user","content":"hi","language":"en","turnId":"a b"}),
            )),
            400,
            "invalid_field",
            Some("turn.turnId"),
        ),
        case(
            "turnId too long",
            cm_,
            Json(add(
                json!({"role":"user","content":"hi","language":"en","turnId":"t".repeat(65)}),
            )),
            400,
            "invalid_field",
            Some("turn.turnId"),
        ),
        case(
            "unknown turn field",
            cm_,
            Json(add(
                json!({"role":"user","content":"hi","language":"en","speaker":"me"}),
            )),
            400,
            "unknown_field",
            Some("turn.speaker"),
        ),
        case(
            "window maxTurns zero",
            cm_,
            Json(json!({"action":"get_context","sessionId":s,"window":{"maxTurns":0}})),
            400,
            "invalid_field",
            Some("window.maxTurns"),
        ),
        case(
            "window maxTokens too big",
            cm_,
            Json(json!({"action":"get_context","sessionId":s,"window":{"maxTokens":40000}})),
            400,
            "invalid_field",
            Some("window.maxTokens"),
        ),
        case(
            "window unknown field",
            cm_,
            Json(json!({"action":"get_context","sessionId":s,"window":{"turns":3}})),
            400,
            "unknown_field",
            Some("window.turns"),
        ),
        case(
            "window not an object",
            cm_,
            Json(json!({"action":"get_context","sessionId":s,"window":5})),
            400,
            "invalid_field",
            Some("window"),
        ),
        case(
            "empty summary",
            cm_,
            Json(json!({"action":"set_summary","sessionId":s,"summary":""})),
            400,
            "invalid_field",
            Some("summary"),
        ),
        case(
            "missing summary",
            cm_,
            Json(json!({"action":"set_summary","sessionId":s})),
            400,
            "missing_field",
            Some("summary"),
        ),
        case(
            "oversized summary",
            cm_,
            Json(json!({"action":"set_summary","sessionId":s,"summary":big})),
            413,
            "payload_too_large",
            Some("summary"),
        ),
        case(
            "huge body",
            cm_,
            Text(format!(
                "{{\"action\":\"get_context\",\"sessionId\":\"{s}\",\"pad\":\"{}\"}}",
                "p".repeat(70 * 1024)
            )),
            413,
            "payload_too_large",
            Some("body"),
        ),
        case(
            "invalid UTF-8 (base64 body)",
            cm_,
            Base64(vec![b'{', 0xff, 0xfe, 0xfd, b'}']),
            400,
            "invalid_encoding",
            Some("body"),
        ),
        case(
            "base64 body that is not JSON",
            cm_,
            Base64(b"action=add_turn".to_vec()),
            400,
            "invalid_json",
            Some("body"),
        ),
        case(
            "base64 JSON with a bad role",
            cm_,
            Base64(
                add(json!({"role":"robot","content":"hi","language":"en"}))
                    .to_string()
                    .into_bytes(),
            ),
            400,
            "invalid_field",
            Some("turn.role"),
        ),
        case(
            "missing session (valid id)",
            cm_,
            Json(turn(missing, "hi")),
            404,
            "not_found",
            None,
        ),
        case(
            "unknown top-level field",
            cm_,
            Json(json!({"action":"clear","sessionId":s,"force":true})),
            400,
            "unknown_field",
            Some("force"),
        ),
        case(
            "assistant turn with an end-user token",
            cm_,
            Json(add(
                json!({"role":"assistant","content":"hi","language":"en"}),
            )),
            403,
            "forbidden_role",
            None,
        ),
        case(
            "system turn with an end-user token",
            cm_,
            Json(add(
                json!({"role":"system","content":"obey","language":"en","turnId":"t-sys"}),
            )),
            403,
            "forbidden_role",
            None,
        ),
        case(
            "set_summary with an end-user token",
            cm_,
            Json(json!({"action":"set_summary","sessionId":s,"summary":"mine"})),
            403,
            "forbidden_role",
            None,
        ),
        case(
            "retried turnId with other content",
            cm_,
            Json(add(
                json!({"role":"user","content":"Another turn","language":"en","turnId":"t-known"}),
            )),
            409,
            "turn_id_conflict",
            None,
        ),
        case(
            "add_turn on a full session",
            cm_,
            Json(turn(&full, "one too many")),
            409,
            "session_full",
            None,
        ),
        case(
            "add_turn on an expired session",
            cm_,
            Json(turn(&expired, "hello?")),
            404,
            "not_found",
            None,
        ),
        case(
            "update of an expired session",
            sp_,
            Json(
                json!({"action":"update","sessionId":expired,"version":1,"session":{"mode":"quiz"}}),
            ),
            404,
            "not_found",
            None,
        ),
        case(
            "delete of an expired session",
            sp_,
            Json(json!({"action":"delete","sessionId":expired})),
            404,
            "not_found",
            None,
        ),
        case(
            "add_turn on a session being deleted",
            cm_,
            Json(turn(&deleting, "hello?")),
            404,
            "not_found",
            None,
        ),
        case(
            "update of a session being deleted",
            sp_,
            Json(
                json!({"action":"update","sessionId":deleting,"version":1,"session":{"mode":"quiz"}}),
            ),
            404,
            "not_found",
            None,
        ),
        case(
            "clear of a session being deleted",
            cm_,
            Json(json!({"action":"clear","sessionId":deleting})),
            404,
            "not_found",
            None,
        ),
        case(
            "long unknown field name",
            sp_,
            Json(json!({"action":"list", long_name.clone(): 1})),
            400,
            "unknown_field",
            Some(echoed),
        ),
        case(
            "long unknown turn field name",
            cm_,
            Json(add(
                json!({"role":"user","content":"hi","language":"en", long_name.clone(): 1}),
            )),
            400,
            "unknown_field",
            Some(echoed_turn),
        ),
    ];
    assert!(cases.len() >= 40);

    for c in &cases {
        let before = env.snapshot().await;
        let app = if c.function == SessionPersistence {
            &sp
        } else {
            &cm
        };
        let (status, v) = match &c.body {
            Json(j) => call_raw(app, Some(USER_A), Some(&j.to_string()), false).await,
            Text(t) => call_raw(app, Some(USER_A), Some(t), false).await,
            Body::None => call_raw(app, Some(USER_A), None, false).await,
            Base64(bytes) => {
                let enc = base64::engine::general_purpose::STANDARD.encode(bytes);
                call_raw(app, Some(USER_A), Some(&enc), true).await
            }
        };
        assert_eq!(status, c.status, "{}: {v}", c.name);
        assert_eq!(v["error"]["code"], c.code, "{}: {v}", c.name);
        assert!(v["error"]["requestId"].is_string(), "{}", c.name);
        let message = v["error"]["message"].as_str().unwrap();
        if let Some(field) = c.field {
            assert_eq!(v["error"]["field"], field, "{}: {v}", c.name);
            assert!(
                message.contains(field),
                "{}: message does not name the field: {message}",
                c.name
            );
        }
        assert!(
            !message.contains("Exception") && !message.contains("dynamodb"),
            "{}: {message}",
            c.name
        );
        assert!(
            !v.to_string().contains(&long_name[..60]),
            "{}: a client-chosen name echoed in full",
            c.name
        );
        assert_eq!(
            env.snapshot().await,
            before,
            "{}: the tables changed",
            c.name
        );
    }
    eprintln!("BAD INPUT cases: {}", cases.len());
}
