//! The Runtime API on its own: a function whose init fails.

use hyper::body::Bytes;
use local::model::LocalModel;
use local::runtime_api::{Command, Outcome, Runtime};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::watch;

/// A "function" in bash that reports an init error and exits.
const INIT_ERROR: &str = r#"H=${AWS_LAMBDA_RUNTIME_API%:*}; P=${AWS_LAMBDA_RUNTIME_API#*:}
exec 3<>/dev/tcp/$H/$P
B='{"errorMessage":"no config","errorType":"Runtime.InitError"}'
printf 'POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: x\r\nLambda-Runtime-Function-Error-Type: Runtime.InitError\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' ${#B} "$B" >&3
cat <&3 >/dev/null
exit 1"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_errors_fail_startup_and_requests_without_waiting_for_the_timeout() {
    let (_, m) = LocalModel::synth(None).unwrap();
    let cmd = Command {
        program: "/bin/bash".into(),
        args: vec!["-c".into(), INIT_ERROR.into()],
        env: vec![],
    };
    let (stop, rx) = watch::channel(false);
    let rt = Runtime::new(
        m.functions[0].clone(),
        "arn:test".into(),
        Duration::from_secs(20),
        cmd,
        false,
        local::Log::stderr(),
        2,
        rx,
    );
    rt.start();
    let err = rt
        .wait_ready(Duration::from_secs(20))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Runtime.InitError") && err.contains("no config"),
        "{err}"
    );
    // Crashed, not a timeout: the failed init is answered at once.
    let out = rt
        .invoke(Bytes::from_static(b"{}"), Duration::from_secs(20))
        .await;
    assert!(
        matches!(out, Outcome::Crashed(ref m) if m.contains("init failed")),
        "{out:?}"
    );
    assert_eq!(rt.invocations.load(Ordering::SeqCst), 0);
    stop.send_replace(true);
    rt.stopped().await;
    assert!(rt.pids().is_empty());
}
