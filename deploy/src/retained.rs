//! What a failed first create left behind, and removing what holds nothing.
//!
//! When a stack's first create fails, CloudFormation rolls back and deletes
//! what it made, except resources with `DeletionPolicy: Retain`: those it
//! leaves in the account and records as `DELETE_SKIPPED`
//! (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html,
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html#cfn-console-view-stack-data-resources-status-codes).
//! Here that is both tables (deletion protection on) and the KMS key: the
//! key is billed monthly, and CloudFormation cannot create the tables again
//! while their names are taken, so a retry fails until they are gone.
//!
//! - Pure: [`from_events`] (the retained list), [`plan`] (what to do, given
//!   what each resource holds now), [`commands`] (the same as AWS CLI commands).
//! - Effectful: [`stack_events`], [`inspect`] (read only), [`execute`], and
//!   [`offer`], which asks first (or takes `--yes`); [`after_failed_create`]
//!   and [`before_recreate`] are what `deploy` calls.
//!
//! Safety rules: only a resource the stack reported creating
//! (`CREATE_COMPLETE`) is touched; a table is deleted only when a consistent
//! scan finds no item, checked again right before deleting; the key is only
//! scheduled for deletion (never deleted at once) and is kept while a
//! remaining table is encrypted with it.

use crate::aws::Target;
use crate::events::StackEvent;
use aws_sdk_cloudformation::types::ResourceStatus;
use aws_sdk_kms::types::KeyState;
use stack::resources::{KmsKey, Table};
use std::collections::HashSet;

/// KMS's shortest waiting period before a scheduled key is deleted (7-30 days).
/// https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html
pub const KEY_PENDING_WINDOW_DAYS: i32 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Table,
    Key,
    Other,
}

/// A resource the rollback kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retained {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    pub kind: Kind,
    /// The stack reported creating it (`CREATE_COMPLETE`) before the
    /// rollback: only then is it known to be this stack's own rather than a
    /// namesake that was there before.
    pub created_here: bool,
}

/// The resources a stack's rollback kept: its `DELETE_SKIPPED` events (any
/// order, as DescribeStackEvents pages give them) with a physical id.
pub fn from_events(events: &[StackEvent]) -> Vec<Retained> {
    let mut sorted: Vec<&StackEvent> = events.iter().filter(|e| !e.is_stack()).collect();
    sorted.sort_by(|a, b| a.epoch().total_cmp(&b.epoch()));
    let created: HashSet<&str> = sorted
        .iter()
        .filter(|e| e.resource_status == ResourceStatus::CreateComplete)
        .map(|e| e.logical_resource_id.as_str())
        .collect();
    let mut out: Vec<Retained> = vec![];
    for e in sorted {
        if e.resource_status != ResourceStatus::DeleteSkipped {
            continue;
        }
        let physical = e.physical_resource_id.clone().unwrap_or_default();
        // No physical id: nothing was made, so nothing was left behind.
        if physical.is_empty() {
            continue;
        }
        out.retain(|r| r.logical_id != e.logical_resource_id);
        let kind = match e.resource_type.as_str() {
            t if t == Table::TYPE => Kind::Table,
            t if t == KmsKey::TYPE => Kind::Key,
            _ => Kind::Other,
        };
        out.push(Retained {
            logical_id: e.logical_resource_id.clone(),
            resource_type: e.resource_type.clone(),
            physical_id: physical,
            kind,
            created_here: created.contains(e.logical_resource_id.as_str()),
        });
    }
    out
}

/// What a retained resource is like now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Not there any more (deleted by hand, or being deleted).
    Gone,
    Table {
        empty: bool,
        deletion_protection: bool,
        /// The KMS key its data is encrypted with, when a customer key.
        kms_key: Option<String>,
    },
    Key {
        state: KeyState,
        /// When a deletion is already scheduled.
        deletion_date: Option<String>,
    },
    /// Could not be checked (the reason), or a kind we do not act on.
    Unknown(String),
}

/// What happens to one retained resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Empty: turn deletion protection off (when on) and delete it.
    DeleteTable { deletion_protection: bool },
    /// Schedule the key's deletion with the shortest waiting period.
    ScheduleKeyDeletion,
    /// Already gone (or already scheduled for deletion): nothing to do.
    Nothing(String),
    /// Stays, for the reason given (what to do about it included).
    Keep(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub resource: Retained,
    pub action: Action,
}

impl Step {
    pub fn is_change(&self) -> bool {
        matches!(
            self.action,
            Action::DeleteTable { .. } | Action::ScheduleKeyDeletion
        )
    }
}

/// Whether `table_key` (an id or ARN, as DescribeTable reports it) names the key `key_id`.
fn same_key(table_key: &str, key_id: &str) -> bool {
    table_key == key_id || table_key.ends_with(&format!("/{key_id}"))
}

