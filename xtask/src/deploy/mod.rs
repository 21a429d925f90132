//! `cargo xtask diff | deploy | destroy` (placeholder until the deploy work lands).
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct DiffArgs {}
#[derive(Debug, clap::Args)]
pub struct DeployArgs {}
#[derive(Debug, clap::Args)]
pub struct DestroyArgs {}

pub fn run_diff(_args: DiffArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo xtask diff` is not implemented yet")
}
pub fn run_deploy(_args: DeployArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo xtask deploy` is not implemented yet")
}
pub fn run_destroy(_args: DestroyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo xtask destroy` is not implemented yet")
}
