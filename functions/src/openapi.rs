//! The API contract: the OpenAPI 3.1 document of both routes, derived from
//! the request and answer types the functions use ([`crate::wire`], each
//! value's schema in [`crate::wire::schema`]). This module adds the error
//! answers (the codes of [`ApiError`]), the examples and the document around
//! them. Only built with the `openapi` feature (`cargo xtask
//! openapi`, the synth check, the contract tests), so the function binaries
//! never carry it. The tests at the end check that the schemas and
//! [`crate::wire::parse`] accept and reject the same bodies.
//!
//! Long: the error answers, the examples and the tests that tie the
//! schemas to the parser are one contract, read together.

use schemars::generate::SchemaSettings;
use schemars::Schema;
use serde_json::{json, Map, Value};

use crate::api::{Function, LOOKBACK_MAX_TURNS, MAX_TURNS_PER_SESSION};
use crate::error::{ApiError, BAD_REQUEST_CODES};
use crate::model::*;
use crate::wire::{
    AddTurnResponse, ClearResponse, ContextRequest, ContextResponse, DeleteResponse, ListResponse,
    RestoreResponse, SessionResponse, SessionsRequest,
};

/// Where the document is committed, relative to the workspace root.
pub const COMMITTED_PATH: &str = "templates/openapi.yaml";

/// One error of each kind the functions answer with. The match makes a new
/// [`ApiError`] variant a compile error here until it is documented.
fn every_error() -> Vec<ApiError> {
    let mut all: Vec<ApiError> = BAD_REQUEST_CODES
        .iter()
        .map(|c| ApiError::bad(c, "body", ""))
        .collect();
    all.extend([
        ApiError::Unauthorized,
        ApiError::ForbiddenRole,
        ApiError::NotFound,
        ApiError::Conflict(String::new()),
        ApiError::TurnIdConflict,
        ApiError::SessionFull(MAX_TURNS_PER_SESSION),
        ApiError::too_large("body", ""),
        ApiError::Integrity,
        ApiError::Internal,
        ApiError::Unavailable,
    ]);
    for e in &all {
        match e {
            ApiError::BadRequest { .. }
            | ApiError::Unauthorized
            | ApiError::NotFound
            | ApiError::ForbiddenRole
            | ApiError::Conflict(_)
            | ApiError::TurnIdConflict
            | ApiError::SessionFull(_)
            | ApiError::TooLarge { .. }
            | ApiError::Unavailable
            | ApiError::Integrity
            | ApiError::Internal => {}
        }
    }
    all
}

/// Whether `function` can answer `e` (only the context actions check the
/// writer group, and only `add_turn` has turn ids and a turn cap).
fn answers(function: Function, e: &ApiError) -> bool {
    !matches!(
        (function, e),
        (
            Function::SessionPersistence,
            ApiError::ForbiddenRole | ApiError::TurnIdConflict | ApiError::SessionFull(_)
        )
    )
}

/// A request of each action, for the rendered docs and the contract test's
/// examples phase (the tests below check the validator accepts each).
fn examples(function: Function) -> Vec<(&'static str, Value)> {
    const SID: &str = "0b5a3f9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
    match function {
        Function::SessionPersistence => vec![
            (
                "create",
                json!({"action": "create", "session": {"currentTopic": "JavaScript Basics", "mode": "tutor", "language": "en"}}),
            ),
            ("get", json!({"action": "get", "sessionId": SID})),
            (
                "update",
                json!({"action": "update", "sessionId": SID, "version": 1, "session": {"status": "paused"}}),
            ),
            ("delete", json!({"action": "delete", "sessionId": SID})),
            (
                "list",
                json!({"action": "list", "limit": DEFAULT_LIST_LIMIT}),
            ),
            (
                "restore",
                json!({"action": "restore", "window": {"maxTurns": DEFAULT_WINDOW_TURNS}}),
            ),
        ],
        Function::ContextManager => vec![
            (
                "add_turn",
                json!({"action": "add_turn", "sessionId": SID, "turn": {"role": "user", "content": "What is a closure?", "language": "en", "turnId": "turn-0001"}}),
            ),
            (
                "get_context",
                json!({"action": "get_context", "sessionId": SID, "window": {"maxTurns": DEFAULT_WINDOW_TURNS, "maxTokens": DEFAULT_WINDOW_TOKENS}}),
            ),
            (
                "set_summary",
                json!({"action": "set_summary", "sessionId": SID, "summary": "The student asked about closures."}),
            ),
            ("clear", json!({"action": "clear", "sessionId": SID})),
        ],
    }
}

