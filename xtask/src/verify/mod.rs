//! `cargo xtask verify`: after a deploy, checks that what runs in the account
//! is what the design says, starting from the stack itself:
//!
//! - [`resources`]: the stack's resources (ListStackResources): every physical id
//!   the other checks use (table names, the key, the API id, function names);
//! - [`key`]: the stack's KMS key (customer managed, enabled, rotation on);
//! - [`tables`]: key schema and index, SSE with *the stack's* key, TTL, PITR;
//! - [`functions`]: runtime, environment, environment encrypted with the key;
//! - [`api`]: the stack's HTTP API (by its physical id), routes behind the
//!   JWT authorizer;
//! - [`smoke`]: a real request through both functions (`lambda:Invoke` with
//!   an API Gateway payload-2.0 event), also run by `deploy`.
//!
//! Every check has one of four outcomes ([`Outcome`]): ok, FAIL, pending (AWS
//! is still turning a setting on: re-run later) and cannot check (the caller
//! may not call that describe action). Every expectation comes from the same
//! typed stack model synth uses, so verify cannot drift from the template.

pub mod api;
pub mod functions;
pub mod key;
#[cfg(test)]
mod replay;
pub mod resources;
pub mod smoke;
pub mod tables;

use crate::cli::{AwsArgs, StageArgs};
use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use serde::Serialize;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub stage: StageArgs,
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
    /// Skip the smoke test (a real create / add_turn / get_context / delete
    /// through both functions as a reserved verification user).
    #[arg(long)]
    pub no_smoke: bool,
}

/// What one check found.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Ok,
    Fail,
    /// AWS reports the setting as being turned on (e.g. TTL `ENABLING`): not
    /// wrong, not verified yet.
    Pending,
    /// The caller was denied the describe call, so nothing is known.
    CannotCheck,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "FAIL",
            Outcome::Pending => "pending",
            Outcome::CannotCheck => "cannot check",
        }
    }
}

/// One check and its outcome.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub outcome: Outcome,
    pub detail: String,
}

impl Check {
    pub fn new(name: impl Into<String>, outcome: Outcome, detail: impl Into<String>) -> Self {
        Check {
            name: name.into(),
            outcome,
            detail: detail.into(),
        }
    }
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Outcome::Ok, detail)
    }
    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Outcome::Fail, detail)
    }
    pub fn pending(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Outcome::Pending, detail)
    }
    /// Ok when `ok`, else FAIL.
    pub fn ok_if(name: impl Into<String>, ok: bool, detail: impl Into<String>) -> Self {
        Self::new(name, if ok { Outcome::Ok } else { Outcome::Fail }, detail)
    }
    pub fn is_ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }
}

/// True when the service refused the call for lack of permission. The codes
/// differ by protocol: `AccessDeniedException` (DynamoDB, KMS, Lambda, API
/// Gateway), `AccessDenied` (CloudFormation and other query APIs).
pub fn is_access_denied<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    matches!(
        e.code(),
        Some("AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation")
    )
}

/// The check for a describe call that failed: "cannot check: <action>
/// denied" when access was denied (nothing is known, so it is not "off"),
/// else a FAIL naming the call and the error code.
pub fn call_failed<E>(name: impl Into<String>, action: &str, e: &SdkError<E, HttpResponse>) -> Check
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if is_access_denied(e) {
        return Check::new(
            name,
            Outcome::CannotCheck,
            format!(
                "cannot check: {action} denied ({}); grant it to the identity running verify",
                crate::deploy::ui::short(e.message().unwrap_or("no message"), 160)
            ),
        );
    }
    let status = e.raw_response().map(|r| r.status().as_u16());
    let why = match (e.code(), e.message(), status) {
        (Some(code), Some(msg), _) => format!("{code}: {}", crate::deploy::ui::short(msg, 200)),
        (Some(code), None, _) => code.to_string(),
        // An answer that is not an AWS error (e.g. an emulator's crash page).
        (None, _, Some(s)) => format!("HTTP {s} without an AWS error code"),
        _ => crate::deploy::ui::short(&crate::deploy::aws::error_chain(e), 200),
    };
    Check::fail(name, format!("{action} failed: {why}"))
}

/// What to check.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Run the smoke test (real invocations).
    pub smoke: bool,
}

