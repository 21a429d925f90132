//! Operating the deployed module: `logs` (and, alongside, the backup and
//! cost commands). The engine does the work (`deploy::logs`, ...); this
//! module prints: one line per event, colour only on a terminal, and stops
//! quietly when the reader of a pipe goes away (`| head`).

use crate::flags;
use crate::output::{self, outln};
use crate::ui::Terminal;
use anyhow::Result;
use deploy::logs::LogLine;
use deploy::report::Style;
use std::io::Write;
use std::ops::ControlFlow;
use std::process::ExitCode;

/// Writes one line to stdout; `false` once the reader has gone (EPIPE).
pub fn emit(line: &str) -> bool {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|_| out.flush()) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => false,
        // Any other write error ends the output the same way: nobody reads it.
        Err(_) => false,
    }
}

/// One event as one readable line: time, level, function, then either the
/// request's action, status, outcome, latency and ids, or the message.
pub fn log_line(l: &LogLine) -> String {
    let head = format!("{} {:<5} {:<19}", l.time, l.level, l.function);
    let ids = [
        l.request_id.as_deref().map(|r| format!("request {r}")),
        l.lambda_request_id
            .as_deref()
            .map(|r| format!("lambda {r}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("  ");
    let body = if l.kind == "request" {
        format!(
            "{:<12} {} {:<18} {:>9}",
            l.action.as_deref().unwrap_or("-"),
            l.status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            l.outcome.as_deref().unwrap_or("-"),
            l.latency_ms
                .map(|ms| format!("{ms:.1} ms"))
                .unwrap_or_default(),
        )
    } else if l.kind == "text" {
        l.message.clone()
    } else {
        format!("{} {}", l.kind.trim_start_matches("platform."), l.message)
    };
    let extra = if l.kind == "request" && !l.message.is_empty() {
        format!("  {}", l.message)
    } else {
        String::new()
    };
    format!("{head} {body}  {ids}{extra}")
        .trim_end()
        .to_string()
}

pub fn logs(args: flags::Logs) -> Result<ExitCode> {
    let json = args.json;
    let opts: deploy::logs::LogsOptions = args.into();
    let term = Terminal::new(false);
    if opts.follow {
        eprintln!("following the logs (Ctrl-C to stop) …");
    }
    let mut sink = |l: &LogLine| {
        let text = if json {
            serde_json::to_string(l).unwrap_or_default()
        } else {
            let plain = log_line(l);
            let style = if l.is_error() {
                Style::Bad
            } else if l.is_warning() {
                Style::Caution
            } else {
                Style::Plain
            };
            term.paint(style, &plain)
        };
        if emit(&text) {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    };
    let n = crate::runtime()?.block_on(deploy::logs::run(&opts, &mut sink))?;
    if n == 0 && !opts.follow {
        eprintln!(
            "no log events in the last {}{}: the functions log one line per request; call the API (or widen --since).",
            crate::flags::duration_text(opts.since),
            if opts.filter.is_some() || opts.request_id.is_some() {
                " that match"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `12.3 MiB`, `512 B`.
fn size(bytes: Option<i64>) -> String {
    match bytes {
        None => "-".into(),
        Some(b) if b < 1024 => format!("{b} B"),
        Some(b) if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        Some(b) => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

pub fn backup(args: flags::Backup) -> Result<ExitCode> {
    let json = args.json;
    let made = crate::block_on(deploy::backup::run_backup(&args.into()))?;
    if json {
        output::result(serde_json::json!({ "backups": made }));
    } else {
        for b in &made {
            outln!("{}", b.arn);
            eprintln!(
                "  backup of {} ({}, {}); list them with `cargo xtask backups`",
                b.table, b.name, b.status
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn backups(args: flags::Backups) -> Result<ExitCode> {
    let json = args.json;
    let (all, windows) = crate::block_on(deploy::backup::run_list(&args.into()))?;
    if json {
        output::result(serde_json::json!({ "backups": all, "pointInTime": windows }));
        return Ok(ExitCode::SUCCESS);
    }
    if all.is_empty() {
        outln!("no backups (take one with `cargo xtask backup`)");
    } else {
        outln!(
            "{:<24} {:<30} {:<6} {:<10} {:>9}  ARN",
            "created",
            "table",
            "type",
            "status",
            "size"
        );
        for b in &all {
            outln!(
                "{:<24} {:<30} {:<6} {:<10} {:>9}  {}",
                b.created,
                b.table,
                b.kind,
                b.status,
                size(b.size_bytes),
                b.arn
            );
        }
    }
    outln!();
    outln!("point-in-time recovery (restore with `cargo xtask restore --to-time T`):");
    for w in &windows {
        match (&w.earliest, &w.latest) {
            (Some(e), Some(l)) if w.enabled => outln!("  {:<32} {e} … {l}", w.table),
            _ if w.enabled => outln!("  {:<32} on", w.table),
            _ => outln!("  {:<32} OFF", w.table),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn restore(args: flags::Restore) -> Result<ExitCode> {
    let json = args.json;
    let mut term = Terminal::new(json);
    let opts = args.into();
    let r = crate::block_on(deploy::backup::run_restore(&opts, &mut term))?;
    if json {
        output::result(serde_json::to_value(&r)?);
    } else {
        outln!();
        outln!(
            "{} holds the restored data; the stack still uses {}. To switch the stack to it:",
            r.target_table,
            r.source_table
        );
        for (i, step) in r.switch_steps.iter().enumerate() {
            outln!("  {:>2}. {step}", i + 1);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn cost(args: flags::Cost) -> Result<ExitCode> {
    if args.actual {
        let a = crate::block_on(deploy::cost_actual::run(&(&args).into()))?;
        if args.json {
            output::result(serde_json::to_value(&a)?);
        } else {
            for l in actual_lines(&a) {
                outln!("{l}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let est = deploy::cost::estimate(&(&args).into())?;
    if args.json {
        output::result(serde_json::to_value(&est)?);
        return Ok(ExitCode::SUCCESS);
    }
    for l in cost_lines(&est) {
        outln!("{l}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The real spend as the terminal shows it.
pub fn actual_lines(a: &deploy::cost_actual::Actual) -> Vec<String> {
    let tags = a
        .tags
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = vec![format!(
        "Spend from {} to {} (exclusive) on resources tagged {tags}{}, from Cost Explorer:",
        a.start,
        a.end,
        if a.estimated {
            " (estimated: the month is not closed)"
        } else {
            ""
        }
    )];
    out.push(String::new());
    out.push(format!("{:<56} {:>9}", "service", "USD"));
    for s in &a.services {
        out.push(format!("{:<56} {:>9.2}", s.service, s.usd));
    }
    out.push(format!("{:<56} {:>9.2}", "total", a.total_usd));
    if a.services.is_empty() {
        out.push(String::new());
        out.push(format!("Nothing is tagged {tags} in Cost Explorer: activate the tag keys as cost allocation tags in the Billing console (data appears up to 24 hours later), and check --stage."));
    }
    out
}

/// The estimate as the terminal shows it (and docs/costs.md quotes it).
pub fn cost_lines(e: &deploy::cost::Estimate) -> Vec<String> {
    use deploy::cost::quantity;
    let u = &e.usage;
    let mut out = vec![
        format!(
            "Monthly estimate for {} students x {} sessions x {} turns of {} bytes ({} list prices of {}: check them before relying on this)",
            quantity(u.students as f64),
            u.sessions_per_student,
            u.turns_per_session,
            quantity(u.turn_bytes as f64),
            e.region,
            e.prices_as_of
        ),
        format!(
            "{} API requests ({} per session: {})",
            quantity(e.requests),
            e.requests_per_session.iter().map(|c| c.calls).sum::<f64>(),
            e.requests_per_session
                .iter()
                .map(|c| format!("{} {}", c.calls, c.action))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        String::new(),
        format!("{:<48} {:>22}  {:>9}", "item", "quantity", "USD/month"),
    ];
    for l in &e.lines {
        out.push(format!(
            "{:<48} {:>22}  {:>9.2}",
            l.item,
            format!("{} {}", quantity(l.quantity), l.unit),
            l.usd
        ));
    }
    out.push(format!("{:<48} {:>22}  {:>9.2}", "total", "", e.total_usd));
    out.push(String::new());
    out.extend(e.notes.iter().cloned());
    out
}

pub fn audit(args: flags::Audit) -> Result<ExitCode> {
    let json = args.json;
    let a = crate::block_on(deploy::audit::run(&args.into()))?;
    if json {
        output::result(serde_json::to_value(&a)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{}: {} CloudTrail event(s) from {} to {}",
        a.stack,
        a.events,
        a.start,
        a.end
    );
    for p in &a.principals {
        outln!(
            "  {}{}",
            p.principal,
            if p.denied > 0 {
                format!(" ({} denied)", p.denied)
            } else {
                String::new()
            }
        );
        for (action, n) in &p.actions {
            outln!("      {n:>5}  {action}");
        }
    }
    if a.findings.is_empty() {
        outln!("nothing flagged");
    }
    for f in &a.findings {
        outln!(
            "FLAGGED {} {}: {}",
            f.time,
            serde_json::to_value(f.kind)?.as_str().unwrap_or(""),
            f.detail
        );
    }
    for n in &a.not_covered {
        outln!("not covered: {n}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `tune`'s result: the measurements, and what `--apply` did.
#[derive(serde::Serialize)]
struct TuneResult {
    #[serde(flatten)]
    tuning: deploy::tune::Tuning,
    applied: Option<deploy::memory::MemoryApplied>,
}

pub fn tune(args: flags::Tune) -> Result<ExitCode> {
    let (json, apply, function) = (args.json, args.apply, args.function);
    let opts: deploy::tune::TuneOptions = args.into();
    let t = crate::block_on(deploy::tune::run(&opts))?;
    let applied = match t.recommended_mb.filter(|_| apply) {
        Some(mb) => {
            let mut term = Terminal::new(json);
            Some(crate::block_on(deploy::memory::apply(
                &opts.aws,
                opts.stage.as_deref(),
                function,
                u32::try_from(mb)?,
                &mut term,
            ))?)
        }
        None => None,
    };
    if json {
        output::result(serde_json::to_value(TuneResult { tuning: t, applied })?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{} ({}), {} MB before (put back):",
        t.function,
        t.architecture,
        t.original_mb
    );
    outln!(
        "{:>8} {:>10} {:>12} {:>10} {:>10} {:>14}",
        "memory",
        "p50 ms",
        "billed ms",
        "used MB",
        "init ms",
        "USD/million"
    );
    for r in &t.results {
        outln!(
            "{:>5} MB {:>10.2} {:>12.2} {:>10.0} {:>10} {:>14.4}",
            r.memory_mb,
            r.p50_ms,
            r.billed_mean_ms,
            r.max_memory_used_mb,
            r.init_ms.map_or("-".to_string(), |i| format!("{i:.2}")),
            r.usd_per_million
        );
    }
    if let Some(mb) = t.recommended_mb {
        outln!("cheapest per million requests: {mb} MB");
    }
    match &applied {
        Some(a) if a.changed => outln!(
            "applied: {} now has {} MB (was {}), published as a new version and live",
            a.function,
            a.to_mb,
            a.from_mb
        ),
        Some(a) => outln!("applied: {} already has {} MB", a.function, a.to_mb),
        None if t.recommended_mb.is_some() => outln!(
            "keep it with `cargo xtask tune --apply`, or `cargo xtask deploy --memory-mb {}=MB`",
            function.binary()
        ),
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}

pub fn rollback(args: flags::Rollback) -> Result<ExitCode> {
    let aws = args.aws.into();
    let stage = args.stage.stage.as_deref();
    if args.list {
        let all = crate::block_on(deploy::versions::list(&aws, stage, args.function))?;
        if args.json {
            output::result(serde_json::to_value(&all)?);
            return Ok(ExitCode::SUCCESS);
        }
        for f in &all.functions {
            outln!("{}", f.function);
            if f.live.is_none() {
                outln!("  no live alias (deployed before versions; `cargo xtask deploy` adds it)");
            }
            for v in f.versions.iter().rev() {
                let mark = if f.live == Some(v.version.to_string()) {
                    "live"
                } else {
                    ""
                };
                outln!(
                    "  {:>4} {:<4} {}",
                    v.version,
                    mark,
                    v.code_key.as_deref().unwrap_or(&v.description)
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let result = crate::block_on(deploy::versions::rollback(
        &aws,
        stage,
        args.function,
        args.to,
    ))?;
    if args.json {
        output::result(serde_json::to_value(&result)?);
        return Ok(ExitCode::SUCCESS);
    }
    for m in &result.functions {
        outln!(
            "{}: live version {} → {}{}",
            m.function,
            m.from,
            m.to,
            m.code_key
                .as_deref()
                .map(|k| format!(", running {k}"))
                .unwrap_or_default()
        );
    }
    outln!(
        "{}'s own version resources are unchanged: the next deploy that changes a function publishes a new version and makes it live; `cargo xtask rollback --function NAME --to VERSION` goes forward again.",
        result.stack
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block of docs/costs.md is exactly this command's output for the guide's example.
    #[test]
    fn the_documented_cost_table_is_the_commands_output() {
        let readme = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/costs.md"),
        )
        .unwrap();
        let est = deploy::cost::estimate(&deploy::cost::Usage::default()).unwrap();
        let block = cost_lines(&est).join("\n");
        assert!(
            readme.contains(&format!("```\n{block}\n```")),
            "docs/costs.md's block differs from `cargo xtask cost`:\n{block}"
        );
    }

    #[test]
    fn a_request_is_one_aligned_line_with_its_ids() {
        let l = deploy::logs::parse_event(
            "context-manager",
            1_795_969_054_008,
            "e",
            r#"{"level":"INFO","message":"request","request_id":"Jx1=","lambda_request_id":"5f0e","action":"add_turn","outcome":"ok","status":200,"latency_ms":18.73}"#,
        );
        assert_eq!(
            log_line(&l),
            "2026-11-29T16:17:34.008Z INFO  context-manager     add_turn     200 ok                   18.7 ms  request Jx1=  lambda 5f0e"
        );
    }
}