const STATUS_TEXT: &[(u16, &str)] = &[
    (400, "A field is missing, of the wrong type or out of range (`field` names it)."),
    (401, "No identity: a missing, expired or foreign token (the gateway answers `{\"message\":\"Unauthorized\"}` before the function runs)."),
    (403, "The token may not write assistant or system turns or the summary, or name another user's `userId` (`forbidden_role`: both need a writer token)."),
    (404, "No such session, another user's, expired or being deleted (the same answer)."),
    (409, "A conflict: `version_conflict` (read again and retry), `turn_id_conflict`, `session_full`."),
    (413, "The body or a field is too large (`field` names it)."),
    (500, "An internal error."),
    (503, "A dependency failed; safe to retry (`retryable: true`)."),
];

fn error_schemas(defs: &mut Map<String, Value>) {
    defs.insert(
        "Error".into(),
        json!({
            "type": "object",
            "description": "What every function error answers.",
            "required": ["error"],
            "additionalProperties": false,
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message", "requestId"],
                    "additionalProperties": false,
                    "properties": {
                        "code": { "type": "string", "enum": codes(|_| true) },
                        "message": { "type": "string" },
                        "requestId": { "type": "string" },
                        "field": { "type": "string", "description": "The request field at fault (400, 413): a dotted path." },
                        "retryable": { "const": true, "description": "On 503 only." },
                    },
                },
            },
        }),
    );
    defs.insert(
        "GatewayError".into(),
        json!({
            "type": "object",
            "description": "What API Gateway itself answers (e.g. 401 before the function runs).",
            "required": ["message"],
            "additionalProperties": false,
            "properties": { "message": { "type": "string" } },
        }),
    );
}

/// The documented codes of the errors `keep` selects, in a stable order.
fn codes(keep: impl Fn(&ApiError) -> bool) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for e in every_error().iter().filter(|e| keep(e)) {
        if !out.contains(&e.code()) {
            out.push(e.code());
        }
    }
    out
}

fn error_response(function: Function, status: u16, text: &str) -> Value {
    let codes = codes(|e| e.status().as_u16() == status && answers(function, e));
    let mut schema = json!({
        "allOf": [{ "$ref": "#/components/schemas/Error" }],
        "properties": { "error": { "properties": { "code": { "enum": codes } } } },
    });
    // The gateway answers these itself too, in its own shape: 401 from the
    // JWT authorizer, 413 for a body past its limit, 500 and 503 when the
    // integration fails (a crashed or unavailable function)
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html).
    if matches!(status, 401 | 413 | 500 | 503) {
        schema = json!({ "oneOf": [schema, { "$ref": "#/components/schemas/GatewayError" }] });
    }
    json!({
        "description": text,
        "content": { "application/json": { "schema": schema } },
    })
}

