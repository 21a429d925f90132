//! `destroy`: shows what is deleted and what is retained (DeletionPolicy
//! Retain: the tables and the KMS key), asks (or `--yes`), deletes the stack
//! with progress, and lists what was retained by name.

use crate::aws::{self, explain, Aws};
use crate::error::{failed, Result};
use crate::events::{explain_status, now_epoch, Operation, Outcome, Progress};
use crate::options::{self, DestroyOptions};
use crate::report::{ask, Approval, Approver, Report, Style, Text};
use crate::results::{self, DestroyResult};
use crate::stack_state::{deployed_template, describe_stack, Deployed};
use crate::watch::{watch, CfnSource};
use aws_sdk_cloudformation::types::StackStatus;
use cfn_plan::retention::{classify, Item};
use stack::resources::{KmsKey, Table};
use std::time::{Duration, Instant};

fn paren(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" ({s})")
    }
}

/// How a destroy ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destroyed {
    Deleted,
    /// There was no stack.
    Absent,
    /// Answered no at the prompt: nothing was deleted (exit 1).
    Cancelled,
}

pub async fn run(
    opts: &DestroyOptions,
    report: &mut impl Report,
    approver: &mut impl Approver,
) -> Result<Destroyed> {
    let started = Instant::now();
    let names = options::names(opts.stage.as_deref())?;
    let stack_name = names.stack.clone();
    let aws = aws::connect(&opts.aws).await?;
    let Some(deployed) = describe_stack(&aws, &stack_name).await? else {
        report.say(&format!(
            "{stack_name} does not exist in account {} region {}: nothing to destroy.",
            aws.account, aws.region
        ));
        report.result(results::to_json(&DestroyResult::Absent {
            stack: stack_name.to_string(),
        }));
        return Ok(Destroyed::Absent);
    };
    if deployed.status.as_str().ends_with("_IN_PROGRESS")
        && deployed.status != StackStatus::ReviewInProgress
    {
        return Err(failed!(
            "{stack_name} is busy ({}): wait until the running operation finishes, then destroy again.",
            deployed.status
        ));
    }
    let template = deployed_template(&aws, &stack_name).await?;
    let mut resources = vec![];
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .cfn
            .list_stack_resources()
            .stack_name(&deployed.stack_id)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| explain(e, "listing the stack's resources", &aws.target()))?;
        for r in page.stack_resource_summaries() {
            // Some emulators list resources they skipped with no logical id.
            if r.logical_resource_id().unwrap_or_default().is_empty() {
                continue;
            }
            resources.push((
                r.logical_resource_id().unwrap_or_default().to_string(),
                r.resource_type().unwrap_or_default().to_string(),
                r.physical_resource_id().unwrap_or_default().to_string(),
            ));
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let items = classify(&template, &resources);
    let (retained, deleted): (Vec<&Item>, Vec<&Item>) = items.iter().partition(|i| i.retained);

    report.heading(&format!(
        "Destroy {stack_name} ({}, account {}, region {})",
        deployed.status, aws.account, aws.region
    ));
    report.say(&format!("deleted with the stack ({}):", deleted.len()));
    for i in &deleted {
        report.line(Text::styled(
            Style::Bad,
            format!(
                "  [-] {} {}{}",
                i.resource_type,
                i.logical_id,
                paren(&i.physical_id)
            ),
        ));
    }
    report.say(&format!("retained, with their data ({}):", retained.len()));
    for i in &retained {
        report.line(Text::styled(
            Style::Good,
            format!(
                "  [=] {} {}{}",
                i.resource_type,
                i.logical_id,
                paren(&i.physical_id)
            ),
        ));
    }
    if !opts.yes {
        let answer = ask(approver, &format!("Delete the stack {stack_name}?"))
            .await
            .ok_or_else(|| crate::error::Error::Interrupted("nothing was deleted.".into()))?;
        match answer {
            Approval::Yes => {}
            Approval::No => {
                report.say("destroy cancelled; nothing was deleted.");
                return Ok(Destroyed::Cancelled);
            }
            Approval::NoTerminal => {
                return Err(failed!(kind = Refused,
                    "destroy needs confirmation and there is no terminal to ask: rerun with --yes to delete {stack_name} (nothing was deleted)."
                ))
            }
        }
    }
    crate::protection::release(&aws, &deployed.stack_id, report).await?;
    report.say(&format!("deleting {stack_name} …"));
    delete_and_wait(&aws, report, &deployed).await?;
    report.line(Text::styled(
        Style::Good,
        format!(
            "✓ {stack_name} deleted in {:.1}s",
            started.elapsed().as_secs_f64()
        ),
    ));
    if !retained.is_empty() {
        report.heading("Retained (delete them yourself once their data is no longer needed):");
        let at = aws.cli_target();
        for i in &retained {
            let (what, commands) = match i.resource_type.as_str() {
                Table::TYPE => (
                    format!("DynamoDB table {} (deletion protection on)", i.physical_id),
                    vec![
                        format!("aws dynamodb create-backup --table-name {0} --backup-name {0}-final{at}", i.physical_id),
                        format!("aws dynamodb update-table --table-name {} --no-deletion-protection-enabled{at}", i.physical_id),
                        format!("aws dynamodb delete-table --table-name {}{at}", i.physical_id),
                    ],
                ),
                KmsKey::TYPE => (
                    format!(
                        "KMS key {} (was {}; deleting it needs a 7-30 day waiting period and makes data encrypted with it unreadable, backups included)",
                        i.physical_id, names.key_alias
                    ),
                    vec![format!(
                        "aws kms schedule-key-deletion --key-id {} --pending-window-in-days 30{at}",
                        i.physical_id
                    )],
                ),
                other => (format!("{other} {}", i.physical_id), vec![]),
            };
            report.say(&format!("  {what}"));
            for c in commands {
                report.say(&format!("      {c}"));
            }
        }
        report.say(&format!(
            "The deploy assets stay in s3://{} (code zips, expire after 30 days); \
             to start this stage again with the kept tables, `cargo xtask deploy` says how.",
            crate::assets::bucket_name(&aws.account, &aws.region)
        ));
    }
    let item = |i: &&Item| results::Resource {
        logical_id: i.logical_id.clone(),
        resource_type: i.resource_type.clone(),
        physical_id: i.physical_id.clone(),
    };
    report.result(results::to_json(&DestroyResult::Deleted {
        stack: stack_name.to_string(),
        deleted: deleted.iter().map(item).collect(),
        retained: retained.iter().map(item).collect(),
        elapsed_seconds: crate::text::seconds(started.elapsed()),
    }));
    Ok(Destroyed::Deleted)
}

