//! The two routes' request bodies, one type per action. The action names
//! and the types are listed once, in [`requests!`]: the enum, its
//! `ACTIONS`, [`SessionsRequest::name`] and the parser's dispatch all come
//! from that list.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::scalars::*;
use crate::error::ApiError;
use crate::model::WindowSpec;

/// An enum of one route's requests, tagged by `action` (serialized as the
/// functions read it), with each action's name and its parser.
macro_rules! requests {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $action:literal => $variant:ident($ty:ident)),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
        #[serde(tag = "action", deny_unknown_fields)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $action)] $variant($ty)),+
        }

        impl $name {
            /// The route's actions, as the body's `action` names them.
            pub const ACTIONS: &'static [&'static str] = &[$($action),+];

            pub fn name(&self) -> &'static str {
                match self {
                    $($name::$variant(_) => $action),+
                }
            }

            /// The request for `action` (one of [`Self::ACTIONS`]) from the
            /// body's other fields.
            pub(super) fn from_fields(action: &str, fields: Value) -> Result<Self, ApiError> {
                match action {
                    $($action => super::deserialize::<$ty>(fields).map($name::$variant),)+
                    _ => Err(super::unknown_action(Self::ACTIONS)),
                }
            }
        }
    };
}

requests!(
    /// The body of `POST /sessions`, by `action`.
    SessionsRequest {
        "create" => Create(CreateSession),
        "get" => Get(SessionRef),
        "update" => Update(UpdateSession),
        "delete" => Delete(SessionRef),
        /// Newest first; `cursor` from the previous page.
        "list" => List(ListSessions),
        /// A given session, or without `sessionId` the latest active one,
        /// with its context window.
        "restore" => Restore(RestoreSession),
    }
);

requests!(
    /// The body of `POST /context`, by `action`.
    ContextRequest {
        /// Answers with the stored turn and the context window (`add_turn`
        /// serves at most `LOOKBACK_MAX_TURNS` turns of it).
        "add_turn" => AddTurn(AddTurn),
        "get_context" => GetContext(GetContext),
        /// Needs a writer token.
        "set_summary" => SetSummary(SetSummary),
        /// Starts a new generation: the turns and the summary are gone.
        "clear" => Clear(SessionRef),
    }
);