/// `ok`: each action answered with 200 and the schema of its answer.
fn operation(
    function: Function,
    request: Schema,
    ok: &[(&str, Schema)],
    created: Option<Schema>,
) -> Value {
    let (summary, id, actions) = match function {
        Function::SessionPersistence => (
            "Sessions: create, get, update, delete, list, restore",
            "sessions",
            "Create, read, update (optimistic `version`), delete, list (newest first, opaque cursor) and restore sessions of the caller (the token's `sub`).",
        ),
        Function::ContextManager => (
            "Context: add_turn, get_context, set_summary, clear",
            "context",
            "Add a turn (idempotent with `turnId`), read the context window, set the rolling summary, clear the context.",
        ),
    };
    let mut one_of: Vec<&Schema> = vec![];
    let mut mapping = Map::new();
    for (action, schema) in ok {
        if !one_of.contains(&schema) {
            one_of.push(schema);
        }
        mapping.insert(action.to_string(), schema.as_value()["$ref"].clone());
    }
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({
            "description": "The action's answer; its `action` is the request's.",
            "content": { "application/json": { "schema": {
                "oneOf": one_of,
                "discriminator": { "propertyName": "action", "mapping": mapping },
            } } },
        }),
    );
    if let Some(c) = created {
        responses.insert(
            "201".into(),
            json!({
                "description": "`create`: the new session.",
                "content": { "application/json": { "schema": c } },
            }),
        );
    }
    for (status, text) in STATUS_TEXT {
        if !codes(|e| e.status().as_u16() == *status && answers(function, e)).is_empty() {
            responses.insert(status.to_string(), error_response(function, *status, text));
        }
    }
    // Only the gateway answers 429: the stage's throttle, before the function.
    responses.insert(
        "429".into(),
        json!({
            "description": "The stage's throttle (`{\"message\":\"Too Many Requests\"}` from the gateway; the function never ran): retry after a backoff.",
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/GatewayError" } } },
        }),
    );
    json!({
        "operationId": id,
        "summary": summary,
        "description": format!(
            "{actions} Requests are at most {MAX_BODY_BYTES} bytes; the body's `action` selects the shape."
        ),
        "security": [{ "bearerAuth": [] }],
        "requestBody": {
            "required": true,
            "content": { "application/json": {
                "schema": request,
                "examples": examples(function)
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), json!({ "value": value })))
                    .collect::<Map<String, Value>>(),
            } },
        },
        "responses": responses,
    })
}

/// The OpenAPI 3.1 document of both routes.
pub fn document() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut g = settings.into_generator();

    let sessions_req = g.subschema_for::<SessionsRequest>();
    let session = g.subschema_for::<SessionResponse>();
    let sessions_ok = vec![
        ("get", session.clone()),
        ("update", session.clone()),
        ("delete", g.subschema_for::<DeleteResponse>()),
        ("list", g.subschema_for::<ListResponse>()),
        ("restore", g.subschema_for::<RestoreResponse>()),
    ];
    let created = g.subschema_for::<SessionResponse>();
    let context_req = g.subschema_for::<ContextRequest>();
    let context_ok = vec![
        ("add_turn", g.subschema_for::<AddTurnResponse>()),
        ("get_context", g.subschema_for::<ContextResponse>()),
        ("set_summary", session),
        ("clear", g.subschema_for::<ClearResponse>()),
    ];
    let sessions = operation(
        Function::SessionPersistence,
        sessions_req,
        &sessions_ok,
        Some(created),
    );
    let context = operation(Function::ContextManager, context_req, &context_ok, None);
    let mut schemas = g.take_definitions(true);
    error_schemas(&mut schemas);
    schemas.sort_keys();

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Voice learning assistant: sessions and context",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "Generated by `cargo xtask openapi` from the functions' code; `cargo xtask synth --check` fails when this file is stale. \
                 The caller is the JWT's `sub`. Limits: {MAX_TURNS_PER_SESSION} turns per session between clears (409 session_full), \
                 add_turn answers with at most {LOOKBACK_MAX_TURNS} turns of context (get_context serves larger windows)."
            ),
        },
        "servers": [
            { "url": "http://127.0.0.1:3000", "description": "cargo xtask dev" },
            {
                "url": "https://{apiId}.execute-api.{region}.amazonaws.com",
                "description": "A deployed stack (its HttpApiUrl output)",
                "variables": {
                    "apiId": { "default": "example" },
                    "region": { "default": "us-east-1" },
                },
            },
        ],
        "security": [{ "bearerAuth": [] }],
        "paths": {
            "/sessions": { "post": sessions },
            "/context": { "post": context },
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Cognito ID or access token of the stack's user pool and client (locally: `cargo xtask dev token`). assistant/system turns and set_summary need a token in the Cognito group AssistantWriterGroup (default assistant-writers; a scope does not count): `cargo xtask dev token --group assistant-writers`.",
                },
            },
            "schemas": schemas,
        },
    })
}

