//! `deploy`, as named phases: local input → credentials → stack state →
//! parameters → artifacts → no-op check → data safety from the templates →
//! what a failed create kept → uploads → change set (deleted on every way
//! out unless executed) → plan, data safety, approval → execute with
//! progress → outputs → smoke test.
//!
//! Everything a user can get wrong locally (stage, parameter formats, the
//! outputs file, a missing required parameter) is checked before anything
//! in the account changes.
//!
//! Long: the phases read top to bottom as the one flow they are, each a
//! function of its own.

use crate::assets::keep_deployed_code_young;
use crate::assets::{self, Asset};
use crate::aws::{self, explain, Aws};
use crate::change_set::{wait_planned, Pending, Planned, Settled, CHANGE_SET_PREFIX};
use crate::concurrency;
use crate::destroy::delete_and_wait;
use crate::error::{failed, Error, Result};
use crate::events::{explain_status, now_epoch, Operation, Outcome as Watched, Progress};
use crate::options::{self, Artifacts, DeployOptions, RequireApproval};
use crate::outputs::{finish_outputs, outputs_json};
use crate::report::{ask, Approval, Approver, Report, Style, Text};
use crate::results::{self, DeployResult, FirstFailure};
use crate::retained_cleanup;
use crate::stack_state::{
    deployed_template, describe_stack, existing_tables, stack_action, Deployed, StackAction,
    UPDATABLE,
};
use crate::verify::smoke;
use crate::watch::{watch, CfnSource};
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, StackStatus};
use cfn_plan::{params, replacement, Plan};
use lambda_package::Arch;
use serde_json::{json, Value};
use stack::module::ids;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How a deploy ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Deployed,
    NoChanges,
    /// Answered no at the prompt: nothing changed (exit 1).
    Cancelled,
}

/// Where a deploy's time went: each phase's share, in the order they ran
/// (`prepare`: the stack's state and the parameters; `build`: building or
/// finding and zipping the functions; `upload`; `plan`: the change set and
/// its approval; `execute`: CloudFormation's work and the protections;
/// `smoke`: the smoke test; for a deploy with nothing to change, `finish`:
/// the protections and outputs after `build`).
#[derive(Debug, Default)]
pub struct Phases {
    last: Option<Instant>,
    spent: Vec<(&'static str, Duration)>,
}

impl Phases {
    fn start() -> Self {
        Phases {
            last: Some(Instant::now()),
            spent: vec![],
        }
    }

    /// Ends the phase `name` now.
    fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        let since = self.last.map_or(Duration::ZERO, |l| now - l);
        self.spent.push((name, since));
        self.last = Some(now);
    }