/// Declares a request part: camelCase fields, no unknown ones; optional
/// fields are unset when absent or null, and a client leaves them out.
macro_rules! body {
    ($(#[$doc:meta])* $name:ident { $($fields:tt)* }) => {
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        $(#[$doc])*
        pub struct $name { $($fields)* }
    };
}

/// Declares a request part whose fields are all optional: camelCase, no
/// unknown ones; absent and null are the same (unset), and a client leaves
/// unset fields out.
macro_rules! part {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        $(#[$doc])*
        pub struct $name {
            $($(#[$fdoc])* #[serde(skip_serializing_if = "Option::is_none")] pub $field: Option<$ty>),*
        }
    };
}

body!(
    /// The actions about one session and nothing else: `get`, `delete`, `clear`.
    SessionRef {
        pub session_id: SessionId,
    }
);

body!(
    /// `create`.
    CreateSession {
        pub session: NewSession,
    }
);

body!(
    /// `create`'s session; unset mode and language come from the user's profile.
    NewSession {
        pub current_topic: Topic,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub mode: Option<Mode>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub language: Option<LanguageTag>,
    }
);

body!(
    /// `update`.
    UpdateSession {
        pub session_id: SessionId,
        pub version: Version,
        pub session: SessionChanges,
    }
);

part!(
    /// `update`'s changes: at least one field that is not null.
    #[cfg_attr(
        feature = "openapi",
        schemars(extend("anyOf" = super::schema::at_least_one(&["currentTopic", "mode", "language", "status"])))
    )]
    SessionChanges {
        current_topic: Topic,
        mode: Mode,
        language: LanguageTag,
        status: Status,
    }
);

impl SessionChanges {
    pub fn is_empty(&self) -> bool {
        *self == SessionChanges::default()
    }
}

part!(
    /// `list`.
    ListSessions {
        limit: ListLimit,
        cursor: Cursor,
    }
);

impl ListSessions {
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or_default().get()
    }
}

part!(
    /// `restore`.
    RestoreSession {
        session_id: SessionId,
        window: Window,
    }
);

part!(
    /// How much context to return (`null` or absent: the defaults).
    Window {
        max_turns: MaxTurns,
        max_tokens: MaxTokens,
    }
);

/// The window a request asks for, defaults filled in.
pub fn window_spec(w: &Option<Window>) -> WindowSpec {
    let w = w.clone().unwrap_or_default();
    WindowSpec {
        max_turns: w.max_turns.unwrap_or_default().get(),
        max_tokens: w.max_tokens.unwrap_or_default().get(),
    }
}

body!(
    /// `add_turn`.
    AddTurn {
        pub session_id: SessionId,
        pub turn: NewTurn,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub window: Option<Window>,
        // The session owner a writer acts for (its schema says who may).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub user_id: Option<UserId>,
    }
);

body!(
    /// A turn to add.
    NewTurn {
        pub role: Role,
        pub content: Content,
        pub language: LanguageTag,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub turn_id: Option<TurnId>,
    }
);

body!(
    /// `get_context`.
    GetContext {
        pub session_id: SessionId,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub window: Option<Window>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub user_id: Option<UserId>,
    }
);

body!(
    /// `set_summary`.
    SetSummary {
        pub session_id: SessionId,
        pub summary: SummaryText,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub user_id: Option<UserId>,
    }
);

impl ContextRequest {
    /// The session owner a writer names (`userId`), for the actions that
    /// take one.
    pub fn owner(&self) -> Option<&UserId> {
        match self {
            ContextRequest::AddTurn(r) => r.user_id.as_ref(),
            ContextRequest::GetContext(r) => r.user_id.as_ref(),
            ContextRequest::SetSummary(r) => r.user_id.as_ref(),
            ContextRequest::Clear(_) => None,
        }
    }
}

/// Checks a type needs beyond its fields' own.
pub(super) trait Checked: DeserializeOwned {
    fn check(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

impl Checked for UpdateSession {
    fn check(&self) -> Result<(), ApiError> {
        if self.session.is_empty() {
            return Err(ApiError::invalid(
                "session",
                "must change at least one of currentTopic, mode, language, status",
            ));
        }
        Ok(())
    }
}

impl Checked for CreateSession {}
impl Checked for SessionRef {}
impl Checked for ListSessions {}
impl Checked for RestoreSession {}
impl Checked for AddTurn {}
impl Checked for GetContext {}
impl Checked for SetSummary {}

/// The requests a client sends most, with the optional fields unset.
impl SessionsRequest {
    pub fn create(topic: &str, mode: Option<Mode>) -> Result<Self, Invalid> {
        Ok(SessionsRequest::Create(CreateSession {
            session: NewSession {
                current_topic: Topic::try_from(topic)?,
                mode,
                language: None,
            },
        }))
    }

    pub fn get(session_id: &SessionId) -> Self {
        SessionsRequest::Get(SessionRef {
            session_id: session_id.clone(),
        })
    }

    pub fn delete(session_id: &SessionId) -> Self {
        SessionsRequest::Delete(SessionRef {
            session_id: session_id.clone(),
        })
    }

    pub fn list() -> Self {
        SessionsRequest::List(ListSessions::default())
    }
}

impl ContextRequest {
    pub fn add_turn(
        session_id: &SessionId,
        role: Role,
        content: &str,
        language: &str,
    ) -> Result<Self, Invalid> {
        Ok(ContextRequest::AddTurn(AddTurn {
            session_id: session_id.clone(),
            turn: NewTurn {
                role,
                content: Content::try_from(content)?,
                language: LanguageTag::try_from(language)?,
                turn_id: None,
            },
            window: None,
            user_id: None,
        }))
    }

    pub fn get_context(session_id: &SessionId) -> Self {
        ContextRequest::GetContext(GetContext {
            session_id: session_id.clone(),
            window: None,
            user_id: None,
        })
    }
}
