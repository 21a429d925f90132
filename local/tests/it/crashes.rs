//! The local Lambda Runtime API under the local cloud: a function that
//! panics mid-request gives 502 and is restarted; one past its timeout gives
//! 504 and is restarted; a reported function error gives 502.

use crate::support::{data_dir, fixture, Dev};
use serde_json::json;
use std::time::{Duration, Instant};
use testkit::http::http;

#[test]
fn crashes_errors_and_timeouts() {
    let (log, lines) = local::Log::memory();
    let dev = Dev::start(local::StartOptions {
        function_timeout_ms: Some(1500),
        concurrency: 3,
        aws_proxy: false,
        unlocked_emulator: false,
        cors_origins: vec![],
        route_scopes: vec![],
        log,
        ..fixture(&data_dir("runtime"))
    });
    let token = dev.token("alice");
    let ok = |path: &str| {
        let r = dev.post(path, Some(&token), &json!({"action": "get"}));
        assert_eq!(r.status, 200, "{}", r.body);
    };
    ok("/sessions");
    let pids = |stats: &serde_json::Value, f: &str| -> Vec<u64> {
        stats["pids"]["functions"][f]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_u64().unwrap())
            .collect()
    };
    let before = pids(&dev.stats(), "voice-learning-session-persistence");
    assert_eq!(before.len(), 1, "one process until requests overlap");
    let pid_before = before[0];

    // A panic mid-request: 502 like API Gateway's, then the next request is served.
    let r = dev.post("/sessions", Some(&token), &json!({"fixture": "panic"}));
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.json(), json!({"message": "Internal Server Error"}));
    ok("/sessions");
    // The restart follows the 502 by a moment (on a busy machine, a few):
    // it is counted before the new process is spawned and listed, so wait
    // for the list too.
    let waited = Instant::now();
    let mut stats = dev.stats();
    let settled = |stats: &serde_json::Value| {
        let now = pids(stats, "voice-learning-session-persistence");
        stats["restarts"]["voice-learning-session-persistence"] == 1
            && !now.is_empty()
            && !now.contains(&pid_before)
    };
    while !settled(&stats) && waited.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
        stats = dev.stats();
    }
    assert_eq!(
        stats["restarts"]["voice-learning-session-persistence"], 1,
        "{stats}"
    );
    let after = pids(&stats, "voice-learning-session-persistence");
    assert!(!after.is_empty() && !after.contains(&pid_before), "{stats}");
    assert!(
        !emulator::alive(pid_before as u32),
        "the crashed process is gone"
    );
    assert!(lines
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("during a request (502); restarting")));

    // A reported error (…/error): 502, the process keeps running.
    let r = dev.post("/context", Some(&token), &json!({"fixture": "error"}));
    assert_eq!(r.status, 502, "{}", r.body);
    ok("/context");
    assert_eq!(dev.stats()["restarts"]["voice-learning-context-manager"], 0);

    // Past the timeout: 504 at the timeout, the function is replaced, the next request served.
    let t = Instant::now();
    let r = dev.post(
        "/context",
        Some(&token),
        &json!({"fixture": "sleep", "ms": 5000}),
    );
    let took = t.elapsed();
    assert_eq!(r.status, 504, "{}", r.body);
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_millis(4000),
        "{took:?}"
    );
    ok("/context");
    assert_eq!(dev.stats()["restarts"]["voice-learning-context-manager"], 1);
    // Within the timeout: fine.
    let r = dev.post(
        "/context",
        Some(&token),
        &json!({"fixture": "sleep", "ms": 200}),
    );
    assert_eq!(r.status, 200, "{}", r.body);

    // Overlapping requests: more processes start, up to --concurrency, and
    // every request is answered.
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (port, token) = (dev.port, token.clone());
            std::thread::spawn(move || {
                let auth = format!("Bearer {token}");
                http(
                    port,
                    "POST",
                    "/sessions",
                    &[("Authorization", &auth)],
                    r#"{"fixture":"sleep","ms":300}"#,
                )
                .status
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 200);
    }
    let stats = dev.stats();
    let n = pids(&stats, "voice-learning-session-persistence").len();
    assert!((2..=3).contains(&n), "{n} processes: {stats}");
    assert_eq!(
        stats["invocations"]["voice-learning-session-persistence"], 11,
        "{stats}"
    );
}
