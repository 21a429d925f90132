//! Running cargo (or cargo-zigbuild) for the function bins, and reading what it built.

use crate::error::PackageError;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The function name (unstaged) of each cargo bin, from the stack's table
/// of functions.
pub fn function_names() -> Result<Vec<(&'static str, String)>, PackageError> {
    let names = stack::Names::new(None)?;
    Ok(stack::Function::ALL
        .iter()
        .map(|f| (f.binary(), f.function_name(&names).to_string()))
        .collect())
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(workspace_root());
    c
}

/// The workspace root (this crate lives in `<root>/lambda-package`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives inside the workspace")
        .to_path_buf()
}

/// `cargo build` (or `cargo zigbuild`) of the function bins, printing JSON
/// artifact messages on stdout (parse them with [`parse_artifacts`]).
pub fn cargo_build_command(release: bool, target: Option<&str>, zig: bool) -> Command {
    let mut cmd = cargo();
    cmd.arg(if zig { "zigbuild" } else { "build" });
    if release {
        cmd.arg("--release");
    }
    cmd.args([
        "--package",
        "functions",
        "--message-format",
        "json-render-diagnostics",
    ]);
    for f in stack::Function::ALL {
        cmd.args(["--bin", f.binary()]);
    }
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    cmd
}

/// The executables cargo reported, by bin name.
pub fn parse_artifacts(stdout: &str) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for line in stdout.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["reason"] != "compiler-artifact" {
            continue;
        }
        if let (Some(exe), Some(name)) = (v["executable"].as_str(), v["target"]["name"].as_str()) {
            out.insert(name.to_string(), PathBuf::from(exe));
        }
    }
    out
}

/// Runs a cargo build command, showing its progress, and returns the executables.
pub fn run_cargo_build(mut cmd: Command) -> Result<BTreeMap<String, PathBuf>, PackageError> {
    let io = |doing: &str| {
        let doing = doing.to_string();
        move |err| PackageError::Io { doing, err }
    };
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(io("running cargo"))?;
    let mut stdout = String::new();
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        stdout.push_str(&line.map_err(io("reading cargo's output"))?);
        stdout.push('\n');
    }
    let status = child.wait().map_err(io("waiting for cargo"))?;
    if !status.success() {
        return Err(PackageError::Message(format!(
            "building the functions failed ({status}); cargo's messages are above"
        )));
    }
    Ok(parse_artifacts(&stdout))
}

pub fn zigbuild_available() -> bool {
    Command::new("cargo-zigbuild")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn target_installed(triple: &str) -> bool {
    match Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == triple),
        // No rustup: look for the target's standard library in the sysroot.
        _ => Command::new("rustc")
            .args(["--print", "target-libdir", "--target", triple])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .is_some_and(|o| Path::new(String::from_utf8_lossy(&o.stdout).trim()).is_dir()),
    }
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or the workspace's `target/`).
pub fn target_dir() -> Result<PathBuf, PackageError> {
    let out = cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|err| PackageError::Io {
            doing: "running cargo metadata".into(),
            err,
        })?;
    if !out.status.success() {
        return Err(PackageError::Message(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| PackageError::Message(format!("reading cargo metadata: {e}")))?;
    v["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| PackageError::Message("cargo metadata has no target_directory".into()))
}
