//! The answers of both routes. Every answer names its `action` (the
//! request's), so a client narrows a route's answers by it (the OpenAPI
//! document's `discriminator`); each answer type admits only the actions it
//! answers. Fields the functions fill from stored data (checked when it
//! was written) are plain values documented as the request type that made
//! them.

use serde::Serialize;

/// Declares an answer part: camelCase fields, documented as closed (no
/// other fields).
macro_rules! answer {
    ($(#[$doc:meta])* $name:ident { $($fields:tt)* }) => {
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        $(#[$doc])*
        pub struct $name { $($fields)* }
    };
}

/// A session's fields as every answer shows them, then `$extra`.
macro_rules! session_answer {
    ($(#[$doc:meta])* $name:ident { $($extra:tt)* }) => {
        answer!(
            $(#[$doc])*
            $name {
                #[cfg_attr(feature = "openapi", schemars(with = "super::SessionId"))]
                pub session_id: String,
                pub current_topic: String,
                #[cfg_attr(feature = "openapi", schemars(with = "super::Mode"))]
                pub mode: String,
                #[cfg_attr(feature = "openapi", schemars(with = "super::LanguageTag"))]
                pub language: String,
                #[cfg_attr(feature = "openapi", schemars(with = "super::Status"))]
                pub status: String,
                #[cfg_attr(feature = "openapi", schemars(with = "super::schema::Timestamp"))]
                pub created_at: String,
                #[cfg_attr(feature = "openapi", schemars(with = "super::schema::Timestamp"))]
                pub updated_at: String,
                /// Epoch seconds; activity moves it ahead.
                #[cfg_attr(feature = "openapi", schemars(with = "super::schema::Count"))]
                pub expires_at: u64,
                #[cfg_attr(feature = "openapi", schemars(with = "super::schema::Count"))]
                pub turn_count: u64,
                $($extra)*
            }
        );
    };
}

session_answer!(
    /// A session as `get`, `update`, `create`, `restore`, `set_summary` and
    /// `clear` answer it.
    Session {
        pub has_summary: bool,
        #[cfg_attr(feature = "openapi", schemars(with = "super::Version"))]
        pub version: u64,
    }
);

session_answer!(
    /// A session in a `list` page (its `turnCount` may lag a few minutes).
    SessionSummary {}
);

answer!(
    /// A stored turn.
    Turn {
        /// Sequence number; it goes on counting across a `clear`.
        #[cfg_attr(feature = "openapi", schemars(with = "super::schema::Count"))]
        pub seq: u64,
        #[cfg_attr(feature = "openapi", schemars(with = "super::TurnId"))]
        pub turn_id: String,
        #[cfg_attr(feature = "openapi", schemars(with = "super::Role"))]
        pub role: String,
        pub content: String,
        #[cfg_attr(feature = "openapi", schemars(with = "super::LanguageTag"))]
        pub language: String,
        #[cfg_attr(feature = "openapi", schemars(with = "super::schema::Timestamp"))]
        pub created_at: String,
        /// Estimated tokens (about four characters each).
        #[cfg_attr(feature = "openapi", schemars(with = "super::schema::Count"))]
        pub tokens: u32,
    }
);

answer!(
    /// The context window: the most recent turns within the window's budgets,
    /// oldest first, and the rolling summary.
    Context {
        #[cfg_attr(feature = "openapi", schemars(with = "super::SessionId"))]
        pub session_id: String,
        #[cfg_attr(feature = "openapi", schemars(with = "super::schema::NullableString"))]
        pub summary: Option<String>,
        pub turns: Vec<Turn>,
        #[cfg_attr(feature = "openapi", schemars(with = "super::schema::Count"))]
        pub turn_count: u64,
        #[cfg_attr(feature = "openapi", schemars(with = "super::schema::Count"))]
        pub tokens: u32,
        pub has_older_turns: bool,
    }
);

/// The `action` of each answer type: only the actions it answers.
macro_rules! answer_actions {
    ($($(#[$doc:meta])* $name:ident { $($variant:ident),+ })+) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
        #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }
    )+};
}

answer_actions! {
    /// The actions answered with the session alone.
    SessionAnswerAction { Create, Get, Update, SetSummary }
    DeleteAction { Delete }
    ListAction { List }
    RestoreAction { Restore }
    AddTurnAction { AddTurn }
    GetContextAction { GetContext }
    ClearAction { Clear }
}

answer!(
    /// `create` (201), `get`, `update`, `set_summary`.
    SessionResponse {
        pub action: SessionAnswerAction,
        pub session: Session,
    }
);

answer!(
    /// `delete`.
    DeleteResponse {
        pub action: DeleteAction,
        #[cfg_attr(feature = "openapi", schemars(with = "super::SessionId"))]
        pub session_id: String,
        #[cfg_attr(feature = "openapi", schemars(extend("const" = true)))]
        pub deleted: bool,
        #[cfg_attr(feature = "openapi", schemars(with = "super::schema::Count"))]
        pub turns_deleted: u64,
    }
);

answer!(
    /// `list`: `cursor` is null on the last page.
    ListResponse {
        pub action: ListAction,
        pub sessions: Vec<SessionSummary>,
        #[cfg_attr(feature = "openapi", schemars(with = "super::schema::NullableString"))]
        pub cursor: Option<String>,
    }
);

answer!(
    /// `restore`.
    RestoreResponse {
        pub action: RestoreAction,
        pub session: Session,
        pub context: Context,
    }
);

answer!(
    /// `add_turn`: the stored turn (the earlier one for a retried `turnId`) and
    /// the context window.
    AddTurnResponse {
        pub action: AddTurnAction,
        pub turn: Turn,
        pub context: Context,
    }
);

answer!(
    /// `get_context`.
    ContextResponse {
        pub action: GetContextAction,
        pub context: Context,
    }
);

answer!(
    /// `clear`.
    ClearResponse {
        pub action: ClearAction,
        pub session: Session,
        #[cfg_attr(feature = "openapi", schemars(with = "super::schema::Count"))]
        pub turns_deleted: u64,
    }
);
