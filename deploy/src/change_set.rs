//! Change sets: creating one, waiting for CloudFormation to plan it, reading
//! it into the plan model, and the guard that deletes it on every way out
//! unless it was executed.

use crate::aws::{explain, Aws};
use crate::error::{failed, Result};
use crate::stack_state::describe_stack;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::types::{
    ChangeAction, ChangeSetStatus, Replacement, RequiresRecreation, StackStatus,
};
use cfn_plan::change_set::{self as model, Change, Detail, DetailTarget, ResourceChange};
use cfn_plan::ChangeSet;
use std::future::Future;
use std::time::{Duration, Instant};

/// Every change set `deploy` creates starts with this (the deployer
/// policy scopes change-set tagging to it).
pub const CHANGE_SET_PREFIX: &str = "xtask-deploy-";

/// A planned change set: its description and how planning ended.
#[derive(Debug, Clone)]
pub struct Planned {
    pub change_set: ChangeSet,
    pub status: ChangeSetStatus,
    pub status_reason: Option<String>,
}

impl Planned {
    /// CloudFormation found nothing to change.
    pub fn is_empty(&self) -> bool {
        let reason = self.status_reason.as_deref().unwrap_or_default();
        self.status == ChangeSetStatus::Failed
            && (reason.contains("didn't contain changes")
                || reason.contains("No updates are to be performed"))
    }
}

fn action(a: Option<&ChangeAction>) -> model::ChangeAction {
    match a {
        Some(ChangeAction::Add) => model::ChangeAction::Add,
        Some(ChangeAction::Modify) => model::ChangeAction::Modify,
        Some(ChangeAction::Remove) => model::ChangeAction::Remove,
        Some(ChangeAction::Import) => model::ChangeAction::Import,
        Some(ChangeAction::Dynamic) => model::ChangeAction::Dynamic,
        _ => model::ChangeAction::Unknown,
    }
}

fn replacement(r: &Replacement) -> model::Replacement {
    match r {
        Replacement::True => model::Replacement::True,
        Replacement::False => model::Replacement::False,
        Replacement::Conditional => model::Replacement::Conditional,
        _ => model::Replacement::Unknown,
    }
}

fn recreation(r: &RequiresRecreation) -> model::RequiresRecreation {
    match r {
        RequiresRecreation::Never => model::RequiresRecreation::Never,
        RequiresRecreation::Conditionally => model::RequiresRecreation::Conditionally,
        RequiresRecreation::Always => model::RequiresRecreation::Always,
        _ => model::RequiresRecreation::Unknown,
    }
}

/// Adds one page of an SDK DescribeChangeSet answer to `cs`.
pub fn extend_from_sdk(cs: &mut ChangeSet, out: &DescribeChangeSetOutput) {
    cs.change_set_name = out.change_set_name().map(str::to_string);
    for c in out.changes() {
        cs.changes.push(Change {
            resource_change: c.resource_change().map(|rc| ResourceChange {
                action: action(rc.action()),
                logical_resource_id: rc.logical_resource_id().unwrap_or_default().to_string(),
                physical_resource_id: rc.physical_resource_id().map(str::to_string),
                resource_type: rc.resource_type().unwrap_or_default().to_string(),
                replacement: rc.replacement().map(replacement),
                scope: rc.scope().iter().map(|s| s.as_str().to_string()).collect(),
                details: rc
                    .details()
                    .iter()
                    .map(|d| Detail {
                        target: d.target().map(|t| DetailTarget {
                            attribute: t.attribute().map(|a| a.as_str().to_string()),
                            name: t.name().map(str::to_string),
                            requires_recreation: t.requires_recreation().map(recreation),
                        }),
                    })
                    .collect(),
            }),
        });
    }
}