    /// `{"prepare": 0.31, "build": 0.02, ...}` (seconds, hundredths).
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.spent
                .iter()
                .map(|(n, d)| (n.to_string(), json!(crate::text::seconds(*d))))
                .collect(),
        )
    }

    /// `prepare 0.3 s · build 0.0 s · …`
    pub fn line(&self) -> String {
        self.spent
            .iter()
            .map(|(n, d)| format!("{n} {:.1} s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// What the phases share.
struct Ctx<'a> {
    opts: &'a DeployOptions,
    started: Instant,
    phases: std::sync::Mutex<Phases>,
    names: stack::Names,
    stack_name: String,
    template: Value,
    aws: Aws,
}

/// The stack as found, and what to do with it.
struct State {
    deployed: Option<Deployed>,
    action: StackAction,
    /// Parameters to keep from the deployed stack.
    kept: Option<BTreeMap<String, String>>,
}

impl Ctx<'_> {
    /// Ends the phase `name` (see [`Phases`]).
    fn lap(&self, name: &'static str) {
        self.phases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .lap(name);
    }

    fn phases(&self) -> std::sync::MutexGuard<'_, Phases> {
        self.phases.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    fn create(&self) -> bool {
        self.action != StackAction::Update
    }
}

pub async fn run(
    opts: &DeployOptions,
    report: &mut impl Report,
    approver: &mut impl Approver,
) -> Result<Outcome> {
    let started = Instant::now();
    let names = local_input(opts)?;
    let aws = aws::connect(&opts.aws).await?;
    opts.params.check_region(&aws.region)?;
    let template = options::template(opts.stage.as_deref(), &aws.region, opts.template.as_ref())?;
    report.say(&format!(
        "{} → account {}, region {}{}",
        names.stack,
        aws.account,
        aws.region,
        aws.endpoint_url
            .as_deref()
            .map(|u| format!(", endpoint {u}"))
            .unwrap_or_default()
    ));
    let cx = Ctx {
        opts,
        started,
        phases: std::sync::Mutex::new(Phases::start()),
        stack_name: names.stack.clone(),
        names,
        template,
        aws,
    };
    let mut state = read_state(&cx).await?;
    let bucket = assets::bucket_name(&cx.aws.account, &cx.aws.region);
    let (arch, mut explicit) = early_params(&cx, &state, &bucket, report).await?;
    cx.lap("prepare");
    let assets = artifacts(&cx, arch, report)?;
    cx.lap("build");
    for a in &assets {
        explicit.insert(a.parameter.into(), a.key.clone());
    }
    let params = params::resolve(&cx.template, &explicit, state.kept.as_ref(), false)?;
    let old_template = old_template(&cx, &state).await?;
    if let Some(d) = state.deployed.as_ref().filter(|d| {
        UPDATABLE.contains(&d.status)
            && old_template == cx.template
            && d.params == params
            && !crate::tags::missing(&d.tags, cx.names.stage.as_deref())
    }) {
        return no_changes(&cx, report, &bucket, d, &assets).await;
    }
    // Data safety from the templates alone, before anything is uploaded or
    // planned (the change set's own Replacement fields are checked again).
    replacement::guard(
        &replacement::from_templates(&old_template, &cx.template),
        opts.allow_replacement,
    )
    .map_err(|e| {
        failed!(
            "{e}\n(Nothing was uploaded or changed; `cargo xtask diff` shows every difference.)"
        )
    })?;
    before_create(&cx, &state, report, approver).await?;
    let (uploaded, template_url) = upload(&cx, report, &bucket, &assets).await?;
    cx.lap("upload");
    if state.action == StackAction::RecreateAfterRollback {
        let d = state.deployed.take().expect("a rolled-back stack");
        report.say(&format!(
            "{} is ROLLBACK_COMPLETE (its first create failed): deleting it before creating it again …",
            cx.stack_name
        ));
        delete_and_wait(&cx.aws, report, &d).await?;
    }
    let (pending, cs_name) = create_change_set(&cx, &state, &params, template_url).await?;
    let old_params = match state.action {
        StackAction::RecreateAfterRollback => BTreeMap::new(),
        _ => state.kept.clone().unwrap_or_default(),
    };
    let executed = pending
        .settle(plan_and_execute(
            &cx,
            &state,
            &pending,
            &bucket,
            &old_template,
            &old_params,
            &params,
            report,
            approver,
        ))
        .await
        .map_err(|e| match e {
            Error::Interrupted(_) => {
                Error::Interrupted("the change set was deleted, the stack was not changed.".into())
            }
            e => e,
        })?;
    cx.lap("plan");
    let Some((plan, mut progress)) = executed else {
        return no_plan_result(&cx, report, &uploaded);
    };
    let outcome = if plan.is_none() {
        return Ok(Outcome::Cancelled);
    } else {
        let op = if state.create() {
            Operation::Create
        } else {
            Operation::Update
        };
        let mut source = CfnSource::new(cx.aws.cfn.clone(), &pending.stack_id, cx.aws.target());
        watch(
            &mut source,
            report,
            &mut progress,
            op,
            Duration::from_secs(2),
        )
        .await?
    };
    let plan = plan.expect("executed with a plan");
    if !outcome.success {
        // An update rolled back: the stack is there, its catches go back on
        // (an `--allow-replacement` lifted the stack policy).
        if !state.create() {
            let _ = crate::protection::ensure(
                &cx.aws,
                &pending.stack_id,
                &cx.template,
                opts.protect,
                report,
            )
            .await;
        }
        return failed_operation(&cx, &state, &pending.stack_id, &outcome, report, approver).await;
    }
    crate::protection::ensure(
        &cx.aws,
        &pending.stack_id,
        &cx.template,
        opts.protect,
        report,
    )
    .await?;
    let after = describe_stack(&cx.aws, &cx.stack_name).await?;
    let outputs = after.map(|d| d.outputs).unwrap_or_default();
    cx.lap("execute");
    report.blank();
    report.line(Text::styled(
        Style::Good,
        format!(
            "✓ {} deployed ({}) in {:.1}s",
            cx.stack_name,
            outcome.final_status,
            cx.started.elapsed().as_secs_f64()
        ),
    ));
    finish_outputs(
        report,
        opts.outputs_file.as_deref(),
        &cx.stack_name,
        &outputs,
    )?;
    // What was deployed answers a real request (an error when not).
    if opts.smoke {
        smoke::after_deploy(&cx.aws.conf, &cx.names, report).await?;
        cx.lap("smoke");
    }
    report.say(&format!("time: {}", cx.phases().line()));
    report.result(results::to_json(&DeployResult::Deployed {
        stack: cx.stack_name.to_string(),
        final_status: outcome.final_status.as_str().to_string(),
        change_set: cs_name.to_string(),
        uploaded: uploaded.to_vec(),
        plan: plan.to_json(),
        outputs: outputs_json(&outputs),
        elapsed_seconds: crate::text::seconds(cx.started.elapsed()),
        phases: cx.phases().to_json(),
    }));
    Ok(Outcome::Deployed)
}

/// Phase: everything that can be checked without AWS.
fn local_input(opts: &DeployOptions) -> Result<stack::Names> {
    let names = options::names(opts.stage.as_deref())?;
    opts.params.validate()?;
    if let Some(r) = &opts.role_arn {
        crate::deployer_policy::check_role_arn(r)?;
    }
    if let Some(p) = &opts.outputs_file {
        options::check_writable(p)?;
    }
    Ok(names)
}

/// Phase: the stack's state decides CREATE or UPDATE (or a refusal).
async fn read_state(cx: &Ctx<'_>) -> Result<State> {
    let deployed = describe_stack(&cx.aws, &cx.stack_name).await?;
    let action = stack_action(
        &cx.stack_name,
        deployed.as_ref().map(|d| &d.status),
        &cx.aws.region,
    )?;
    let kept = deployed
        .as_ref()
        .filter(|d| d.status != StackStatus::ReviewInProgress)
        .map(|d| d.params.clone());
    Ok(State {
        deployed,
        action,
        kept,
    })
}

/// Phase: required parameters and reserved concurrency are checked before
/// the (slow) build; the architecture is the flag's, else the deployed one.
async fn early_params(
    cx: &Ctx<'_>,
    state: &State,
    bucket: &str,
    report: &mut impl Report,
) -> Result<(Arch, BTreeMap<String, String>)> {
    let mut explicit = cx.opts.params.explicit();
    explicit.insert(ids::P_CODE_BUCKET.into(), bucket.to_string());
    let mut early = explicit.clone();
    for p in [
        ids::P_SESSION_PERSISTENCE_CODE_KEY,
        ids::P_CONTEXT_MANAGER_CODE_KEY,
    ] {
        early.insert(p.into(), "code/pending.zip".into());
    }
    let early = params::resolve(&cx.template, &early, state.kept.as_ref(), false)?;
    let reserved: i64 = early
        .get(ids::P_RESERVED_CONCURRENCY)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    concurrency::check_account(&cx.aws, &cx.names.functions(), reserved).await?;
    // A given template (tests) names its own resources.
    if cx.opts.template.is_none() {
        if let Some(vault) = crate::global_names::check(
            &cx.aws,
            cx.opts.stage.as_deref(),
            state.create(),
            &early,
            state.kept.as_ref(),
            report,
        )
        .await?
        {
            explicit.insert(ids::P_BACKUP_VAULT_NAME.into(), vault);
        }
    }
    let arch = cx.opts.params.arch.unwrap_or_else(|| {
        state
            .kept
            .as_ref()
            .and_then(|k| k.get(ids::P_ARCHITECTURE))
            .and_then(|a| Arch::from_lambda_name(a))
            .unwrap_or_default()
    });
    explicit.insert(ids::P_ARCHITECTURE.into(), arch.lambda_name().into());
    Ok((arch, explicit))
}

/// Phase: build (or take the given zips).
fn artifacts(cx: &Ctx<'_>, arch: Arch, report: &mut impl Report) -> Result<Vec<Asset>> {
    let artifacts = match &cx.opts.artifacts {
        Artifacts::Dir(dir) => {
            let found = lambda_package::artifacts_in(dir)?;
            // Given zips were built elsewhere: a binary for the other
            // architecture would deploy fine and fail on every invocation.
            for a in &found {
                lambda_package::artifact::check_zip(&a.zip, arch)?;
            }
            found
        }
        Artifacts::Build => {
            report.say(&format!(
                "building both functions for {} …",
                arch.lambda_name()
            ));
            let built = lambda_package::build_all(arch, &mut |l| report.say(l))?;
            for line in lambda_package::artifact::summary_lines(&built) {
                report.say(&line);
            }
            built
        }
    };
    assets::from_artifacts(&artifacts)
}

/// The deployed template to compare with (nothing for a stack created anew).
async fn old_template(cx: &Ctx<'_>, state: &State) -> Result<Value> {
    match &state.deployed {
        Some(d)
            if d.status != StackStatus::ReviewInProgress
                && state.action != StackAction::RecreateAfterRollback =>
        {
            deployed_template(&cx.aws, &cx.stack_name).await
        }
        _ => Ok(Value::Null),
    }
}

/// Phase: nothing to do, decided before any change set exists.
async fn no_changes(
    cx: &Ctx<'_>,
    report: &mut impl Report,
    bucket: &str,
    d: &Deployed,
    assets: &[Asset],
) -> Result<Outcome> {
    keep_deployed_code_young(&cx.aws, report, bucket, d).await?;
    crate::protection::ensure(&cx.aws, &d.stack_id, &cx.template, cx.opts.protect, report).await?;
    // The stack names these zips, but a `--hotswap` may have left other
    // code running: put the stack's code back, so "no changes" is true.
    let restored =
        crate::hotswap::update_code(&cx.aws, &cx.stack_name, assets, bucket, report).await?;
    if !restored.is_empty() {
        report.say(&format!(
            "restored the code the stack names in {} (a --hotswap had replaced it)",
            restored.join(", ")
        ));
    }
    report.line(Text::styled(
        Style::Good,
        format!("✓ {}: no changes", cx.stack_name),
    ));
    finish_outputs(
        report,
        cx.opts.outputs_file.as_deref(),
        &cx.stack_name,
        &d.outputs,
    )?;
    cx.lap("finish");
    report.say(&format!(
        "done in {:.1}s ({})",
        cx.started.elapsed().as_secs_f64(),
        cx.phases().line()
    ));
    report.result(results::to_json(&DeployResult::NoChanges {
        stack: cx.stack_name.to_string(),
        uploaded: vec![],
        outputs: Some(outputs_json(&d.outputs)),
        elapsed_seconds: Some(crate::text::seconds(cx.started.elapsed())),
        phases: cx.phases().to_json(),
    }));
    Ok(Outcome::NoChanges)
}

/// Phase: what a failed first create kept is removed (with approval), and a
/// create must not collide with tables that exist outside the stack.
async fn before_create(
    cx: &Ctx<'_>,
    state: &State,
    report: &mut impl Report,
    approver: &mut impl Approver,
) -> Result<()> {
    if let Some(d) = state
        .deployed
        .as_ref()
        .filter(|_| state.action == StackAction::RecreateAfterRollback)
    {
        retained_cleanup::before_recreate(
            &cx.aws,
            report,
            approver,
            &d.stack_id,
            &cx.stack_name,
            cx.opts.yes,
        )
        .await?;
    }
    if state.create() {
        let taken = existing_tables(&cx.aws, &cx.template).await?;
        if !taken.is_empty() {
            let at = cx.aws.cli_target();
            let commands: Vec<String> = taken
                .iter()
                .flat_map(|t| {
                    [
                        format!("aws dynamodb create-backup --table-name {t} --backup-name {t}-kept{at}"),
                        format!("aws dynamodb update-table --table-name {t} --no-deletion-protection-enabled{at}"),
                        format!("aws dynamodb delete-table --table-name {t}{at}"),
                    ]
                })
                .collect();
            return Err(failed!(
                "cannot create {}: the DynamoDB table(s) {} already exist outside the stack (kept by an earlier `cargo xtask destroy` or a rolled-back create?), \
                 and CloudFormation cannot create a table whose name is taken. Nothing was changed. Either deploy another --stage, or start this one fresh: back each table up and delete it,\n  {}\n\
                 then `cargo xtask deploy`, and bring the data back with `cargo xtask restore --backup-arn ARN --target-table NAME` (the ARNs: `cargo xtask backups`) and the switch steps it prints.",
                cx.stack_name,
                taken.join(", "),
                commands.join("\n  ")
            ));
        }
    }
    Ok(())
}

/// Phase: the asset bucket, the zips, and a template too large to send inline.
async fn upload(
    cx: &Ctx<'_>,
    report: &mut impl Report,
    bucket: &str,
    assets: &[Asset],
) -> Result<(Vec<String>, Option<String>)> {
    let aws = &cx.aws;
    if assets::ensure_bucket(aws, bucket).await? {
        report.say(&format!(
            "created the asset bucket {bucket} (encrypted, public access blocked, lifecycle rule)"
        ));
    }
    let mut uploaded = vec![];
    for a in assets {
        let bytes = std::fs::read(&a.zip)
            .map_err(crate::error::io(format!("reading {}", a.zip.display())))?;
        if assets::upload_if_missing(aws, bucket, &a.key, bytes, "application/zip").await? {
            report.say(&format!(
                "uploaded {} → s3://{bucket}/{} ({})",
                a.function,
                a.key,
                lambda_package::format_size(a.size)
            ));
            uploaded.push(a.key.clone());
        } else {
            report.say(&format!(
                "{}: s3://{bucket}/{} already uploaded",
                a.function, a.key
            ));
        }
    }
    let body = serde_json::to_string(&cx.template).expect("a JSON value serializes");
    if body.len() <= stack::validate::MAX_INLINE_TEMPLATE_BYTES {
        return Ok((uploaded, None));
    }
    let key = format!(
        "templates/{}.json",
        lambda_package::sha256_hex(body.as_bytes())
    );
    assets::upload_if_missing(
        aws,
        bucket,
        &key,
        body.clone().into_bytes(),
        "application/json",
    )
    .await?;
    report.say(&format!(
        "template is {} bytes (over the {} inline limit): sent via s3://{bucket}/{key}",
        body.len(),
        stack::validate::MAX_INLINE_TEMPLATE_BYTES
    ));
    Ok((uploaded, Some(assets::template_url(aws, bucket, &key))))
}

/// Phase: the change set, named uniquely per run (two deploys in one
/// second must not collide; some endpoints look names up across stacks).
async fn create_change_set<'a>(
    cx: &'a Ctx<'_>,
    state: &State,
    params: &BTreeMap<String, String>,
    template_url: Option<String>,
) -> Result<(Pending<'a>, String)> {
    let cs_name = format!(
        "{CHANGE_SET_PREFIX}{}-{}",
        (now_epoch() * 1000.0) as u64,
        std::process::id()
    );
    let mut req = cx
        .aws
        .cfn
        .create_change_set()
        .stack_name(&cx.stack_name)
        .change_set_name(&cs_name)
        .change_set_type(if state.create() {
            ChangeSetType::Create
        } else {
            ChangeSetType::Update
        })
        .description("cargo xtask deploy")
        // CloudFormation keeps the role for later operations on the stack,
        // its deletion too (RoleARN in the CreateChangeSet reference).
        .set_role_arn(cx.opts.role_arn.clone())
        .capabilities(Capability::CapabilityNamedIam)
        .set_tags(Some(crate::tags::sdk_tags(cx.names.stage.as_deref())))
        .set_parameters(Some(
            params
                .iter()
                .map(|(k, v)| {
                    Parameter::builder()
                        .parameter_key(k)
                        .parameter_value(v)
                        .build()
                })
                .collect(),
        ));
    req = match template_url {
        Some(u) => req.template_url(u),
        None => req.template_body(serde_json::to_string(&cx.template).expect("JSON")),
    };
    let created = req
        .send()
        .await
        .map_err(|e| explain(e, "creating the change set", &cx.aws.target()))?;
    let pending = Pending {
        aws: &cx.aws,
        stack_id: created.stack_id().unwrap_or(&cx.stack_name).to_string(),
        id: created.id().unwrap_or(&cs_name).to_string(),
        created_stack: state.create(),
    };
    Ok((pending, cs_name))
}

