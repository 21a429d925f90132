//! Test support shared by the workspace's test suites (a dev-dependency
//! only): fixtures loaded by one helper, templates with typical changes, an
//! emulated account and what is in it, AWS's registry schemas and service
//! authorization reference (`aws_data`), a one-request HTTP client, recorded
//! SDK answers, scratch directories.

pub mod account;
pub mod aws_data;
pub mod fixture;
pub mod http;
pub mod replay;
pub mod templates;

/// Every action an IAM policy document's statements list, in order.
pub fn policy_actions(doc: &serde_json::Value) -> Vec<String> {
    doc["Statement"]
        .as_array()
        .expect("a Statement list")
        .iter()
        .flat_map(|s| s["Action"].as_array().expect("an Action list").iter())
        .map(|a| a.as_str().expect("an action name").to_string())
        .collect()
}

/// A fresh, empty scratch directory for `name`, unique to this process and call.
pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
