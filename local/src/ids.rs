//! Random ids: request ids, X-Ray trace headers, log stream suffixes.
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// 64 random bits (std's per-process random hasher keys, plus a counter).
pub fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(now_nanos());
    h.finish()
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

pub fn now_millis() -> u64 {
    (now_nanos() / 1_000_000) as u64
}

/// A random version-4 UUID.
pub fn uuid() -> String {
    let a = random_u64();
    let b = random_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// An X-Ray trace header like Lambda's.
pub fn trace_id() -> String {
    format!(
        "Root=1-{:08x}-{:012x}{:012x};Parent={:016x};Sampled=0",
        now_millis() / 1000,
        random_u64() & 0xffff_ffff_ffff,
        random_u64() & 0xffff_ffff_ffff,
        random_u64()
    )
}
