//! `cargo xtask destroy`: shows what is deleted and what is retained
//! (DeletionPolicy Retain: the tables and the KMS key), asks (or `--yes`),
//! deletes the stack with progress, and lists what was retained by name.

use super::apply::delete_and_wait;
use super::aws;
use super::ui::{self, Approval, Colour, Ui};
use super::DestroyArgs;
use anyhow::{anyhow, Result};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::time::Instant;

/// A resource of the stack and whether deleting the stack keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    pub retained: bool,
}

/// Splits the stack's resources by the template's DeletionPolicy.
pub fn classify(template: &Value, resources: &[(String, String, String)]) -> Vec<Item> {
    resources
        .iter()
        .map(|(id, ty, phys)| {
            let policy = template
                .get("Resources")
                .and_then(|r| r.get(id))
                .and_then(|r| r.get("DeletionPolicy"))
                .and_then(Value::as_str)
                .unwrap_or("Delete");
            Item {
                logical_id: id.clone(),
                resource_type: ty.clone(),
                physical_id: phys.clone(),
                retained: policy == "Retain"
                    || policy == "RetainExceptOnCreate"
                    || policy == "Snapshot",
            }
        })
        .collect()
}

fn paren(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" ({s})")
    }
}

pub async fn run(args: DestroyArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let mut ui = Ui::new(args.json);
    let names = super::names(&args.stage)?;
    let stack_name = names.stack.clone();
    let aws = aws::connect(&args.aws).await?;
    let Some(deployed) = super::describe_stack(&aws, &stack_name).await? else {
        ui.line(&format!(
            "{stack_name} does not exist in account {} region {}: nothing to destroy.",
            aws.account, aws.region
        ));
        if args.json {
            Ui::print_json(&json!({"stack": stack_name, "result": "absent"}));
        }
        return Ok(ExitCode::SUCCESS);
    };
    if deployed.status.ends_with("_IN_PROGRESS") && deployed.status != "REVIEW_IN_PROGRESS" {
        return Err(anyhow!(
            "{stack_name} is busy ({}): wait until the running operation finishes, then destroy again.",
            deployed.status
        ));
    }
    let template = super::deployed_template(&aws, &stack_name).await?;
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
            .map_err(|e| aws::explain(e, "listing the stack's resources", &aws.target()))?;
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

    ui.heading(&format!(
        "Destroy {stack_name} ({}, account {}, region {})",
        deployed.status, aws.account, aws.region
    ));
    ui.line(&format!("deleted with the stack ({}):", deleted.len()));
    for i in &deleted {
        let l = ui.paint(
            Colour::Red,
            &format!(
                "  [-] {} {}{}",
                i.resource_type,
                i.logical_id,
                paren(&i.physical_id)
            ),
        );
        ui.line(&l);
    }
    ui.line(&format!("retained, with their data ({}):", retained.len()));
    for i in &retained {
        let l = ui.paint(
            Colour::Green,
            &format!(
                "  [=] {} {}{}",
                i.resource_type,
                i.logical_id,
                paren(&i.physical_id)
            ),
        );
        ui.line(&l);
    }
    if !args.yes {
        match ui::confirm(&format!("Delete the stack {stack_name}?")) {
            Approval::Yes => {}
            Approval::No => {
                ui.line("destroy cancelled; nothing was deleted.");
                return Ok(ExitCode::from(1));
            }
            Approval::NoTerminal => {
                return Err(anyhow!(
                    "destroy needs confirmation and there is no terminal to ask: rerun with --yes to delete {stack_name} (nothing was deleted)."
                ))
            }
        }
    }
    ui.line(&format!("deleting {stack_name} …"));
    delete_and_wait(&aws, &mut ui, &deployed).await?;
    ui.line(&ui.paint(
        Colour::Green,
        &format!(
            "✓ {stack_name} deleted in {:.1}s",
            started.elapsed().as_secs_f64()
        ),
    ));
    if !retained.is_empty() {
        ui.heading("Retained (delete them yourself once their data is no longer needed):");
        for i in &retained {
            let what = match i.resource_type.as_str() {
                "AWS::DynamoDB::Table" => format!("DynamoDB table {}", i.physical_id),
                "AWS::KMS::Key" => format!(
                    "KMS key {} (was {}; deleting it needs a 7-30 day waiting period and makes data encrypted with it unreadable)",
                    i.physical_id, names.key_alias
                ),
                other => format!("{other} {}", i.physical_id),
            };
            ui.line(&format!("  {what}"));
        }
    }
    if args.json {
        Ui::print_json(&json!({
            "stack": stack_name, "result": "deleted",
            "deleted": deleted.iter().map(|i| json!({"logicalId": i.logical_id, "type": i.resource_type, "physicalId": i.physical_id})).collect::<Vec<_>>(),
            "retained": retained.iter().map(|i| json!({"logicalId": i.logical_id, "type": i.resource_type, "physicalId": i.physical_id})).collect::<Vec<_>>(),
            "elapsedSeconds": started.elapsed().as_secs_f64(),
        }));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_key_are_retained_the_rest_deleted() {
        let t = stack::synth(&stack::StackOptions::default())
            .unwrap()
            .to_json_value();
        let res: Vec<(String, String, String)> = t["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(id, r)| {
                (
                    id.clone(),
                    r["Type"].as_str().unwrap().to_string(),
                    format!("phys-{id}"),
                )
            })
            .collect();
        let items = classify(&t, &res);
        let retained: Vec<&str> = items
            .iter()
            .filter(|i| i.retained)
            .map(|i| i.logical_id.as_str())
            .collect();
        assert_eq!(
            retained,
            vec!["DataKey", "SessionsTable", "UserProfilesTable"]
        );
        assert!(items
            .iter()
            .any(|i| i.logical_id == "SessionPersistenceFunction" && !i.retained));
    }
}
