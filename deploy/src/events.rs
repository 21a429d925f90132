//! Stack events as CloudFormation reports them, and what they mean: each
//! new event once, oldest first, with the time since the operation started
//! and a counter; the first real failure (not the "Resource creation
//! cancelled" noise that follows); and what a final status means for the
//! user. Events are our own serde types, shaped like the API's JSON (with
//! the SDK's typed statuses), so recorded sequences replay in tests.

use crate::report::{Style, Text};
use crate::text::short;
use aws_sdk_cloudformation::types::{ResourceStatus, StackStatus};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};

/// The API's resource type of the stack itself.
const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

/// Serde for the SDK's string enums (`ResourceStatus`, `StackStatus`): as the API's text.
mod sdk_enum {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, T: AsRef<str>>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_ref())
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: for<'a> From<&'a str>>(
        d: D,
    ) -> Result<T, D::Error> {
        Ok(T::from(String::deserialize(d)?.as_str()))
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackEvent {
    pub event_id: String,
    #[serde(default)]
    pub stack_name: String,
    pub logical_resource_id: String,
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    pub resource_type: String,
    /// RFC 3339, as the API's JSON gives it.
    pub timestamp: String,
    #[serde(with = "sdk_enum")]
    pub resource_status: ResourceStatus,
    #[serde(default)]
    pub resource_status_reason: Option<String>,
}

impl StackEvent {
    pub fn from_sdk(e: &aws_sdk_cloudformation::types::StackEvent) -> Self {
        StackEvent {
            event_id: e.event_id().unwrap_or_default().to_string(),
            stack_name: e.stack_name().unwrap_or_default().to_string(),
            logical_resource_id: e.logical_resource_id().unwrap_or_default().to_string(),
            physical_resource_id: e.physical_resource_id().map(str::to_string),
            resource_type: e.resource_type().unwrap_or_default().to_string(),
            timestamp: e
                .timestamp()
                .and_then(|t| t.fmt(Format::DateTime).ok())
                .unwrap_or_default(),
            resource_status: e
                .resource_status()
                .cloned()
                .unwrap_or_else(|| ResourceStatus::from("")),
            resource_status_reason: e.resource_status_reason().map(str::to_string),
        }
    }

    /// Seconds since the epoch (0 when unparseable).
    pub fn epoch(&self) -> f64 {
        DateTime::from_str(&self.timestamp, Format::DateTime)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }

    pub fn is_stack(&self) -> bool {
        self.resource_type == STACK_TYPE
    }

    fn is_cancellation(&self) -> bool {
        let r = self
            .resource_status_reason
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        r.contains("cancelled") || r.contains("canceled")
    }
}

/// One poll: the newest events first (as DescribeStackEvents returns them) and the stack status.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Poll {
    #[serde(rename = "DescribeStackEvents")]
    pub events: StackEventsPage,
    #[serde(rename = "DescribeStacks")]
    pub stacks: StacksPage,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackEventsPage {
    #[serde(default)]
    pub stack_events: Vec<StackEvent>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StacksPage {
    #[serde(default)]
    pub stacks: Vec<StackStatusOnly>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackStatusOnly {
    #[serde(default)]
    pub stack_name: String,
    #[serde(with = "sdk_enum", default = "no_status")]
    pub stack_status: StackStatus,
    #[serde(default)]
    pub stack_status_reason: Option<String>,
    /// When the stack last changed (RFC 3339): `DeletionTime`, else
    /// `LastUpdatedTime`, else `CreationTime`; `None` where the endpoint
    /// reports none.
    #[serde(default)]
    pub changed_at: Option<String>,
}

fn no_status() -> StackStatus {
    StackStatus::from("")
}

impl Poll {
    /// The stack's status; empty (`""`) when the stack is gone.
    pub fn status(&self) -> StackStatus {
        self.stacks
            .stacks
            .first()
            .map(|s| s.stack_status.clone())
            .unwrap_or_else(no_status)
    }
}

/// What the operation was, to judge its final status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

impl Operation {
    pub fn success_status(self) -> StackStatus {
        match self {
            Operation::Create => StackStatus::CreateComplete,
            Operation::Update => StackStatus::UpdateComplete,
            Operation::Delete => StackStatus::DeleteComplete,
        }
    }
}

/// Seconds since the epoch, now: where an operation's elapsed times start.
pub fn now_epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A status nothing more will happen to without a new request.
pub fn is_settled(status: &StackStatus) -> bool {
    let s = status.as_str();
    !s.is_empty() && !s.ends_with("_IN_PROGRESS")
}

/// Tracks which events were shown and the first failure.
pub struct Progress {
    seen: HashSet<String>,
    /// Epoch seconds the operation started (elapsed times are relative to it).
    since: f64,
    total: Option<usize>,
    done: BTreeSet<String>,
    pub first_failure: Option<StackEvent>,
    any_failure: Option<StackEvent>,
    /// A new event of the stack itself was seen: the operation has started.
    pub saw_stack_event: bool,
    /// The stack's `changed_at` just before the operation: a status read
    /// with another time postdates the operation's start.
    pub changed_before: Option<String>,
}

impl Progress {
    /// `existing`: events already there before the operation (never shown).
    pub fn new(existing: &[StackEvent], since: f64, total: Option<usize>) -> Self {
        Progress {
            seen: existing.iter().map(|e| e.event_id.clone()).collect(),
            since,
            total,
            done: BTreeSet::new(),
            first_failure: None,
            any_failure: None,
            saw_stack_event: false,
            changed_before: None,
        }
    }

    /// The new events of one page (newest first), oldest first, each once.
    pub fn new_events(&mut self, page: &[StackEvent]) -> Vec<StackEvent> {
        let mut fresh: Vec<StackEvent> = page
            .iter()
            .filter(|e| !self.seen.contains(&e.event_id))
            .cloned()
            .collect();
        // Oldest first; events in the same millisecond keep their real order
        // (the sort is stable, so undo the page's newest-first order first).
        fresh.reverse();
        fresh.sort_by(|a, b| a.epoch().total_cmp(&b.epoch()));
        for e in &fresh {
            self.seen.insert(e.event_id.clone());
            self.saw_stack_event |= e.is_stack();
            let status = e.resource_status.as_str();
            if !e.is_stack() && status.ends_with("_COMPLETE") && !status.contains("ROLLBACK") {
                self.done.insert(e.logical_resource_id.clone());
            }
            if status.ends_with("_FAILED") && !e.is_stack() {
                if self.first_failure.is_none() && !e.is_cancellation() {
                    self.first_failure = Some(e.clone());
                }
                if self.any_failure.is_none() {
                    self.any_failure = Some(e.clone());
                }
            }
        }
        fresh
    }

    /// The root cause: the first failure that is not a cancellation, else the first failure.
    pub fn root_cause(&self) -> Option<&StackEvent> {
        self.first_failure.as_ref().or(self.any_failure.as_ref())
    }

    /// One event as a line of progress.
    pub fn render(&self, e: &StackEvent) -> Text {
        let elapsed = (e.epoch() - self.since).max(0.0);
        let counter = match self.total {
            Some(t) if t > 0 && !e.is_stack() => format!("[{:>2}/{t}] ", self.done.len().min(t)),
            Some(t) if t > 0 => " ".repeat(format!("[{t:>2}/{t}] ").len()),
            _ => String::new(),
        };
        let status = e.resource_status.as_str();
        let style = if status.ends_with("_FAILED") {
            Style::Bad
        } else if status.contains("ROLLBACK") {
            Style::Caution
        } else if status.ends_with("_COMPLETE") {
            Style::Good
        } else {
            Style::Plain
        };
        let reason = e
            .resource_status_reason
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| format!("  {}", short(r, 200)))
            .unwrap_or_default();
        Text::plain(format!("  {counter}{elapsed:>6.1}s  "))
            .then(style, format!("{status:<36}"))
            .then(
                Style::Plain,
                format!(" {:<34} {}{reason}", e.resource_type, e.logical_resource_id),
            )
    }
}

/// The end of a watched operation.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub final_status: StackStatus,
    pub status_reason: Option<String>,
    pub root_cause: Option<StackEvent>,
    pub success: bool,
}

/// What the user should know (and do) about a stack's final status after a failure.
pub fn explain_status(stack_name: &str, status: &StackStatus, region: &str) -> String {
    match status {
        StackStatus::RollbackComplete => format!(
            "The create failed and was rolled back: {stack_name} is now ROLLBACK_COMPLETE, which cannot be updated. \
             Fix the cause above and run `cargo xtask deploy` again: it deletes the rolled-back stack first \
             (and offers to remove the empty tables and the key the rollback kept)."
        ),
        StackStatus::UpdateRollbackComplete => format!(
            "The update failed and was rolled back: {stack_name} is back to its previous state (UPDATE_ROLLBACK_COMPLETE). \
             Fix the cause above and deploy again."
        ),
        StackStatus::UpdateRollbackFailed => format!(
            "The update failed and so did its rollback: {stack_name} is UPDATE_ROLLBACK_FAILED and cannot be updated until the rollback finishes. \
             Fix what blocked it (often a resource changed or deleted outside CloudFormation), then run\n  \
             aws cloudformation continue-update-rollback --stack-name {stack_name} --region {region}\n\
             (add --resources-to-skip LOGICAL_ID for a resource that cannot be rolled back), wait for UPDATE_ROLLBACK_COMPLETE, and deploy again."
        ),
        StackStatus::RollbackFailed => format!(
            "The create failed and so did its rollback: {stack_name} is ROLLBACK_FAILED. \
             Delete it with `cargo xtask destroy` (or `aws cloudformation delete-stack --stack-name {stack_name} --region {region}`), then deploy again."
        ),
        StackStatus::DeleteFailed => format!(
            "Deleting {stack_name} failed (DELETE_FAILED). Fix the cause above (e.g. a non-empty resource), or retain the resource: \
             aws cloudformation delete-stack --stack-name {stack_name} --region {region} --retain-resources LOGICAL_ID"
        ),
        other => format!("{stack_name} ended in {other}."),
    }
}