/// What the pending change set led to: `None` when CloudFormation found no
/// changes; else the plan (`None`: cancelled at the prompt) and the progress
/// tracker of the execution.
type Executed = Option<(Option<Plan>, Progress)>;

/// Phase (inside the change set's guard): wait for the plan, show it, check
/// data safety, ask, refresh the rollback target, execute.
#[allow(clippy::too_many_arguments)]
async fn plan_and_execute(
    cx: &Ctx<'_>,
    state: &State,
    pending: &Pending<'_>,
    bucket: &str,
    old_template: &Value,
    old_params: &BTreeMap<String, String>,
    params: &BTreeMap<String, String>,
    report: &mut impl Report,
    approver: &mut impl Approver,
) -> Result<Settled<Executed>> {
    let unchanged = "(the change set was deleted; the stack was not changed)";
    let planned: Planned = wait_planned(&cx.aws, &pending.stack_id, &pending.id)
        .await
        .map_err(|e| e.context(unchanged))?;
    if planned.is_empty() {
        report.line(Text::styled(
            Style::Good,
            format!(
                "✓ {}: no changes (CloudFormation found none)",
                cx.stack_name
            ),
        ));
        return Ok(Settled::Abandoned(None));
    }
    if planned.status == aws_sdk_cloudformation::types::ChangeSetStatus::Failed {
        let why =
            crate::change_set::validation_failures(&cx.aws.cfn, &pending.stack_id, &pending.id)
                .await;
        return Err(failed!(
            "CloudFormation could not plan the deploy: {}{}",
            planned.status_reason.unwrap_or_default(),
            why.iter().map(|l| format!("\n  - {l}")).collect::<String>()
        ));
    }
    let plan = Plan::new(
        &cx.stack_name,
        planned.change_set,
        old_template,
        &cx.template,
        old_params,
        params,
    );
    report.blank();
    report.plan(&plan);
    report.blank();
    if let Err(e) = replacement::guard(&plan.risks, cx.opts.allow_replacement) {
        report.result(results::to_json(&DeployResult::Refused {
            stack: cx.stack_name.to_string(),
            plan: plan.to_json(),
        }));
        return Err(failed!(
            kind = Refused,
            "{e}\n(The change set was deleted; the stack was not changed.)"
        ));
    }
    if !approve(cx, &plan, report, approver).await? {
        return Ok(Settled::Abandoned(Some((
            None,
            Progress::new(&[], 0.0, None),
        ))));
    }
    // Approved: only now is the code the stack runs (the rollback target)
    // rewritten, so a refusal changes nothing.
    if let Some(d) = state.deployed.as_ref().filter(|_| !state.create()) {
        keep_deployed_code_young(&cx.aws, report, bucket, d)
            .await
            .map_err(|e| e.context(unchanged))?;
    }
    let mut source = CfnSource::new(cx.aws.cfn.clone(), &pending.stack_id, cx.aws.target());
    let existing = source
        .existing_events()
        .await
        .map_err(|e| e.context(unchanged))?;
    let total = plan.change_set.resource_changes().count();
    let mut progress = Progress::new(&existing, now_epoch(), (total > 0).then_some(total));
    progress.changed_before = source
        .changed_at()
        .await
        .map_err(|e| e.context(unchanged))?;
    // The stack policy refuses replacing the tables or the key whatever
    // the approval: lifted for this update, set again once it ends.
    if cx.opts.allow_replacement && !state.create() {
        crate::protection::lift(&cx.aws, &pending.stack_id)
            .await
            .map_err(|e| e.context(unchanged))?;
    }
    report.say(&format!(
        "executing change set {} …",
        plan.change_set
            .change_set_name
            .as_deref()
            .unwrap_or(&pending.id)
    ));
    cx.aws
        .cfn
        .execute_change_set()
        .stack_name(&pending.stack_id)
        .change_set_name(&pending.id)
        .send()
        .await
        .map_err(|e| explain(e, "executing the change set", &cx.aws.target()).context(unchanged))?;
    Ok(Settled::Executed(Some((Some(plan), progress))))
}

