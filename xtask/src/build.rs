//! `cargo xtask build` (owned by the build/dev work; the contract below is
//! what `deploy` calls, the body is a placeholder until it lands).
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Arch {
    #[default]
    Arm64,
    #[value(name = "x86_64")]
    X86_64,
}

impl Arch {
    /// The CloudFormation `Architecture` parameter value.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Arch::Arm64 => "arm64",
            Arch::X86_64 => "x86_64",
        }
    }
}

/// One packaged function.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// e.g. `voice-learning-session-persistence`
    pub function_name: String,
    /// `target/lambda/<function name>/bootstrap`
    pub bootstrap: PathBuf,
    /// `target/lambda/<function name>.zip` (reproducible)
    pub zip: PathBuf,
    /// hex sha256 of the zip
    pub sha256: String,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    #[arg(long, value_enum, default_value = "arm64")]
    pub arch: Arch,
}

/// Release-builds both functions for Lambda and packages them.
pub fn build_all(_arch: Arch) -> anyhow::Result<Vec<Artifact>> {
    anyhow::bail!("`cargo xtask build` is not implemented yet")
}

pub fn run(args: BuildArgs) -> anyhow::Result<ExitCode> {
    build_all(args.arch)?;
    Ok(ExitCode::SUCCESS)
}
