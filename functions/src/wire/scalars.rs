//! The API's validated values. Each one deserializes only when it is valid,
//! with a message saying what a valid one is, so a request that
//! deserializes is one the functions can act on; and each is built the same
//! way by a client (`TryFrom<&str>`, `new`), so a client cannot send what
//! the functions would refuse.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::model::{
    is_bcp47, is_uuid, DEFAULT_LIST_LIMIT, DEFAULT_WINDOW_TOKENS, DEFAULT_WINDOW_TURNS,
    HIDDEN_CHARS, MAX_CONTENT_BYTES, MAX_LIST_LIMIT, MAX_SUMMARY_BYTES, MAX_TOPIC_CHARS,
    MAX_TURN_ID_CHARS, MAX_WINDOW_TOKENS, MAX_WINDOW_TURNS,
};

/// Why a value was refused: 413 (`too_large`) or 400 `invalid_field`, and
/// what a valid value is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub too_large: bool,
    pub message: String,
}

impl Invalid {
    fn new(message: impl Into<String>) -> Self {
        Invalid {
            too_large: false,
            message: message.into(),
        }
    }

    fn too_large(message: impl Into<String>) -> Self {
        Invalid {
            too_large: true,
            message: message.into(),
        }
    }

    /// Marks a serde error message as ours, so [`super::parse`] answers it
    /// with its own code and message (serde carries only text).
    pub(super) const MARK: char = '\u{1}';

    fn to_serde<E: de::Error>(&self) -> E {
        let kind = if self.too_large { "L" } else { "I" };
        E::custom(format_args!("{}{kind}{}", Self::MARK, self.message))
    }

    /// The [`Invalid`] a marked serde message carries.
    pub(super) fn from_serde(message: &str) -> Option<Invalid> {
        let rest = message.strip_prefix(Self::MARK)?;
        let (too_large, message) = match rest.split_at_checked(1)? {
            ("L", m) => (true, m),
            ("I", m) => (false, m),
            _ => return None,
        };
        Some(Invalid {
            too_large,
            message: message.to_string(),
        })
    }
}

/// A text value, checked by `$check: fn(String) -> Result<String, Invalid>`
/// (which may normalize it, as `Topic` trims).
macro_rules! text {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Invalid;
            fn try_from(s: String) -> Result<Self, Invalid> {
                let check: fn(String) -> Result<String, Invalid> = $check;
                check(s).map($name)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Invalid;
            fn try_from(s: &str) -> Result<Self, Invalid> {
                Self::try_from(s.to_string())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::try_from(s).map_err(|e| e.to_serde())
            }
        }
    };
}

text!(
    /// A session id as `create` made it: a lowercase, hyphenated UUID.
    SessionId,
    |s| {
        if is_uuid(&s) {
            Ok(s)
        } else {
            Err(Invalid::new("must be a session id returned by create"))
        }
    }
);

text!(
    /// Trimmed of white space, then 1 to [`MAX_TOPIC_CHARS`] characters
    /// without control, bidirectional formatting or invisible characters.
    Topic,
    |s| {
        let t = s.trim();
        if t.is_empty() {
            return Err(Invalid::new("must not be empty"));
        }
        if t.chars().count() > MAX_TOPIC_CHARS {
            return Err(Invalid::new(format!(
                "must be at most {MAX_TOPIC_CHARS} characters"
            )));
        }
        if t.chars().any(char::is_control) {
            return Err(Invalid::new("must not contain control characters"));
        }
        // A topic is shown to people: text that reorders or hides itself
        // could make it read as something else.
        if t.chars().any(|c| HIDDEN_CHARS.contains(&c)) {
            return Err(Invalid::new(
                "must not contain bidirectional formatting or invisible characters",
            ));
        }
        Ok(t.to_string())
    }
);

text!(
    /// A well-formed BCP 47 language tag ([`is_bcp47`]), kept as given.
    LanguageTag,
    |s| {
        if is_bcp47(&s) {
            Ok(s)
        } else {
            Err(Invalid::new(
                "must be a BCP 47 language tag such as en or pt-BR",
            ))
        }
    }
);

text!(
    /// The client's id of a turn: 1 to [`MAX_TURN_ID_CHARS`] characters of
    /// `A-Z a-z 0-9 - _ . :`.
    TurnId,
    |s| {
        let ok = !s.is_empty()
            && s.len() <= MAX_TURN_ID_CHARS
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
        if ok {
            Ok(s)
        } else {
            Err(Invalid::new(format!(
                "must be 1 to {MAX_TURN_ID_CHARS} characters of A-Z a-z 0-9 - _ . :"
            )))
        }
    }
);

/// Text that says something (not only white space) within `max_bytes` of
/// UTF-8 (413 beyond); `empty` is the message for blank text.
fn some_text(s: String, max_bytes: usize, empty: &str) -> Result<String, Invalid> {
    if s.trim().is_empty() {
        Err(Invalid::new(empty))
    } else if s.len() > max_bytes {
        Err(Invalid::too_large(format!(
            "must be at most {max_bytes} bytes"
        )))
    } else {
        Ok(s)
    }
}

text!(
    /// A turn's text: not only white space, at most [`MAX_CONTENT_BYTES`]
    /// bytes of UTF-8 (413 beyond).
    Content,
    |s| some_text(s, MAX_CONTENT_BYTES, "must not be empty")
);

text!(
    /// The rolling summary: not only white space, at most
    /// [`MAX_SUMMARY_BYTES`] bytes of UTF-8 (413 beyond).
    SummaryText,
    |s| some_text(
        s,
        MAX_SUMMARY_BYTES,
        "must not be empty (use clear to drop the context)"
    )
);

