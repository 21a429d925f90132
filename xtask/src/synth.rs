//! `cargo xtask synth` and `cargo xtask bench synth`.

use crate::cli::StageArgs;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    #[command(flatten)]
    pub stage: StageArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Exit 1, with a diff, when templates/VoiceLearningAssistantStack.yaml is not what the code synthesizes.
    #[arg(long)]
    pub check: bool,
    /// The file `--check` compares against (default: the committed template).
    #[arg(long, hide = true)]
    pub committed: Option<PathBuf>,
}

/// The committed template, relative to the workspace root.
pub const COMMITTED_TEMPLATE: &str = "templates/VoiceLearningAssistantStack.yaml";

pub fn workspace_root() -> PathBuf {
    emulator::workspace_root()
}

/// Synthesizes the template text for `stage` in `format`.
pub fn render(stage: Option<&str>, format: Format) -> Result<String> {
    let template = stack::synth(&stack::StackOptions {
        stage: stage.map(str::to_string),
    })?;
    Ok(match format {
        Format::Yaml => template.to_yaml(),
        Format::Json => template.to_json(),
    })
}

pub fn run(args: SynthArgs) -> Result<ExitCode> {
    let stage = args.stage.stage.as_deref();
    if args.check {
        if stage.is_some() || args.format != Format::Yaml {
            bail!("--check compares the default YAML template; drop --stage/--format");
        }
        let path = args
            .committed
            .unwrap_or_else(|| workspace_root().join(COMMITTED_TEMPLATE));
        return check(&path);
    }
    if let Some(s) = stage {
        stack::names::validate_stage(s)?;
    }
    let text = render(stage, args.format)?;
    match args.out {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {} ({} bytes)", path.display(), text.len());
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            // A closed pipe (e.g. `| head`) is not an error worth a message.
            let _ = out.write_all(text.as_bytes());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn check(path: &Path) -> Result<ExitCode> {
    let want = render(None, Format::Yaml)?;
    let have = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "{} is missing. Run `cargo xtask synth --out {COMMITTED_TEMPLATE}` and commit it.",
                path.display()
            );
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let shown = path
        .strip_prefix(workspace_root())
        .unwrap_or(path)
        .display()
        .to_string();
    if have == want {
        eprintln!("{shown} is up to date");
        return Ok(ExitCode::SUCCESS);
    }
    let diff = similar::TextDiff::from_lines(&have, &want);
    eprintln!("{shown} is stale: the code synthesizes a different template.");
    eprint!(
        "{}",
        diff.unified_diff()
            .context_radius(3)
            .header(&format!("{shown} (committed)"), "synthesized")
    );
    eprintln!("Run `cargo xtask synth --out {COMMITTED_TEMPLATE}` and commit the result.");
    Ok(ExitCode::from(1))
}

// ---------------------------------------------------------------- bench

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchTarget {
    /// In-process synth time, and whole-process `xtask synth` wall time and peak RSS.
    Synth,
    /// Each release function binary: start to first request, peak RSS, add_turn latency through `dev`.
    Functions,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[arg(value_enum)]
    pub target: BenchTarget,
    /// Runs per measurement.
    #[arg(long, default_value_t = 50)]
    pub runs: usize,
    /// Only the in-process measurement (used by the bench on its optimized build).
    #[arg(long, hide = true)]
    pub in_process_only: bool,
}

pub fn run_bench(args: BenchArgs) -> Result<ExitCode> {
    match args.target {
        BenchTarget::Synth => bench_synth(args.runs.max(5), args.in_process_only),
        BenchTarget::Functions => crate::dev::bench_functions(args.runs.max(1)),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench_synth(runs: usize, in_process_only: bool) -> Result<ExitCode> {
    // In process: synth + validation + YAML serialization.
    let mut inproc = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let text = render(None, Format::Yaml)?;
        std::hint::black_box(text);
        inproc.push(t.elapsed());
    }
    let profile = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "optimized build"
    };
    println!(
        "in-process synth (validate + YAML, {profile}), median of {runs}: {:?}",
        median(inproc)
    );
    if in_process_only {
        return Ok(ExitCode::SUCCESS);
    }

    // Whole process: an optimized build of xtask running `synth`, as a user
    // runs it. Profile `xtask` is `release` without LTO (see Cargo.toml), so
    // the bench does not spend minutes on link-time optimization of the SDK.
    let root = workspace_root();
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
    let exe = root.join("target/xtask/xtask");
    let synth_once = || -> Result<()> {
        let o = std::process::Command::new(&exe)
            .arg("synth")
            .stdout(std::process::Stdio::null())
            .output()
            .context("running xtask synth")?;
        if !o.status.success() {
            bail!("xtask synth failed: {}", String::from_utf8_lossy(&o.stderr));
        }
        Ok(())
    };
    let inproc = std::process::Command::new(&exe)
        .args(["bench", "synth", "--in-process-only", "--runs"])
        .arg(runs.to_string())
        .status()
        .context("running the optimized in-process bench")?;
    if !inproc.success() {
        bail!("the optimized in-process bench failed");
    }
    synth_once()?; // warm the page cache
    let mut wall = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        synth_once()?;
        wall.push(t.elapsed());
    }
    println!(
        "whole process `target/xtask/xtask synth`, median wall of {runs}: {:?}",
        median(wall)
    );
    let mut peak_kib = 0u64;
    for _ in 0..5 {
        let out = std::process::Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(&exe)
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
        println!(
            "whole process peak RSS (max of 5, GNU time): {:.1} MiB",
            peak_kib as f64 / 1024.0
        );
    } else {
        println!("peak RSS: not measured (GNU time not found at /usr/bin/time)");
    }
    Ok(ExitCode::SUCCESS)
}