/// Deletes the stack and waits, showing progress.
pub async fn delete_and_wait(aws: &Aws, report: &mut impl Report, d: &Deployed) -> Result<Outcome> {
    let mut source = CfnSource::new(aws.cfn.clone(), &d.stack_id, aws.target());
    let existing = source.existing_events().await?;
    let mut progress = Progress::new(&existing, now_epoch(), None);
    progress.changed_before = source.changed_at().await?;
    aws.cfn
        .delete_stack()
        .stack_name(&d.stack_id)
        .send()
        .await
        .map_err(|e| explain(e, "deleting the stack", &aws.target()))?;
    let outcome = watch(
        &mut source,
        report,
        &mut progress,
        Operation::Delete,
        Duration::from_secs(2),
    )
    .await?;
    if !outcome.success {
        if let Some(c) = &outcome.root_cause {
            report.say(&format!(
                "first failure: {} ({}): {}",
                c.logical_resource_id,
                c.resource_type,
                c.resource_status_reason
                    .as_deref()
                    .unwrap_or("no reason given")
            ));
        }
        let name = d.stack_id.split('/').nth(1).unwrap_or(&d.stack_id);
        return Err(failed!(
            "{}",
            explain_status(name, &outcome.final_status, &aws.region)
        ));
    }
    Ok(outcome)
}
