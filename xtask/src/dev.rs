//! `cargo xtask dev` (placeholder until the dev work lands).
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct DevArgs {}

pub fn run(_args: DevArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo xtask dev` is not implemented yet")
}
