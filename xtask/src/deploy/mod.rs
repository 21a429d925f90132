//! `cargo xtask diff | deploy | destroy`: CloudFormation deploys with safety
//! rails, no bootstrap stack, no Node.js.
//!
//! - [`aws`]: configuration from the standard chain, the early credentials
//!   check, SDK errors as one sentence.
//! - [`assets`]: the self-managed asset bucket and content-addressed uploads.
//! - [`plan`]: the change set model and the plan printout.
//! - [`iam_diff`]: IAM statement changes and the widening rule.
//! - [`replacement`]: replacement detection and the data-safety guard.
//! - [`events`]: live progress from stack events, failure and rollback;
//!   polling that rides out throttling and outages.
//! - [`retained`]: what a failed first create's rollback kept (tables, key)
//!   and removing what is empty.
//! - [`apply`]: the deploy flow; [`diff`]; [`destroy`].
//!
//! Exit codes: 0 done (or nothing to do); 1 failed, refused or cancelled,
//! and for `diff --fail` differences found; 2 bad command line (clap).
//!
//! Tests: the pure parts (IAM, replacement, events, plan) have unit tests
//! against recorded API responses in `xtask/tests/fixtures/deploy/`; the
//! flows are tested end to end by `xtask/tests/deploy_*.rs`, which run the
//! built binary against the moto emulator with `--artifacts-dir` (so no
//! release build is needed) and, to exercise the safety rails, the hidden
//! `--template-file` (deploy or diff a modified template).
//!
//! Emulator notes (moto 5.2.5): stacks created from a change set have no
//! outputs (a warning, not an error); update change sets may list no resource
//! changes (the plan then shows the template comparison); there is no
//! `Replacement` field (the template comparison catches replacements); bucket
//! policies are enforced, so the TLS-only policy is not set for a plain-http
//! `--endpoint-url`; change sets are looked up by name across stacks, so
//! deploy names them uniquely and then uses their ARN.

pub mod apply;
pub mod assets;
pub mod aws;
pub mod concurrency;
pub mod destroy;
pub mod diff;
pub mod events;
pub mod iam_diff;
pub mod plan;
pub mod record;
pub mod replacement;
pub mod retained;
pub mod ui;