text!(
    /// The session owner a writer acts for: a user id as the authorizer
    /// gives `sub` (what `create` stored as the owner).
    UserId,
    |s| {
        if crate::identity::valid_sub(&s) {
            Ok(s)
        } else {
            Err(Invalid::new(
                "must be the session owner's user id (the sub of their token: 1 to 128 printable ASCII characters without | or #)",
            ))
        }
    }
);

text!(
    /// A `list` page's cursor as the previous page returned it (its content
    /// is checked when it is decoded).
    Cursor,
    |s| {
        if s.is_empty() || s.len() > 512 {
            Err(Invalid::new("is not a cursor this API returned"))
        } else {
            Ok(s)
        }
    }
);

/// One of a fixed set of words, each variant named once.
macro_rules! choice {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, as the API spells it.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Invalid;
            fn try_from(s: &str) -> Result<Self, Invalid> {
                Self::parse(s).ok_or_else(|| {
                    Invalid::new(format!("must be one of {}", Self::NAMES.join(", ")))
                })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::try_from(s.as_str()).map_err(|e| e.to_serde())
            }
        }
    };
}

choice!(
    /// How the assistant teaches in a session.
    Mode {
        Tutor = "tutor",
        Practice = "practice",
        Quiz = "quiz",
        Conversation = "conversation",
        Review = "review",
    }
);

choice!(
    /// A session's state.
    Status {
        Active = "active",
        Paused = "paused",
        Completed = "completed",
    }
);

choice!(
    /// Who spoke a turn (assistant and system need a writer token).
    Role {
        User = "user",
        Assistant = "assistant",
        System = "system",
    }
);

/// A whole number within `MIN..=MAX`. `15.0` is the integer 15, as JSON
/// Schema (and the API's OpenAPI document) has it.
macro_rules! bounded {
    ($(#[$doc:meta])* $name:ident: $min:expr, $max:expr $(, default $default:expr)?) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            pub const MIN: u32 = $min;
            pub const MAX: u32 = $max;

            pub fn new(v: u64) -> Result<Self, Invalid> {
                if (u64::from(Self::MIN)..=u64::from(Self::MAX)).contains(&v) {
                    Ok($name(v as u32))
                } else {
                    Err(Self::out_of_range())
                }
            }

            pub fn get(self) -> u32 {
                self.0
            }

            fn out_of_range() -> Invalid {
                Invalid::new(format!(
                    "must be an integer from {} to {}",
                    Self::MIN,
                    Self::MAX
                ))
            }
        }

        $(impl Default for $name {
            fn default() -> Self {
                $name($default)
            }
        })?

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u32(self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(WholeNumber).and_then(|n| match n {
                    Some(v) => $name::new(v).map_err(|e| e.to_serde()),
                    None => Err($name::out_of_range().to_serde()),
                })
            }
        }
    };
}

/// A JSON number as a `u64`: `None` when it is negative or has a fraction
/// (out of range, not of the wrong type); anything else is the wrong type.
struct WholeNumber;

impl Visitor<'_> for WholeNumber {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<u64>, E> {
        Ok(Some(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<u64>, E> {
        Ok(u64::try_from(v).ok())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<u64>, E> {
        // Saturating: a huge whole number is simply out of range.
        Ok((v.fract() == 0.0 && v >= 0.0).then_some(v as u64))
    }
}

bounded!(
    /// The session's version as last read (optimistic concurrency).
    Version: 1, u32::MAX
);
bounded!(
    /// A `list` page's size.
    ListLimit: 1, MAX_LIST_LIMIT, default DEFAULT_LIST_LIMIT
);
bounded!(
    /// The most turns a context window holds.
    MaxTurns: 1, MAX_WINDOW_TURNS, default DEFAULT_WINDOW_TURNS
);
bounded!(
    /// The most estimated tokens a context window holds.
    MaxTokens: 1, MAX_WINDOW_TOKENS, default DEFAULT_WINDOW_TOKENS
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_message_round_trips() {
        for invalid in [Invalid::new("must be x"), Invalid::too_large("at most 3")] {
            let e: serde_json::Error = invalid.to_serde();
            assert_eq!(Invalid::from_serde(&e.to_string()), Some(invalid));
        }
        assert_eq!(Invalid::from_serde("missing field `x`"), None);
    }

    #[test]
    fn values_are_checked_where_they_are_built() {
        assert_eq!(Topic::try_from("  JS  ").unwrap().as_str(), "JS");
        assert!(Topic::try_from("a\u{202e}b").is_err());
        assert!(SessionId::try_from("0B5A3F9E-1C2D-4E5F-8A9B-0C1D2E3F4A5B").is_err());
        assert!(
            Content::try_from("x".repeat(MAX_CONTENT_BYTES + 1))
                .unwrap_err()
                .too_large
        );
        assert_eq!(Mode::try_from("quiz"), Ok(Mode::Quiz));
        assert_eq!(
            Role::try_from("bot").unwrap_err().message,
            "must be one of user, assistant, system"
        );
        assert_eq!(
            MaxTurns::new(0).unwrap_err().message,
            "must be an integer from 1 to 100"
        );
    }

    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        let n: MaxTurns = serde_json::from_str("15.0").unwrap();
        assert_eq!(n.get(), 15);
        for bad in ["1.5", "-1", "0", "101", "1e20"] {
            let e = serde_json::from_str::<MaxTurns>(bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains("from 1 to 100"), "{bad}: {e}");
        }
        let e = serde_json::from_str::<MaxTurns>("\"3\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected an integer"), "{e}");
    }
}
