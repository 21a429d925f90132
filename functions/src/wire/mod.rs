//! The API's JSON, once: serde types of every request ([`request`]) and
//! answer ([`answer`]), built from validated values ([`scalars`]). The
//! functions parse bodies into them ([`parse`]), answer with them, and the
//! OpenAPI document (feature `openapi`) is derived from them; a client (the
//! smoke request, the benchmark) builds its bodies from the same types.
//!
//! Every validation error names the field (dotted path) it is about, with a
//! stable code: serde's errors are mapped to the codes the API documents
//! ([`crate::error::BAD_REQUEST_CODES`]).

pub mod answer;
pub mod request;
pub mod scalars;
#[cfg(feature = "openapi")]
pub mod schema;

pub use answer::*;
pub use request::*;
pub use scalars::*;

use serde_json::Value;
use serde_path_to_error::Segment;

use crate::error::ApiError;
use crate::model::echoed_name;
use stack::Function;

/// A request of either route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Sessions(SessionsRequest),
    Context(ContextRequest),
}

impl Request {
    pub fn name(&self) -> &'static str {
        match self {
            Request::Sessions(r) => r.name(),
            Request::Context(r) => r.name(),
        }
    }

    /// The session owner a writer names (`userId`), for the actions that
    /// take one.
    pub fn owner(&self) -> Option<&str> {
        match self {
            Request::Sessions(_) => None,
            Request::Context(r) => r.owner().map(|u| u.as_str()),
        }
    }
}

/// The actions of `function`'s route.
pub fn actions(function: Function) -> &'static [&'static str] {
    match function {
        Function::SessionPersistence => SessionsRequest::ACTIONS,
        Function::ContextManager => ContextRequest::ACTIONS,
    }
}

/// Parses and validates a request body (already size-checked and UTF-8)
/// for `function`'s route, setting `name` to the action as soon as it is
/// known (for the request log, even when a later field is invalid).
pub fn parse(body: &str, function: Function, name: &mut &'static str) -> Result<Request, ApiError> {
    let value: Value = serde_json::from_str(body)
        .map_err(|_| ApiError::bad("invalid_json", "body", "is not valid JSON"))?;
    let Value::Object(mut fields) = value else {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    };
    let action = match fields.remove("action") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad("missing_field", "action", "is required"))
        }
        Some(Value::String(s)) => s,
        Some(_) => return Err(ApiError::invalid("action", "must be a string")),
    };
    let actions = actions(function);
    let Some(known) = actions.iter().find(|a| **a == action) else {
        return Err(unknown_action(actions));
    };
    *name = known;
    let fields = Value::Object(fields);
    Ok(match function {
        Function::SessionPersistence => {
            Request::Sessions(SessionsRequest::from_fields(known, fields)?)
        }
        Function::ContextManager => Request::Context(ContextRequest::from_fields(known, fields)?),
    })
}

fn unknown_action(actions: &[&str]) -> ApiError {
    ApiError::bad(
        "unknown_action",
        "action",
        format!("must be one of {}", actions.join(", ")),
    )
}

/// `T` from a body's fields, its serde error as the API's.
fn deserialize<T: request::Checked>(fields: Value) -> Result<T, ApiError> {
    let parsed: T = serde_path_to_error::deserialize(&fields).map_err(|e| {
        let segments: Vec<&Segment> = e.path().iter().collect();
        api_error(&segments, &e.inner().to_string())
    })?;
    // No request field is a list, yet serde's derived structs also read one
    // (fields in order): a list the parse accepted stood for an object.
    if let Some(at) = first_list(&fields, "") {
        return Err(ApiError::invalid(at, "must be a JSON object"));
    }
    parsed.check()?;
    Ok(parsed)
}

/// The path of the first list in `v` (keys in order), if there is one.
fn first_list(v: &Value, at: &str) -> Option<String> {
    match v {
        Value::Array(_) => Some(at.to_string()),
        Value::Object(m) => m.iter().find_map(|(k, v)| {
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            first_list(v, &path)
        }),
        _ => None,
    }
}