/// Asks when the plan needs approval; false when the answer was no.
async fn approve(
    cx: &Ctx<'_>,
    plan: &Plan,
    report: &mut impl Report,
    approver: &mut impl Approver,
) -> Result<bool> {
    let needs_approval = match cx.opts.require_approval {
        RequireApproval::Never => false,
        RequireApproval::Broadening => plan.widens_iam(),
        RequireApproval::AnyChange => true,
    };
    if !needs_approval || cx.opts.yes {
        return Ok(true);
    }
    let why = if plan.widens_iam() {
        "This deploy widens IAM permissions (marked above)"
    } else {
        "--require-approval any-change is set"
    };
    let answer = ask(approver, &format!("{why}. Deploy these changes?"))
        .await
        .ok_or_else(|| Error::Interrupted(String::new()))?;
    let json =
        |result: &str| json!({"stack": cx.stack_name, "result": result, "plan": plan.to_json()});
    match answer {
        Approval::Yes => Ok(true),
        Approval::No => {
            report.result(json("cancelled"));
            report.say("deploy cancelled; the change set was deleted, the stack was not changed.");
            Ok(false)
        }
        Approval::NoTerminal => {
            report.result(json("needs-approval"));
            Err(failed!(kind = Refused,
                "{why} and needs approval, but there is no terminal to ask: review the plan above and rerun with --yes (the change set was deleted; the stack was not changed)."
            ))
        }
    }
}

