//! `tune`: the deployment guide's "Lambda memory optimization" as a
//! measurement. For each memory size: set it (UpdateFunctionConfiguration,
//! then wait until the update is in effect), invoke the function with a
//! read that finds nothing (the first invocation after the change is a cold
//! start), read Duration, Billed Duration, Max Memory Used and Init
//! Duration from each invocation's REPORT line (Invoke with `LogType=Tail`
//! returns the last 4 KB of its log:
//! <https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html>), price
//! it with `cost`'s table; then put the original size back.

use crate::aws::{self, explain, Aws};
use crate::error::{failed, Result};
use crate::options::AwsOptions;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, LastUpdateStatus, LogType};
use base64::Engine as _;
use serde::Serialize;
use std::time::Duration;

/// What one REPORT line says.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportLine {
    pub duration_ms: f64,
    pub billed_ms: f64,
    pub memory_mb: f64,
    pub max_memory_used_mb: f64,
    pub init_ms: Option<f64>,
}

/// The REPORT line of a log tail, in Lambda's text format
/// (`REPORT RequestId: … Duration: 12.34 ms Billed Duration: 13 ms …`).
pub fn parse_report(tail: &str) -> Option<ReportLine> {
    let line = tail.lines().rev().find(|l| l.starts_with("REPORT"))?;
    let field = |name: &str| -> Option<f64> {
        let rest = line.split(&format!("{name}: ")).nth(1)?;
        rest.split_whitespace().next()?.parse().ok()
    };
    Some(ReportLine {
        duration_ms: field("\tDuration").or_else(|| field(" Duration"))?,
        billed_ms: field("Billed Duration")?,
        memory_mb: field("Memory Size")?,
        max_memory_used_mb: field("Max Memory Used")?,
        init_ms: field("Init Duration"),
    })
}

#[derive(Debug, Clone)]
pub struct TuneOptions {
    pub aws: AwsOptions,
    pub stage: Option<String>,
    pub function: stack::Function,
    pub memory_mb: Vec<i32>,
    pub invocations: u32,
}

/// One memory size, measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SizeResult {
    pub memory_mb: i32,
    pub invocations: usize,
    /// Median duration of the warm invocations.
    pub p50_ms: f64,
    pub billed_mean_ms: f64,
    pub max_memory_used_mb: f64,
    /// The cold start's init duration (the first invocation).
    pub init_ms: Option<f64>,
    /// Requests and duration, per million warm invocations.
    pub usd_per_million: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tuning {
    pub function: String,
    pub architecture: String,
    pub original_mb: i32,
    pub results: Vec<SizeResult>,
    /// The cheapest size per million requests (the faster one on a tie).
    pub recommended_mb: Option<i32>,
}

/// The size's figures from its invocations' REPORT lines (the first one is
/// the cold start).
pub fn summarise(memory_mb: i32, reports: &[ReportLine], per_gb_second: f64) -> Option<SizeResult> {
    let (cold, warm) = reports.split_first()?;
    let warm = if warm.is_empty() {
        std::slice::from_ref(cold)
    } else {
        warm
    };
    let mut durations: Vec<f64> = warm.iter().map(|r| r.duration_ms).collect();
    durations.sort_by(f64::total_cmp);
    let p50_ms = durations[durations.len() / 2];
    let billed_mean_ms = warm.iter().map(|r| r.billed_ms).sum::<f64>() / warm.len() as f64;
    let max_memory_used_mb = reports
        .iter()
        .map(|r| r.max_memory_used_mb)
        .fold(0.0, f64::max);
    let gb_seconds = billed_mean_ms / 1000.0 * f64::from(memory_mb) / 1024.0;
    let usd = crate::cost::price::LAMBDA_REQUESTS_PER_MILLION + gb_seconds * 1e6 * per_gb_second;
    Some(SizeResult {
        memory_mb,
        invocations: reports.len(),
        p50_ms,
        billed_mean_ms: (billed_mean_ms * 100.0).round() / 100.0,
        max_memory_used_mb,
        init_ms: cold.init_ms,
        usd_per_million: (usd * 10_000.0).round() / 10_000.0,
    })
}