/// The API's error for serde's `message` at `path`.
fn api_error(path: &[&Segment], message: &str) -> ApiError {
    let join = |segments: &[&Segment]| {
        segments
            .iter()
            .map(|s| match s {
                Segment::Map { key } => key.clone(),
                Segment::Seq { index } => index.to_string(),
                _ => "?".to_string(),
            })
            .collect::<Vec<_>>()
            .join(".")
    };
    let at = join(path);
    let child = |name: &str| {
        if at.is_empty() {
            name.to_string()
        } else {
            format!("{at}.{name}")
        }
    };
    if let Some(invalid) = Invalid::from_serde(message) {
        return if invalid.too_large {
            ApiError::too_large(at, invalid.message)
        } else {
            ApiError::invalid(at, invalid.message)
        };
    }
    if message.starts_with("unknown field `") {
        // The path ends at the unknown key, which is the client's text:
        // echoed shortened.
        if let Some((Segment::Map { key }, parent)) = path.split_last() {
            let parent = join(parent);
            let name = echoed_name(key);
            let field = if parent.is_empty() {
                name
            } else {
                format!("{parent}.{name}")
            };
            return ApiError::bad("unknown_field", field, "is not a known field");
        }
    }
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        return ApiError::bad("missing_field", child(name), "is required");
    }
    if message.starts_with("invalid type: null") {
        return ApiError::bad("missing_field", at, "is required");
    }
    let what = if message.contains("expected a string") {
        "must be a string"
    } else if message.contains("expected an integer") {
        "must be an integer"
    } else if message.contains("expected struct") || message.contains("expected a map") {
        "must be a JSON object"
    } else {
        "has the wrong type"
    };
    ApiError::invalid(at, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "0b5a3f9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";

    fn parse_for(f: Function, body: &str) -> Result<Request, ApiError> {
        parse(body, f, &mut "unknown")
    }

    #[test]
    fn seed_requests_parse() {
        let a = parse_for(
            Function::SessionPersistence,
            r#"{"action":"create","session":{"currentTopic":"JavaScript Basics","mode":"tutor"}}"#,
        )
        .unwrap();
        assert_eq!(a.name(), "create");
        let b = parse_for(
            Function::ContextManager,
            &format!(r#"{{"action":"add_turn","sessionId":"{SID}","turn":{{"role":"user","content":"What is a closure?","language":"en"}}}}"#),
        )
        .unwrap();
        assert_eq!(b.name(), "add_turn");
    }

    #[test]
    fn errors_name_fields() {
        let e = parse_for(
            Function::SessionPersistence,
            r#"{"action":"create","session":{"currentTopic":5}}"#,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("session.currentTopic"));
        assert_eq!(e.code(), "invalid_field");
        let e = parse_for(
            Function::ContextManager,
            &format!(r#"{{"action":"add_turn","sessionId":"{SID}","turn":{{"role":"bot","content":"x","language":"en"}}}}"#),
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("turn.role"));
        let e = parse_for(
            Function::SessionPersistence,
            r#"{"action":"restore","window":[null,null]}"#,
        )
        .unwrap_err();
        assert_eq!((e.code(), e.field()), ("invalid_field", Some("window")));
        let e = parse_for(Function::SessionPersistence, r#"{"action":"add_turn"}"#).unwrap_err();
        assert_eq!(e.code(), "unknown_action");
        let e = parse_for(
            Function::ContextManager,
            &format!(r#"{{"action":"add_turn","sessionId":"{SID}","turn":{{"content":"x","language":"en","colour":1}}}}"#),
        )
        .unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("unknown_field", Some("turn.colour"))
        );
        let e = parse_for(
            Function::ContextManager,
            &format!(r#"{{"action":"add_turn","sessionId":"{SID}","turn":{{"content":"x","language":"en"}}}}"#),
        )
        .unwrap_err();
        assert_eq!((e.code(), e.field()), ("missing_field", Some("turn.role")));
    }

    /// What a client builds is what the function reads back.
    #[test]
    fn a_built_request_round_trips() {
        let sent = ContextRequest::AddTurn(AddTurn {
            session_id: SessionId::try_from(SID).unwrap(),
            turn: NewTurn {
                role: Role::User,
                content: Content::try_from("What is a closure?").unwrap(),
                language: LanguageTag::try_from("en").unwrap(),
                turn_id: Some(TurnId::try_from("t-1").unwrap()),
            },
            window: Some(Window {
                max_turns: Some(MaxTurns::new(5).unwrap()),
                max_tokens: None,
            }),
            user_id: None,
        });
        let body = serde_json::to_string(&sent).unwrap();
        assert!(body.starts_with(r#"{"action":"add_turn","#), "{body}");
        assert_eq!(
            parse_for(Function::ContextManager, &body).unwrap(),
            Request::Context(sent)
        );
    }
}
