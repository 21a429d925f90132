//! Recorded API responses and other fixtures, loaded by one helper: a path
//! from the workspace root, so a failure names the file.

use serde::de::DeserializeOwned;

/// The text of `path` (relative to the workspace root).
pub fn text(path: &str) -> String {
    let full = emulator::workspace_root().join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// `path` (relative to the workspace root) parsed as JSON into `T`.
pub fn json<T: DeserializeOwned>(path: &str) -> T {
    serde_json::from_str(&text(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}
