//! `cargo xtask`: builds, checks, deploys and runs the voice-learning session
//! module. This file only parses flags and calls one module per command.

mod build;
mod cli;
mod deploy;
mod deployer_policy;
mod dev;
mod lint;
mod synth;
mod test;
mod verify;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "Build, check, deploy and run the voice-learning session module",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print or write the CloudFormation template; --check fails when templates/ is stale.
    Synth(synth::SynthArgs),
    /// Run cfn-lint and checkov (pinned, in .venv/) on the synthesized template.
    Lint(lint::LintArgs),
    /// The one test command: fmt, clippy, all tests, synth --check, lint.
    Test(test::TestArgs),
    /// Release-build both functions into target/lambda/<name>/bootstrap and reproducible zips.
    Build(build::BuildArgs),
    /// Compare the local template, parameters and code with the deployed stack.
    Diff(deploy::DiffArgs),
    /// Build, upload, plan with a change set, check safety rails, execute.
    Deploy(deploy::DeployArgs),
    /// Print the IAM policy a deployer needs for this stack (JSON), scoped to its names.
    DeployerPolicy(deployer_policy::DeployerPolicyArgs),
    /// Delete the stack (tables and key are retained).
    Destroy(deploy::DestroyArgs),
    /// Check the deployed resources match the design (names, PITR, TTL, SSE, rotation, routes, authorizer).
    Verify(verify::VerifyArgs),
    /// Run the whole module locally: emulator, functions, HTTP API with JWT checks.
    Dev(dev::DevArgs),
    /// Benchmarks: `bench synth`, `bench functions`.
    Bench(synth::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Synth(a) => synth::run(a),
        Command::Lint(a) => lint::run(a),
        Command::Test(a) => test::run(a),
        Command::Build(a) => build::run(a),
        Command::Diff(a) => deploy::run_diff(a),
        Command::Deploy(a) => deploy::run_deploy(a),
        Command::Destroy(a) => deploy::run_destroy(a),
        Command::DeployerPolicy(a) => deployer_policy::run(a),
        Command::Dev(a) => dev::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Bench(a) => synth::run_bench(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