use crate::build::Arch;
use crate::cli::{AwsArgs, StageArgs};
use anyhow::{anyhow, Context, Result};
use serde_json::Value;
use stack::module::ids;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// Template parameters a user sets; each is kept from the deployed stack when not given.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ParamArgs {
    /// CPU architecture of both functions [default: the deployed one, else arm64].
    #[arg(long, value_enum)]
    pub arch: Option<Arch>,
    /// Cognito user pool id whose tokens the API accepts, e.g. us-east-1_AbC123xyz (required on the first deploy).
    #[arg(long)]
    pub user_pool_id: Option<String>,
    /// Cognito app client id: the JWT audience (required on the first deploy).
    #[arg(long)]
    pub user_pool_client_id: Option<String>,
    /// E-mail address for alarm notifications ("" for none).
    #[arg(long)]
    pub alarm_email: Option<String>,
    /// Reserve N concurrent executions for each function (0 = none, the default; at most 450).
    /// Checked against the account's limit before planning.
    #[arg(long, value_name = "N")]
    pub reserved_concurrency: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum RequireApproval {
    /// Never ask.
    Never,
    /// Ask when IAM permissions widen (the default, like CDK).
    #[default]
    Broadening,
    /// Ask before any change.
    AnyChange,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub stage: StageArgs,
    #[command(flatten)]
    pub params: ParamArgs,
    /// Exit 1 when there are differences (for CI).
    #[arg(long)]
    pub fail: bool,
    /// Print the result as JSON on stdout (the human text goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Where the built zips are (`<function name>.zip`) [default: target/lambda, as `cargo xtask build` writes them].
    #[arg(long, value_name = "DIR")]
    pub artifacts_dir: Option<PathBuf>,
    /// Compare this template file (JSON) instead of the synthesized one.
    #[arg(long, hide = true, value_name = "FILE")]
    pub template_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub stage: StageArgs,
    #[command(flatten)]
    pub params: ParamArgs,
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
    /// Deploy the zips already in DIR (`<function name>.zip`, e.g. target/lambda from an
    /// earlier `cargo xtask build` or a CI artifact) instead of building.
    #[arg(long, value_name = "DIR")]
    pub artifacts_dir: Option<PathBuf>,
    /// Deploy this template file (JSON) instead of the synthesized one.
    #[arg(long, hide = true, value_name = "FILE")]
    pub template_file: Option<PathBuf>,
    /// Skip the smoke test after a successful deploy (a real create / add_turn /
    /// get_context / delete through both functions; `cargo xtask verify` runs it too).
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub stage: StageArgs,
    /// Delete without asking.
    #[arg(long)]
    pub yes: bool,
    /// Print the result as JSON on stdout (the human text goes to stderr).
    #[arg(long)]
    pub json: bool,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub fn run_diff(args: DiffArgs) -> Result<ExitCode> {
    runtime()?.block_on(diff::run(args))
}

pub fn run_deploy(args: DeployArgs) -> Result<ExitCode> {
    runtime()?.block_on(apply::run(args))
}

pub fn run_destroy(args: DestroyArgs) -> Result<ExitCode> {
    runtime()?.block_on(destroy::run(args))
}

// ------------------------------------------------------------------ shared

/// The stack's names for `--stage`, with the stage validated first.
pub fn names(stage: &StageArgs) -> Result<stack::Names> {
    Ok(stack::Names::new(stage.stage.as_deref())?)
}

/// The template to deploy: synthesized for the stage, or `--template-file`.
pub fn local_template(stage: &StageArgs, file: Option<&PathBuf>) -> Result<Value> {
    match file {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a JSON template", p.display()))
        }
        None => Ok(stack::synth(&stack::StackOptions {
            stage: stage.stage.clone(),
        })?
        .to_json_value()),
    }
}

