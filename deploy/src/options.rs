//! What each command is asked to do: plain structs the CLI fills from its
//! flags, and the checks of everything a user can get wrong locally, run
//! before anything talks to AWS.

use crate::error::{invalid, Result};
use lambda_package::Arch;
use stack::module::ids;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where requests go; each `None` comes from the standard AWS configuration.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// An AWS-compatible endpoint for every service (e.g. a local emulator).
    pub endpoint_url: Option<String>,
    /// Fixed credentials (access key id, secret) instead of the standard
    /// chain: an emulator's, for tests that run the engine in process.
    pub static_credentials: Option<(String, String)>,
}

/// Template parameters a user sets; each is kept from the deployed stack when not given.
#[derive(Debug, Clone, Default)]
pub struct ParamOptions {
    pub arch: Option<Arch>,
    pub user_pool_id: Option<String>,
    /// One app client id, or several separated by commas (the web app's first).
    pub user_pool_client_id: Option<String>,
    /// "" for none.
    pub alarm_email: Option<String>,
    pub reserved_concurrency: Option<u32>,
    /// A function's memory size in MB (its `<Function>MemorySize`).
    pub memory_mb: BTreeMap<stack::Function, u32>,
    /// Days AWS Backup keeps each daily backup (0 = no backup plan).
    pub backup_retention_days: Option<u32>,
    /// The monthly cost budget in USD (0 = none).
    pub monthly_budget_usd: Option<u32>,
    /// The functions' trust store (`stack::module::TLS_TRUST_STORES`).
    pub tls_trust_store: Option<String>,
    /// Browser origins allowed to call the API (CORS); an empty list: none.
    pub cors_origins: Option<Vec<String>>,
    /// Let a `localhost`/loopback origin into a stage's CORS origins (a
    /// frontend's dev server calling a deployed stage).
    pub allow_local_origins: bool,
    /// Lambda active tracing (`stack::module::TRACING_MODES`).
    pub tracing: Option<String>,
    /// The functions' log level (`stack::module::LOG_LEVELS`).
    pub log_level: Option<String>,
    /// OAuth scopes the routes require (one of them; access tokens only);
    /// an empty list: none, id tokens accepted.
    pub route_scopes: Option<Vec<String>>,
}

/// When to ask before executing the change set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum RequireApproval {
    /// Never ask.
    Never,
    /// Ask when IAM permissions widen (the default, like CDK).
    #[default]
    Broadening,
    /// Ask before any change.
    AnyChange,
}

/// The function zips to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Artifacts {
    /// Release-build them (`lambda-package`).
    Build,
    /// Take `<dir>/<function name>.zip`, e.g. an earlier `cargo xtask build`.
    Dir(PathBuf),
}

#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub aws: AwsOptions,
    pub stage: Option<String>,
    pub params: ParamOptions,
    pub require_approval: RequireApproval,
    /// Approve without asking.
    pub yes: bool,
    pub allow_replacement: bool,
    /// Write the outputs here as `{"<stack>": {"<key>": "<value>"}}`.
    pub outputs_file: Option<PathBuf>,
    pub artifacts: Artifacts,
    /// The template to deploy instead of the synthesized one (JSON).
    pub template: Option<serde_json::Value>,
    /// Run the smoke test after a successful change.
    pub smoke: bool,
    /// Termination protection and the stack policy protecting the tables
    /// and the key (`protection`); false takes both off.
    pub protect: bool,
    /// The CloudFormation service role to act through (`RoleARN`); `None`
    /// keeps the one the stack has, if any.
    pub role_arn: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DiffOptions {
    pub aws: AwsOptions,
    pub stage: Option<String>,
    pub params: ParamOptions,
    /// Where the built zips are.
    pub artifacts_dir: PathBuf,
    /// The template to compare instead of the synthesized one (JSON).
    pub template: Option<serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct DestroyOptions {
    pub aws: AwsOptions,
    pub stage: Option<String>,
    /// Delete without asking.
    pub yes: bool,
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub aws: AwsOptions,
    pub stage: Option<String>,
    /// Run the smoke test (real invocations).
    pub smoke: bool,
}

/// The stack's names for the stage, with the stage validated first.
pub fn names(stage: Option<&str>) -> Result<stack::Names> {
    Ok(stack::Names::new(stage)?)
}

/// The template to deploy: the given one, else the one synthesized for the
/// stage and region.
pub fn template(
    stage: Option<&str>,
    region: &str,
    given: Option<&serde_json::Value>,
) -> Result<serde_json::Value> {
    match given {
        Some(t) => Ok(t.clone()),
        None => Ok(stack::synth(&stack::StackOptions {
            stage: stage.map(str::to_string),
            region: Some(region.to_string()),
        })?
        .to_json_value()),
    }
}

/// A region name of a partition the SDKs know (`us-east-1`, `eu-central-2`,
/// `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`, ...).
pub fn valid_region(region: &str) -> bool {
    stack::partition::Partition::of(region).is_some()
}

/// `us-east-1_AbC123xyz`: a region, `_`, then letters and digits.
pub fn valid_user_pool_id(id: &str) -> bool {
    match id.split_once('_') {
        Some((region, rest)) => {
            valid_region(region)
                && !rest.is_empty()
                && rest.chars().all(|c| c.is_ascii_alphanumeric())
                && id.len() <= 55
        }
        None => false,
    }
}

/// Letters, digits (and `+`, `_`), at most 128 characters.
pub fn valid_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '_')
}

