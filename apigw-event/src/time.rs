//! `requestContext.time`: `28/Nov/2026:03:05:23 +0000`.

use time::macros::format_description;
use time::OffsetDateTime;

/// `28/Nov/2026:03:05:23 +0000` for milliseconds since the epoch.
pub fn request_time(epoch_ms: u64) -> String {
    let format =
        format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(epoch_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
