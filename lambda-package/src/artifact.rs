//! A packaged function, finding ones already built, and how they are shown.

use crate::arch::Arch;
use crate::digest::sha256_hex;
use crate::error::PackageError;
use std::path::{Path, PathBuf};

/// One packaged function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// e.g. `voice-learning-session-persistence`
    pub function_name: String,
    /// `target/lambda/<function name>/bootstrap`
    pub bootstrap: PathBuf,
    /// `target/lambda/<function name>.zip` (reproducible)
    pub zip: PathBuf,
    /// hex sha256 of the zip
    pub sha256: String,
    /// Size of the zip in bytes.
    pub size: u64,
}

/// `2.64 MiB`, `3.1 KiB`: sizes as every command prints them.
pub fn format_size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.2} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// Artifacts already built into `dir` (`<dir>/<function name>.zip`), e.g. `target/lambda`.
pub fn artifacts_in(dir: &Path) -> Result<Vec<Artifact>, PackageError> {
    let names = stack::Names::new(None)?;
    names
        .functions()
        .iter()
        .map(|f| {
            let zip = dir.join(format!("{f}.zip"));
            if !zip.is_file() {
                return Err(PackageError::Message(format!(
                    "{} does not exist: build the functions first (`cargo xtask build`) or point --artifacts-dir at the directory holding {f}.zip.",
                    zip.display()
                )));
            }
            let bytes = std::fs::read(&zip).map_err(PackageError::io("reading", &zip))?;
            Ok(Artifact {
                function_name: f.to_string(),
                bootstrap: dir.join(f).join("bootstrap"),
                sha256: sha256_hex(&bytes),
                size: bytes.len() as u64,
                zip,
            })
        })
        .collect()
}

/// When the zips in `artifacts` were written (the oldest of them).
pub fn built_at(artifacts: &[Artifact]) -> Option<std::time::SystemTime> {
    artifacts
        .iter()
        .filter_map(|a| std::fs::metadata(&a.zip).and_then(|m| m.modified()).ok())
        .min()
}

/// A source of the functions (`functions/Cargo.toml`, `functions/src/**`)
/// changed after `built`, if any: the zips no longer show the code.
pub fn newer_source(built: std::time::SystemTime) -> Option<PathBuf> {
    fn walk(p: &Path, built: std::time::SystemTime) -> Option<PathBuf> {
        let meta = std::fs::metadata(p).ok()?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            return entries.iter().find_map(|e| walk(e, built));
        }
        meta.modified()
            .ok()
            .filter(|m| *m > built)
            .map(|_| p.to_path_buf())
    }
    let functions = crate::cargo::workspace_root().join("functions");
    walk(&functions.join("Cargo.toml"), built).or_else(|| walk(&functions.join("src"), built))
}

/// Checks the `bootstrap` in `zip` before it is deployed for `arch`: an ELF
/// binary must be for that architecture and need no glibc newer than
/// Lambda's; a script (`#!`) runs on either, so it passes.
pub fn check_zip(zip: &Path, arch: Arch) -> Result<(), PackageError> {
    use std::io::Read;
    let file = std::fs::File::open(zip).map_err(PackageError::io("opening", zip))?;
    let mut archive = zip::ZipArchive::new(file)?;
    let mut entry = archive.by_name("bootstrap").map_err(|_| {
        PackageError::Message(format!(
            "{} has no `bootstrap` at its top level: Lambda's provided.al2023 runs that file; package it with `cargo xtask build`.",
            zip.display()
        ))
    })?;
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .map_err(PackageError::io("reading the bootstrap in", zip))?;
    if !bytes.starts_with(&object::elf::ELFMAG) {
        return Ok(());
    }
    crate::elf::check_binary(&bytes, arch).map_err(|e| {
        PackageError::Message(format!(
            "{}: {e}. Build for it (`cargo xtask build --arch {}`) or deploy with the architecture the zip was built for (--arch); nothing was uploaded.",
            zip.display(),
            arch.lambda_name()
        ))
    })
}

/// The build's summary: one row per function (bootstrap and zip sizes, the
/// zip's sha256), then each zip's path.
pub fn summary_lines(artifacts: &[Artifact]) -> Vec<String> {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut out = vec![format!(
        "{:<40} {:>12} {:>12}  sha256 (zip)",
        "function", "bootstrap", "zip"
    )];
    for a in artifacts {
        out.push(format!(
            "{:<40} {:>12} {:>12}  {}",
            a.function_name,
            format_size(size(&a.bootstrap)),
            format_size(a.size),
            a.sha256
        ));
    }
    out.extend(artifacts.iter().map(|a| format!("  {}", a.zip.display())));
    out
}
