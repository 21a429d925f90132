//! Domain types and request validation. Every validation error names the
//! field (dotted path) it is about.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// Largest request body accepted (after base64 decoding).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest turn `content`, in UTF-8 bytes.
pub const MAX_CONTENT_BYTES: usize = 16 * 1024;
/// Largest `summary`, in UTF-8 bytes.
pub const MAX_SUMMARY_BYTES: usize = 16 * 1024;
/// Largest `currentTopic`, in characters.
pub const MAX_TOPIC_CHARS: usize = 200;
/// Largest client `turnId`.
pub const MAX_TURN_ID_CHARS: usize = 64;
/// How much of an unknown field's name an error echoes (the name is the
/// client's text: it is shortened, and never logged).
pub const MAX_ECHOED_NAME_CHARS: usize = 32;
/// Window defaults and server maximums.
pub const DEFAULT_WINDOW_TURNS: u32 = 20;
pub const MAX_WINDOW_TURNS: u32 = 100;
pub const DEFAULT_WINDOW_TOKENS: u32 = 4000;
pub const MAX_WINDOW_TOKENS: u32 = 32_000;
/// `list` page size default and maximum.
pub const DEFAULT_LIST_LIMIT: u32 = 20;
pub const MAX_LIST_LIMIT: u32 = 50;

pub const MODES: &[&str] = &["tutor", "practice", "quiz", "conversation", "review"];
pub const STATUSES: &[&str] = &["active", "paused", "completed"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
    System,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            "system" => Some(Role::System),
            _ => None,
        }
    }
}

/// How much context to return: the most recent turns, at most `max_turns`
/// and at most `max_tokens` estimated tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpec {
    pub max_turns: u32,
    pub max_tokens: u32,
}

impl Default for WindowSpec {
    fn default() -> Self {
        WindowSpec {
            max_turns: DEFAULT_WINDOW_TURNS,
            max_tokens: DEFAULT_WINDOW_TOKENS,
        }
    }
}

/// A new turn as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTurn {
    pub role: Role,
    pub content: String,
    pub language: String,
    pub turn_id: Option<String>,
}

/// Changes `update` may make.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionChanges {
    pub current_topic: Option<String>,
    pub mode: Option<String>,
    pub language: Option<String>,
    pub status: Option<String>,
}

/// `create`'s input; unset fields come from the user's profile, then defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewSession {
    pub current_topic: String,
    pub mode: Option<String>,
    pub language: Option<String>,
}

/// A validated request of either function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Create(NewSession),
    Get {
        session_id: String,
    },
    Update {
        session_id: String,
        version: u64,
        changes: SessionChanges,
    },
    Delete {
        session_id: String,
    },
    List {
        limit: u32,
        cursor: Option<String>,
    },
    Restore {
        session_id: Option<String>,
        window: WindowSpec,
    },
    /// `owner` (here and below): the body's `userId`, the session owner a
    /// writer acts for.
    AddTurn {
        session_id: String,
        turn: NewTurn,
        window: WindowSpec,
        owner: Option<String>,
    },
    GetContext {
        session_id: String,
        window: WindowSpec,
        owner: Option<String>,
    },
    SetSummary {
        session_id: String,
        summary: String,
        owner: Option<String>,
    },
    Clear {
        session_id: String,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Create(_) => "create",
            Action::Get { .. } => "get",
            Action::Update { .. } => "update",
            Action::Delete { .. } => "delete",
            Action::List { .. } => "list",
            Action::Restore { .. } => "restore",
            Action::AddTurn { .. } => "add_turn",
            Action::GetContext { .. } => "get_context",
            Action::SetSummary { .. } => "set_summary",
            Action::Clear { .. } => "clear",
        }
    }

    /// The session owner a writer names (`userId`), for the actions that
    /// take one.
    pub fn owner(&self) -> Option<&str> {
        match self {
            Action::AddTurn { owner, .. }
            | Action::GetContext { owner, .. }
            | Action::SetSummary { owner, .. } => owner.as_deref(),
            _ => None,
        }
    }
}

