//! The load test with its oracle (`local::load`) against the local module
//! in process (the real functions, moto behind the fault proxy, the gateway
//! and its JWT authorizer): concurrent writers on shared sessions lose,
//! double and reorder nothing, with and without injected faults, and a
//! dependency stall longer than the function's time ends in 503s, not 504s;
//! against a store whose writes are not conditional, the check fails.

use local::fault_proxy::Fault;
use local::load::{LoadPlan, LoadReport, Target};
use std::time::Duration;

/// The function timeout here: short, so a stall outlives it quickly.
const FUNCTION_TIMEOUT_MS: u64 = 4_000;

fn plan() -> LoadPlan {
    LoadPlan {
        sessions: 3,
        writers: 4,
        turns: 6,
        duplicate_every: 3,
        // Retry-After says 1 s; a shorter wait keeps the suite quick.
        retry_wait: Some(Duration::from_millis(50)),
    }
}

fn assert_passed(report: &LoadReport, what: &str) {
    assert!(
        report.passed(),
        "{what}: {}",
        serde_json::to_string_pretty(report).unwrap()
    );
    eprintln!(
        "{what}: {} requests, statuses {:?}, p50 {:.1} ms, p99 {:.1} ms, {:.0} req/s",
        report.requests,
        report.statuses,
        report.latency_ms.p50,
        report.latency_ms.p99,
        report.requests_per_second
    );
}

#[test]
fn concurrent_writers_lose_nothing_with_faults_and_stalls() {
    let api = crate::support::LocalApi::start("load", |o| {
        o.function_timeout_ms = Some(FUNCTION_TIMEOUT_MS);
        o.concurrency = 4;
        o.aws_proxy = true;
    });
    let (rt, running, addr) = (&api.rt, &api.running, api.addr);
    let target = Target {
        addr,
        base: String::new(),
        token: running.token("load-tester", 3600).unwrap(),
    };
    let proxy = running.aws_proxy.as_ref().expect("started with the proxy");

    // Clean runs, several: a race shows up in some runs only.
    for round in 1..=3 {
        let report = rt
            .block_on(local::load::run(&target, &plan()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_passed(&report, &format!("clean run {round}"));
        assert_eq!(
            report.statuses.keys().copied().collect::<Vec<_>>(),
            [200, 201]
        );
    }

    // Throttling, internal errors and dropped responses on every 5th AWS
    // call: the SDK retries them; what it cannot hide ends in 503 and the
    // writer's retry with the same turnId is stored once.
    proxy.inject(
        5,
        &[
            Fault::Throttling,
            Fault::InternalError,
            Fault::DroppedResponse,
        ],
    );
    let report = rt
        .block_on(local::load::run(&target, &plan()))
        .unwrap_or_else(|e| panic!("{e}"));
    proxy.inject(0, &[]);
    assert_passed(&report, "with faults");
    let injected = proxy.injected();
    assert!(
        injected.throttling > 0 && injected.internal_error > 0 && injected.dropped_response > 0,
        "{injected:?}"
    );

    // The store stalls for longer than a function may run: requests that
    // wait on it are answered 503 (with Retry-After) before the deadline;
    // none is left to the gateway's 504; after it, nothing is lost.
    let load = rt.spawn({
        let target = target.clone();
        async move { local::load::run(&target, &plan()).await }
    });
    std::thread::sleep(Duration::from_millis(300));
    proxy.stall(Duration::from_millis(FUNCTION_TIMEOUT_MS * 2));
    let report = rt.block_on(load).unwrap().unwrap();
    assert_passed(&report, "with a stall");
    assert!(proxy.injected().stalled > 0, "{:?}", proxy.injected());
    assert!(
        report.statuses.get(&503).copied().unwrap_or(0) > 0,
        "the stall produced no 503: {:?}",
        report.statuses
    );
    assert!(!report.statuses.contains_key(&504), "{:?}", report.statuses);

    // The check can fail: with the store's conditions stripped (a fault no
    // real table has), concurrent writers overwrite each other's slots and
    // the check reports the turns that were answered 200 but lost.
    proxy.ignore_conditions(true);
    let lossy = LoadPlan {
        sessions: 2,
        writers: 6,
        turns: 4,
        duplicate_every: 0,
        retry_wait: Some(Duration::from_millis(50)),
    };
    let report = rt
        .block_on(local::load::run(&target, &lossy))
        .unwrap_or_else(|e| panic!("{e}"));
    proxy.ignore_conditions(false);
    eprintln!("without conditions: {:#?}", report.violations);
    assert!(
        report
            .violations
            .iter()
            .any(|v| v.contains("but is not stored") || v.contains("but is stored at")),
        "a store without conditional writes lost nothing the check saw: {:?}",
        report.violations
    );

    api.stop();
}
