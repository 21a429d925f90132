//! `bench load`: the load test and its check through `dev`.

use crate::flags;
use crate::output::outln;
use anyhow::{Context, Result};
use local::{Functions, StartOptions};
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;

/// `bench load`: [`local::load`] against the release functions under `dev`
/// (fresh, in `.bench/`), the template's function timeout, moto behind the
/// fault proxy; written to `.bench/load.json`. Exit code 1 when the check
/// finds a lost, doubled or misplaced turn or a 5xx other than 503.
pub(super) async fn bench_load(args: &flags::Bench) -> Result<ExitCode> {
    let plan = local::load::LoadPlan {
        sessions: args.sessions.max(1),
        writers: args.writers.max(1),
        turns: args.turns.max(1),
        duplicate_every: 4,
        retry_wait: None,
    };
    let out_dir = emulator::workspace_root().join(".bench");
    let opts = StartOptions {
        stage: None,
        functions: Functions::Build { release: true },
        fresh: true,
        function_timeout_ms: None,
        data_dir: out_dir.join("load-data"),
        access_log: false,
        forward_logs: std::env::var_os("BENCH_FORWARD").is_some(),
        log: local::Log::stderr(),
        // As Lambda would: one instance per concurrent request.
        concurrency: plan.writers,
        aws_proxy: true,
        unlocked_emulator: args.unlocked_emulator,
        cors_origins: vec![],
        route_scopes: vec![],
    };
    let running = local::start(&opts).await?;
    let (addr, server) = running.serve_api().await?;
    let target = local::load::Target {
        addr,
        base: String::new(),
        token: running.token("load-tester", 3600)?,
    };
    let proxy = running
        .aws_proxy
        .as_ref()
        .context("the bench starts the functions behind the fault proxy")?;
    if args.faults {
        use local::fault_proxy::Fault;
        proxy.inject(
            7,
            &[
                Fault::Throttling,
                Fault::InternalError,
                Fault::DroppedResponse,
            ],
        );
    }
    let load = tokio::spawn({
        let (target, plan) = (target.clone(), plan.clone());
        async move { local::load::run(&target, &plan).await }
    });
    if args.stall > 0 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        proxy.stall(Duration::from_secs(args.stall));
    }
    let report = load.await.context("the load task")??;
    let injected = proxy.injected();
    server.abort();
    running.shutdown.send_replace(true);
    running.stop().await;
    outln!(
        "{} sessions × {} writers × {} turns (every {}th sent twice){}{}{}",
        plan.sessions,
        plan.writers,
        plan.turns,
        plan.duplicate_every,
        if args.faults { ", faults" } else { "" },
        if args.stall > 0 {
            format!(", a {} s stall", args.stall)
        } else {
            String::new()
        },
        if args.unlocked_emulator {
            ", moto unlocked"
        } else {
            ""
        },
    );
    outln!(
        "{} requests in {:.1} s ({:.0}/s); answers {:?}; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        report.requests,
        report.seconds,
        report.requests_per_second,
        report.statuses,
        report.latency_ms.p50,
        report.latency_ms.p99,
        report.latency_ms.max
    );
    outln!(
        "injected: {} throttled, {} internal errors, {} dropped answers, {} requests stalled; {} turns stored",
        injected.throttling,
        injected.internal_error,
        injected.dropped_response,
        injected.stalled,
        report.turns_stored
    );
    std::fs::create_dir_all(&out_dir)?;
    let path = out_dir.join("load.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&json!({"report": report, "injected": injected}))? + "\n",
    )?;
    outln!("written to {}", path.display());
    if report.passed() {
        outln!("check: passed (every turn once, in order, counted; no 5xx but 503)");
        Ok(ExitCode::SUCCESS)
    } else {
        outln!("check: FAILED, {} finding(s):", report.violations.len());
        for v in &report.violations {
            outln!("  {v}");
        }
        Ok(ExitCode::FAILURE)
    }
}
