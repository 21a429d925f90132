//! One function's memory size, set through the stack (`tune --apply`): a
//! change set on the deployed template that changes only the function's
//! `<Function>MemorySize` parameter, every other parameter kept
//! (`UsePreviousTemplate`, `UsePreviousValue`,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html>).
//! The function changes, so its version is replaced: the new size is
//! published and goes live. A plan that would change anything else is
//! refused and deleted.

use crate::aws::{self, explain};
use crate::change_set::{wait_planned, Pending, Settled, CHANGE_SET_PREFIX};
use crate::error::{failed, Result};
use crate::events::{now_epoch, Operation, Progress};
use crate::options::AwsOptions;
use crate::report::Report;
use crate::stack_state::{require_stack, UPDATABLE};
use crate::watch::{watch, CfnSource};
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter};
use serde::Serialize;
use stack::Function;
use std::time::Duration;

/// What setting the memory did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryApplied {
    pub stack: String,
    pub function: String,
    pub from_mb: u32,
    pub to_mb: u32,
    /// False when the stack already had that size (nothing ran).
    pub changed: bool,
}

/// The logical ids a memory change may touch: the function, its version
/// (replaced, i.e. published anew) and its alias (moved to it).
fn allowed(function: Function) -> [&'static str; 3] {
    [
        function.logical_id(),
        function.version_id(),
        function.alias_id(),
    ]
}

/// Whether a planned change is one a memory change makes: the function,
/// its version and alias, or a resource naming them that CloudFormation
/// lists as possibly modified (the integration, route and permission refer
/// to the alias), never added, removed or replaced.
fn ripple(function: Function, rc: &cfn_plan::change_set::ResourceChange) -> bool {
    use cfn_plan::change_set::{ChangeAction, Replacement};
    allowed(function).contains(&rc.logical_resource_id.as_str())
        || (rc.action == ChangeAction::Modify && rc.replacement != Some(Replacement::True))
}

