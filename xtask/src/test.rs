//! `cargo xtask test`: the one test command. fmt check, clippy with
//! `-D warnings`, every workspace test, `synth --check`, `docs --check`
//! (the book built, its links and shown commands checked), `deny`, `lint`.

use crate::flags;
use anyhow::{Context, Result};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(emulator::workspace_root());
    c
}

fn step(name: &str, mut cmd: Command) -> Result<bool> {
    eprintln!("==> {name}");
    let t = Instant::now();
    let status = cmd.status().with_context(|| format!("running {name}"))?;
    eprintln!(
        "<== {name}: {} in {:.1?}",
        if status.success() { "ok" } else { "FAILED" },
        t.elapsed()
    );
    Ok(status.success())
}

pub fn run(args: flags::Test) -> Result<ExitCode> {
    let mut steps: Vec<(&str, Command)> = Vec::new();
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    steps.push(("cargo fmt --check", fmt));
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    steps.push(("cargo clippy -D warnings", clippy));
    let mut test = cargo();
    test.args(["test", "--workspace"]);
    steps.push(("cargo test --workspace", test));
    let mut synth = cargo();
    synth.args([
        "run",
        "--quiet",
        "--package",
        "xtask",
        "--",
        "synth",
        "--check",
    ]);
    steps.push(("xtask synth --check", synth));
    let mut docs = cargo();
    docs.args([
        "run",
        "--quiet",
        "--package",
        "xtask",
        "--",
        "docs",
        "--check",
    ]);
    steps.push(("xtask docs --check", docs));
    let mut deny = cargo();
    deny.args(["run", "--quiet", "--package", "xtask", "--", "deny"]);
    steps.push(("xtask deny", deny));
    if !args.no_lint {
        let mut lint = cargo();
        lint.args(["run", "--quiet", "--package", "xtask", "--", "lint"]);
        steps.push(("xtask lint", lint));
    }
    let mut failed = Vec::new();
    for (name, cmd) in steps {
        if !step(name, cmd)? {
            failed.push(name);
        }
    }
    if failed.is_empty() {
        eprintln!("all checks passed");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("failed: {}", failed.join(", "));
        Ok(ExitCode::from(1))
    }
}