/// Empty, or something@domain.tld without spaces.
pub fn valid_email(e: &str) -> bool {
    if e.is_empty() {
        return true;
    }
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !e.chars().any(char::is_whitespace)
                && !domain.contains('@')
                && domain
                    .split_once('.')
                    .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        }
        None => false,
    }
}

/// The template's `ReservedConcurrency` MaxValue.
pub const MAX_RESERVED_CONCURRENCY: u32 = 450;
/// The template's `BackupRetentionDays` and `MonthlyBudgetUsd` MaxValues.
pub const MAX_BACKUP_RETENTION_DAYS: u32 = 35;
pub const MAX_MONTHLY_BUDGET_USD: u32 = 1_000_000;

impl ParamOptions {
    /// Checks the parameter values before anything talks to AWS, and
    /// reports every bad one at once (one line each).
    pub fn validate(&self) -> Result<()> {
        let mut bad: Vec<String> = vec![];
        if let Some(id) = &self.user_pool_id {
            if !valid_user_pool_id(id) {
                bad.push(format!(
                    "--user-pool-id `{id}` is not a Cognito user pool id: it looks like us-east-1_AbC123xyz (region, underscore, letters and digits); copy it from the Cognito console or `aws cognito-idp list-user-pools`."
                ));
            }
        }
        if let Some(ids) = &self.user_pool_client_id {
            // Several clients arrive joined with commas (the flag repeated).
            for id in ids.split(',') {
                if !valid_client_id(id) {
                    bad.push(format!(
                        "--user-pool-client-id `{id}` is not a Cognito app client id (letters and digits, at most 128); copy it from the user pool's App clients page."
                    ));
                }
            }
        }
        let (min_mb, max_mb) = stack::module::FUNCTION_MEMORY_RANGE_MB;
        for (f, mb) in &self.memory_mb {
            if !(min_mb..=max_mb).contains(&i64::from(*mb)) {
                bad.push(format!(
                    "--memory-mb {}={mb} is outside Lambda's {min_mb}-{max_mb} MB; `cargo xtask tune --function {}` measures the sizes worth trying.",
                    f.binary(),
                    f.binary()
                ));
            }
        }
        if let Some(n) = self.reserved_concurrency {
            if n > MAX_RESERVED_CONCURRENCY {
                bad.push(format!(
                    "--reserved-concurrency {n} is more than {MAX_RESERVED_CONCURRENCY}: with Lambda's default limit of 1,000 concurrent executions and 100 kept unreserved, two functions can reserve at most {MAX_RESERVED_CONCURRENCY} each; use 0 for none."
                ));
            }
        }
        if let Some(n) = self.backup_retention_days {
            if n > MAX_BACKUP_RETENTION_DAYS {
                return Err(invalid(format!(
                    "--backup-retention-days {n} is more than {MAX_BACKUP_RETENTION_DAYS}: point-in-time recovery already covers 35 days and sessions expire after 30; use 1-{MAX_BACKUP_RETENTION_DAYS}, or 0 for no backup plan."
                )));
            }
        }
        if let Some(n) = self.monthly_budget_usd {
            if n > MAX_MONTHLY_BUDGET_USD {
                return Err(invalid(format!(
                    "--monthly-budget-usd {n} is more than the template allows ({MAX_MONTHLY_BUDGET_USD}); use a smaller amount, or 0 for no budget."
                )));
            }
            if n > 0 && self.alarm_email.as_deref() == Some("") {
                return Err(invalid(format!(
                    "--monthly-budget-usd {n} needs an e-mail to alert: the budget exists only with --alarm-email ADDR (it is \"\" here)."
                )));
            }
        }
        if let Some(t) = &self.tls_trust_store {
            if !stack::module::TLS_TRUST_STORES.contains(&t.as_str()) {
                bad.push(format!(
                    "--tls-trust-store `{t}` is not one of {}.",
                    stack::module::TLS_TRUST_STORES.join(", ")
                ));
            }
        }
        if let Some(t) = &self.tracing {
            if !stack::module::TRACING_MODES.contains(&t.as_str()) {
                bad.push(format!(
                    "--tracing `{t}` is not one of {}.",
                    stack::module::TRACING_MODES.join(", ")
                ));
            }
        }
        if let Some(l) = &self.log_level {
            if !stack::module::LOG_LEVELS.contains(&l.as_str()) {
                bad.push(format!(
                    "--log-level `{l}` is not one of {}.",
                    stack::module::LOG_LEVELS.join(", ")
                ));
            }
        }
        if let Some(origins) = &self.cors_origins {
            bad.extend(cors_origin_problems(origins, self.allow_local_origins));
        }
        if let Some(scopes) = &self.route_scopes {
            let pattern = regex_lite::Regex::new(stack::module::ROUTE_SCOPES_PATTERN)
                .expect("the template's pattern compiles");
            for s in scopes.iter().filter(|s| !s.is_empty()) {
                // One scope each: the pattern is the parameter's, a list.
                if s.contains(',') || !pattern.is_match(s) {
                    bad.push(format!(
                        "--route-scope `{s}` is not an OAuth scope: give one such as voice-learning/sessions (Cognito's resource-server/scope), without spaces, quotes, backslashes or commas; pass --route-scope '' for none."
                    ));
                }
            }
        }
        if let Some(e) = &self.alarm_email {
            if !valid_email(e) {
                bad.push(format!(
                    "--alarm-email `{e}` is not an e-mail address (use \"\" for no alarm e-mails)."
                ));
            }
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(invalid(bad.join("\n")))
        }
    }

