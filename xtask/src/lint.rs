//! `cargo xtask lint`: cfn-lint and checkov, pinned in `requirements.txt`,
//! installed into `.venv/` on first use, run on the synthesized template.
//!
//! Gates: cfn-lint reports nothing (errors, warnings and informational
//! findings all count); checkov reports 0 failed checks. Skips live only in
//! each resource's own Metadata, with a reason (see README).

use crate::flags::{self, Format};
use crate::output::outln;
use crate::synth::render;
use anyhow::{bail, Context, Result};
use emulator::workspace_root;
use std::process::{Command, ExitCode};

pub fn run(args: flags::Lint) -> Result<ExitCode> {
    let venv = emulator::Venv::default();
    venv.ensure(&mut |line| eprintln!("{line}"))?;
    let dir = workspace_root().join("target/lint");
    std::fs::create_dir_all(&dir).context("creating target/lint")?;
    let path = dir.join("VoiceLearningAssistantStack.yaml");
    std::fs::write(&path, render(args.stage.as_deref(), Format::Yaml)?)
        .context("writing the template")?;

    let cfn = cfn_lint(&venv, &path)?;
    let chk = checkov(&venv, &path)?;
    outln!("cfn-lint: {cfn} finding(s)");
    outln!(
        "checkov: {} passed, {} failed, {} skipped (skips: see README \"Template checks\")",
        chk.passed,
        chk.failed,
        chk.skipped
    );
    if chk.passed == 0 {
        eprintln!("lint failed: checkov checked nothing (0 passed): is the template readable? Delete .venv and run again to reinstall checkov.");
        return Ok(ExitCode::from(1));
    }
    if cfn > 0 || chk.failed > 0 {
        eprintln!("lint failed: fix the findings above (a check that does not fit may be skipped only in the resource's Metadata, with a reason, and listed in the README)");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn cfn_lint(venv: &emulator::Venv, path: &std::path::Path) -> Result<usize> {
    let out = Command::new(venv.bin("cfn-lint"))
        .args(["--format", "parseable", "--include-checks", "I", "--"])
        .arg(path)
        .output()
        .context("running cfn-lint (is .venv complete? delete .venv and run again)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let findings: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    for f in &findings {
        outln!("cfn-lint: {f}");
    }
    if !out.status.success() && findings.is_empty() {
        bail!(
            "cfn-lint failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(findings.len())
}

struct CheckovSummary {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

fn checkov(venv: &emulator::Venv, path: &std::path::Path) -> Result<CheckovSummary> {
    let out = Command::new(venv.bin("checkov"))
        .args([
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--compact",
            "--skip-download",
            "-f",
        ])
        .arg(path)
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false")
        .output()
        .context("running checkov (is .venv complete? delete .venv and run again)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout).with_context(|| {
        format!(
            "checkov printed no JSON report: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        )
    })?;
    // One report, or a list of reports (one per framework).
    let reports: Vec<&serde_json::Value> = match &v {
        serde_json::Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut s = CheckovSummary {
        passed: 0,
        failed: 0,
        skipped: 0,
    };
    for r in reports {
        let summary = &r["summary"];
        s.passed += summary["passed"].as_u64().unwrap_or(0);
        s.failed += summary["failed"].as_u64().unwrap_or(0);
        s.skipped += summary["skipped"].as_u64().unwrap_or(0);
        for c in r["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            outln!(
                "checkov FAILED {} {} on {}",
                c["check_id"].as_str().unwrap_or("?"),
                c["check_name"].as_str().unwrap_or("?"),
                c["resource"].as_str().unwrap_or("?")
            );
        }
        for c in r["results"]["skipped_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            outln!(
                "checkov skipped {} on {}: {}",
                c["check_id"].as_str().unwrap_or("?"),
                c["resource"].as_str().unwrap_or("?"),
                c["check_result"]["suppress_comment"].as_str().unwrap_or("")
            );
        }
    }
    Ok(s)
}