/// What to do with each retained resource, given what [`inspect`] found
/// (`found[i]` belongs to `retained[i]`). Tables come first: the key's fate
/// depends on which tables stay.
pub fn plan(retained: &[Retained], found: &[Found]) -> Vec<Step> {
    let pairs: Vec<(&Retained, &Found)> = retained.iter().zip(found).collect();
    let mut steps = vec![];
    // Tables that will still exist afterwards, with their encryption key (None: unknown).
    let mut staying: Vec<(String, Option<Option<String>>)> = vec![];
    for (r, f) in pairs.iter().filter(|(r, _)| r.kind == Kind::Table) {
        let name = &r.physical_id;
        let action = match f {
            Found::Gone => Action::Nothing("already deleted".into()),
            _ if !r.created_here => {
                staying.push((name.clone(), table_key(f)));
                Action::Keep(
                    "CloudFormation never reported creating it, so it may predate this stack: check it yourself".into(),
                )
            }
            Found::Table {
                empty: true,
                deletion_protection,
                ..
            } => Action::DeleteTable {
                deletion_protection: *deletion_protection,
            },
            Found::Table { empty: false, .. } => {
                staying.push((name.clone(), table_key(f)));
                Action::Keep(format!(
                    "it holds items, and a table with data is never deleted here. If the data is not needed, back it up \
                     (`aws dynamodb create-backup --table-name {name} --backup-name {name}-backup`) and delete the table yourself; \
                     otherwise deploy with another --stage"
                ))
            }
            Found::Key { .. } | Found::Unknown(_) => {
                staying.push((name.clone(), None));
                Action::Keep(format!(
                    "could not tell whether it is empty ({}); run deploy again later",
                    match f {
                        Found::Unknown(why) => why.as_str(),
                        _ => "not a table",
                    }
                ))
            }
        };
        steps.push(Step {
            resource: (*r).clone(),
            action,
        });
    }
    for (r, f) in pairs.iter().filter(|(r, _)| r.kind == Kind::Key) {
        let key = &r.physical_id;
        let used_by = staying.iter().find(|(_, k)| match k {
            Some(Some(k)) => same_key(k, key),
            Some(None) => false,
            None => true,
        });
        let action = match f {
            Found::Gone => Action::Nothing("already deleted".into()),
            Found::Key {
                state: KeyState::PendingDeletion,
                deletion_date,
            } => Action::Nothing(format!(
                "already scheduled for deletion{}",
                deletion_date
                    .as_deref()
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default()
            )),
            _ if !r.created_here => Action::Keep(
                "CloudFormation never reported creating it, so it may predate this stack: check it yourself".into(),
            ),
            Found::Key { .. } if used_by.is_some() => Action::Keep(format!(
                "the table {} stays and is (or may be) encrypted with it: without the key its data is unreadable. \
                 Schedule the key's deletion only once that table is gone",
                used_by.map(|(n, _)| n.as_str()).unwrap_or_default()
            )),
            Found::Key {
                state: KeyState::Enabled | KeyState::Disabled,
                ..
            } => Action::ScheduleKeyDeletion,
            Found::Key { state, .. } => Action::Keep(format!(
                "it is {}, not a state from which this tool schedules a deletion",
                state.as_str()
            )),
            Found::Table { .. } | Found::Unknown(_) => Action::Keep(format!(
                "could not check it ({})",
                match f {
                    Found::Unknown(why) => why.as_str(),
                    _ => "not a key",
                }
            )),
        };
        steps.push(Step {
            resource: (*r).clone(),
            action,
        });
    }
    for (r, _) in pairs.iter().filter(|(r, _)| r.kind == Kind::Other) {
        steps.push(Step {
            resource: (*r).clone(),
            action: Action::Keep(
                "not removed by this tool: delete it yourself if it is not needed".into(),
            ),
        });
    }
    steps
}

/// The key a table's data is encrypted with: `Some(None)` for none (an AWS
/// owned key), `None` when unknown.
fn table_key(f: &Found) -> Option<Option<String>> {
    match f {
        Found::Table { kms_key, .. } => Some(kms_key.clone()),
        _ => None,
    }
}

/// `--region R [--endpoint-url U]` for the AWS CLI commands the messages suggest.
pub fn cli_suffix(target: &Target) -> String {
    target.cli_suffix()
}

/// The plan's changes as AWS CLI commands, for running them by hand.
pub fn commands(steps: &[Step], target: &Target) -> Vec<String> {
    let at = cli_suffix(target);
    let mut out = vec![];
    for s in steps {
        let id = &s.resource.physical_id;
        match s.action {
            Action::DeleteTable {
                deletion_protection,
            } => {
                out.push(format!(
                    "aws dynamodb scan --table-name {id} --select COUNT --consistent-read{at}   # must say \"Count\": 0"
                ));
                if deletion_protection {
                    out.push(format!(
                        "aws dynamodb update-table --table-name {id} --no-deletion-protection-enabled{at}"
                    ));
                }
                out.push(format!("aws dynamodb delete-table --table-name {id}{at}"));
            }
            Action::ScheduleKeyDeletion => out.push(format!(
                "aws kms schedule-key-deletion --key-id {id} --pending-window-in-days {KEY_PENDING_WINDOW_DAYS}{at}"
            )),
            Action::Nothing(_) | Action::Keep(_) => {}
        }
    }
    out
}

/// One line per step: what happens to the resource, and why.
pub fn describe(step: &Step) -> String {
    let r = &step.resource;
    let what = match r.kind {
        Kind::Table => format!("table {}", r.physical_id),
        Kind::Key => format!("KMS key {}", r.physical_id),
        Kind::Other => format!("{} {}", r.resource_type, r.physical_id),
    };
    match &step.action {
        Action::DeleteTable {
            deletion_protection,
        } => format!(
            "[-] {what} ({}): empty, delete it{}",
            r.logical_id,
            if *deletion_protection {
                " (turning its deletion protection off first)"
            } else {
                ""
            }
        ),
        Action::ScheduleKeyDeletion => format!(
            "[-] {what} ({}): schedule its deletion in {KEY_PENDING_WINDOW_DAYS} days, the minimum (a key costs money every month until deleted)",
            r.logical_id
        ),
        Action::Nothing(why) => format!("[ ] {what} ({}): {why}", r.logical_id),
        Action::Keep(why) => format!("[=] {what} ({}): kept: {why}", r.logical_id),
    }
}
