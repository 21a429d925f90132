//! Wall-clock time as milliseconds since the epoch and as ISO-8601 text.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Where "now" (milliseconds since the epoch) comes from: the system clock
/// in the functions, a controllable one in tests.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(now_ms)
}

/// Seconds in the 30 days after which sessions and turns expire (TTL).
pub const TTL_SECONDS: u64 = 30 * 24 * 60 * 60;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`: fixed width, so the text sorts like the
/// time (the GSI sort key `updatedAt` relies on it).
const FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// [`FORMAT`] for `ms` since the epoch.
pub fn iso8601(ms: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        // Past year 9999: not a time this code meets; keep the width.
        .unwrap_or_else(|| "9999-12-31T23:59:59.999Z".to_string())
}

/// Parses what [`iso8601`] writes back into milliseconds.
pub fn parse_iso8601(s: &str) -> Option<u64> {
    if s.len() != 24 {
        return None;
    }
    let t = PrimitiveDateTime::parse(s, FORMAT).ok()?.assume_utc();
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(iso8601(1_795_824_000_000), "2026-11-28T00:00:00.000Z");
    }

    #[test]
    fn round_trips_and_sorts() {
        let mut prev = String::new();
        for ms in [
            0u64,
            1,
            999,
            86_399_999,
            951_782_400_123,
            1_795_824_000_000,
            4_102_444_800_000,
        ] {
            let s = iso8601(ms);
            assert_eq!(parse_iso8601(&s), Some(ms), "{s}");
            assert!(s > prev);
            prev = s;
        }
        assert_eq!(parse_iso8601("2026-13-01T00:00:00.000Z"), None);
        assert_eq!(parse_iso8601("nonsense"), None);
        assert_eq!(parse_iso8601("2026-02-30T00:00:00.000Z"), None);
        assert_eq!(parse_iso8601("2026-11-28T00:00:00.000+01:00"), None);
    }
}
