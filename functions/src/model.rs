//! The API's limits and the syntax checks the request types
//! ([`crate::wire`]) and the store share.

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

/// A client-chosen name as errors echo it: at most
/// [`MAX_ECHOED_NAME_CHARS`] characters, then `…`.
pub fn echoed_name(name: &str) -> String {
    match name.char_indices().nth(MAX_ECHOED_NAME_CHARS) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name.to_string(),
    }
}

/// Session ids are lowercase UUIDs (what `create` makes).
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

/// A well-formed BCP 47 language tag (syntax check: a 2-3 letter ISO 639
/// primary subtag, then subtags of 1-8 letters or digits; at most 35
/// characters).
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
