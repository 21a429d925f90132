//! Flags shared by the commands that talk to AWS.

use clap::Args;

#[derive(Debug, Clone, Args, Default)]
pub struct AwsArgs {
    /// AWS region (default: from the standard AWS configuration).
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config.
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// An AWS-compatible endpoint for every service (e.g. a local emulator).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Clone, Args, Default)]
pub struct StageArgs {
    /// Suffix every name for a second copy in one account (lowercase letters, digits, '-').
    #[arg(long)]
    pub stage: Option<String>,
}