pub const SESSION_ACTIONS: &[&str] = &["create", "get", "update", "delete", "list", "restore"];
pub const CONTEXT_ACTIONS: &[&str] = &["add_turn", "get_context", "set_summary", "clear"];

/// A JSON object being validated, with its path for error messages.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Value, path: &str) -> Result<Self, ApiError> {
        match v {
            Value::Object(map) => Ok(Obj {
                map,
                path: path.to_string(),
            }),
            _ => Err(ApiError::invalid(path, "must be a JSON object")),
        }
    }

    fn field(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        // Report the first unknown field in a stable (sorted) order.
        let mut unknown: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .collect();
        unknown.sort();
        match unknown.first() {
            Some(k) => Err(ApiError::bad(
                "unknown_field",
                self.field(&echoed_name(k)),
                "is not a known field",
            )),
            None => Ok(()),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        match self.map.get(name) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    fn str_opt(&self, name: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid(self.field(name), "must be a string")),
        }
    }

    fn str_req(&self, name: &str) -> Result<&'a str, ApiError> {
        self.str_opt(name)?
            .ok_or_else(|| ApiError::bad("missing_field", self.field(name), "is required"))
    }

    fn uint_opt(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            // 15.0 is the integer 15, as JSON Schema (and the API's
            // OpenAPI document) has it.
            Some(Value::Number(n)) => match n
                .as_u64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as u64))
            {
                Some(v) if (min..=max).contains(&v) => Ok(Some(v)),
                _ => Err(ApiError::invalid(
                    self.field(name),
                    format!("must be an integer from {min} to {max}"),
                )),
            },
            Some(_) => Err(ApiError::invalid(self.field(name), "must be an integer")),
        }
    }

    fn obj_opt(&self, name: &str) -> Result<Option<Obj<'a>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => Obj::new(v, &self.field(name)).map(Some),
        }
    }

    fn obj_req(&self, name: &str) -> Result<Obj<'a>, ApiError> {
        self.obj_opt(name)?
            .ok_or_else(|| ApiError::bad("missing_field", self.field(name), "is required"))
    }
}

/// A client-chosen name as errors echo it: at most
/// [`MAX_ECHOED_NAME_CHARS`] characters, then `…`.
pub fn echoed_name(name: &str) -> String {
    match name.char_indices().nth(MAX_ECHOED_NAME_CHARS) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name.to_string(),
    }
}