pub fn run(args: VerifyArgs) -> Result<ExitCode> {
    let stage = args.stage.stage.clone();
    if let Some(s) = &stage {
        stack::names::validate_stage(s)?;
    }
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let checks = rt.block_on(async {
        let aws = crate::deploy::aws::connect(&args.aws).await?;
        verify(
            &aws.conf,
            stage.as_deref(),
            Options {
                smoke: !args.no_smoke,
            },
        )
        .await
    })?;
    let summary = Summary::of(&checks);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "ok": summary.passed(),
                "summary": summary,
                "checks": checks,
            }))?
        );
    } else {
        for c in &checks {
            println!("{:<12} {:<52} {}", c.outcome.label(), c.name, c.detail);
        }
        for line in summary.lines() {
            println!("{line}");
        }
    }
    Ok(if summary.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Counts by outcome, and what they mean.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub checks: usize,
    pub ok: usize,
    pub failed: usize,
    pub pending: usize,
    pub cannot_check: usize,
}

impl Summary {
    pub fn of(checks: &[Check]) -> Self {
        let n = |o: Outcome| checks.iter().filter(|c| c.outcome == o).count();
        Summary {
            checks: checks.len(),
            ok: n(Outcome::Ok),
            failed: n(Outcome::Fail),
            pending: n(Outcome::Pending),
            cannot_check: n(Outcome::CannotCheck),
        }
    }

    /// Exit 0: nothing failed and everything could be looked at. Pending
    /// alone passes (the setting is on its way), but is said.
    pub fn passed(&self) -> bool {
        self.failed == 0 && self.cannot_check == 0
    }

    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{} checks: {} ok, {} failed, {} pending, {} cannot be checked",
            self.checks, self.ok, self.failed, self.pending, self.cannot_check
        )];
        if self.pending > 0 {
            out.push(
                "pending: AWS is still turning these settings on (TTL can take up to an hour after it is enabled); \
                 nothing is wrong yet, but they are not verified: re-run `cargo xtask verify` later."
                    .into(),
            );
        }
        if self.cannot_check > 0 {
            out.push(
                "cannot check: the identity running verify was denied these read-only describe calls, so those \
                 settings are unknown (not off): grant the actions named above, or run verify with a role that has them."
                    .into(),
            );
        }
        out
    }
}