/// The cheapest size per million requests; the faster on a tie.
pub fn recommend(results: &[SizeResult]) -> Option<i32> {
    results
        .iter()
        .min_by(|a, b| {
            a.usd_per_million
                .total_cmp(&b.usd_per_million)
                .then(a.p50_ms.total_cmp(&b.p50_ms))
        })
        .map(|r| r.memory_mb)
}

/// The request each invocation sends: a read that finds nothing, so tuning
/// writes no data (`list` for a fresh user; `get_context` of a session that
/// does not exist, a 404 after its reads).
fn request(function: stack::Function, i: u32) -> serde_json::Value {
    let user = crate::verify::smoke::new_user();
    use functions::wire::{ContextRequest, SessionId, SessionsRequest};
    let body = match function {
        stack::Function::ContextManager => {
            let nowhere = SessionId::try_from("00000000-0000-4000-8000-000000000000")
                .expect("a well-formed session id");
            serde_json::to_value(ContextRequest::get_context(&nowhere))
        }
        stack::Function::SessionPersistence => serde_json::to_value(SessionsRequest::list()),
    };
    let path = function.path();
    let body = body.expect("a request serializes");
    crate::verify::smoke::event(
        path,
        &user,
        &body,
        &format!("xtask-tune-{i}"),
        crate::events::now_epoch() as u64 * 1000,
    )
}

