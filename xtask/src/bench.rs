//! `cargo xtask bench`:
//!
//! - `synth`: in-process synth time; whole-process optimized `xtask synth`
//!   wall time and peak RSS.
//! - `functions`: the release functions under the local runtime API and
//!   gateway (the same stack as `dev`, fresh, in `.bench/`): `add_turn`
//!   latency through the gateway, 1,000 sequential calls on one keep-alive
//!   connection (median, p99); 1,000 session requests; peak RSS (`VmHWM`) of
//!   each function process after them; process start to its first
//!   `GET …/invocation/next` over `runs` starts (median, min, max); where
//!   that time goes, phase by phase ([`init_phases`]). Written to
//!   `.bench/functions.json` too.
//! - `load`: [`local::load`]'s writers and check through `dev`, with faults
//!   and a stall when asked; `.bench/load.json`.

mod init_phases;
mod load;

use crate::flags::{self, BenchTarget, Format};
use crate::output::outln;
use anyhow::{bail, Context, Result};
use functions::wire::{ContextRequest, Mode, Role, SessionId, SessionsRequest};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use local::{Functions, Running, StartOptions};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub fn run(args: flags::Bench) -> Result<ExitCode> {
    match args.target {
        BenchTarget::Synth => bench_synth(args.runs.max(5)),
        BenchTarget::Functions => bench_functions(args.runs.max(1), args.binaries),
        BenchTarget::Load => {
            let rt = crate::runtime()?;
            let result = rt.block_on(load::bench_load(&args));
            rt.shutdown_timeout(Duration::from_secs(2));
            result
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// In an optimized build: in-process synth time, then whole-process
/// `xtask synth` time and peak RSS of this very binary. In a debug build:
/// builds the optimized one and lets it measure.
fn bench_synth(runs: usize) -> Result<ExitCode> {
    // In process: synth + validation + YAML serialization.
    let mut inproc = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let text = crate::synth::render(None, Format::Yaml)?;
        std::hint::black_box(text);
        inproc.push(t.elapsed());
    }
    let profile = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "optimized build"
    };
    outln!(
        "in-process synth (validate + YAML, {profile}), median of {runs}: {:?}",
        median(inproc)
    );
    if !cfg!(debug_assertions) {
        return whole_process(&std::env::current_exe()?, runs);
    }
    // Whole process: an optimized build of xtask running `synth`, as a user
    // runs it. Profile `xtask` is `release` without LTO (see Cargo.toml), so
    // the bench does not spend minutes on link-time optimization of the SDK.
    let root = emulator::workspace_root();
    eprintln!("building xtask optimized (cargo build --profile xtask -p xtask)...");
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                "--quiet",
                "--profile",
                "xtask",
                "--package",
                "xtask",
            ])
            .current_dir(&root)
            .status()
            .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --profile xtask -p xtask failed");
    }
    let optimized = lambda_package::cargo::target_dir()?.join("xtask/xtask");
    let optimized = std::process::Command::new(optimized)
        .args(["bench", "synth", "--runs"])
        .arg(runs.to_string())
        .status()
        .context("running the optimized bench")?;
    if !optimized.success() {
        bail!("the optimized bench failed");
    }
    Ok(ExitCode::SUCCESS)
}

/// `exe synth`, run `runs` times: the median wall time and peak RSS.
fn whole_process(exe: &std::path::Path, runs: usize) -> Result<ExitCode> {
    let synth_once = || -> Result<()> {
        let o = std::process::Command::new(exe)
            .arg("synth")
            .stdout(std::process::Stdio::null())
            .output()
            .context("running xtask synth")?;
        if !o.status.success() {
            bail!("xtask synth failed: {}", String::from_utf8_lossy(&o.stderr));
        }
        Ok(())
    };
    synth_once()?; // warm the page cache
    let mut wall = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        synth_once()?;
        wall.push(t.elapsed());
    }
    outln!(
        "whole process `target/xtask/xtask synth`, median wall of {runs}: {:?}",
        median(wall)
    );
    let mut peak_kib = 0u64;
    for _ in 0..5 {
        let out = std::process::Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(exe)
            .arg("synth")
            .stdout(std::process::Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let stderr = String::from_utf8_lossy(&o.stderr);
                if let Some(kib) = stderr
                    .lines()
                    .last()
                    .and_then(|l| l.trim().parse::<u64>().ok())
                {
                    peak_kib = peak_kib.max(kib);
                }
            }
            _ => break,
        }
    }
    if peak_kib > 0 {
        outln!(
            "whole process peak RSS (max of 5, GNU time): {}",
            lambda_package::format_size(peak_kib * 1024)
        );
    } else {
        outln!("peak RSS: not measured (GNU time not found at /usr/bin/time)");
    }
    Ok(ExitCode::SUCCESS)
}

