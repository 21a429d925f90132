//! `cargo xtask deploy`: validate → credentials → stack state → build →
//! parameters → no-op check → asset bucket and uploads → change set → plan →
//! data-safety guard → approval → execute with progress → outputs → smoke
//! test (`verify`'s, skipped by `--no-verify`).
//!
//! Everything a user can get wrong locally (stage, parameter formats, the
//! outputs file, a missing required parameter) is checked before anything
//! in the account changes.

use super::assets;
use super::aws::{self, Aws};
use super::events::{self, CfnSource, Operation, Progress};
use super::plan::{self, ChangeSetDescription, Plan};
use super::replacement;
use super::ui::{self, Approval, Colour, Ui};
use super::{DeployArgs, Deployed, RequireApproval};
use anyhow::{anyhow, Context, Result};
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, StackStatus};
use lambda_package::Arch;
use serde_json::{json, Value};
use stack::module::ids;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Statuses from which an update can start.
const UPDATABLE: &[&str] = &[
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
];

/// What a deploy does with the stack in its current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackAction {
    /// No stack (or only an empty one a change set made): CREATE change set.
    Create,
    /// UPDATE change set.
    Update,
    /// The first create failed (ROLLBACK_COMPLETE): delete it, then create.
    RecreateAfterRollback,
}

/// Decides from the stack status; a stack that cannot be deployed now is an
/// error that says why and what to do.
pub fn stack_action(stack_name: &str, status: Option<&str>, region: &str) -> Result<StackAction> {
    match status {
        None | Some("REVIEW_IN_PROGRESS") => Ok(StackAction::Create),
        Some(s) if UPDATABLE.contains(&s) => Ok(StackAction::Update),
        Some("ROLLBACK_COMPLETE") => Ok(StackAction::RecreateAfterRollback),
        Some(s @ ("UPDATE_ROLLBACK_FAILED" | "ROLLBACK_FAILED" | "DELETE_FAILED")) => Err(anyhow!(
            "{stack_name} cannot be deployed now.\n{}",
            events::explain_status(stack_name, s, region)
        )),
        Some(s) if s.ends_with("_IN_PROGRESS") => Err(anyhow!(
            "{stack_name} is busy ({s}): wait until the running operation finishes (watch it in the CloudFormation console), then deploy again."
        )),
        Some(s) => Err(anyhow!("{stack_name} is in state {s}, from which it cannot be updated.")),
    }
}

/// Fails unless `path` can be written (it is created and removed again if it did not exist).
pub fn check_writable(path: &Path) -> Result<()> {
    let existed = path.exists();
    if path.is_dir() {
        return Err(anyhow!(
            "--outputs-file {} is a directory: give a file path.",
            path.display()
        ));
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            anyhow!(
                "--outputs-file {} cannot be written ({e}): choose a path in an existing, writable directory.",
                path.display()
            )
        })?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

