//! Every command's flags, in one place (`clap`). Nothing here does anything:
//! `options` turns these into the libraries' option structs.
//!
//! Long: the whole command line is one file on purpose (a flag is found
//! and reviewed beside its siblings); it is declarations only.

use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
pub use deploy::backup::TableChoice as Table;
pub use deploy::logs::LogSource;
pub use deploy::options::RequireApproval;
pub use lambda_package::Arch;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    // Usage lines as it is run: `cargo xtask deploy`, not the binary's name.
    bin_name = "cargo xtask",
    about = "Build, check, deploy and run the voice-learning session module",
    version
)]
pub struct Xtask {
    #[command(subcommand)]
    pub command: Command,
    /// Settings per stage (region, profile, user pool, alarm e-mail); flags win
    /// [default: xtask.toml in the workspace root, when it exists].
    #[arg(long, global = true, env = "XTASK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print or write the CloudFormation template; --check fails when templates/ is stale.
    Synth(Synth),
    /// Write the OpenAPI document of the HTTP API (templates/openapi.yaml; synth --check checks it).
    Openapi(Openapi),
    /// Run cfn-lint and checkov (pinned, in .venv/) on the synthesized template.
    Lint(Lint),
    /// cargo-deny on the crate graph: licences, bans and sources (offline),
    /// and advisories when the RustSec database can be fetched.
    Deny(Deny),
    /// What is outdated: crates (Cargo.lock) and the Python pins, each with
    /// where to read its changes; --relock rewrites the hashed lock files.
    Deps(Deps),
    /// The one test command: fmt, clippy, all tests, synth --check, docs --check, deny, lint.
    Test(Test),
    /// Release-build both functions into target/lambda/<name>/bootstrap and reproducible zips.
    Build(Build),
    /// Compare the local template, parameters and code with the deployed stack.
    Diff(Diff),
    /// Build, upload, plan with a change set, check safety rails, execute.
    Deploy(Deploy),
    /// Print the IAM policy a deployer needs for this stack (JSON), scoped to its names.
    DeployerPolicy(DeployerPolicy),
    /// A CloudFormation template (JSON) of GitHub's OIDC provider and a role
    /// only one repository's branch may assume, with the deployer policy.
    CiRole(CiRole),
    /// Delete the stack (tables and key are retained).
    Destroy(Destroy),
    /// Check the deployed resources match the design (names, PITR, TTL, SSE, rotation, routes, authorizer).
    Verify(Verify),
    /// Print a deployed stage's outputs, HttpApiUrl first, and which version of each function is live.
    Outputs(Outputs),
    /// Point each function's `live` alias (what the API invokes) back at its
    /// previous version, in seconds and without CloudFormation; --list shows the versions.
    Rollback(Rollback),
    /// List the stages deployed in this account and region, with status and last update.
    Stages(Stages),
    /// Read the functions' CloudWatch logs, one line per request; --follow keeps reading.
    Logs(Logs),
    /// Take an on-demand backup of the tables (both, or --table) and print its ARN.
    Backup(Backup),
    /// List the tables' backups, newest first, and their point-in-time windows.
    Backups(Backups),
    /// Restore a table into a new one (from a point in time or a backup) and print how to switch the stack to it.
    Restore(Restore),
    /// Measure a function at several memory sizes (duration, memory used,
    /// cost per million requests), recommend one, put the original back.
    Tune(Tune),
    /// CloudTrail's events on the stack's key, tables, functions and roles,
    /// per principal and action, with what should not happen flagged.
    Audit(Audit),
    /// Estimate the monthly AWS cost for a number of students (us-east-1 list prices; check them).
    Cost(Cost),
    /// Run the whole module locally: emulator, functions, HTTP API with JWT checks.
    Dev(Dev),
    /// Benchmarks: `bench synth`, `bench functions`.
    Bench(Bench),
    /// Print a shell completion script for the `xtask` binary.
    Completions(Completions),
    /// Print the man page, or write one per command into --out DIR.
    Man(Man),
    /// Build the docs (README.md and docs/) into HTML, checking every link and every command they show.
    Docs(Docs),
}