/// `us-east-1_AbC123xyz`: a region, `_`, then letters and digits.
pub fn valid_user_pool_id(id: &str) -> bool {
    match id.split_once('_') {
        Some((region, rest)) => {
            aws::valid_region(region)
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

/// Checks the parameter flags before anything talks to AWS.
pub fn validate_param_flags(p: &ParamArgs) -> Result<()> {
    if let Some(id) = &p.user_pool_id {
        if !valid_user_pool_id(id) {
            return Err(anyhow!(
                "--user-pool-id `{id}` is not a Cognito user pool id: it looks like us-east-1_AbC123xyz (region, underscore, letters and digits); copy it from the Cognito console or `aws cognito-idp list-user-pools`."
            ));
        }
    }
    if let Some(id) = &p.user_pool_client_id {
        if !valid_client_id(id) {
            return Err(anyhow!(
                "--user-pool-client-id `{id}` is not a Cognito app client id (letters and digits, at most 128); copy it from the user pool's App clients page."
            ));
        }
    }
    if let Some(n) = p.reserved_concurrency {
        if n > MAX_RESERVED_CONCURRENCY {
            return Err(anyhow!(
                "--reserved-concurrency {n} is more than {MAX_RESERVED_CONCURRENCY}: with Lambda's default limit of 1,000 concurrent executions and 100 kept unreserved, two functions can reserve at most {MAX_RESERVED_CONCURRENCY} each; use 0 for none."
            ));
        }
    }
    if let Some(e) = &p.alarm_email {
        if !valid_email(e) {
            return Err(anyhow!(
                "--alarm-email `{e}` is not an e-mail address (use \"\" for no alarm e-mails)."
            ));
        }
    }
    Ok(())
}

/// What CloudFormation has deployed.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub stack_id: String,
    pub status: String,
    pub params: BTreeMap<String, String>,
    /// In the stack's order.
    pub outputs: Vec<(String, String)>,
}

/// The stack, or `None` when there is none (or only a deleted one).
pub async fn describe_stack(a: &aws::Aws, stack_name: &str) -> Result<Option<Deployed>> {
    match a.cfn.describe_stacks().stack_name(stack_name).send().await {
        Ok(out) => {
            let Some(s) = out.stacks().first() else {
                return Ok(None);
            };
            let status = s
                .stack_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            if status == "DELETE_COMPLETE" {
                return Ok(None);
            }
            Ok(Some(Deployed {
                stack_id: s.stack_id().unwrap_or(stack_name).to_string(),
                status,
                params: s
                    .parameters()
                    .iter()
                    .map(|p| {
                        (
                            p.parameter_key().unwrap_or_default().to_string(),
                            p.resolved_value()
                                .or(p.parameter_value())
                                .unwrap_or_default()
                                .to_string(),
                        )
                    })
                    .collect(),
                outputs: s
                    .outputs()
                    .iter()
                    .map(|o| {
                        (
                            o.output_key().unwrap_or_default().to_string(),
                            o.output_value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
            }))
        }
        Err(e) if aws::is_not_found(&e) => Ok(None),
        Err(e) => Err(aws::explain(
            e,
            &format!("looking up the stack {stack_name}"),
            &a.target(),
        )),
    }
}

/// The deployed template as JSON (`Value::Null` for a stack that has none yet).
pub async fn deployed_template(a: &aws::Aws, stack_name: &str) -> Result<Value> {
    let out = match a
        .cfn
        .get_template()
        .stack_name(stack_name)
        .template_stage(aws_sdk_cloudformation::types::TemplateStage::Original)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) if aws::is_not_found(&e) => return Ok(Value::Null),
        Err(e) => {
            return Err(aws::explain(
                e,
                "reading the deployed template",
                &a.target(),
            ))
        }
    };
    let body = out.template_body().unwrap_or_default();
    if body.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(body)
        .or_else(|_| serde_norway::from_str(body))
        .context("the deployed template is neither JSON nor plain YAML")
}

/// Marker for a parameter that has no value yet (diff only).
pub const UNSET: &str = "(not set)";

/// The value of every template parameter: explicit (flags, bucket, code keys),
/// else kept from the deployed stack, else the template default. A required
/// parameter with none of these is an error (or [`UNSET`] when `lenient`).
pub fn resolve_params(
    template: &Value,
    explicit: &BTreeMap<String, String>,
    deployed: Option<&BTreeMap<String, String>>,
    lenient: bool,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let Some(Value::Object(params)) = template.get("Parameters") else {
        return Ok(out);
    };
    for (name, p) in params {
        let value = explicit
            .get(name)
            .cloned()
            .or_else(|| deployed.and_then(|d| d.get(name).cloned()))
            .or_else(|| {
                p.get("Default").map(|d| match d {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            });
        match value {
            Some(v) => {
                out.insert(name.clone(), v);
            }
            None if lenient => {
                out.insert(name.clone(), UNSET.to_string());
            }
            None => {
                let flag = match name.as_str() {
                    ids::P_USER_POOL_ID => "--user-pool-id (e.g. us-east-1_AbC123xyz)",
                    ids::P_USER_POOL_CLIENT_ID => "--user-pool-client-id",
                    _ => "",
                };
                return Err(if flag.is_empty() {
                    anyhow!("the template parameter {name} has no value and no default")
                } else {
                    anyhow!(
                        "{flag} is required on the first deploy: it is the Cognito {} the API accepts tokens from; later deploys keep the deployed value.",
                        if name == ids::P_USER_POOL_ID { "user pool" } else { "app client" }
                    )
                });
            }
        }
    }
    Ok(out)
}

/// Flag values as template parameters.
pub fn explicit_params(p: &ParamArgs) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    if let Some(a) = p.arch {
        m.insert(
            ids::P_ARCHITECTURE.to_string(),
            lambda_package::Arch::from(a).lambda_name().to_string(),
        );
    }
    if let Some(v) = &p.user_pool_id {
        m.insert(ids::P_USER_POOL_ID.to_string(), v.clone());
    }
    if let Some(v) = &p.user_pool_client_id {
        m.insert(ids::P_USER_POOL_CLIENT_ID.to_string(), v.clone());
    }
    if let Some(v) = &p.alarm_email {
        m.insert(ids::P_ALARM_EMAIL.to_string(), v.clone());
    }
    if let Some(n) = p.reserved_concurrency {
        m.insert(ids::P_RESERVED_CONCURRENCY.to_string(), n.to_string());
    }
    m
}

/// Outputs in display order: `HttpApiUrl` first, then the stack's order.
pub fn ordered_outputs(outputs: &[(String, String)]) -> Vec<(String, String)> {
    let mut v = outputs.to_vec();
    v.sort_by_key(|(k, _)| k != "HttpApiUrl");
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_pool_ids() {
        assert!(valid_user_pool_id("us-east-1_AbC123xyz"));
        assert!(valid_user_pool_id("eu-west-2_x"));
        for bad in [
            "",
            "us-east-1",
            "us-east-1_",
            "AbC123",
            "us-east-1_Ab-C",
            "not a pool",
            "us-east-1_ab_c",
            "x_abc",
        ] {
            assert!(!valid_user_pool_id(bad), "{bad}");
        }
    }

    #[test]
    fn emails_and_client_ids() {
        assert!(valid_email("") && valid_email("ops@example.com"));
        assert!(
            !valid_email("ops")
                && !valid_email("a b@c.d")
                && !valid_email("@c.d")
                && !valid_email("a@b")
        );
        assert!(valid_client_id("4tq9s1abcdefghijk2"));
        assert!(
            !valid_client_id("") && !valid_client_id("a-b") && !valid_client_id(&"a".repeat(129))
        );
    }

    #[test]
    fn params_come_from_flags_then_the_stack_then_defaults() {
        let t = stack::synth(&stack::StackOptions::default())
            .unwrap()
            .to_json_value();
        let mut explicit = BTreeMap::from([
            (ids::P_CODE_BUCKET.to_string(), "b".to_string()),
            (
                ids::P_SESSION_PERSISTENCE_CODE_KEY.to_string(),
                "code/a.zip".to_string(),
            ),
            (
                ids::P_CONTEXT_MANAGER_CODE_KEY.to_string(),
                "code/b.zip".to_string(),
            ),
        ]);
        let err = resolve_params(&t, &explicit, None, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--user-pool-id") && err.contains("first deploy"),
            "{err}"
        );
        let lenient = resolve_params(&t, &explicit, None, true).unwrap();
        assert_eq!(lenient[ids::P_USER_POOL_ID], UNSET);

        explicit.insert(ids::P_USER_POOL_ID.into(), "us-east-1_New".into());
        let deployed = BTreeMap::from([
            (ids::P_USER_POOL_ID.to_string(), "us-east-1_Old".to_string()),
            (ids::P_USER_POOL_CLIENT_ID.to_string(), "client".to_string()),
            (ids::P_RESERVED_CONCURRENCY.to_string(), "7".to_string()),
        ]);
        let p = resolve_params(&t, &explicit, Some(&deployed), false).unwrap();
        assert_eq!(p[ids::P_USER_POOL_ID], "us-east-1_New");
        assert_eq!(p[ids::P_USER_POOL_CLIENT_ID], "client");
        assert_eq!(p[ids::P_RESERVED_CONCURRENCY], "7");
        assert_eq!(p[ids::P_ARCHITECTURE], "arm64");
        assert_eq!(p[ids::P_ALARM_EMAIL], "");
    }

    #[test]
    fn http_api_url_is_the_first_output() {
        let o = ordered_outputs(&[
            ("A".into(), "1".into()),
            ("HttpApiUrl".into(), "u".into()),
            ("B".into(), "2".into()),
        ]);
        assert_eq!(o[0].0, "HttpApiUrl");
        assert_eq!(o[1].0, "A");
    }
}