pub async fn run(args: DeployArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let mut ui = Ui::new(args.json);

    // 1. Local input, before any request.
    let names = super::names(&args.stage)?;
    super::validate_param_flags(&args.params)?;
    if let Some(p) = &args.outputs_file {
        check_writable(p)?;
    }
    let template = super::local_template(&args.stage, args.template_file.as_ref())?;
    let stack_name = names.stack.clone();

    // 2. Credentials, region, endpoint.
    let aws = aws::connect(&args.aws).await?;
    ui.line(&format!(
        "{} → account {}, region {}{}",
        stack_name,
        aws.account,
        aws.region,
        aws.endpoint_url
            .as_deref()
            .map(|u| format!(", endpoint {u}"))
            .unwrap_or_default()
    ));

    // 3. The stack's state decides CREATE or UPDATE (or a refusal).
    let mut deployed = super::describe_stack(&aws, &stack_name).await?;
    let action = stack_action(
        &stack_name,
        deployed.as_ref().map(|d| d.status.as_str()),
        &aws.region,
    )?;
    let recreate_after_rollback = action == StackAction::RecreateAfterRollback;
    let kept = deployed
        .as_ref()
        .filter(|d| d.status != "REVIEW_IN_PROGRESS")
        .map(|d| d.params.clone());

    // 4. Required parameters are known before the (slow) build.
    let mut explicit = super::explicit_params(&args.params);
    let bucket = assets::bucket_name(&aws.account, &aws.region);
    explicit.insert(ids::P_CODE_BUCKET.into(), bucket.clone());
    for p in [
        ids::P_SESSION_PERSISTENCE_CODE_KEY,
        ids::P_CONTEXT_MANAGER_CODE_KEY,
    ] {
        explicit.insert(p.into(), "code/pending.zip".into());
    }
    let early = super::resolve_params(&template, &explicit, kept.as_ref(), false)?;
    let reserved: i64 = early
        .get(ids::P_RESERVED_CONCURRENCY)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    super::concurrency::check_account(&aws, &names.functions(), reserved).await?;
    let arch = args.params.arch.map(Arch::from).unwrap_or_else(|| {
        kept.as_ref()
            .and_then(|k| k.get(ids::P_ARCHITECTURE))
            .and_then(|a| Arch::from_lambda_name(a))
            .unwrap_or_default()
    });
    explicit.insert(ids::P_ARCHITECTURE.into(), arch.lambda_name().into());

    // 5. Build (or take the given artifacts).
    let artifacts = match &args.artifacts_dir {
        Some(dir) => lambda_package::artifacts_in(dir)?,
        None => {
            ui.line(&format!(
                "building both functions for {} …",
                arch.lambda_name()
            ));
            let a = lambda_package::build_all(arch, &mut |l| eprintln!("{l}"))?;
            for line in lambda_package::artifact::summary_lines(&a) {
                println!("{line}");
            }
            a
        }
    };
    let assets = assets::from_artifacts(&artifacts)?;
    for a in &assets {
        explicit.insert(a.parameter.into(), a.key.clone());
    }
    let params = super::resolve_params(&template, &explicit, kept.as_ref(), false)?;

    // 6. Nothing to do? Decided before any change set exists.
    let old_template = match &deployed {
        // A rolled-back first create is deleted and created anew: compare with nothing.
        Some(d) if d.status != "REVIEW_IN_PROGRESS" && !recreate_after_rollback => {
            super::deployed_template(&aws, &stack_name).await?
        }
        _ => Value::Null,
    };
    if let Some(d) = &deployed {
        if UPDATABLE.contains(&d.status.as_str()) && old_template == template && d.params == params
        {
            keep_deployed_code_young(&aws, &mut ui, &bucket, d).await?;
            ui.line(&ui.paint(Colour::Green, &format!("✓ {stack_name}: no changes")));
            finish_outputs(
                &mut ui,
                args.outputs_file.as_deref(),
                &stack_name,
                &d.outputs,
            )?;
            ui.line(&format!("done in {:.1}s", started.elapsed().as_secs_f64()));
            if args.json {
                Ui::print_json(&json!({
                    "stack": stack_name, "result": "no-changes", "uploaded": [],
                    "outputs": outputs_json(&d.outputs), "elapsedSeconds": started.elapsed().as_secs_f64(),
                }));
            }
            return Ok(ExitCode::SUCCESS);
        }
    }

    // Data safety from the templates alone, before anything is uploaded or
    // planned (the change set's own Replacement fields are checked again below).
    if let Err(e) = replacement::guard(
        &replacement::from_templates(&old_template, &template),
        args.allow_replacement,
    ) {
        return Err(anyhow!(
            "{e:#}\n(Nothing was uploaded or changed; `cargo xtask diff` shows every difference.)"
        ));
    }

    // A new stack cannot create tables whose names are taken (e.g. kept by an
    // earlier destroy): say so now rather than fail and roll back later.
    let create = deployed
        .as_ref()
        .is_none_or(|d| d.status == "REVIEW_IN_PROGRESS")
        || recreate_after_rollback;
    // What the failed first create's rollback kept (its tables would block
    // the create): removed with approval, before anything else changes.
    if let Some(d) = deployed.as_ref().filter(|_| recreate_after_rollback) {
        super::retained::before_recreate(&aws, &mut ui, &d.stack_id, &stack_name, args.yes).await?;
    }
    if create {
        let taken = existing_tables(&aws, &template).await?;
        if !taken.is_empty() {
            return Err(anyhow!(
                "cannot create {stack_name}: the DynamoDB table(s) {} already exist outside the stack (kept by an earlier `cargo xtask destroy` or a rolled-back create?), \
                 and CloudFormation cannot create a table whose name is taken. Back the data up and delete the table(s), or deploy another --stage; nothing was changed.",
                taken.join(", ")
            ));
        }
    }

    // 7. Asset bucket and uploads.
    if assets::ensure_bucket(&aws, &bucket).await? {
        ui.line(&format!(
            "created the asset bucket {bucket} (encrypted, public access blocked, lifecycle rule)"
        ));
    }
    let mut uploaded = vec![];
    for a in &assets {
        let bytes =
            std::fs::read(&a.zip).with_context(|| format!("reading {}", a.zip.display()))?;
        if assets::upload_if_missing(&aws, &bucket, &a.key, bytes, "application/zip").await? {
            ui.line(&format!(
                "uploaded {} → s3://{bucket}/{} ({})",
                a.function,
                a.key,
                lambda_package::format_size(a.size)
            ));
            uploaded.push(a.key.clone());
        } else {
            ui.line(&format!(
                "{}: s3://{bucket}/{} already uploaded",
                a.function, a.key
            ));
        }
    }
    let body = serde_json::to_string(&template)?;
    let template_url = if body.len() > stack::validate::MAX_INLINE_TEMPLATE_BYTES {
        let key = format!(
            "templates/{}.json",
            lambda_package::sha256_hex(body.as_bytes())
        );
        assets::upload_if_missing(
            &aws,
            &bucket,
            &key,
            body.clone().into_bytes(),
            "application/json",
        )
        .await?;
        ui.line(&format!(
            "template is {} bytes (over the {} inline limit): sent via s3://{bucket}/{key}",
            body.len(),
            stack::validate::MAX_INLINE_TEMPLATE_BYTES
        ));
        Some(assets::template_url(&aws, &bucket, &key))
    } else {
        None
    };

    // 8. A stack whose first create failed cannot be updated: delete it first.
    if recreate_after_rollback {
        let d = deployed.take().expect("deployed");
        ui.line(&format!(
            "{stack_name} is ROLLBACK_COMPLETE (its first create failed): deleting it before creating it again …"
        ));
        delete_and_wait(&aws, &mut ui, &d).await?;
    }

    // 9. Change set.
    // Unique per run (two deploys in one second must not collide).
    let cs_name = format!(
        "xtask-deploy-{}-{}",
        (now_epoch() * 1000.0) as u64,
        std::process::id()
    );
    let mut req = aws
        .cfn
        .create_change_set()
        .stack_name(&stack_name)
        .change_set_name(&cs_name)
        .change_set_type(if create {
            ChangeSetType::Create
        } else {
            ChangeSetType::Update
        })
        .description("cargo xtask deploy")
        .capabilities(Capability::CapabilityNamedIam)
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
    req = match &template_url {
        Some(u) => req.template_url(u),
        None => req.template_body(&body),
    };
    let created = req
        .send()
        .await
        .map_err(|e| aws::explain(e, "creating the change set", &aws.target()))?;
    let stack_id = created.stack_id().unwrap_or(&stack_name).to_string();
    // From here on the change set is named by its ARN: unambiguous everywhere.
    let cs_id = created.id().unwrap_or(&cs_name).to_string();
    // Until the change set executes, every way out deletes it (and the empty
    // stack a first deploy creates): refusals, errors and Ctrl-C alike.
    let cleanup = ChangeSetCleanup {
        aws: &aws,
        stack_id: &stack_id,
        change_set_id: &cs_id,
        created_stack: create,
    };
    let cs = match wait_change_set(&aws, &stack_id, &cs_id).await {
        Ok(cs) => cs,
        Err(e) => {
            cleanup.run().await;
            return Err(e.context("(the change set was deleted; the stack was not changed)"));
        }
    };
    if cs.status == "FAILED" {
        let reason = cs.status_reason.clone().unwrap_or_default();
        cleanup.run().await;
        if reason.contains("didn't contain changes")
            || reason.contains("No updates are to be performed")
        {
            ui.line(&ui.paint(
                Colour::Green,
                &format!("✓ {stack_name}: no changes (CloudFormation found none)"),
            ));
            if args.json {
                Ui::print_json(
                    &json!({"stack": stack_name, "result": "no-changes", "uploaded": uploaded}),
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        return Err(anyhow!(
            "CloudFormation could not plan the deploy: {reason}"
        ));
    }

    // 10. Plan, guard, approval.
    let old_params = if recreate_after_rollback {
        BTreeMap::new()
    } else {
        kept.clone().unwrap_or_default()
    };
    let the_plan = Plan::new(
        &stack_name,
        cs,
        &old_template,
        &template,
        plan::param_changes(&old_params, &params),
    );
    ui.blank();
    the_plan.render(&mut ui);
    ui.blank();
    if let Err(e) = replacement::guard(&the_plan.risks, args.allow_replacement) {
        cleanup.run().await;
        emit_json_failure(&args, &stack_name, "refused", &the_plan);
        return Err(anyhow!(
            "{e:#}\n(The change set was deleted; the stack was not changed.)"
        ));
    }
    let needs_approval = match args.require_approval {
        RequireApproval::Never => false,
        RequireApproval::Broadening => the_plan.widens_iam(),
        RequireApproval::AnyChange => true,
    };
    if needs_approval && !args.yes {
        let why = if the_plan.widens_iam() {
            "This deploy widens IAM permissions (marked above)"
        } else {
            "--require-approval any-change is set"
        };
        let question = format!("{why}. Deploy these changes?");
        let answer = tokio::select! {
            a = tokio::task::spawn_blocking(move || ui::confirm(&question)) => a.unwrap_or(Approval::No),
            _ = tokio::signal::ctrl_c() => {
                cleanup.run().await;
                eprintln!("\ninterrupted: the change set was deleted, the stack was not changed.");
                // The prompt's thread is still blocked reading stdin: leave now.
                std::process::exit(130);
            }
        };
        match answer {
            Approval::Yes => {}
            Approval::No => {
                cleanup.run().await;
                emit_json_failure(&args, &stack_name, "cancelled", &the_plan);
                ui.line("deploy cancelled; the change set was deleted, the stack was not changed.");
                return Ok(ExitCode::from(1));
            }
            Approval::NoTerminal => {
                cleanup.run().await;
                emit_json_failure(&args, &stack_name, "needs-approval", &the_plan);
                return Err(anyhow!(
                    "{why} and needs approval, but there is no terminal to ask: review the plan above and rerun with --yes (the change set was deleted; the stack was not changed)."
                ));
            }
        }
    }

    // 11. Execute with live progress. Approved: only now is the code the
    // stack runs (the rollback target) rewritten, so a refusal changes nothing.
    if let Some(d) = deployed.as_ref().filter(|_| !create) {
        if let Err(e) = keep_deployed_code_young(&aws, &mut ui, &bucket, d).await {
            cleanup.run().await;
            return Err(e.context("(the change set was deleted; the stack was not changed)"));
        }
    }
    let mut source = CfnSource::new(aws.cfn.clone(), &stack_id, aws.target());
    let existing = match source.existing_events().await {
        Ok(e) => e,
        Err(e) => {
            cleanup.run().await;
            return Err(e.context("(the change set was deleted; the stack was not changed)"));
        }
    };
    let total = the_plan.change_set.resource_changes().count();
    let mut progress = Progress::new(&existing, now_epoch(), (total > 0).then_some(total));
    ui.line(&format!("executing change set {cs_name} …"));
    if let Err(e) = aws
        .cfn
        .execute_change_set()
        .stack_name(&stack_id)
        .change_set_name(&cs_id)
        .send()
        .await
    {
        let err = aws::explain(e, "executing the change set", &aws.target());
        cleanup.run().await;
        return Err(err.context("(the change set was deleted; the stack was not changed)"));
    }
    let op = if create {
        Operation::Create
    } else {
        Operation::Update
    };
    let outcome = events::watch(
        &mut source,
        &mut ui,
        &mut progress,
        op,
        Duration::from_secs(2),
    )
    .await?;
    if !outcome.success {
        ui.blank();
        if let Some(c) = &outcome.root_cause {
            let l = ui.paint(
                Colour::Red,
                &format!(
                    "first failure: {} ({}): {}",
                    c.logical_resource_id,
                    c.resource_type,
                    c.resource_status_reason
                        .as_deref()
                        .unwrap_or("no reason given")
                ),
            );
            ui.line(&l);
        } else if let Some(r) = &outcome.status_reason {
            ui.line(&format!("reason: {r}"));
        }
        ui.line(&events::explain_status(
            &stack_name,
            &outcome.final_status,
            &aws.region,
        ));
        if create && outcome.final_status == StackStatus::RollbackComplete.as_str() {
            super::retained::after_failed_create(&aws, &mut ui, &stack_id, args.yes).await;
        }
        if args.json {
            Ui::print_json(&json!({
                "stack": stack_name, "result": "failed", "finalStatus": outcome.final_status,
                "firstFailure": outcome.root_cause.as_ref().map(|c| json!({
                    "logicalId": c.logical_resource_id, "type": c.resource_type, "reason": c.resource_status_reason,
                })),
            }));
        }
        return Err(anyhow!(
            "deploy failed: {stack_name} is {}",
            outcome.final_status
        ));
    }

    // 12. Outputs.
    let after = super::describe_stack(&aws, &stack_name).await?;
    let outputs = after.map(|d| d.outputs).unwrap_or_default();
    ui.blank();
    ui.line(&ui.paint(
        Colour::Green,
        &format!(
            "✓ {stack_name} deployed ({}) in {:.1}s",
            outcome.final_status,
            started.elapsed().as_secs_f64()
        ),
    ));
    finish_outputs(&mut ui, args.outputs_file.as_deref(), &stack_name, &outputs)?;
    // 13. What was deployed answers a real request (exit 1 when not).
    if !args.no_verify {
        crate::verify::smoke::after_deploy(&aws.conf, &names, &mut ui, args.json).await?;
    }
    if args.json {
        Ui::print_json(&json!({
            "stack": stack_name, "result": "deployed", "finalStatus": outcome.final_status,
            "changeSet": cs_name, "uploaded": uploaded, "plan": the_plan.to_json(),
            "outputs": outputs_json(&outputs), "elapsedSeconds": started.elapsed().as_secs_f64(),
        }));
    }
    Ok(ExitCode::SUCCESS)
}

/// Names of the template's tables that already exist in the account.
async fn existing_tables(aws: &Aws, template: &Value) -> Result<Vec<String>> {
    let mut taken = vec![];
    let Some(Value::Object(resources)) = template.get("Resources") else {
        return Ok(taken);
    };
    for r in resources.values() {
        if r.get("Type").and_then(Value::as_str) != Some("AWS::DynamoDB::Table") {
            continue;
        }
        let Some(name) = r.pointer("/Properties/TableName").and_then(Value::as_str) else {
            continue;
        };
        match aws.dynamodb.describe_table().table_name(name).send().await {
            Ok(_) => taken.push(name.to_string()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) => {}
            Err(e) => {
                return Err(aws::explain(
                    e,
                    &format!("checking whether the table {name} exists"),
                    &aws.target(),
                ))
            }
        }
    }
    Ok(taken)
}

fn outputs_json(outputs: &[(String, String)]) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in super::ordered_outputs(outputs) {
        m.insert(k, Value::String(v));
    }
    Value::Object(m)
}

fn emit_json_failure(args: &DeployArgs, stack: &str, result: &str, plan: &Plan) {
    if args.json {
        Ui::print_json(&json!({"stack": stack, "result": result, "plan": plan.to_json()}));
    }
}

/// Prints the outputs (HttpApiUrl first) and writes `--outputs-file`.
fn finish_outputs(
    ui: &mut Ui,
    outputs_file: Option<&Path>,
    stack_name: &str,
    outputs: &[(String, String)],
) -> Result<()> {
    if outputs.is_empty() {
        ui.warn(&format!(
            "{stack_name} reports no outputs (some emulators don't report them for stacks created from a change set); \
             `aws cloudformation describe-stacks --stack-name {stack_name}` shows them once they exist."
        ));
    } else {
        ui.heading("Outputs");
        for (k, v) in super::ordered_outputs(outputs) {
            ui.line(&format!("  {k} = {v}"));
        }
    }
    if let Some(path) = outputs_file {
        let doc = json!({ stack_name: outputs_json(outputs) });
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("writing the outputs to {}", path.display()))?;
        ui.line(&format!("outputs written to {}", path.display()));
    }
    Ok(())
}

/// Polls DescribeChangeSet until CloudFormation has finished planning.
async fn wait_change_set(aws: &Aws, stack: &str, name: &str) -> Result<ChangeSetDescription> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        let mut desc = ChangeSetDescription::default();
        let mut token: Option<String> = None;
        loop {
            let page = aws
                .cfn
                .describe_change_set()
                .stack_name(stack)
                .change_set_name(name)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| aws::explain(e, "reading the change set", &aws.target()))?;
            desc.extend_from_sdk(&page);
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        if !matches!(
            desc.status.as_str(),
            "CREATE_PENDING" | "CREATE_IN_PROGRESS"
        ) {
            return Ok(desc);
        }
        if start.elapsed() > Duration::from_secs(600) {
            return Err(anyhow!(
                "the change set {name} was still being planned after 10 minutes"
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(3));
    }
}

/// Deletes a change set that will not be executed (and the empty stack a
/// CREATE change set made), so a refused or cancelled deploy leaves nothing.
struct ChangeSetCleanup<'a> {
    aws: &'a Aws,
    stack_id: &'a str,
    change_set_id: &'a str,
    created_stack: bool,
}

