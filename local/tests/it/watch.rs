//! `dev --watch`: a changed source restarts every function on the new
//! build, with the emulator and the API still up; other files are ignored.

use crate::support::*;
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn only_rust_sources_and_manifests_count_as_changes() {
    let dir = data_dir("watch-mtime");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    assert_eq!(
        local::watch::newest_change(std::slice::from_ref(&dir)),
        None
    );
    std::fs::write(dir.join("src/lib.rs"), "//! x").unwrap();
    assert!(local::watch::newest_change(&[dir]).is_some());
}

#[test]
fn a_changed_source_restarts_the_functions_and_keeps_the_api() {
    let data = data_dir("watch");
    let opts = fixture(&data);
    let dev = Dev::start(opts.clone());
    let sources = data.join("sources");
    std::fs::create_dir_all(&sources).unwrap();
    std::fs::write(sources.join("lib.rs"), "//! before").unwrap();
    dev.watch(opts, vec![sources.clone()]);
    let good = dev.token("alice");
    assert_eq!(dev.post("/sessions", Some(&good), &json!({})).status, 200);
    assert_eq!(dev.stats()["restarts"]["voice-learning-context-manager"], 0);

    // A new file whose mtime is surely later than the first one's.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(sources.join("new.rs"), "//! after").unwrap();
    let t = Instant::now();
    let restarted = |name: &str| dev.stats()["restarts"][name].as_u64().unwrap_or(0) >= 1;
    while !(restarted("voice-learning-session-persistence")
        && restarted("voice-learning-context-manager"))
        && t.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = dev.stats();
    assert!(
        restarted("voice-learning-session-persistence")
            && restarted("voice-learning-context-manager"),
        "{stats}"
    );
    // The API answers from the restarted processes.
    assert_eq!(dev.post("/context", Some(&good), &json!({})).status, 200);
}