#[derive(Debug, Args)]
pub struct Docs {
    /// Open the built book in a browser.
    #[arg(long)]
    pub open: bool,
    /// Fail when a generated part of a page is stale, instead of rewriting it (`cargo xtask test` runs this).
    #[arg(long)]
    pub check: bool,
    /// Write the HTML here instead of target/book.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The tree holding README.md and docs/ (default: this workspace); the tests point it at broken fixtures.
    #[arg(long, value_name = "DIR", hide = true)]
    pub root: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct Completions {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct Man {
    /// Write `cargo-xtask.1` and one page per command (`cargo-xtask-deploy.1`, ...) here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Flags shared by the commands that talk to AWS.
#[derive(Debug, Clone, Args, Default)]
pub struct Aws {
    /// AWS region (default: from the standard AWS configuration).
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config and ~/.aws/credentials; it wins over
    /// AWS_ACCESS_KEY_ID in the environment, as with the AWS CLI and CDK
    /// (AWS_PROFILE, read by the SDK itself, does not).
    #[arg(long)]
    pub profile: Option<String>,
    /// An AWS-compatible endpoint for every service (e.g. a local emulator).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Clone, Args, Default)]
pub struct Stage {
    /// Suffix every name for a second copy in one account (lowercase letters, digits, '-').
    #[arg(long)]
    pub stage: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct Synth {
    #[command(flatten)]
    pub stage: Stage,
    /// Output format.
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Exit 1, with a diff, when templates/VoiceLearningAssistantStack.yaml is not what the code synthesizes.
    #[arg(long, conflicts_with_all = ["out", "stage"])]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct Openapi {
    /// Write here instead of templates/openapi.yaml.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct Lint {
    /// Lint the template of this stage instead of the default one.
    #[arg(long)]
    pub stage: Option<String>,
}

#[derive(Debug, Args)]
pub struct Deny {
    /// Skip the advisories check (it fetches the RustSec database from
    /// GitHub); the output says it was not checked.
    #[arg(long)]
    pub offline: bool,
    /// The rules to check against [default: deny.toml in the workspace root].
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct Deps {
    /// Rewrite every requirements*.lock from its requirements*.txt and
    /// current pins, with the hashes of each file PyPI has (pip-compile).
    #[arg(long)]
    pub relock: bool,
    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Test {
    /// Skip cfn-lint and checkov (they need the Python venv).
    #[arg(long)]
    pub no_lint: bool,
}

#[derive(Debug, Args)]
pub struct Build {
    #[arg(long, value_enum, default_value = "arm64")]
    pub arch: Arch,
}

/// Template parameters a user sets; each is kept from the deployed stack when not given.
#[derive(Debug, Clone, Default, Args)]
pub struct Params {
    /// CPU architecture of both functions [default: the deployed one, else arm64].
    #[arg(long, value_enum)]
    pub arch: Option<Arch>,
    /// Cognito user pool id whose tokens the API accepts, e.g. us-east-1_AbC123xyz (required on the first deploy).
    #[arg(long)]
    pub user_pool_id: Option<String>,
    /// Cognito app client id whose tokens the API accepts (the JWT audience;
    /// required on the first deploy). Repeat it for several clients (a web
    /// app, a mobile app, the assistant backend): the first is the web app's.
    #[arg(long = "user-pool-client-id", value_name = "ID")]
    pub user_pool_client_ids: Vec<String>,
    /// E-mail address for alarm notifications ("" for none).
    #[arg(long)]
    pub alarm_email: Option<String>,
    /// Reserve N concurrent executions for each function (0 = none, the default; at most 450).
    /// Checked against the account's limit before planning.
    #[arg(long, value_name = "N")]
    pub reserved_concurrency: Option<u32>,
    /// A function's memory in MB (CPU grows with it), e.g. context-manager=512;
    /// repeat it for both. Kept by later deploys; `tune` measures the sizes.
    #[arg(long = "memory-mb", value_name = "FUNCTION=MB", value_parser = function_memory)]
    pub memory_mb: Vec<(stack::Function, u32)>,
    /// Keep a daily AWS Backup of both tables for N days (1-35; 0 = no backup plan, the default).
    #[arg(long, value_name = "N")]
    pub backup_retention_days: Option<u32>,
    /// A monthly cost budget of N USD that e-mails --alarm-email at 80% and 100% (0 = none, the default).
    #[arg(long, value_name = "N")]
    pub monthly_budget_usd: Option<u32>,
    /// Roots the functions trust for AWS endpoints: amazon (Amazon Trust Services',
    /// the default), public (the public roots browsers trust; 2-4 ms more per cold
    /// start) or system (the OS store: a private CA, a TLS-inspecting proxy).
    #[arg(long, value_name = "STORE", value_parser = stack::module::TLS_TRUST_STORES)]
    pub tls_trust_store: Option<String>,
    /// Lambda active tracing: Active (X-Ray records sampled requests; costs,
    /// see `cost`) or PassThrough (off). Kept from the deployed stack when not given.
    #[arg(long, value_name = "MODE", value_parser = stack::module::TRACING_MODES)]
    pub tracing: Option<String>,
    /// The functions' log level: info (one line per request), warn, error or
    /// debug. Kept from the deployed stack when not given.
    #[arg(long, value_name = "LEVEL", value_parser = stack::module::LOG_LEVELS)]
    pub log_level: Option<String>,
    /// A browser origin (scheme://host[:port]) allowed to call the API; repeat
    /// for several, '' for none. Kept from the deployed stack when not given.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    /// Accept a localhost/loopback --cors-origin for this stage (a frontend dev
    /// server calling a deployed stage).
    #[arg(long)]
    pub allow_local_origins: bool,
    /// An OAuth scope the routes require (Cognito's resource-server/scope);
    /// repeat for several (a token needs one of them). Only access tokens
    /// carry scopes, so id tokens are then refused (403); '' for none.
    #[arg(long = "route-scope", value_name = "SCOPE")]
    pub route_scopes: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Diff {
    #[command(flatten)]
    pub aws: Aws,
    #[command(flatten)]
    pub stage: Stage,
    #[command(flatten)]
    pub params: Params,
    /// Exit 1 when there are differences (for CI); an error (no credentials,
    /// unreachable endpoint) always exits 2.
    #[arg(long)]
    pub fail: bool,
    /// Print the result as JSON on stdout (the human text goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Where the built zips are (`<function name>.zip`) [default: target/lambda, as `cargo xtask build` writes them].
    #[arg(long, value_name = "DIR")]
    pub artifacts_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct Deploy {
    #[command(flatten)]
    pub aws: Aws,
    #[command(flatten)]
    pub stage: Stage,
    #[command(flatten)]
    pub params: Params,
    /// When to ask before executing the change set.
    #[arg(long, value_enum, default_value = "broadening")]
    pub require_approval: RequireApproval,
    /// Approve without asking (needed for IAM widening when there is no terminal).
    #[arg(long)]
    pub yes: bool,
    /// Allow a plan that replaces or deletes a table or the KMS key.
    #[arg(long)]
    pub allow_replacement: bool,
    /// Write the stack outputs here as JSON ({"<stack>": {"<key>": "<value>"}}).
    #[arg(long, value_name = "PATH")]
    pub outputs_file: Option<PathBuf>,
    /// Print the result as JSON on stdout (the human text goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// A new stack's plan with every IAM statement (its conditions too), not
    /// the summary per principal (an update always shows each changed one).
    #[arg(long)]
    pub details: bool,
    /// Deploy the zips already in DIR (`<function name>.zip`, e.g. target/lambda from an
    /// earlier `cargo xtask build` or a CI artifact) instead of building.
    #[arg(long, value_name = "DIR")]
    pub artifacts_dir: Option<PathBuf>,
    /// Skip the smoke test after a successful deploy (a real create / add_turn /
    /// get_context / delete through both functions; `cargo xtask verify` runs it too).
    #[arg(long)]
    pub no_verify: bool,
    /// Turn off termination protection and the stack policy that keeps any
    /// update from replacing or deleting the tables and the key (both on by
    /// default, set by every deploy).
    #[arg(long)]
    pub no_protection: bool,
    /// Update only the functions' code (UpdateFunctionCode), without a change set,
    /// when the template and the other parameters are as deployed; drifts the
    /// stack until the next deploy without it.
    #[arg(long, conflicts_with_all = ["require_approval", "allow_replacement", "outputs_file"])]
    pub hotswap: bool,
    /// A CloudFormation service role to create and change the resources
    /// with (`deployer-policy --for cloudformation-role` prints its policy);
    /// the stack keeps it for later deploys and its deletion.
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// Deploy this template (JSON) instead of the synthesized one; the
    /// tests deploy the previous release's with it.
    #[arg(long, value_name = "FILE", hide = true, value_parser = template_file)]
    pub template: Option<serde_json::Value>,
}

/// `FUNCTION=MB`, the function by its binary name.
fn function_memory(s: &str) -> Result<(stack::Function, u32), String> {
    let names: Vec<&str> = stack::Function::ALL.iter().map(|f| f.binary()).collect();
    let (name, mb) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not FUNCTION=MB (e.g. context-manager=512)"))?;
    let f = stack::Function::from_binary(name)
        .ok_or_else(|| format!("`{name}` is not a function: {}", names.join(", ")))?;
    let mb = mb
        .parse()
        .map_err(|_| format!("`{mb}` is not a whole number of MB"))?;
    Ok((f, mb))
}

/// A JSON template file.
fn template_file(path: &str) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path} is not a JSON template: {e}"))
}

#[derive(Debug, Args)]
pub struct Destroy {
    #[command(flatten)]
    pub aws: Aws,
    #[command(flatten)]
    pub stage: Stage,
    /// Delete without asking.
    #[arg(long)]
    pub yes: bool,
    /// Print the result as JSON on stdout (the human text goes to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeployerPolicy {
    #[command(flatten)]
    pub aws: Aws,
    #[command(flatten)]
    pub stage: Stage,
    /// The account id to scope the policy to [default: the credentials' account].
    #[arg(long)]
    pub account: Option<String>,
    /// Whose policy: the deployer's (`caller`), or the CloudFormation
    /// service role's that `deploy --role-arn` passes (`cloudformation-role`).
    #[arg(long = "for", value_enum, default_value = "caller")]
    pub audience: PolicyAudience,
    /// With `--for caller`: the service role the deployer passes; the
    /// deployer's policy then keeps only the tool's own calls and
    /// `iam:PassRole` on this role.
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// Print a JSON array of policy documents, each small enough for one
    /// managed policy (6,144 characters), instead of one document.
    #[arg(long)]
    pub parts: bool,
}

#[derive(Debug, Args)]
pub struct CiRole {
    #[command(flatten)]
    pub aws: Aws,
    #[command(flatten)]
    pub stage: Stage,
    /// The repository whose workflows may deploy: OWNER/REPO.
    #[arg(long, value_name = "OWNER/REPO")]
    pub github: String,
    /// The branch whose workflow runs may deploy.
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// The account id to scope the policy to [default: the credentials' account].
    #[arg(long)]
    pub account: Option<String>,
    /// The account's GitHub OIDC provider, when it has one already (an
    /// account has at most one per URL).
    #[arg(long, value_name = "ARN")]
    pub existing_provider: Option<String>,
}

/// Whose IAM policy `deployer-policy` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyAudience {
    /// The person or CI role running `cargo xtask`.
    Caller,
    /// The service role CloudFormation assumes (`deploy --role-arn`).
    CloudformationRole,
}

#[derive(Debug, Args)]
pub struct Verify {
    #[command(flatten)]
    pub aws: Aws,
    #[command(flatten)]
    pub stage: Stage,
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
    /// Skip the smoke test (a real create / add_turn / get_context / delete
    /// through both functions as a reserved verification user).
    #[arg(long)]
    pub no_smoke: bool,
}

#[derive(Debug, Args)]
pub struct Backup {
    #[command(flatten)]
    pub aws: Aws,
    #[command(flatten)]
    pub stage: Stage,
    /// Back up only this table [default: both].
    #[arg(long, value_enum)]
    pub table: Option<Table>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Rollback {
    #[command(flatten)]
    pub aws: Aws,
    #[command(flatten)]
    pub stage: Stage,
    /// Only this function (default: both).
    #[arg(long, value_parser = function())]
    pub function: Option<stack::Function>,
    /// The version to make live instead of the previous one (e.g. a newer
    /// one, to go forward again); needs --function, each has its own numbers.
    #[arg(long, value_name = "VERSION", requires = "function")]
    pub to: Option<u64>,
    /// List each function's versions and which is live; change nothing.
    #[arg(long, conflicts_with = "to")]
    pub list: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Tune {
    #[command(flatten)]
    pub aws: Aws,
    #[command(flatten)]
    pub stage: Stage,
    /// The function to measure.
    #[arg(long, value_parser = function(), default_value = "context-manager")]
    pub function: stack::Function,
    /// Memory sizes in MB, separated by commas.
    #[arg(long, value_delimiter = ',', default_value = "128,256,512,1024")]
    pub memory: Vec<i32>,
    /// Invocations per size (the first of each is a cold start).
    #[arg(long, default_value_t = 20)]
    pub invocations: u32,
    /// Keep the recommended size: a change set on the deployed template
    /// that sets only the function's memory parameter (a new version, live).
    #[arg(long)]
    pub apply: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// A duration flag (`--since`, `--ttl`): a whole number and its unit, `s`,
/// `m`, `h` or `d` (`90s`, `15m`, `2h`, `1d`). A bare number is refused: it
/// would be seconds to one reader and minutes to another.
pub fn duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let per_unit: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "" if !number.is_empty() => {
            return Err(format!("`{s}` has no unit: write {s}s, {s}m, {s}h or {s}d"))
        }
        _ => {
            return Err(format!(
                "`{s}` is not a duration: write e.g. 90s, 15m, 2h or 1d"
            ))
        }
    };
    let secs = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(per_unit))
        .ok_or_else(|| format!("`{s}` is not a duration: write e.g. 90s, 15m, 2h or 1d"))?;
    if secs == 0 {
        return Err("a duration must be longer than 0".into());
    }
    Ok(std::time::Duration::from_secs(secs))
}

/// A duration as [`duration`] reads it, in its largest whole unit (`15m`).
pub fn duration_text(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    match [(86_400, "d"), (3600, "h"), (60, "m")]
        .into_iter()
        .find(|(per, _)| secs > 0 && secs.is_multiple_of(*per))
    {
        Some((per, unit)) => format!("{}{unit}", secs / per),
        None => format!("{secs}s"),
    }
}

/// A function by its binary name (the stack's table of functions).
fn function() -> impl clap::builder::TypedValueParser<Value = stack::Function> {
    clap::builder::PossibleValuesParser::new(stack::Function::ALL.iter().map(|f| f.binary()))
        .map(|name| stack::Function::from_binary(&name).expect("one of the listed names"))
}

/// A function by its binary name, or `all` (`None`). An alias, so that
/// clap takes the `Option` as the value, not as an optional flag.
pub type FunctionOrAll = Option<stack::Function>;

fn function_or_all() -> impl clap::builder::TypedValueParser<Value = FunctionOrAll> {
    let names = stack::Function::ALL.iter().map(|f| f.binary());
    clap::builder::PossibleValuesParser::new(names.chain(["all"]))
        .map(|name| stack::Function::from_binary(&name))
}

#[derive(Debug, Args)]
pub struct Audit {
    #[command(flatten)]
    pub aws: Aws,
    #[command(flatten)]
    pub stage: Stage,
    /// How far back, e.g. 24h, 7d (CloudTrail keeps 90 days of events).
    #[arg(long, default_value = "24h", value_parser = duration, value_name = "DURATION")]
    pub since: std::time::Duration,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Backups {
    #[command(flatten)]
    pub aws: Aws,
    #[command(flatten)]
    pub stage: Stage,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["to_time", "backup_arn"])))]
pub struct Restore {
    #[command(flatten)]
    pub aws: Aws,
    #[command(flatten)]
    pub stage: Stage,
    /// Restore the table as it was at this time (point-in-time recovery), RFC 3339: 2026-11-29T15:00:00Z.
    #[arg(long, value_name = "RFC3339")]
    pub to_time: Option<String>,
    /// With --to-time: which table [default: sessions].
    #[arg(long, value_enum, requires = "to_time")]
    pub table: Option<Table>,
    /// Restore this backup (an ARN from `cargo xtask backups`).
    #[arg(long, value_name = "ARN")]
    pub backup_arn: Option<String>,
    /// The new table's name [default: <table>-restored-<UTC time>]; must not exist.
    #[arg(long, value_name = "NAME")]
    pub target_table: Option<String>,
    /// Print the result as JSON on stdout (progress goes to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Cost {
    /// Students using it in a month.
    #[arg(long, default_value_t = 1_000, value_name = "N")]
    pub students: u64,
    /// Sessions each student starts in a month.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub sessions_per_student: u64,
    /// Turns (add_turn calls) per session.
    #[arg(long, default_value_t = 30, value_name = "N")]
    pub turns_per_session: u64,
    /// Content bytes per turn (at most 16384).
    #[arg(long, default_value_t = 1_024, value_name = "N")]
    pub turn_bytes: u64,
    /// Print the estimate as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Instead of the estimate, the stage's real spend by service from Cost
    /// Explorer (its tags must be activated as cost allocation tags; $0.01 a request).
    #[arg(long, conflicts_with_all = ["students", "sessions_per_student", "turns_per_session", "turn_bytes"])]
    pub actual: bool,
    /// With --actual: the month, YYYY-MM [default: this month so far].
    #[arg(long, requires = "actual", value_name = "YYYY-MM")]
    pub month: Option<String>,
    #[command(flatten)]
    pub aws: Aws,
    #[command(flatten)]
    pub stage: Stage,
}

#[derive(Debug, Args)]
pub struct Logs {
    #[command(flatten)]
    pub aws: Aws,
    #[command(flatten)]
    pub stage: Stage,
    /// Which function's log group.
    #[arg(long, value_parser = function_or_all(), default_value = "all")]
    pub function: FunctionOrAll,
    /// The functions' logs, the HTTP API's access log (every answer, the
    /// gateway's own 401/403/413/429 included), or both.
    #[arg(long, value_enum, default_value = "functions")]
    pub source: LogSource,
    /// Only answers with this status: a code (401) or a class (4xx, 5xx).
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Only requests of this route, e.g. "POST /sessions" (the access log).
    #[arg(long, value_name = "ROUTE")]
    pub route: Option<String>,
    /// How far back to start: 90s, 15m, 2h, 1d.
    #[arg(long, default_value = "15m", value_parser = duration, value_name = "DURATION")]
    pub since: std::time::Duration,
    /// Keep reading new events (every 2 s) until Ctrl-C.
    #[arg(long)]
    pub follow: bool,
    /// Only events containing this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Only the events of one request: the `requestId` of an error answer, or Lambda's request id.
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
    /// One JSON object per event on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Outputs {
    #[command(flatten)]
    pub aws: Aws,
    #[command(flatten)]
    pub stage: Stage,
    /// Print the outputs as JSON ({"stack", "account", "region", "outputs": {key: value}}).
    #[arg(long, conflicts_with = "dotenv")]
    pub json: bool,
    /// Print what a frontend build needs (the API URL, region, user pool and
    /// app client) as NAME=value lines for a .env file.
    #[arg(long)]
    pub dotenv: bool,
    /// The names' prefix with --dotenv (e.g. VITE_, NEXT_PUBLIC_, REACT_APP_).
    #[arg(long, default_value = "VITE_", requires = "dotenv")]
    pub prefix: String,
}

#[derive(Debug, Args)]
pub struct Stages {
    #[command(flatten)]
    pub aws: Aws,
    /// Print the stages as JSON ({"account", "region", "stages": [...]}).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Dev {
    #[command(subcommand)]
    pub command: Option<DevCommand>,
    /// Port of the HTTP API on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// Suffix every name for a second copy (the same as deploy's --stage).
    #[arg(long, global = true)]
    pub stage: Option<String>,
    /// Build and run the functions with the release profile.
    #[arg(long)]
    pub release: bool,
    /// Start with empty tables and a new key (the saved emulator state is deleted).
    #[arg(long)]
    pub fresh: bool,
    /// Do not print one line per request.
    #[arg(long)]
    pub quiet: bool,
    /// Rebuild and restart the functions when their sources change (the
    /// emulator, its data and the API keep running).
    #[arg(long)]
    pub watch: bool,
    /// Most processes per function: like Lambda, another starts when a
    /// request arrives and all are busy.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// A browser origin (e.g. a frontend dev server, http://localhost:5173) the
    /// API answers CORS for, with the deployed API's settings; repeatable.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    /// An OAuth scope the routes require, as a stage deployed with
    /// `--route-scope` (repeatable): id tokens are then refused (403); get an
    /// access token with `dev token --scope`.
    #[arg(long = "route-scope", value_name = "SCOPE")]
    pub route_scopes: Vec<String>,
    /// Where dev keeps its data: the emulator's state and the token signing key [default: .dev/].
    #[arg(long, global = true, env = "XTASK_DEV_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Print a signed dev token (only the token) for a running `cargo xtask dev`.
    Token(Token),
}

#[derive(Debug, Args)]
pub struct Token {
    /// The user id (`sub` claim).
    #[arg(long, default_value = "dev-user")]
    pub sub: String,
    /// Lifetime, e.g. 1h, 30m, 90s, 2d.
    #[arg(long, default_value = "1h", value_parser = duration, value_name = "DURATION")]
    pub ttl: std::time::Duration,
    /// A Cognito group the token's user is in (repeatable); the stack's
    /// `AssistantWriterGroup` (default `assistant-writers`) may add
    /// assistant/system turns and set summaries.
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,
    /// The app client the token is issued to (its `aud`): one of dev's
    /// clients, `localdevclient` (the web app's, the default) or
    /// `localbackendclient`.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// Issue an access token granted this OAuth scope (repeatable) instead
    /// of an id token: what a stage with `--route-scope` requires.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchTarget {
    /// In-process synth time, and whole-process `xtask synth` wall time and peak RSS.
    Synth,
    /// Each release function binary: start to first request, peak RSS, add_turn latency through `dev`.
    Functions,
    /// Concurrent writers on shared sessions through `dev`, then every turn
    /// checked (exactly once, in order, counted); p50/p99 and throughput.
    Load,
}

#[derive(Debug, Args)]
pub struct Bench {
    #[arg(value_enum)]
    pub target: BenchTarget,
    /// Runs per measurement.
    #[arg(long, default_value_t = 50)]
    pub runs: usize,
    /// `functions`: measure the binaries `DIR/session-persistence` and
    /// `DIR/context-manager` (e.g. another commit's release build) instead
    /// of building the workspace's.
    #[arg(long, value_name = "DIR")]
    pub binaries: Option<PathBuf>,
    /// `load`: sessions written at once.
    #[arg(long, default_value_t = 10)]
    pub sessions: usize,
    /// `load`: concurrent writers per session (and function processes).
    #[arg(long, default_value_t = 8)]
    pub writers: usize,
    /// `load`: turns each writer sends, one after another (sessions hold at
    /// most 100 turns for the check: writers × turns ≤ 100).
    #[arg(long, default_value_t = 12)]
    pub turns: usize,
    /// `load`: every 7th AWS call throttled, failed with a 500 or its answer
    /// dropped after the store applied it (in turn).
    #[arg(long)]
    pub faults: bool,
    /// `load`: the store stops answering for this many seconds, one second in.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub stall: u64,
    /// `load`: moto without its dispatch lock (conditional writes not
    /// atomic, as `moto_server` serves): shows the check catches lost writes.
    #[arg(long)]
    pub unlocked_emulator: bool,
}

#[cfg(test)]
mod duration_tests {
    use super::{duration, duration_text};
    use std::time::Duration;

    #[test]
    fn every_duration_flag_takes_a_number_and_a_unit() {
        assert_eq!(duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("2d"), Ok(Duration::from_secs(172_800)));
        let bare = duration("15").unwrap_err();
        assert!(bare.contains("15s, 15m, 15h or 15d"), "{bare}");
        for bad in [
            "",
            "m",
            "0m",
            "15 minutes",
            "1w",
            "-1h",
            "99999999999999999999d",
        ] {
            assert!(duration(bad).is_err(), "{bad:?} accepted");
        }
        for text in ["15m", "90s", "2h", "7d"] {
            assert_eq!(duration_text(duration(text).unwrap()), text);
        }
    }
}