/// Parses and validates a request body (already size-checked and UTF-8)
/// into an [`Action`] among `allowed`.
pub fn parse_action(body: &str, allowed: &[&'static str]) -> Result<Action, ApiError> {
    parse_action_named(body, allowed, &mut "unknown")
}

/// [`parse_action`], also reporting the action's name as soon as it is known
/// (for the request log, even when a later field is invalid).
pub fn parse_action_named(
    body: &str,
    allowed: &[&'static str],
    name: &mut &'static str,
) -> Result<Action, ApiError> {
    let value: Value = serde_json::from_str(body)
        .map_err(|_| ApiError::bad("invalid_json", "body", "is not valid JSON"))?;
    let root =
        Obj::new(&value, "").map_err(|_| ApiError::invalid("body", "must be a JSON object"))?;
    let action = root.str_req("action")?;
    if !allowed.contains(&action) {
        return Err(ApiError::bad(
            "unknown_action",
            "action",
            format!("must be one of {}", allowed.join(", ")),
        ));
    }
    if let Some(known) = allowed.iter().find(|a| **a == action) {
        *name = known;
    }
    match action {
        "create" => {
            root.only(&["action", "session"])?;
            let s = root.obj_req("session")?;
            s.only(&["currentTopic", "mode", "language"])?;
            Ok(Action::Create(NewSession {
                current_topic: topic(s.str_req("currentTopic")?, &s.field("currentTopic"))?,
                mode: s
                    .str_opt("mode")?
                    .map(|m| mode(m, &s.field("mode")))
                    .transpose()?,
                language: s
                    .str_opt("language")?
                    .map(|l| language(l, &s.field("language")))
                    .transpose()?,
            }))
        }
        "get" | "delete" | "clear" => {
            root.only(&["action", "sessionId"])?;
            let session_id = session_id(root.str_req("sessionId")?)?;
            Ok(match action {
                "get" => Action::Get { session_id },
                "delete" => Action::Delete { session_id },
                _ => Action::Clear { session_id },
            })
        }
        "update" => {
            root.only(&["action", "sessionId", "version", "session"])?;
            let session_id = session_id(root.str_req("sessionId")?)?;
            let version = root
                .uint_opt("version", 1, u32::MAX as u64)?
                .ok_or_else(|| ApiError::bad("missing_field", "version", "is required"))?;
            let s = root.obj_req("session")?;
            s.only(&["currentTopic", "mode", "language", "status"])?;
            let changes = SessionChanges {
                current_topic: s
                    .str_opt("currentTopic")?
                    .map(|t| topic(t, &s.field("currentTopic")))
                    .transpose()?,
                mode: s
                    .str_opt("mode")?
                    .map(|m| mode(m, &s.field("mode")))
                    .transpose()?,
                language: s
                    .str_opt("language")?
                    .map(|l| language(l, &s.field("language")))
                    .transpose()?,
                status: s
                    .str_opt("status")?
                    .map(|v| status(v, &s.field("status")))
                    .transpose()?,
            };
            if changes == SessionChanges::default() {
                return Err(ApiError::invalid(
                    "session",
                    "must change at least one of currentTopic, mode, language, status",
                ));
            }
            Ok(Action::Update {
                session_id,
                version,
                changes,
            })
        }
        "list" => {
            root.only(&["action", "limit", "cursor"])?;
            let limit = root
                .uint_opt("limit", 1, MAX_LIST_LIMIT as u64)?
                .unwrap_or(DEFAULT_LIST_LIMIT as u64) as u32;
            let cursor = root.str_opt("cursor")?.map(str::to_string);
            if let Some(c) = &cursor {
                if c.is_empty() || c.len() > 512 {
                    return Err(ApiError::invalid(
                        "cursor",
                        "is not a cursor this API returned",
                    ));
                }
            }
            Ok(Action::List { limit, cursor })
        }
        "restore" => {
            root.only(&["action", "sessionId", "window"])?;
            let session_id = root.str_opt("sessionId")?.map(session_id).transpose()?;
            Ok(Action::Restore {
                session_id,
                window: window(&root)?,
            })
        }
        "add_turn" => {
            root.only(&["action", "sessionId", "turn", "window", "userId"])?;
            let session_id = session_id(root.str_req("sessionId")?)?;
            let t = root.obj_req("turn")?;
            t.only(&["role", "content", "language", "turnId"])?;
            let role_s = t.str_req("role")?;
            let role = Role::parse(role_s).ok_or_else(|| {
                ApiError::invalid(t.field("role"), "must be one of user, assistant, system")
            })?;
            let content = t.str_req("content")?;
            if content.trim().is_empty() {
                return Err(ApiError::invalid(t.field("content"), "must not be empty"));
            }
            if content.len() > MAX_CONTENT_BYTES {
                return Err(ApiError::too_large(
                    t.field("content"),
                    format!("must be at most {MAX_CONTENT_BYTES} bytes"),
                ));
            }
            let language = language(t.str_req("language")?, &t.field("language"))?;
            let turn_id = t
                .str_opt("turnId")?
                .map(|id| turn_id(id, &t.field("turnId")))
                .transpose()?;
            let turn = NewTurn {
                role,
                content: content.to_string(),
                language,
                turn_id,
            };
            Ok(Action::AddTurn {
                session_id,
                turn,
                window: window(&root)?,
                owner: owner(&root)?,
            })
        }
        "get_context" => {
            root.only(&["action", "sessionId", "window", "userId"])?;
            let session_id = session_id(root.str_req("sessionId")?)?;
            Ok(Action::GetContext {
                session_id,
                window: window(&root)?,
                owner: owner(&root)?,
            })
        }
        "set_summary" => {
            root.only(&["action", "sessionId", "summary", "userId"])?;
            let session_id = session_id(root.str_req("sessionId")?)?;
            let summary = root.str_req("summary")?;
            if summary.trim().is_empty() {
                return Err(ApiError::invalid(
                    "summary",
                    "must not be empty (use clear to drop the context)",
                ));
            }
            if summary.len() > MAX_SUMMARY_BYTES {
                return Err(ApiError::too_large(
                    "summary",
                    format!("must be at most {MAX_SUMMARY_BYTES} bytes"),
                ));
            }
            Ok(Action::SetSummary {
                session_id,
                summary: summary.to_string(),
                owner: owner(&root)?,
            })
        }
        _ => Err(ApiError::bad(
            "unknown_action",
            "action",
            "is not a known action",
        )),
    }
}

fn window(root: &Obj<'_>) -> Result<WindowSpec, ApiError> {
    let Some(w) = root.obj_opt("window")? else {
        return Ok(WindowSpec::default());
    };
    w.only(&["maxTurns", "maxTokens"])?;
    Ok(WindowSpec {
        max_turns: w
            .uint_opt("maxTurns", 1, MAX_WINDOW_TURNS as u64)?
            .unwrap_or(DEFAULT_WINDOW_TURNS as u64) as u32,
        max_tokens: w
            .uint_opt("maxTokens", 1, MAX_WINDOW_TOKENS as u64)?
            .unwrap_or(DEFAULT_WINDOW_TOKENS as u64) as u32,
    })
}

/// Session ids are lowercase UUIDs (what `create` makes).
pub fn session_id(s: &str) -> Result<String, ApiError> {
    if is_uuid(s) {
        Ok(s.to_string())
    } else {
        Err(ApiError::invalid(
            "sessionId",
            "must be a session id returned by create",
        ))
    }
}

pub fn is_uuid(s: &str) -> bool {
    // Only the canonical form `create` returns (lowercase, hyphenated).
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok_and(|u| u.hyphenated().to_string() == s)
}

/// Characters that change how text around them is shown without being
/// seen: the bidirectional formatting characters (embeddings, overrides,
/// isolates and marks, the "Trojan Source" class) and the invisible
/// separators (zero-width space, word joiner, byte order mark)
/// (<https://www.unicode.org/reports/tr9/#Explicit_Directional_Formatting_Characters>).
/// Zero-width (non-)joiners stay allowed: Persian, Indic scripts and emoji
/// sequences need them.
pub const HIDDEN_CHARS: &[char] = &[
    '\u{061C}', '\u{200B}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
    '\u{202E}', '\u{2060}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{FEFF}',
];

fn topic(s: &str, field: &str) -> Result<String, ApiError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if t.chars().count() > MAX_TOPIC_CHARS {
        return Err(ApiError::invalid(
            field,
            format!("must be at most {MAX_TOPIC_CHARS} characters"),
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    // A topic is shown to people: text that reorders or hides itself could
    // make it read as something else.
    if t.chars().any(|c| HIDDEN_CHARS.contains(&c)) {
        return Err(ApiError::invalid(
            field,
            "must not contain bidirectional formatting or invisible characters",
        ));
    }
    Ok(t.to_string())
}

/// The optional `userId`: a user id as the authorizer gives `sub` (what
/// `create` stored as the owner).
fn owner(root: &Obj) -> Result<Option<String>, ApiError> {
    match root.str_opt("userId")? {
        None => Ok(None),
        Some(id) if crate::identity::valid_sub(id) => Ok(Some(id.to_string())),
        Some(_) => Err(ApiError::invalid(
            "userId",
            "must be the session owner's user id (the sub of their token: 1 to 128 printable ASCII characters without | or #)",
        )),
    }
}

/// `s` when it is one of `allowed`, else a 400 naming `field` and the choices.
fn one_of(s: &str, field: &str, allowed: &[&str]) -> Result<String, ApiError> {
    if allowed.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(ApiError::invalid(
            field,
            format!("must be one of {}", allowed.join(", ")),
        ))
    }
}

fn mode(s: &str, field: &str) -> Result<String, ApiError> {
    one_of(s, field, MODES)
}

fn status(s: &str, field: &str) -> Result<String, ApiError> {
    one_of(s, field, STATUSES)
}

fn turn_id(s: &str, field: &str) -> Result<String, ApiError> {
    let ok = !s.is_empty()
        && s.len() <= MAX_TURN_ID_CHARS
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(ApiError::invalid(
            field,
            format!("must be 1 to {MAX_TURN_ID_CHARS} characters of A-Z a-z 0-9 - _ . :"),
        ))
    }
}

/// A well-formed BCP 47 language tag (syntax check: a 2-3 letter ISO 639
/// primary subtag, then subtags of 1-8 letters or digits; at most 35
/// characters). Returned as given.
pub fn language(s: &str, field: &str) -> Result<String, ApiError> {
    if is_bcp47(s) {
        Ok(s.to_string())
    } else {
        Err(ApiError::invalid(
            field,
            "must be a BCP 47 language tag such as en or pt-BR",
        ))
    }
}

pub fn is_bcp47(s: &str) -> bool {
    if s.is_empty() || s.len() > 35 {
        return false;
    }
    let mut parts = s.split('-');
    let primary = parts.next().unwrap_or("");
    let primary_ok =
        matches!(primary.len(), 2 | 3) && primary.chars().all(|c| c.is_ascii_alphabetic());
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// A rough token estimate (about four characters per token).
pub fn estimate_tokens(content: &str) -> u32 {
    (content.chars().count() as u32).div_ceil(4).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        for ok in [
            "en",
            "pt-BR",
            "zh-Hant-TW",
            "es-419",
            "sgn-BE-FR",
            "en-GB-oxendict",
        ] {
            assert!(is_bcp47(ok), "{ok}");
        }
        for bad in [
            "",
            "e",
            "english1",
            "en_US",
            "en-",
            "-en",
            "en--US",
            "en-toolongsubtag",
            "12",
        ] {
            assert!(!is_bcp47(bad), "{bad}");
        }
    }

    #[test]
    fn seed_requests_parse() {
        let a = parse_action(
            r#"{"action":"create","session":{"currentTopic":"JavaScript Basics","mode":"tutor"}}"#,
            SESSION_ACTIONS,
        )
        .unwrap();
        assert_eq!(a.name(), "create");
        let b = parse_action(
            r#"{"action":"add_turn","sessionId":"0b5a3f9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b","turn":{"role":"user","content":"What is a closure?","language":"en"}}"#,
            CONTEXT_ACTIONS,
        )
        .unwrap();
        assert_eq!(b.name(), "add_turn");
    }

    #[test]
    fn errors_name_fields() {
        let e = parse_action(
            r#"{"action":"create","session":{"currentTopic":5}}"#,
            SESSION_ACTIONS,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("session.currentTopic"));
        let e = parse_action(r#"{"action":"add_turn","sessionId":"0b5a3f9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b","turn":{"role":"bot","content":"x","language":"en"}}"#, CONTEXT_ACTIONS).unwrap_err();
        assert_eq!(e.field(), Some("turn.role"));
        let e = parse_action(r#"{"action":"add_turn"}"#, SESSION_ACTIONS).unwrap_err();
        assert_eq!(e.code(), "unknown_action");
    }

    #[test]
    fn echoed_names_are_short() {
        assert_eq!(echoed_name("color"), "color");
        let long = "é".repeat(40);
        assert_eq!(echoed_name(&long), format!("{}…", "é".repeat(32)));
    }

    #[test]
    fn tokens() {
        assert_eq!(estimate_tokens("a"), 1);
        assert_eq!(estimate_tokens("abcdefgh"), 2);
    }
}
