//! `completions` and `man`: generated from the clap definition in `flags`,
//! so they never drift from the real flags.

use crate::flags::{self, Xtask};
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::io::Write;
use std::process::ExitCode;

/// The command as the pages name it: `cargo-xtask`, `cargo-xtask-deploy`, ...
/// (cargo's own convention), shown as `cargo xtask` in usage lines.
fn command() -> clap::Command {
    Xtask::command().name("cargo-xtask").bin_name("cargo xtask")
}

/// Writes to stdout; a reader that stopped (`| head`) is not an error.
fn out(bytes: &[u8]) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(bytes).and_then(|()| o.flush());
}

pub fn completions(args: flags::Completions) -> Result<ExitCode> {
    let mut buf = Vec::new();
    // For the binary itself (`cargo install --path xtask` puts it on PATH):
    // cargo's completion does not pass arguments of an alias on.
    clap_complete::generate(args.shell, &mut Xtask::command(), "xtask", &mut buf);
    out(&buf);
    Ok(ExitCode::SUCCESS)
}

pub fn man(args: flags::Man) -> Result<ExitCode> {
    match args.out {
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(command())
                .render(&mut buf)
                .context("rendering the man page")?;
            out(&buf);
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("--out {}: cannot create it", dir.display()))?;
            clap_mangen::generate_to(command(), &dir)
                .with_context(|| format!("--out {}: cannot write the pages", dir.display()))?;
            eprintln!(
                "wrote the man pages to {} (read one with `man {}/cargo-xtask-deploy.1`)",
                dir.display(),
                dir.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