/// Polls DescribeChangeSet (every page) until CloudFormation has finished planning.
pub async fn wait_planned(aws: &Aws, stack: &str, name: &str) -> Result<Planned> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        let mut planned = Planned {
            change_set: ChangeSet::default(),
            status: ChangeSetStatus::CreatePending,
            status_reason: None,
        };
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
                .map_err(|e| explain(e, "reading the change set", &aws.target()))?;
            extend_from_sdk(&mut planned.change_set, &page);
            planned.status = page
                .status()
                .cloned()
                .unwrap_or(ChangeSetStatus::CreatePending);
            planned.status_reason = page.status_reason().map(str::to_string);
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        if !matches!(
            planned.status,
            ChangeSetStatus::CreatePending | ChangeSetStatus::CreateInProgress
        ) {
            return Ok(planned);
        }
        if start.elapsed() > Duration::from_secs(600) {
            return Err(failed!(
                "the change set {name} was still being planned after 10 minutes"
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(3));
    }
}

/// Why CloudFormation's pre-deployment validation failed a change set:
/// its failed `VALIDATION_ERROR` events, one line each (validation, the
/// resource and property it names, the reason). A FAILED change set's own
/// status reason only says that validation failed
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeEvents.html>).
/// Empty when there are none or the endpoint does not serve DescribeEvents.
pub async fn validation_failures(
    cfn: &aws_sdk_cloudformation::Client,
    stack_id: &str,
    change_set_id: &str,
) -> Vec<String> {
    use aws_sdk_cloudformation::types::{EventFilter, EventType};
    let mut lines = vec![];
    let mut token: Option<String> = None;
    // A few pages at most: the first failures name the cause.
    for _ in 0..5 {
        let Ok(page) = cfn
            .describe_events()
            .stack_name(stack_id)
            .change_set_name(change_set_id)
            .filters(EventFilter::builder().failed_events(true).build())
            .set_next_token(token.clone())
            .send()
            .await
        else {
            break;
        };
        for e in page.operation_events() {
            if e.event_type() != Some(&EventType::ValidationError) {
                continue;
            }
            let name = e.validation_name().unwrap_or("validation");
            let resource = match (e.logical_resource_id(), e.resource_type()) {
                (Some(id), Some(ty)) => format!(" {id} ({ty})"),
                (Some(id), None) => format!(" {id}"),
                _ => String::new(),
            };
            let path = e
                .validation_path()
                .map(|p| format!(" at {p}"))
                .unwrap_or_default();
            let reason = e
                .validation_status_reason()
                .or(e.resource_status_reason())
                .unwrap_or("no reason given");
            lines.push(format!("{name}{resource}{path}: {reason}"));
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    lines
}

/// A change set that exists and has not been executed.
pub struct Pending<'a> {
    pub aws: &'a Aws,
    /// The stack's id (ARN).
    pub stack_id: String,
    /// The change set's id (ARN): unambiguous everywhere.
    pub id: String,
    /// A CREATE change set made the (empty) stack too.
    pub created_stack: bool,
}

/// How the work done with a pending change set ended.
pub enum Settled<T> {
    /// ExecuteChangeSet was accepted: the change set is CloudFormation's now.
    Executed(T),
    /// Not executed (refused, cancelled, nothing to do): it is deleted.
    Abandoned(T),
}

impl Pending<'_> {
    /// Runs `work`; deletes the change set (and the empty stack a CREATE
    /// made) on every way out except [`Settled::Executed`]: an error, a
    /// refusal, Ctrl-C at the prompt alike.
    pub async fn settle<T>(&self, work: impl Future<Output = Result<Settled<T>>>) -> Result<T> {
        match work.await {
            Ok(Settled::Executed(t)) => Ok(t),
            Ok(Settled::Abandoned(t)) => {
                self.delete().await;
                Ok(t)
            }
            Err(e) => {
                self.delete().await;
                Err(e)
            }
        }
    }

    async fn delete(&self) {
        let _ = self
            .aws
            .cfn
            .delete_change_set()
            .stack_name(&self.stack_id)
            .change_set_name(&self.id)
            .send()
            .await;
        if self.created_stack {
            if let Ok(Some(d)) = describe_stack(self.aws, &self.stack_id).await {
                if d.status == StackStatus::ReviewInProgress {
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
