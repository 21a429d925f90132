//! Where a function's cold start goes: each function binary started `runs`
//! times with the environment `dev` gives it and a stand-in Runtime API that
//! only notes when the first `GET …/invocation/next` arrives. The phases
//! inside `main` come from the binary's own `init` log line; the time before
//! `main` and after it (the Runtime API client and its first request) from
//! the wall clock of the bench and of that line, on the same machine.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

/// The `init` line's phase fields, in the order they happen.
pub use functions::runtime::INIT_PHASES as MAIN_PHASES;

fn unix_us(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_micros() as i64
}

/// One start: every phase in microseconds, `before_main_us` and
/// `runtime_client_us` included.
async fn one_start(cmd: &local::runtime_api::Command) -> Result<serde_json::Map<String, Value>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    // Before `spawn`, which returns only once the exec is done.
    let spawned = SystemTime::now();
    let mut child = tokio::process::Command::new(&cmd.program)
        .env_clear()
        .envs(cmd.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        // The line's timestamp is the moment it was written: what the
        // phases are laid against.
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", cmd.program.display()))?;
    let accept = async {
        let (mut stream, _) = listener.accept().await?;
        let at = SystemTime::now();
        let mut head = [0u8; 64];
        let n = stream.read(&mut head).await?;
        anyhow::Ok((at, String::from_utf8_lossy(&head[..n]).into_owned()))
    };
    let (next_at, head) = tokio::time::timeout(Duration::from_secs(10), accept)
        .await
        .context("the function asked for no work within 10 s")??;
    if !head.contains("/invocation/next") {
        bail!("the function's first Runtime API request was not `next`: {head:?}");
    }
    let stdout = child.stdout.take().context("no stdout")?;
    let _ = child.start_kill();
    let mut lines = BufReader::new(stdout).lines();
    let init = loop {
        let Some(line) = lines.next_line().await? else {
            bail!("the function wrote no `init` line");
        };
        let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if v["message"] == "init" {
            break v;
        }
    };
    let _ = child.wait().await;
    let logged = init["timestamp"]
        .as_str()
        .and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
        .context("the `init` line has no RFC 3339 timestamp")?;
    let logged_us = (logged.unix_timestamp_nanos() / 1000) as i64;
    let total_us = init["total_us"].as_i64().context("no total_us")?;
    let mut phases = serde_json::Map::new();
    phases.insert(
        "before_main_us".into(),
        json!(logged_us - total_us - unix_us(spawned)),
    );
    for p in MAIN_PHASES {
        phases.insert(p.into(), init[p].clone());
    }
    phases.insert(
        "runtime_client_us".into(),
        json!(unix_us(next_at) - logged_us),
    );
    phases.insert(
        "total_us".into(),
        json!(unix_us(next_at) - unix_us(spawned)),
    );
    Ok(phases)
}

/// The median of each phase over `runs` starts of the function `cmd` runs.
pub async fn measure(cmd: &local::runtime_api::Command, runs: usize) -> Result<Value> {
    let mut starts = Vec::with_capacity(runs);
    for _ in 0..runs {
        starts.push(one_start(cmd).await?);
    }
    let mut medians = serde_json::Map::new();
    for key in starts[0].keys() {
        let mut v: Vec<i64> = starts.iter().filter_map(|s| s[key].as_i64()).collect();
        v.sort();
        medians.insert(key.clone(), json!(v[v.len() / 2]));
    }
    Ok(Value::Object(medians))
}
