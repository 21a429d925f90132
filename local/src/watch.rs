//! `dev --watch`: when the functions' sources change, rebuild them and
//! restart their processes, keeping the emulator, its data and the HTTP API
//! running. A failed build keeps the previous processes and says so.
//!
//! It polls modification times (no file-system notification crate): the
//! sources are a few dozen files and a change is noticed within `every`.

use crate::log::say;
use crate::runtime_api::Runtime;
use crate::start::StartOptions;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// The newest modification time of the Rust sources and manifests under
/// `roots` (`.rs`, `Cargo.toml`), or `None` when there are none.
pub fn newest_change(roots: &[PathBuf]) -> Option<SystemTime> {
    fn walk(dir: &Path, newest: &mut Option<SystemTime>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    walk(&path, newest);
                }
            } else if name.ends_with(".rs") || name == "Cargo.toml" {
                if let Ok(t) = e.metadata().and_then(|m| m.modified()) {
                    *newest = Some(newest.map_or(t, |n| n.max(t)));
                }
            }
        }
    }
    let mut newest = None;
    for r in roots {
        walk(r, &mut newest);
    }
    newest
}

/// The sources `dev --watch` follows: the functions crate.
pub fn function_sources() -> Vec<PathBuf> {
    vec![emulator::workspace_root().join("functions")]
}

/// Rebuilds and restarts `runtimes` whenever `roots` change, until `shutdown`.
pub async fn run(
    opts: StartOptions,
    runtimes: Vec<Arc<Runtime>>,
    roots: Vec<PathBuf>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut seen = newest_change(&roots);
    say!(
        opts.log,
        "dev: watching {} for changes",
        roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        let now = newest_change(&roots);
        if now <= seen {
            continue;
        }
        seen = now;
        say!(opts.log, "dev: sources changed: rebuilding the functions");
        match crate::start::rebuild(&opts).await {
            Ok(()) => {
                for rt in &runtimes {
                    rt.restart();
                }
                say!(
                    opts.log,
                    "dev: restarted the functions on the new build (emulator and data kept)"
                );
            }
            Err(e) => say!(
                opts.log,
                "dev: the build failed ({e}); the functions keep running the previous build"
            ),
        }
    }
}
