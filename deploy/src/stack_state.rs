//! What CloudFormation has deployed: the stack's status, parameters,
//! outputs and template; what a deploy can do with it; the account's tables.

use crate::aws::{explain, is_not_found, Aws};
use crate::error::{failed, Result};
use crate::events::explain_status;
use aws_sdk_cloudformation::types::StackStatus;
use serde_json::Value;
use std::collections::BTreeMap;

/// What CloudFormation has deployed.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub stack_id: String,
    pub status: StackStatus,
    pub params: BTreeMap<String, String>,
    /// In the stack's order.
    pub outputs: Vec<(String, String)>,
    /// The stack-level tags.
    pub tags: BTreeMap<String, String>,
}

/// The stack, or a not-found error saying where it was looked for and
/// what to do: for the commands that act on a deployed stage.
pub async fn require_stack(a: &Aws, stack_name: &str) -> Result<Deployed> {
    describe_stack(a, stack_name).await?.ok_or_else(|| {
        failed!(kind = NotFound,
            "{stack_name} does not exist in account {}, region {}: deploy it first (`cargo xtask deploy`), or pass the --stage / --region it was deployed with.",
            a.account,
            a.region
        )
    })
}

/// The stack, or `None` when there is none (or only a deleted one).
pub async fn describe_stack(a: &Aws, stack_name: &str) -> Result<Option<Deployed>> {
    match a.cfn.describe_stacks().stack_name(stack_name).send().await {
        Ok(out) => {
            let Some(s) = out.stacks().first() else {
                return Ok(None);
            };
            let status = s
                .stack_status()
                .cloned()
                .unwrap_or_else(|| StackStatus::from(""));
            if status == StackStatus::DeleteComplete {
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
                tags: s
                    .tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_string(),
                            t.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
            }))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(explain(
            e,
            &format!("looking up the stack {stack_name}"),
            &a.target(),
        )),
    }
}

/// The deployed template as JSON (`Value::Null` for a stack that has none yet).
pub async fn deployed_template(a: &Aws, stack_name: &str) -> Result<Value> {
    let out = match a
        .cfn
        .get_template()
        .stack_name(stack_name)
        .template_stage(aws_sdk_cloudformation::types::TemplateStage::Original)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) if is_not_found(&e) => return Ok(Value::Null),
        Err(e) => return Err(explain(e, "reading the deployed template", &a.target())),
    };
    let body = out.template_body().unwrap_or_default();
    if body.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(body)
        .or_else(|_| serde_norway::from_str(body))
        .map_err(|_| failed!("the deployed template is neither JSON nor plain YAML"))
}

/// Outputs in display order: `HttpApiUrl` first, then the stack's order.
pub fn ordered_outputs(outputs: &[(String, String)]) -> Vec<(String, String)> {
    let mut v = outputs.to_vec();
    v.sort_by_key(|(k, _)| k != "HttpApiUrl");
    v
}

/// Statuses from which an update can start.
pub const UPDATABLE: &[StackStatus] = &[
    StackStatus::CreateComplete,
    StackStatus::UpdateComplete,
    StackStatus::UpdateRollbackComplete,
    StackStatus::ImportComplete,
    StackStatus::ImportRollbackComplete,
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
pub fn stack_action(
    stack_name: &str,
    status: Option<&StackStatus>,
    region: &str,
) -> Result<StackAction> {
    let Some(s) = status else {
        return Ok(StackAction::Create);
    };
    match s {
        StackStatus::ReviewInProgress => Ok(StackAction::Create),
        s if UPDATABLE.contains(s) => Ok(StackAction::Update),
        StackStatus::RollbackComplete => Ok(StackAction::RecreateAfterRollback),
        StackStatus::UpdateRollbackFailed | StackStatus::RollbackFailed | StackStatus::DeleteFailed => {
            Err(failed!(
                "{stack_name} cannot be deployed now.\n{}",
                explain_status(stack_name, s, region)
            ))
        }
        s if s.as_str().ends_with("_IN_PROGRESS") => Err(failed!(
            "{stack_name} is busy ({s}): wait until the running operation finishes (watch it in the CloudFormation console), then deploy again."
        )),
        s => Err(failed!(
            "{stack_name} is in state {s}, from which it cannot be updated."
        )),
    }
}

/// Names of the template's tables that already exist in the account.
pub async fn existing_tables(aws: &Aws, template: &Value) -> Result<Vec<String>> {
    let mut taken = vec![];
    for r in cfn_plan::template::resources(template).values() {
        if cfn_plan::template::type_of(r) != stack::resources::Table::TYPE {
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
                return Err(explain(
                    e,
                    &format!("checking whether the table {name} exists"),
                    &aws.target(),
                ))
            }
        }
    }
    Ok(taken)
}