    /// Refuses an option whose resource type CloudFormation does not offer
    /// in `region` (the stack for that region leaves the type out).
    pub fn check_region(&self, region: &str) -> Result<()> {
        if self.monthly_budget_usd.is_some_and(|n| n > 0)
            && !stack::availability::offered(stack::resources::Budget::TYPE, region)
        {
            return Err(invalid(format!(
                "--monthly-budget-usd needs AWS::Budgets::Budget, which CloudFormation does not offer in {region}: deploy without it (0) and create the budget in the Billing console, or deploy the stack in a region that has it (e.g. us-east-1). Nothing was changed."
            )));
        }
        Ok(())
    }

    /// The given values as template parameters.
    pub fn explicit(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let mut set = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        set(
            ids::P_ARCHITECTURE,
            self.arch.map(|a| a.lambda_name().to_string()),
        );
        set(ids::P_USER_POOL_ID, self.user_pool_id.clone());
        set(ids::P_USER_POOL_CLIENT_ID, self.user_pool_client_id.clone());
        set(ids::P_ALARM_EMAIL, self.alarm_email.clone());
        set(
            ids::P_RESERVED_CONCURRENCY,
            self.reserved_concurrency.map(|n| n.to_string()),
        );
        set(
            ids::P_BACKUP_RETENTION_DAYS,
            self.backup_retention_days.map(|n| n.to_string()),
        );
        set(
            ids::P_MONTHLY_BUDGET_USD,
            self.monthly_budget_usd.map(|n| n.to_string()),
        );
        for (f, mb) in &self.memory_mb {
            set(f.memory_parameter(), Some(mb.to_string()));
        }
        set(ids::P_TLS_TRUST_STORE, self.tls_trust_store.clone());
        set(ids::P_LOG_LEVEL, self.log_level.clone());
        set(ids::P_TRACING, self.tracing.clone());
        set(
            ids::P_ROUTE_SCOPES,
            self.route_scopes.as_ref().map(|s| {
                s.iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(",")
            }),
        );
        set(
            ids::P_CORS_ALLOWED_ORIGINS,
            self.cors_origins.as_ref().map(|o| {
                o.iter()
                    .filter(|o| !o.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(",")
            }),
        );
        m
    }
}

/// What is wrong with `origins` as a stage's CORS origins: each must be
/// `scheme://host[:port]` exactly as a browser sends it in `Origin` (no
/// path, no trailing slash, no wildcard: a bearer-token API names its
/// callers), and a loopback host only when asked for.
pub fn cors_origin_problems(origins: &[String], allow_local: bool) -> Vec<String> {
    let mut bad = Vec::new();
    let pattern = regex_lite::Regex::new(stack::module::cors::ORIGINS_PATTERN)
        .expect("the template's pattern compiles");
    for o in origins.iter().filter(|o| !o.is_empty()) {
        if !pattern.is_match(o) {
            bad.push(format!(
                "--cors-origin `{o}` is not an origin: give scheme://host[:port] as the browser shows it (e.g. https://app.example.com, no path or trailing slash); pass --cors-origin '' for none."
            ));
            continue;
        }
        let authority = o.split_once("://").map_or("", |(_, a)| a);
        let host = match authority.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => authority,
        };
        let local = host == "localhost"
            || host.ends_with(".localhost")
            || host.starts_with("127.")
            || host == "[::1]";
        if local && !allow_local {
            bad.push(format!(
                "--cors-origin `{o}` is a loopback origin: any page a user's machine serves there could call this stage. For a frontend's dev server use `cargo xtask dev --cors-origin {o}`, or add --allow-local-origins to let it call this deployed stage."
            ));
        }
    }
    bad
}

/// Fails unless `path` can be written (it is created and removed again if it did not exist).
pub fn check_writable(path: &Path) -> Result<()> {
    let existed = path.exists();
    if path.is_dir() {
        return Err(invalid(format!(
            "--outputs-file {} is a directory: give a file path.",
            path.display()
        )));
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            invalid(format!(
                "--outputs-file {} cannot be written ({e}): choose a path in an existing, writable directory.",
                path.display()
            ))
        })?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}