async fn set_memory(
    lambda: &aws_sdk_lambda::Client,
    aws: &Aws,
    function: &str,
    mb: i32,
) -> Result<()> {
    lambda
        .update_function_configuration()
        .function_name(function)
        .memory_size(mb)
        .send()
        .await
        .map_err(|e| {
            explain(
                e,
                &format!("setting {function}'s memory to {mb} MB"),
                &aws.target(),
            )
        })?;
    // The update is in effect when LastUpdateStatus is Successful.
    for _ in 0..120 {
        let c = lambda
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .map_err(|e| {
                explain(
                    e,
                    &format!("reading {function}'s configuration"),
                    &aws.target(),
                )
            })?;
        match c.last_update_status() {
            Some(LastUpdateStatus::Successful) | None => return Ok(()),
            Some(LastUpdateStatus::Failed) => {
                return Err(failed!(
                    "{function}'s memory update to {mb} MB failed: {}",
                    c.last_update_status_reason().unwrap_or("no reason given")
                ))
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    Err(failed!(
        "{function}'s memory update to {mb} MB was not in effect after 60 s"
    ))
}

/// Measures every size against `aws`, then restores the original.
pub async fn tune_with(aws: &Aws, opts: &TuneOptions) -> Result<Tuning> {
    if opts.memory_mb.is_empty() || opts.memory_mb.iter().any(|m| !(128..=10_240).contains(m)) {
        return Err(failed!(
            "--memory takes sizes from 128 to 10240 MB, separated by commas, e.g. --memory 128,256,512,1024."
        ));
    }
    if !(2..=1_000).contains(&opts.invocations) {
        return Err(failed!(
            "--invocations takes 2 to 1000 (the first one of each size is a cold start)."
        ));
    }
    let names = crate::options::names(opts.stage.as_deref())?;
    let function = opts.function.function_name(&names).to_string();
    let lambda = crate::record::recorded_client!(aws_sdk_lambda, &aws.conf);
    let c = lambda
        .get_function_configuration()
        .function_name(&function)
        .send()
        .await
        .map_err(|e| {
            explain(
                e,
                &format!("reading {function}'s configuration (is the stack deployed?)"),
                &aws.target(),
            )
        })?;
    let original = c.memory_size().unwrap_or(256);
    let arm = c.architectures().contains(&Architecture::Arm64);
    let per_gb_second = if arm {
        crate::cost::price::LAMBDA_ARM64_PER_GB_SECOND
    } else {
        crate::cost::price::LAMBDA_X86_PER_GB_SECOND
    };
    let mut results = vec![];
    let measured = measure_all(&lambda, aws, &function, opts, per_gb_second, &mut results).await;
    // Put the original size back whatever happened.
    let restored = set_memory(&lambda, aws, &function, original).await;
    measured?;
    restored?;
    Ok(Tuning {
        recommended_mb: recommend(&results),
        function,
        architecture: if arm { "arm64" } else { "x86_64" }.into(),
        original_mb: original,
        results,
    })
}

async fn measure_all(
    lambda: &aws_sdk_lambda::Client,
    aws: &Aws,
    function: &str,
    opts: &TuneOptions,
    per_gb_second: f64,
    results: &mut Vec<SizeResult>,
) -> Result<()> {
    for &mb in &opts.memory_mb {
        set_memory(lambda, aws, function, mb).await?;
        let mut reports = vec![];
        for i in 0..opts.invocations {
            let out = lambda
                .invoke()
                .function_name(function)
                .log_type(LogType::Tail)
                .payload(Blob::new(request(opts.function, i).to_string()))
                .send()
                .await
                .map_err(|e| explain(e, &format!("invoking {function}"), &aws.target()))?;
            let tail = out
                .log_result()
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            match parse_report(&tail) {
                Some(r) => reports.push(r),
                None => {
                    return Err(failed!(
                        "{function}'s invocation returned no REPORT line in its log tail (an endpoint that does not serve LogType=Tail?): nothing to measure at {mb} MB"
                    ))
                }
            }
        }
        results.extend(summarise(mb, &reports, per_gb_second));
    }
    Ok(())
}

/// `cargo xtask tune`.
pub async fn run(opts: &TuneOptions) -> Result<Tuning> {
    let aws = aws::connect(&opts.aws).await?;
    tune_with(&aws, opts).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAIL: &str = "START RequestId: 6f7c Version: $LATEST\n{\"level\":\"INFO\",\"message\":\"request\"}\nEND RequestId: 6f7c\nREPORT RequestId: 6f7c\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\tMax Memory Used: 21 MB\tInit Duration: 2.05 ms\t\n";

    #[test]
    fn a_report_line_is_read_from_the_tail() {
        let r = parse_report(TAIL).unwrap();
        assert_eq!(
            r,
            ReportLine {
                duration_ms: 12.34,
                billed_ms: 13.0,
                memory_mb: 256.0,
                max_memory_used_mb: 21.0,
                init_ms: Some(2.05)
            }
        );
        let warm = TAIL.replace("\tInit Duration: 2.05 ms", "");
        assert_eq!(parse_report(&warm).unwrap().init_ms, None);
        assert!(parse_report("no report here").is_none());
    }

    #[test]
    fn the_cheapest_size_is_recommended() {
        let r = |d: f64, b: f64, m: f64| ReportLine {
            duration_ms: d,
            billed_ms: b,
            memory_mb: m,
            max_memory_used_mb: 20.0,
            init_ms: None,
        };
        let price = crate::cost::price::LAMBDA_ARM64_PER_GB_SECOND;
        // 128 MB takes three times as long as 256 MB: it costs more.
        let small = summarise(
            128,
            &[
                r(90.0, 90.0, 128.0),
                r(60.0, 60.0, 128.0),
                r(62.0, 62.0, 128.0),
            ],
            price,
        )
        .unwrap();
        let mid = summarise(
            256,
            &[
                r(40.0, 40.0, 256.0),
                r(20.0, 20.0, 256.0),
                r(21.0, 21.0, 256.0),
            ],
            price,
        )
        .unwrap();
        let big = summarise(
            1024,
            &[
                r(30.0, 30.0, 1024.0),
                r(18.0, 18.0, 1024.0),
                r(18.0, 18.0, 1024.0),
            ],
            price,
        )
        .unwrap();
        assert_eq!(
            mid.p50_ms, 21.0,
            "the cold start is left out of the warm figures"
        );
        assert!(
            mid.usd_per_million < small.usd_per_million
                && mid.usd_per_million < big.usd_per_million
        );
        assert_eq!(recommend(&[small, mid, big]), Some(256));
        assert_eq!(recommend(&[]), None);
    }
}