/// [`document`] as the committed YAML.
pub fn yaml() -> String {
    serde_norway::to_string(&document()).expect("a JSON value serializes to YAML")
}

/// The document's request schemas and [`crate::wire::parse`] accept
/// and reject the same bodies: the validator's fixtures of each kind, and
/// sweeps over each field's edge values.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::schema::HIDDEN;

    const SID: &str = "0b5a3f9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";

    struct Route {
        function: Function,
        schema: jsonschema::Validator,
    }

    fn route(function: Function) -> Route {
        let doc = document();
        let name = match function {
            Function::SessionPersistence => "SessionsRequest",
            Function::ContextManager => "ContextRequest",
        };
        let schema = json!({
            "$ref": format!("#/components/schemas/{name}"),
            "components": doc["components"],
        });
        Route {
            function,
            schema: jsonschema::validator_for(&schema).expect("a valid JSON Schema"),
        }
    }

    /// Whether the validator and the schema agree on `body`; the verdict.
    fn agree(r: &Route, body: &Value) -> bool {
        let validator = crate::wire::parse(&body.to_string(), r.function, &mut "unknown").is_ok();
        let schema = r.schema.is_valid(body);
        assert_eq!(
            validator, schema,
            "validator {validator}, schema {schema}: {body}"
        );
        validator
    }

    #[test]
    fn requests_are_accepted_and_rejected_alike() {
        let s = route(Function::SessionPersistence);
        let c = route(Function::ContextManager);
        let valid_sessions = [
            json!({"action":"create","session":{"currentTopic":"JavaScript Basics","mode":"tutor"}}),
            json!({"action":"create","session":{"currentTopic":"  padded  ","mode":null,"language":"pt-BR"}}),
            json!({"action":"get","sessionId":SID}),
            json!({"action":"delete","sessionId":SID}),
            json!({"action":"update","sessionId":SID,"version":3,"session":{"status":"paused"}}),
            json!({"action":"update","sessionId":SID,"version":3.0,"session":{"mode":null,"language":"en"}}),
            json!({"action":"list"}),
            json!({"action":"list","limit":MAX_LIST_LIMIT,"cursor":"abc"}),
            json!({"action":"list","limit":null,"cursor":null}),
            json!({"action":"restore"}),
            json!({"action":"restore","sessionId":SID,"window":{"maxTurns":MAX_WINDOW_TURNS,"maxTokens":null}}),
        ];
        for b in &valid_sessions {
            assert!(agree(&s, b), "{b}");
        }
        let turn = |t: Value| json!({"action":"add_turn","sessionId":SID,"turn":t});
        let valid_context = [
            turn(json!({"role":"user","content":"What is a closure?","language":"en"})),
            turn(
                json!({"role":"assistant","content":" x ","language":"zh-Hant-TW","turnId":"a.b:c-d_e"}),
            ),
            json!({"action":"get_context","sessionId":SID,"window":{"maxTurns":1,"maxTokens":MAX_WINDOW_TOKENS}}),
            json!({"action":"set_summary","sessionId":SID,"summary":"so far"}),
            json!({"action":"clear","sessionId":SID}),
        ];
        for b in &valid_context {
            assert!(agree(&c, b), "{b}");
        }

        let big = "x".repeat(MAX_CONTENT_BYTES + 1);
        let bad_sessions = [
            json!([]),
            json!("create"),
            json!({}),
            json!({"action":5}),
            json!({"action":"add_turn","sessionId":SID}),
            json!({"action":"nope"}),
            json!({"action":"create"}),
            json!({"action":"create","session":"x"}),
            json!({"action":"create","session":{}}),
            json!({"action":"create","session":{"currentTopic":"  "}}),
            json!({"action":"create","session":{"currentTopic":"a\u{1}b"}}),
            json!({"action":"create","session":{"currentTopic":"x".repeat(MAX_TOPIC_CHARS + 1)}}),
            json!({"action":"create","session":{"currentTopic":"x","mode":"lecture"}}),
            json!({"action":"create","session":{"currentTopic":"x","language":"en_US"}}),
            json!({"action":"create","session":{"currentTopic":"x","colour":"red"}}),
            json!({"action":"create","session":{"currentTopic":"x"},"extra":1}),
            json!({"action":"get"}),
            json!({"action":"get","sessionId":null}),
            json!({"action":"get","sessionId":SID.to_uppercase()}),
            json!({"action":"get","sessionId":"not-a-uuid"}),
            json!({"action":"update","sessionId":SID,"session":{"status":"paused"}}),
            json!({"action":"update","sessionId":SID,"version":0,"session":{"status":"paused"}}),
            json!({"action":"update","sessionId":SID,"version":1.5,"session":{"status":"paused"}}),
            json!({"action":"update","sessionId":SID,"version":"1","session":{"status":"paused"}}),
            json!({"action":"update","sessionId":SID,"version":1,"session":{}}),
            json!({"action":"update","sessionId":SID,"version":1,"session":{"mode":null}}),
            json!({"action":"update","sessionId":SID,"version":1,"session":{"status":"deleting"}}),
            json!({"action":"list","limit":0}),
            json!({"action":"list","limit":MAX_LIST_LIMIT + 1}),
            json!({"action":"list","cursor":""}),
            json!({"action":"list","cursor":"c".repeat(513)}),
            json!({"action":"restore","window":{"maxTurns":MAX_WINDOW_TURNS + 1}}),
            json!({"action":"restore","window":{"turns":5}}),
            json!({"action":"restore","window":[]}),
            // A list in an object's place, with as many items as its fields.
            json!({"action":"restore","window":[null, null]}),
            json!({"action":"create","session":["x", null, null]}),
            json!({"action":"update","sessionId":SID,"version":1,"session":[null, "quiz", null, null]}),
        ];
        for b in &bad_sessions {
            assert!(!agree(&s, b), "{b}");
        }
        let bad_context = [
            json!({"action":"get","sessionId":SID}),
            json!({"action":"add_turn","sessionId":SID}),
            turn(json!({"role":"bot","content":"x","language":"en"})),
            turn(json!({"role":"user","content":"   ","language":"en"})),
            turn(json!({"role":"user","content":big,"language":"en"})),
            turn(json!({"role":"user","content":"x"})),
            turn(json!({"role":"user","content":"x","language":"english1"})),
            turn(json!({"role":"user","content":"x","language":"en","turnId":""})),
            turn(json!({"role":"user","content":"x","language":"en","turnId":"a b"})),
            turn(
                json!({"role":"user","content":"x","language":"en","turnId":"t".repeat(MAX_TURN_ID_CHARS + 1)}),
            ),
            turn(json!({"role":"user","content":"x","language":"en","seq":1})),
            json!({"action":"get_context","sessionId":SID,"window":{"maxTokens":MAX_WINDOW_TOKENS + 1}}),
            json!({"action":"get_context","sessionId":SID,"window":{"maxTurns":-1}}),
            json!({"action":"set_summary","sessionId":SID}),
            json!({"action":"set_summary","sessionId":SID,"summary":" \n "}),
            json!({"action":"set_summary","sessionId":SID,"summary":"x".repeat(MAX_SUMMARY_BYTES + 1)}),
            json!({"action":"clear","sessionId":SID,"all":true}),
        ];
        for b in &bad_context {
            assert!(!agree(&c, b), "{b}");
        }
    }

    /// The schema's class of hidden characters is `model::HIDDEN_CHARS`,
    /// no more and no less.
    #[test]
    fn the_hidden_character_class_is_the_validators() {
        let class = regex_lite_class(HIDDEN);
        let mut listed: Vec<char> = crate::model::HIDDEN_CHARS.to_vec();
        listed.sort_unstable();
        assert_eq!(class, listed);
    }

    /// The characters of a regex class body of `\uXXXX` escapes and ranges.
    fn regex_lite_class(body: &str) -> Vec<char> {
        let cps: Vec<u32> = body
            .split("\\u")
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (hex, rest) = p.split_at(4);
                assert!(rest.is_empty() || rest == "-", "{body}");
                u32::from_str_radix(hex, 16).unwrap() | if rest == "-" { 1 << 31 } else { 0 }
            })
            .collect();
        let mut out = vec![];
        let mut i = 0;
        while i < cps.len() {
            if cps[i] & (1 << 31) != 0 {
                let (from, to) = (cps[i] & !(1 << 31), cps[i + 1]);
                out.extend((from..=to).filter_map(char::from_u32));
                i += 2;
            } else {
                out.push(char::from_u32(cps[i]).unwrap());
                i += 1;
            }
        }
        out.sort_unstable();
        out
    }

    /// Edge values of each constrained field, one at a time.
    #[test]
    fn field_sweeps_agree() {
        let s = route(Function::SessionPersistence);
        let c = route(Function::ContextManager);
        let long = |n: usize| "é".repeat(n);
        let topics = [
            json!("a"),
            json!(" a "),
            json!("\t\nTopic\u{3000}"),
            json!("a b"),
            json!("a\tb"),
            json!("\u{1}a"),
            json!("a\u{7f}"),
            json!("\u{85}a\u{85}"),
            json!("a\u{1c}"),
            // Bidirectional formatting and invisible characters are refused;
            // the zero-width joiners that scripts and emoji need are not.
            json!("abc\u{202e}cba"),
            json!("\u{2066}x\u{2069}"),
            json!("a\u{200b}b"),
            json!("\u{feff}Topic"),
            json!("a\u{061c}b"),
            json!("می\u{200c}خواهم"),
            json!("👩\u{200d}🏫 classes"),
            json!(long(MAX_TOPIC_CHARS)),
            json!(format!("  {}  ", long(MAX_TOPIC_CHARS))),
            json!(long(MAX_TOPIC_CHARS + 1)),
            json!(""),
            json!(5),
        ];
        for t in topics {
            agree(&s, &json!({"action":"create","session":{"currentTopic":t}}));
        }
        for l in [
            "en",
            "pt-BR",
            "es-419",
            "sgn-BE-FR",
            "e",
            "english",
            "en-",
            "-en",
            "en--US",
            "en-toolongsub",
            "12",
            "en-GB-oxendict-x-aaaaaaaa-bbbbbbbb",
            "en\n",
        ] {
            agree(
                &c,
                &json!({"action":"add_turn","sessionId":SID,"turn":{"role":"user","content":"x","language":l}}),
            );
        }
        for n in [
            json!(0),
            json!(1),
            json!(MAX_WINDOW_TURNS),
            json!(MAX_WINDOW_TURNS + 1),
            // No integral floats (2.0) here: the jsonschema crate's check of
            // a type list misses them; `version` above has one.
            json!(2.5),
            json!(1e30),
            json!(null),
            json!("2"),
            json!(true),
        ] {
            agree(
                &c,
                &json!({"action":"get_context","sessionId":SID,"window":{"maxTurns":n}}),
            );
            agree(&s, &json!({"action":"list","limit":n}));
        }
        for id in ["t", "T-1_2.3:4", "", "a/b", "é"] {
            agree(
                &c,
                &json!({"action":"add_turn","sessionId":SID,"turn":{"role":"user","content":"x","language":"en","turnId":id}}),
            );
        }
    }

    #[test]
    fn the_examples_are_valid_requests() {
        for f in [Function::SessionPersistence, Function::ContextManager] {
            let r = route(f);
            let names: Vec<&str> = examples(f).iter().map(|(n, _)| *n).collect();
            assert_eq!(
                names,
                crate::wire::actions(f),
                "one example per action, in order"
            );
            for (_, body) in examples(f) {
                assert!(agree(&r, &body), "{body}");
            }
        }
    }

    #[test]
    fn every_error_code_is_documented_under_its_status() {
        let doc = document();
        for e in every_error() {
            let routes: &[(&str, Function)] = &[
                ("/sessions", Function::SessionPersistence),
                ("/context", Function::ContextManager),
            ];
            for (path, f) in routes {
                let r = &doc["paths"][path]["post"]["responses"][e.status().as_str()];
                let text = r.to_string();
                assert_eq!(
                    text.contains(&format!("\"{}\"", e.code())),
                    answers(*f, &e),
                    "{path} {} {}",
                    e.status(),
                    e.code()
                );
            }
        }
    }
}
