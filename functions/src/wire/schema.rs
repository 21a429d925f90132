//! Each [`crate::wire`] value's schema, written out: what its type checks,
//! as a pattern or bounds, from the [`crate::model`] limits; and the schemas
//! of values the answers carry as plain strings and numbers. Only with the
//! `openapi` feature.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Value};

use super::scalars::{
    Content, Cursor, LanguageTag, ListLimit, MaxTokens, MaxTurns, Mode, Role, SessionId, Status,
    SummaryText, Topic, TurnId, UserId, Version,
};
use crate::model::*;

/// Unicode White_Space, what `str::trim` removes (as a regex class body).
pub(crate) const WS: &str =
    r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Unicode Cc, what `char::is_control` is (as a regex class body).
pub(crate) const CC: &str = r"\u0000-\u001f\u007f-\u009f";
/// `model::HIDDEN_CHARS` as a regex class body (a test keeps them equal).
pub(crate) const HIDDEN: &str = r"\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff";

/// The schema of a [`crate::wire`] value, written out: what its type
/// checks, as a pattern or bounds (inlined where it is used, so an optional
/// one is simply nullable).
macro_rules! scalar {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        impl JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                $schema
            }
        }
    };
}

/// A value with a schema and no type of its own (answers carry stored
/// values as plain strings and numbers).
macro_rules! schema_only {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        pub struct $name;
        scalar!($name => $schema);
    };
}

scalar!(
    /// What `create` returned: a lowercase, hyphenated UUID.
    SessionId => json_schema!({
        "type": "string",
        "description": "A session id as create returned it (lowercase UUID).",
        "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    })
);
scalar!(
    /// Trimmed: 1 to `MAX_TOPIC_CHARS` characters, no control,
    /// bidirectional formatting or invisible characters.
    Topic => json_schema!({
        "type": "string",
        "description": format!(
            "Trimmed of white space, then 1 to {MAX_TOPIC_CHARS} characters without control, bidirectional formatting or invisible characters."
        ),
        "pattern": format!(
            "^[{WS}]*[^{WS}{CC}{HIDDEN}](?:[^{CC}{HIDDEN}]{{0,{}}}[^{WS}{CC}{HIDDEN}])?[{WS}]*$",
            MAX_TOPIC_CHARS - 2
        ),
    })
);
scalar!(Mode => json_schema!({ "type": "string", "enum": Mode::NAMES }));
scalar!(Status => json_schema!({ "type": "string", "enum": Status::NAMES }));
scalar!(Role => json_schema!({
    "type": "string",
    "enum": Role::NAMES,
    "description": "assistant and system need a writer token (403 forbidden_role otherwise).",
}));
scalar!(
    /// `is_bcp47`'s syntax: all ASCII, so the length is in bytes too.
    LanguageTag => json_schema!({
        "type": "string",
        "description": "A BCP 47 language tag, e.g. en or pt-BR.",
        "maxLength": 35,
        "pattern": "^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$",
    })
);
scalar!(TurnId => json_schema!({
    "type": "string",
    "description": "The client's id of the turn: a retry with the same id, role and content is answered with the stored turn.",
    "minLength": 1,
    "maxLength": MAX_TURN_ID_CHARS,
    "pattern": "^[A-Za-z0-9._:-]+$",
}));
scalar!(
    /// The limit is in UTF-8 bytes; `maxLength` counts characters, so it
    /// is the same bound for ASCII and looser otherwise (413 then).
    Content => json_schema!({
        "type": "string",
        "description": format!("Not only white space; at most {MAX_CONTENT_BYTES} bytes of UTF-8 (413 beyond)."),
        "maxLength": MAX_CONTENT_BYTES,
        "pattern": format!("[^{WS}]"),
    })
);
scalar!(SummaryText => json_schema!({
    "type": "string",
    "description": format!("Not only white space; at most {MAX_SUMMARY_BYTES} bytes of UTF-8 (413 beyond)."),
    "maxLength": MAX_SUMMARY_BYTES,
    "pattern": format!("[^{WS}]"),
}));
scalar!(UserId => json_schema!({
    "type": "string",
    "description": "The session owner's user id (the `sub` of their token). Only a writer token may name another user than its own (the assistant backend acting on a student's session); any other token gets 403 forbidden_role.",
    "minLength": 1,
    "maxLength": 128,
    // Printable ASCII without `#` and `|` (`valid_sub`).
    "pattern": r#"^[!"$-{}~]+$"#,
}));
scalar!(Cursor => json_schema!({
    "type": "string",
    "description": "The cursor of the previous list page, as returned.",
    "minLength": 1,
    "maxLength": 512,
}));
scalar!(Version => json_schema!({
    "type": "integer",
    "description": "The session's version as last read (optimistic concurrency: 409 version_conflict when it moved).",
    "minimum": 1,
    "maximum": u32::MAX,
}));
scalar!(ListLimit => json_schema!({
    "type": "integer",
    "minimum": 1,
    "maximum": MAX_LIST_LIMIT,
    "default": DEFAULT_LIST_LIMIT,
}));
scalar!(MaxTurns => json_schema!({
    "type": "integer",
    "minimum": 1,
    "maximum": MAX_WINDOW_TURNS,
    "default": DEFAULT_WINDOW_TURNS,
}));
scalar!(MaxTokens => json_schema!({
    "type": "integer",
    "minimum": 1,
    "maximum": MAX_WINDOW_TOKENS,
    "default": DEFAULT_WINDOW_TOKENS,
}));
schema_only!(Timestamp => json_schema!({
    "type": "string",
    "description": "UTC, YYYY-MM-DDTHH:MM:SS.mmmZ.",
    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
}));
schema_only!(
    /// Always present, null when there is none.
    NullableString => json_schema!({ "type": ["string", "null"] })
);
schema_only!(Count => json_schema!({ "type": "integer", "minimum": 0 }));

/// `update`'s `session`: at least one of `fields` not null.
pub(crate) fn at_least_one(fields: &[&str]) -> Value {
    fields
        .iter()
        .map(|f| json!({ "required": [f], "properties": { *f: { "not": { "type": "null" } } } }))
        .collect()
}