const REQUESTS: usize = 1000;

struct Client {
    addr: SocketAddr,
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Result<Self> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Client { addr, sender })
    }

    async fn post(&mut self, path: &str, token: &str, body: &Value) -> Result<(u16, Value)> {
        let req = hyper::Request::post(path)
            .header("host", self.addr.to_string())
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))?;
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await?.to_bytes();
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Ok((status, v))
    }
}

/// The first string value of a `sessionId` field anywhere in `v`.
fn find_session_id(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) => m
            .get("sessionId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| m.values().find_map(find_session_id)),
        Value::Array(a) => a.iter().find_map(find_session_id),
        _ => None,
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn bench_functions(runs: usize, binaries: Option<std::path::PathBuf>) -> Result<ExitCode> {
    let rt = crate::runtime()?;
    let functions = match binaries {
        Some(dir) => Functions::Prebuilt(dir),
        None => Functions::Build { release: true },
    };
    let result = rt.block_on(bench(runs.max(1), functions));
    rt.shutdown_timeout(Duration::from_secs(2));
    result
}

async fn bench(runs: usize, functions: Functions) -> Result<ExitCode> {
    let root = emulator::workspace_root();
    let out_dir = root.join(".bench");
    let opts = StartOptions {
        stage: None,
        functions,
        fresh: true,
        function_timeout_ms: None,
        data_dir: out_dir.join("dev-data"),
        access_log: false,
        forward_logs: false,
        log: local::Log::stderr(),
        // One process per function: sequential calls use one anyway.
        concurrency: 1,
        aws_proxy: true,
        unlocked_emulator: false,
        cors_origins: vec![],
        route_scopes: vec![],
    };
    let running = local::start(&opts).await?;
    let result = measure(&running, runs).await;
    running.shutdown.send_replace(true);
    running.stop().await;
    let report = result?;
    std::fs::create_dir_all(&out_dir)?;
    let path = out_dir.join("functions.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")?;
    outln!("written to {}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// A request body for the n-th call of an action.
/// A request body, built from the functions' own request types.
fn body(request: impl serde::Serialize) -> Value {
    serde_json::to_value(request).expect("a request serializes")
}

type BodyOf<'a> = Box<dyn Fn(usize) -> Value + 'a>;

/// The fixed delay the proxy adds to every AWS call in the per-action phase.
const AWS_DELAY_MS: u64 = 10;
const DELAYED_RUNS: usize = 100;

/// Each action, warm, with [`AWS_DELAY_MS`] added to every AWS call: p50/p99
/// and the AWS calls per call. With the emulator's own time small beside the
/// delay, the latency counts sequential round trips.
async fn with_aws_delay(running: &Running, c: &mut Client, token: &str) -> Result<Value> {
    let proxy = running
        .aws_proxy
        .as_ref()
        .context("the bench starts the functions behind the fault proxy")?;
    proxy.set_delay(Duration::from_millis(AWS_DELAY_MS));
    let (status, created) = c
        .post(
            "/sessions",
            token,
            &body(SessionsRequest::create("Closures", Some(Mode::Tutor))?),
        )
        .await?;
    let Some(sid) = find_session_id(&created).filter(|_| status < 300) else {
        bail!("create answered {status}: {created}");
    };
    let sid = SessionId::try_from(sid.as_str())?;
    let actions: Vec<(&str, &str, BodyOf)> = vec![
        (
            "create",
            "/sessions",
            Box::new(|_| {
                body(SessionsRequest::create("Closures", Some(Mode::Tutor)).expect("a valid topic"))
            }),
        ),
        (
            "get",
            "/sessions",
            Box::new(|_| body(SessionsRequest::get(&sid))),
        ),
        (
            "add_turn",
            "/context",
            Box::new(|i| {
                let content = format!("Question {i}: what is a closure?");
                body(
                    ContextRequest::add_turn(&sid, Role::User, &content, "en")
                        .expect("a valid turn"),
                )
            }),
        ),
        (
            "get_context",
            "/context",
            Box::new(|_| body(ContextRequest::get_context(&sid))),
        ),
        (
            "list",
            "/sessions",
            Box::new(|_| body(SessionsRequest::list())),
        ),
    ];
    let mut out = serde_json::Map::new();
    for (name, route, body) in &actions {
        // One unmeasured call warms the path (data-key cache, connections).
        c.post(route, token, &body(0)).await?;
        let calls_before = proxy.requests();
        let mut ms = Vec::with_capacity(DELAYED_RUNS);
        for i in 1..=DELAYED_RUNS {
            let t = Instant::now();
            let (status, v) = c.post(route, token, &body(i)).await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            if !(200..300).contains(&status) {
                bail!("{name} answered {status}: {v}");
            }
        }
        let calls = (proxy.requests() - calls_before) as f64 / DELAYED_RUNS as f64;
        ms.sort_by(f64::total_cmp);
        out.insert(
            name.to_string(),
            json!({"p50_ms": percentile(&ms, 0.5), "p99_ms": percentile(&ms, 0.99), "aws_calls_per_call": calls}),
        );
    }
    proxy.set_delay(Duration::ZERO);
    Ok(Value::Object(out))
}

async fn measure(running: &Running, runs: usize) -> Result<Value> {
    let (addr, server) = running.serve_api().await?;
    // The bench adds assistant turns too: the assistant backend's token.
    let token = running.writer_token("bench-user", 3600)?;
    let mut c = Client::connect(addr).await?;

    let (status, created) = c
        .post(
            "/sessions",
            &token,
            &body(SessionsRequest::create(
                "JavaScript Basics",
                Some(Mode::Tutor),
            )?),
        )
        .await?;
    if !(200..300).contains(&status) {
        bail!("create answered {status}: {created}");
    }
    let Some(session_id) = find_session_id(&created) else {
        bail!("no sessionId in {created}");
    };
    let session_id = SessionId::try_from(session_id.as_str())?;

    let mut add_turn = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS {
        let role = if i % 2 == 0 {
            Role::User
        } else {
            Role::Assistant
        };
        let content = format!("Turn {i}: what is a closure? A function with its environment.");
        let body = body(ContextRequest::add_turn(&session_id, role, &content, "en")?);
        let t = Instant::now();
        let (status, v) = c.post("/context", &token, &body).await?;
        add_turn.push(t.elapsed().as_secs_f64() * 1000.0);
        if status != 200 {
            bail!("add_turn {i} answered {status}: {v}");
        }
    }
    let mut sessions = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS {
        let body = body(if i % 10 == 9 {
            SessionsRequest::list()
        } else {
            SessionsRequest::get(&session_id)
        });
        let t = Instant::now();
        let (status, v) = c.post("/sessions", &token, &body).await?;
        sessions.push(t.elapsed().as_secs_f64() * 1000.0);
        if status != 200 {
            bail!("session request {i} answered {status}: {v}");
        }
    }
    let per_action = with_aws_delay(running, &mut c, &token).await?;
    let mut rss = serde_json::Map::new();
    let mut sizes = serde_json::Map::new();
    for rt in &running.runtimes {
        let bytes = std::fs::metadata(&rt.command().program)
            .with_context(|| format!("reading {}", rt.command().program.display()))?
            .len();
        sizes.insert(rt.name().into(), json!(bytes));
        let pid = *rt.pids().first().context("the function is not running")?;
        let kib = vm_hwm_kib(pid).context("reading the function's VmHWM")?;
        rss.insert(rt.name().into(), json!(kib));
    }
    drop(c);
    server.abort();

    // Cold starts: restart each function `runs` times.
    let mut starts = serde_json::Map::new();
    for rt in &running.runtimes {
        let before = rt.init_times.lock().expect("lock").len();
        for i in 0..runs {
            rt.restart();
            let t = Instant::now();
            while rt.init_times.lock().expect("lock").len() < before + i + 1 {
                if t.elapsed() > Duration::from_secs(30) {
                    bail!("{} did not restart", rt.name());
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        let mut ms: Vec<f64> = rt.init_times.lock().expect("lock")[before..]
            .iter()
            .map(|d| d.as_secs_f64() * 1000.0)
            .collect();
        ms.sort_by(f64::total_cmp);
        starts.insert(
            rt.name().into(),
            json!({"runs": ms.len(), "median_ms": percentile(&ms, 0.5), "min_ms": ms[0], "max_ms": ms[ms.len() - 1]}),
        );
    }

    // The same starts, phase by phase (medians).
    let mut phases = serde_json::Map::new();
    for rt in &running.runtimes {
        phases.insert(
            rt.name().into(),
            init_phases::measure(rt.command(), runs).await?,
        );
    }

    add_turn.sort_by(f64::total_cmp);
    sessions.sort_by(f64::total_cmp);
    outln!("add_turn through the local gateway, {REQUESTS} sequential calls on one session (keep-alive):");
    outln!(
        "  median {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        percentile(&add_turn, 0.5),
        percentile(&add_turn, 0.99),
        add_turn[add_turn.len() - 1]
    );
    outln!("session get/list through the local gateway, {REQUESTS} calls:");
    outln!(
        "  median {:.2} ms  p99 {:.2} ms",
        percentile(&sessions, 0.5),
        percentile(&sessions, 0.99)
    );
    outln!(
        "{:<40} {:>12} {:>16} {:>22}",
        "function",
        "binary",
        "peak RSS (KiB)",
        "start to first next"
    );
    for rt in &running.runtimes {
        let s = &starts[rt.name()];
        outln!(
            "{:<40} {:>12} {:>16} {:>12.2} ms (median of {}, min {:.2}, max {:.2})",
            rt.name(),
            lambda_package::format_size(sizes[rt.name()].as_u64().unwrap_or(0)),
            rss[rt.name()].as_u64().unwrap_or(0),
            s["median_ms"].as_f64().unwrap_or(f64::NAN),
            s["runs"],
            s["min_ms"].as_f64().unwrap_or(f64::NAN),
            s["max_ms"].as_f64().unwrap_or(f64::NAN)
        );
    }
    print_phases(&phases, runs);
    outln!(
        "per action with {AWS_DELAY_MS} ms added to every AWS call ({DELAYED_RUNS} warm calls each): the time is round trips"
    );
    outln!(
        "{:<14} {:>10} {:>10} {:>18}",
        "action",
        "p50 (ms)",
        "p99 (ms)",
        "AWS calls / call"
    );
    for (action, v) in per_action.as_object().into_iter().flatten() {
        outln!(
            "{:<14} {:>10.1} {:>10.1} {:>18.2}",
            action,
            v["p50_ms"].as_f64().unwrap_or(f64::NAN),
            v["p99_ms"].as_f64().unwrap_or(f64::NAN),
            v["aws_calls_per_call"].as_f64().unwrap_or(f64::NAN)
        );
    }
    Ok(json!({
        "requests": REQUESTS,
        "per_action_with_aws_delay": {"aws_delay_ms": AWS_DELAY_MS, "runs": DELAYED_RUNS, "actions": per_action},
        "add_turn_ms": {"median": percentile(&add_turn, 0.5), "p99": percentile(&add_turn, 0.99), "max": add_turn[add_turn.len() - 1]},
        "sessions_ms": {"median": percentile(&sessions, 0.5), "p99": percentile(&sessions, 0.99)},
        "peak_rss_kib_after_requests": rss,
        "binary_bytes": sizes,
        "start_to_first_next": starts,
        "init_phases_median_us": phases,
    }))
}

/// The phase table: a row per phase, a column per function.
fn print_phases(phases: &serde_json::Map<String, Value>, runs: usize) {
    outln!("where a start goes (median µs of {runs} starts each; env as dev gives it):");
    let names: Vec<&String> = phases.keys().collect();
    let mut header = format!("{:<22}", "phase");
    for n in &names {
        header += &format!(" {:>36}", n);
    }
    outln!("{header}");
    let rows = std::iter::once("before_main_us")
        .chain(init_phases::MAIN_PHASES)
        .chain(["runtime_client_us", "total_us"]);
    for row in rows {
        let mut line = format!("{:<22}", row.trim_end_matches("_us"));
        for n in &names {
            line += &format!(" {:>36}", phases[*n][row].as_i64().unwrap_or(-1));
        }
        outln!("{line}");
    }
}