/// Sets `function`'s memory to `mb` through a change set, and waits for it.
pub async fn apply(
    aws_opts: &AwsOptions,
    stage: Option<&str>,
    function: Function,
    mb: u32,
    report: &mut impl Report,
) -> Result<MemoryApplied> {
    let names = crate::options::names(stage)?;
    let (min, max) = stack::module::FUNCTION_MEMORY_RANGE_MB;
    if !(min..=max).contains(&i64::from(mb)) {
        return Err(failed!(
            kind = Refused,
            "{mb} MB is outside Lambda's {min}-{max} MB; nothing was changed."
        ));
    }
    let aws = aws::connect(aws_opts).await?;
    let stack = names.stack.clone();
    let d = require_stack(&aws, &stack).await?;
    if !UPDATABLE.contains(&d.status) {
        return Err(failed!(kind = Refused,
            "{stack} is {}: wait until it settles (`cargo xtask stages`), then apply again; nothing was changed.",
            d.status
        ));
    }
    let parameter = function.memory_parameter();
    let Some(from) = d.params.get(parameter).and_then(|v| v.parse::<u32>().ok()) else {
        return Err(failed!(kind = Refused,
            "{stack} was deployed before {parameter} existed: `cargo xtask deploy --memory-mb {}={mb}` sets it with the rest of this release; nothing was changed.",
            function.binary()
        ));
    };
    let mut result = MemoryApplied {
        stack: stack.clone(),
        function: function.function_name(&names).to_string(),
        from_mb: from,
        to_mb: mb,
        changed: false,
    };
    if from == mb {
        report.say(&format!("{}: already {mb} MB", result.function));
        return Ok(result);
    }
    let parameters = d
        .params
        .keys()
        .map(|k| {
            let p = Parameter::builder().parameter_key(k);
            if k == parameter {
                p.parameter_value(mb.to_string()).build()
            } else {
                p.use_previous_value(true).build()
            }
        })
        .collect();
    let name = format!(
        "{CHANGE_SET_PREFIX}memory-{}-{}",
        (now_epoch() * 1000.0) as u64,
        std::process::id()
    );
    let created = aws
        .cfn
        .create_change_set()
        .stack_name(&d.stack_id)
        .change_set_name(&name)
        .change_set_type(ChangeSetType::Update)
        .description(format!(
            "cargo xtask tune --apply: {parameter} {from} → {mb}"
        ))
        .use_previous_template(true)
        .capabilities(Capability::CapabilityNamedIam)
        .set_tags(Some(crate::tags::sdk_tags(names.stage.as_deref())))
        .set_parameters(Some(parameters))
        .send()
        .await
        .map_err(|e| explain(e, "creating the change set", &aws.target()))?;
    let pending = Pending {
        aws: &aws,
        stack_id: created.stack_id().unwrap_or(&d.stack_id).to_string(),
        id: created.id().unwrap_or(&name).to_string(),
        created_stack: false,
    };
    let unchanged = "(the change set was deleted; the stack was not changed)";
    let executed = pending
        .settle(async {
            let planned = wait_planned(&aws, &pending.stack_id, &pending.id).await?;
            if planned.is_empty() {
                return Ok(Settled::Abandoned(false));
            }
            let others: Vec<String> = planned
                .change_set
                .resource_changes()
                .filter(|rc| !ripple(function, rc))
                .map(|rc| rc.logical_resource_id.clone())
                .collect();
            if !others.is_empty() {
                return Err(failed!(kind = Refused,
                    "setting {parameter} would also change {}: the deployed stack differs from what this command expects; use `cargo xtask deploy --memory-mb {}={mb}` to see the whole plan {unchanged}.",
                    others.join(", "),
                    function.binary()
                ));
            }
            report.say(&format!(
                "{}: memory {from} MB → {mb} MB (a new version, made live) …",
                result.function
            ));
            aws.cfn
                .execute_change_set()
                .stack_name(&pending.stack_id)
                .change_set_name(&pending.id)
                .send()
                .await
                .map_err(|e| explain(e, "executing the change set", &aws.target()))?;
            Ok(Settled::Executed(true))
        })
        .await?;
    if !executed {
        report.say(&format!(
            "{}: CloudFormation found nothing to change",
            result.function
        ));
        return Ok(result);
    }
    let mut source = CfnSource::new(aws.cfn.clone(), &pending.stack_id, aws.target());
    let mut progress = Progress::new(&[], now_epoch(), None);
    let outcome = watch(
        &mut source,
        report,
        &mut progress,
        Operation::Update,
        Duration::from_secs(2),
    )
    .await?;
    if !outcome.success {
        return Err(failed!(
            "the memory change did not complete ({}): CloudFormation rolled it back; `cargo xtask logs` and the stack's events say why.",
            outcome.final_status.as_str()
        ));
    }
    result.changed = true;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memory_change_may_touch_others_only_in_place() {
        use cfn_plan::change_set::{ChangeAction, Replacement, ResourceChange};
        let change = |id: &str, action, replacement| ResourceChange {
            logical_resource_id: id.into(),
            action,
            replacement,
            ..Default::default()
        };
        let f = Function::ContextManager;
        let version = change(
            "ContextManagerVersion",
            ChangeAction::Modify,
            Some(Replacement::True),
        );
        assert!(ripple(f, &version));
        let route = change(
            "ContextManagerRoute",
            ChangeAction::Modify,
            Some(Replacement::Conditional),
        );
        assert!(ripple(f, &route));
        let table = change(
            "SessionsTable",
            ChangeAction::Modify,
            Some(Replacement::True),
        );
        assert!(!ripple(f, &table));
        let gone = change("Dashboard", ChangeAction::Remove, None);
        assert!(!ripple(f, &gone));
    }

    #[test]
    fn only_the_function_its_version_and_alias_may_change() {
        assert_eq!(
            allowed(Function::ContextManager),
            [
                "ContextManagerFunction",
                "ContextManagerVersion",
                "ContextManagerLiveAlias"
            ]
        );
    }
}
