//! `cargo xtask build`: the release build of both functions (`lambda-package`), and its summary.

use anyhow::Result;
use std::process::ExitCode;

/// A Lambda architecture on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Arch {
    #[default]
    Arm64,
    #[value(name = "x86_64")]
    X86_64,
}

impl From<Arch> for lambda_package::Arch {
    fn from(a: Arch) -> Self {
        match a {
            Arch::Arm64 => lambda_package::Arch::Arm64,
            Arch::X86_64 => lambda_package::Arch::X86_64,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    #[arg(long, value_enum, default_value = "arm64")]
    pub arch: Arch,
}

pub fn run(args: BuildArgs) -> Result<ExitCode> {
    let artifacts = lambda_package::build_all(args.arch.into(), &mut |l| eprintln!("{l}"))?;
    for line in lambda_package::artifact::summary_lines(&artifacts) {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