impl ChangeSetCleanup<'_> {
    async fn run(&self) {
        let _ = self
            .aws
            .cfn
            .delete_change_set()
            .stack_name(self.stack_id)
            .change_set_name(self.change_set_id)
            .send()
            .await;
        if self.created_stack {
            if let Ok(Some(d)) = super::describe_stack(self.aws, self.stack_id).await {
                if d.status == "REVIEW_IN_PROGRESS" {
                    let _ = self
                        .aws
                        .cfn
                        .delete_stack()
                        .stack_name(&d.stack_id)
                        .send()
                        .await;
                }
            }
        }
    }
}

/// The code the stack runs now is what a failed update rolls back to: every
/// deploy (a no-op one too) rewrites it in place so the asset bucket's
/// lifecycle rule counts its age from now. A key already gone is said.
async fn keep_deployed_code_young(
    aws: &Aws,
    ui: &mut Ui,
    bucket: &str,
    d: &Deployed,
) -> Result<()> {
    let bucket = d
        .params
        .get(ids::P_CODE_BUCKET)
        .map(String::as_str)
        .unwrap_or(bucket);
    for p in [
        ids::P_SESSION_PERSISTENCE_CODE_KEY,
        ids::P_CONTEXT_MANAGER_CODE_KEY,
    ] {
        if let Some(key) = d.params.get(p) {
            if !assets::refresh(aws, bucket, key).await? {
                ui.line(&format!(
                    "warning: s3://{bucket}/{key} (the deployed {p}) is missing: a failed update could not roll back to it; deploy again to replace it"
                ));
            }
        }
    }
    Ok(())
}