/// Runs every check against the account `conf` points at.
pub async fn verify(conf: &SdkConfig, stage: Option<&str>, opts: Options) -> Result<Vec<Check>> {
    let names = stack::Names::new(stage)?;
    let template = stack::synth(&stack::StackOptions {
        stage: stage.map(str::to_string),
    })?;
    let mut checks = Vec::new();
    let cfn = aws_sdk_cloudformation::Client::new(conf);
    let deployed = match resources::read(&cfn, &names.stack).await {
        Ok(r) => {
            checks.push(Check::ok(
                format!("stack {}", names.stack),
                format!("{} resources", r.count()),
            ));
            r
        }
        // Nothing else can be located without the stack's physical ids.
        Err(c) => return Ok(vec![c]),
    };

    let kms = aws_sdk_kms::Client::new(conf);
    let (stack_key, key_checks) = key::verify_stack_key(&kms, &deployed).await;
    checks.extend(key_checks);

    let ddb = aws_sdk_dynamodb::Client::new(conf);
    for (logical, model) in tables::modelled(&template) {
        match deployed.physical_id(logical) {
            Some(name) => checks
                .extend(tables::verify_table(&ddb, &kms, name, model, stack_key.as_ref()).await),
            None => checks.push(Check::fail(
                format!("table {}", model.table_name),
                format!("the stack has no {logical} resource"),
            )),
        }
    }

    let lambda = aws_sdk_lambda::Client::new(conf);
    checks
        .extend(functions::verify_functions(&lambda, &names, &deployed, stack_key.as_ref()).await);

    let apigw = aws_sdk_apigatewayv2::Client::new(conf);
    checks.extend(api::verify_api(&apigw, &deployed, &template).await);

    if opts.smoke {
        let targets = smoke::Targets::from_stack(&names, Some(&deployed));
        checks.extend(smoke::run(conf, &targets).await);
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.is_ok())
            .map(|c| c.name.as_str())
            .collect()
    }

    #[test]
    fn summary_passes_only_without_failures_and_unknowns() {
        let all_ok = [Check::ok("a", ""), Check::pending("b", "TTL is ENABLING")];
        let s = Summary::of(&all_ok);
        assert!(s.passed(), "pending alone passes");
        let text = s.lines().join("\n");
        assert!(
            text.contains("1 pending") && text.contains("re-run `cargo xtask verify` later"),
            "{text}"
        );
        assert!(!text.contains("cannot check:"), "{text}");

        let denied = [
            Check::ok("a", ""),
            Check::new("b", Outcome::CannotCheck, "cannot check: x denied"),
        ];
        let s = Summary::of(&denied);
        assert!(!s.passed(), "an unknown is not a pass");
        assert!(s.lines().join("\n").contains("unknown (not off)"));

        let s = Summary::of(&[Check::fail("a", "")]);
        assert!(!s.passed());
        assert_eq!(s.failed, 1);
        assert_eq!(
            serde_json::to_value(Check::new("x", Outcome::CannotCheck, "")).unwrap()["outcome"],
            "cannot-check"
        );
    }

    /// Tables and key made from the model (as `dev` makes them) pass; turning
    /// PITR off fails exactly that check; functions that are not there fail;
    /// without a stack, verify says so and stops.
    #[tokio::test(flavor = "multi_thread")]
    async fn verify_checks_what_is_really_there() {
        let moto = emulator::MotoServer::start(Default::default()).expect("moto");
        let endpoint = moto.endpoint_url();
        let (template, model) = crate::dev::model::LocalModel::synth(None).unwrap();
        let provisioned = crate::dev::provision::provision(&template, &model, &endpoint)
            .await
            .unwrap();
        let conf = crate::dev::provision::sdk_config(&endpoint).await;
        let ddb = aws_sdk_dynamodb::Client::new(&conf);
        let kms = aws_sdk_kms::Client::new(&conf);

        let (stack_key, key_checks) = key::verify_key(&kms, &provisioned.key_id).await;
        assert!(failed(&key_checks).is_empty(), "{key_checks:?}");
        let stack_key = stack_key.expect("the key is described");
        assert_eq!(stack_key.arn.as_deref(), Some(provisioned.key_arn.as_str()));

        let mut tables = vec![];
        for (_, t) in tables::modelled(&template) {
            tables
                .extend(tables::verify_table(&ddb, &kms, &t.table_name, t, Some(&stack_key)).await);
        }
        assert_eq!(tables.len(), 11, "{tables:?}");
        assert!(failed(&tables).is_empty(), "{tables:?}");

        // Another key is not the stack's key.
        let other = key::StackKey {
            id: "00000000-0000-4000-8000-000000000000".into(),
            arn: None,
        };
        let (_, sessions) = tables::modelled(&template).next().unwrap();
        let wrong =
            tables::verify_table(&ddb, &kms, &sessions.table_name, sessions, Some(&other)).await;
        assert_eq!(
            failed(&wrong),
            vec!["table voice-learning-sessions SSE with the stack's key"]
        );

        ddb.update_continuous_backups()
            .table_name("voice-learning-sessions")
            .point_in_time_recovery_specification(
                aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(false)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let mut after = vec![];
        for (_, t) in tables::modelled(&template) {
            after
                .extend(tables::verify_table(&ddb, &kms, &t.table_name, t, Some(&stack_key)).await);
        }
        assert_eq!(
            failed(&after),
            vec!["table voice-learning-sessions point-in-time recovery"]
        );

        let names = stack::Names::new(None).unwrap();
        let functions = functions::verify_functions(
            &aws_sdk_lambda::Client::new(&conf),
            &names,
            &resources::StackResources::default(),
            Some(&stack_key),
        )
        .await;
        assert_eq!(
            failed(&functions),
            vec![
                "function voice-learning-session-persistence listed",
                "function voice-learning-context-manager listed"
            ]
        );

        // No stack: one FAIL that says what to do, nothing else is guessed.
        let all = verify(&conf, None, Options { smoke: true }).await.unwrap();
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].outcome, Outcome::Fail);
        assert!(all[0].detail.contains("cargo xtask deploy"), "{all:?}");
    }
}