fn no_plan_result(cx: &Ctx<'_>, report: &mut impl Report, uploaded: &[String]) -> Result<Outcome> {
    report.result(results::to_json(&DeployResult::NoChanges {
        stack: cx.stack_name.to_string(),
        uploaded: uploaded.to_vec(),
        outputs: None,
        elapsed_seconds: None,
        phases: cx.phases().to_json(),
    }));
    Ok(Outcome::NoChanges)
}

/// Phase: a failed change, its first cause, and what a failed create kept.
async fn failed_operation(
    cx: &Ctx<'_>,
    state: &State,
    stack_id: &str,
    outcome: &Watched,
    report: &mut impl Report,
    approver: &mut impl Approver,
) -> Result<Outcome> {
    report.blank();
    if let Some(c) = &outcome.root_cause {
        report.line(Text::styled(
            Style::Bad,
            format!(
                "first failure: {} ({}): {}",
                c.logical_resource_id,
                c.resource_type,
                c.resource_status_reason
                    .as_deref()
                    .unwrap_or("no reason given")
            ),
        ));
    } else if let Some(r) = &outcome.status_reason {
        report.say(&format!("reason: {r}"));
    }
    report.say(&explain_status(
        &cx.stack_name,
        &outcome.final_status,
        &cx.aws.region,
    ));
    if state.create() && outcome.final_status == StackStatus::RollbackComplete {
        retained_cleanup::after_failed_create(&cx.aws, report, approver, stack_id, cx.opts.yes)
            .await?;
    }
    report.result(results::to_json(&DeployResult::Failed {
        stack: cx.stack_name.to_string(),
        final_status: outcome.final_status.as_str().to_string(),
        first_failure: outcome.root_cause.as_ref().map(|c| FirstFailure {
            logical_id: c.logical_resource_id.clone(),
            resource_type: c.resource_type.clone(),
            reason: c.resource_status_reason.clone(),
        }),
    }));
    Err(failed!(
        "deploy failed: {} is {}",
        cx.stack_name,
        outcome.final_status
    ))
}