/// Deletes the stack and waits, showing progress.
pub async fn delete_and_wait(aws: &Aws, ui: &mut Ui, d: &Deployed) -> Result<events::Outcome> {
    let mut source = CfnSource::new(aws.cfn.clone(), &d.stack_id, aws.target());
    let existing = source.existing_events().await?;
    let mut progress = Progress::new(&existing, now_epoch(), None);
    aws.cfn
        .delete_stack()
        .stack_name(&d.stack_id)
        .send()
        .await
        .map_err(|e| aws::explain(e, "deleting the stack", &aws.target()))?;
    let outcome = events::watch(
        &mut source,
        ui,
        &mut progress,
        Operation::Delete,
        Duration::from_secs(2),
    )
    .await?;
    if !outcome.success {
        if let Some(c) = &outcome.root_cause {
            ui.line(&format!(
                "first failure: {} ({}): {}",
                c.logical_resource_id,
                c.resource_type,
                c.resource_status_reason
                    .as_deref()
                    .unwrap_or("no reason given")
            ));
        }
        let name = d
            .stack_id
            .split('/')
            .nth(1)
            .unwrap_or(&d.stack_id)
            .to_string();
        return Err(anyhow!(events::explain_status(
            &name,
            &outcome.final_status,
            &aws.region
        )));
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_state_decides_the_action() {
        let act = |s: Option<&str>| stack_action("S", s, "us-east-1");
        assert_eq!(act(None).unwrap(), StackAction::Create);
        assert_eq!(
            act(Some("REVIEW_IN_PROGRESS")).unwrap(),
            StackAction::Create
        );
        assert_eq!(
            act(Some("UPDATE_ROLLBACK_COMPLETE")).unwrap(),
            StackAction::Update
        );
        assert_eq!(
            act(Some("ROLLBACK_COMPLETE")).unwrap(),
            StackAction::RecreateAfterRollback
        );
        let e = act(Some("UPDATE_ROLLBACK_FAILED")).unwrap_err().to_string();
        assert!(
            e.contains(
                "aws cloudformation continue-update-rollback --stack-name S --region us-east-1"
            ),
            "{e}"
        );
        let e = act(Some("UPDATE_IN_PROGRESS")).unwrap_err().to_string();
        assert!(e.contains("busy"), "{e}");
    }

    #[test]
    fn outputs_are_printed_http_api_url_first_and_written_as_json() {
        let buf = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut ui = Ui::capture(buf.clone());
        let path =
            std::env::temp_dir().join(format!("xtask-outputs-test-{}.json", std::process::id()));
        let outputs = vec![
            (
                "SessionsTableName".to_string(),
                "voice-learning-sessions".to_string(),
            ),
            (
                "HttpApiUrl".to_string(),
                "https://abc.execute-api.eu-west-1.amazonaws.com".to_string(),
            ),
        ];
        finish_outputs(&mut ui, Some(&path), "S", &outputs).unwrap();
        let text = String::from_utf8(buf.borrow().clone()).unwrap();
        assert!(
            text.find("HttpApiUrl =").unwrap() < text.find("SessionsTableName =").unwrap(),
            "{text}"
        );
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            written["S"]["HttpApiUrl"],
            "https://abc.execute-api.eu-west-1.amazonaws.com"
        );
        let keys: Vec<&String> = written["S"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["HttpApiUrl", "SessionsTableName"]);
        // No outputs: a warning, still a (empty) file, no error.
        finish_outputs(&mut ui, Some(&path), "S", &[]).unwrap();
        let text = String::from_utf8(buf.borrow().clone()).unwrap();
        assert!(text.contains("warning: S reports no outputs"), "{text}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim(),
            "{\n  \"S\": {}\n}"
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn outputs_file_must_be_writable() {
        assert!(check_writable(Path::new("/nonexistent-dir/x.json")).is_err());
        let dir = std::env::temp_dir();
        assert!(check_writable(&dir)
            .unwrap_err()
            .to_string()
            .contains("is a directory"));
        let p = dir.join(format!("xtask-outputs-{}.json", std::process::id()));
        check_writable(&p).unwrap();
        assert!(!p.exists(), "the probe file is removed again");
    }
}
