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

use super::aws::{self, Aws, Target};
use super::events::StackEvent;
use super::ui::{self, Approval, Colour, Ui};
use anyhow::{anyhow, Result};
use aws_sdk_cloudformation::types::ResourceStatus;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{Select, TableStatus};
use aws_sdk_kms::types::KeyState;
use aws_smithy_types::date_time::Format;
use stack::resources::{KmsKey, Table};
use std::collections::HashSet;
use std::time::Duration;

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

fn status(e: &StackEvent) -> ResourceStatus {
    ResourceStatus::from(e.resource_status.as_str())
}

/// The resources a stack's rollback kept: its `DELETE_SKIPPED` events (any
/// order, as DescribeStackEvents pages give them) with a physical id.
pub fn from_events(events: &[StackEvent]) -> Vec<Retained> {
    let mut sorted: Vec<&StackEvent> = events.iter().filter(|e| !e.is_stack()).collect();
    sorted.sort_by(|a, b| a.epoch().total_cmp(&b.epoch()));
    let created: HashSet<&str> = sorted
        .iter()
        .filter(|e| status(e) == ResourceStatus::CreateComplete)
        .map(|e| e.logical_resource_id.as_str())
        .collect();
    let mut out: Vec<Retained> = vec![];
    for e in sorted {
        if status(e) != ResourceStatus::DeleteSkipped {
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
    fn is_change(&self) -> bool {
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

fn cli_suffix(target: &Target) -> String {
    let mut s = format!(" --region {}", target.region);
    if let Some(u) = &target.endpoint_url {
        s.push_str(&format!(" --endpoint-url {u}"));
    }
    s
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

fn describe(step: &Step) -> String {
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

// ------------------------------------------------------------- effectful

/// Every event of the stack (all pages; the stack id still answers for a
/// rolled-back stack).
pub async fn stack_events(aws: &Aws, stack_id: &str) -> Result<Vec<StackEvent>> {
    let mut all = vec![];
    let mut token: Option<String> = None;
    // A bound, not a limit we expect to reach: a failed create has a few hundred events.
    for _ in 0..100 {
        let page = aws
            .cfn
            .describe_stack_events()
            .stack_name(stack_id)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| aws::explain(e, "reading the stack's events", &aws.target()))?;
        all.extend(page.stack_events().iter().map(StackEvent::from_sdk));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(all)
}

/// Whether a table holds at least one item: a strongly consistent Scan that
/// stops at the first item. Without a filter, no item and no
/// LastEvaluatedKey means the table is empty
/// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Scan.html).
async fn holds_items(aws: &Aws, name: &str) -> Result<bool, String> {
    let mut start = None;
    for _ in 0..20 {
        let out = aws
            .dynamodb
            .scan()
            .table_name(name)
            .select(Select::Count)
            .limit(1)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| {
                aws::explain(e, &format!("scanning the table {name}"), &aws.target()).to_string()
            })?;
        if out.count() > 0 {
            return Ok(true);
        }
        match out.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return Ok(false),
        }
    }
    Err("the scan found no item but did not reach the end of the table".into())
}

async fn inspect_table(aws: &Aws, name: &str) -> Found {
    let table = match aws.dynamodb.describe_table().table_name(name).send().await {
        Ok(o) => match o.table {
            Some(t) => t,
            None => return Found::Unknown("DescribeTable returned no table".into()),
        },
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Found::Gone
        }
        Err(e) => {
            return Found::Unknown(
                aws::explain(e, &format!("reading the table {name}"), &aws.target()).to_string(),
            )
        }
    };
    match table.table_status() {
        Some(TableStatus::Deleting) => return Found::Gone,
        Some(TableStatus::Active) => {}
        other => {
            return Found::Unknown(format!(
                "it is {}",
                other.map(|s| s.as_str()).unwrap_or("in an unknown state")
            ))
        }
    }
    let kms_key = table
        .sse_description()
        .and_then(|s| s.kms_master_key_arn())
        .map(str::to_string);
    match holds_items(aws, name).await {
        Ok(items) => Found::Table {
            empty: !items,
            deletion_protection: table.deletion_protection_enabled().unwrap_or(false),
            kms_key,
        },
        Err(why) => Found::Unknown(why),
    }
}

async fn inspect_key(aws: &Aws, kms: &aws_sdk_kms::Client, key_id: &str) -> Found {
    match kms.describe_key().key_id(key_id).send().await {
        Ok(o) => match o.key_metadata() {
            Some(m) => Found::Key {
                state: m.key_state().cloned().unwrap_or(KeyState::Unavailable),
                deletion_date: m.deletion_date().and_then(|d| d.fmt(Format::DateTime).ok()),
            },
            None => Found::Unknown("DescribeKey returned no key".into()),
        },
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_not_found_exception()) =>
        {
            Found::Gone
        }
        Err(e) => Found::Unknown(
            aws::explain(e, &format!("reading the KMS key {key_id}"), &aws.target()).to_string(),
        ),
    }
}

/// What each retained resource is like now (read only).
pub async fn inspect(aws: &Aws, retained: &[Retained]) -> Vec<Found> {
    let kms: aws_sdk_kms::Client = crate::recorded_client!(aws_sdk_kms, &aws.conf);
    let mut found = vec![];
    for r in retained {
        found.push(match r.kind {
            Kind::Table => inspect_table(aws, &r.physical_id).await,
            Kind::Key => inspect_key(aws, &kms, &r.physical_id).await,
            Kind::Other => Found::Unknown("not a table or a key".into()),
        });
    }
    found
}

/// Deletes one empty table and waits until it is gone (a table still
/// DELETING keeps its name taken); `Err` says why it is still there.
async fn delete_table(aws: &Aws, name: &str, deletion_protection: bool) -> Result<(), String> {
    // Checked again right before deleting: nothing may have been written since.
    match holds_items(aws, name).await {
        Ok(false) => {}
        Ok(true) => return Err("it holds items now, so it was not deleted".into()),
        Err(why) => return Err(why),
    }
    // Deletion protection blocks DeleteTable until it is turned off
    // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithTables.Basics.html#WorkingWithTables.Basics.DeletionProtection).
    if deletion_protection {
        aws.dynamodb
            .update_table()
            .table_name(name)
            .deletion_protection_enabled(false)
            .send()
            .await
            .map_err(|e| {
                aws::explain(
                    e,
                    &format!("turning off the deletion protection of {name}"),
                    &aws.target(),
                )
                .to_string()
            })?;
        // DeleteTable refuses a table that is UPDATING
        // (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteTable.html):
        // wait for ACTIVE; a timeout here shows up as a refused delete below.
        let _ = aws
            .dynamodb
            .wait_until_table_exists()
            .table_name(name)
            .wait(Duration::from_secs(120))
            .await;
    }
    let mut last = String::new();
    for attempt in 0..5u32 {
        match aws.dynamodb.delete_table().table_name(name).send().await {
            Ok(_) => {
                return aws
                    .dynamodb
                    .wait_until_table_not_exists()
                    .table_name(name)
                    .wait(Duration::from_secs(600))
                    .await
                    .map(|_| ())
                    .map_err(|_| {
                        format!(
                            "its deletion was started but it still existed after 10 minutes; check `aws dynamodb describe-table --table-name {name}{}`",
                            cli_suffix(&aws.target())
                        )
                    })
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(())
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                last = format!("{name} is busy (ResourceInUseException)");
                tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
            }
            Err(e) => {
                last = aws::explain(e, &format!("deleting the table {name}"), &aws.target())
                    .to_string();
                break;
            }
        }
    }
    // Not deleted: protect it again, as it was.
    if deletion_protection {
        let _ = aws
            .dynamodb
            .update_table()
            .table_name(name)
            .deletion_protection_enabled(true)
            .send()
            .await;
    }
    Err(last)
}

/// What [`execute`] left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Executed {
    pub deleted_tables: Vec<String>,
    pub scheduled_keys: Vec<String>,
    /// Planned changes that did not happen: (resource, why).
    pub failed: Vec<(String, String)>,
}

/// Carries out the plan's changes, printing each result.
pub async fn execute(aws: &Aws, ui: &mut Ui, steps: &[Step]) -> Executed {
    let kms: aws_sdk_kms::Client = crate::recorded_client!(aws_sdk_kms, &aws.conf);
    let at = cli_suffix(&aws.target());
    let mut done = Executed::default();
    for s in steps.iter().filter(|s| s.resource.kind == Kind::Table) {
        let Action::DeleteTable {
            deletion_protection,
        } = s.action
        else {
            continue;
        };
        let name = &s.resource.physical_id;
        match delete_table(aws, name, deletion_protection).await {
            Ok(()) => {
                let l = ui.paint(
                    Colour::Green,
                    &format!("  ✓ deleted the empty table {name}"),
                );
                ui.line(&l);
                done.deleted_tables.push(name.clone());
            }
            Err(why) => {
                let l = ui.paint(Colour::Red, &format!("  ✗ table {name} kept: {why}"));
                ui.line(&l);
                done.failed.push((name.clone(), why));
            }
        }
    }
    for s in steps
        .iter()
        .filter(|s| s.action == Action::ScheduleKeyDeletion)
    {
        let key = &s.resource.physical_id;
        // A table that was to be deleted but stays may be encrypted with this key.
        if let Some((t, _)) = done.failed.iter().find(|(t, _)| {
            steps.iter().any(|x| {
                &x.resource.physical_id == t && matches!(x.action, Action::DeleteTable { .. })
            })
        }) {
            let why = format!("the table {t} stays, and may be encrypted with it");
            ui.line(&format!("  [=] KMS key {key} kept: {why}"));
            done.failed.push((key.clone(), why));
            continue;
        }
        match kms
            .schedule_key_deletion()
            .key_id(key)
            .pending_window_in_days(KEY_PENDING_WINDOW_DAYS)
            .send()
            .await
        {
            Ok(o) => {
                let when = o
                    .deletion_date()
                    .and_then(|d| d.fmt(Format::DateTime).ok())
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default();
                // A cancelled deletion leaves the key Disabled
                // (https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys-scheduling-key-deletion.html).
                let l = ui.paint(
                    Colour::Green,
                    &format!(
                        "  ✓ KMS key {key} is scheduled for deletion{when} ({KEY_PENDING_WINDOW_DAYS} days). Until then it can be cancelled with\n      aws kms cancel-key-deletion --key-id {key}{at}\n    (then `aws kms enable-key --key-id {key}{at}` to use it again)"
                    ),
                );
                ui.line(&l);
                done.scheduled_keys.push(key.clone());
            }
            Err(e) => {
                let why = aws::explain(
                    e,
                    &format!("scheduling the deletion of the KMS key {key}"),
                    &aws.target(),
                )
                .to_string();
                let l = ui.paint(Colour::Red, &format!("  ✗ KMS key {key} kept: {why}"));
                ui.line(&l);
                done.failed.push((key.clone(), why));
            }
        }
    }
    done
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// How [`offer`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offered {
    /// Nothing was retained, or nothing is left to remove.
    NothingToDo,
    /// Approved and carried out (see `failed` for what did not work).
    Removed(Executed),
    /// Answered no at the prompt: nothing was changed.
    Declined,
    /// No terminal and no `--yes`: nothing was changed; the commands were printed.
    NoTerminal,
}

/// The result of [`offer`], with the tables still there afterwards (they
/// block creating the stack again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub offered: Offered,
    pub tables_left: Vec<String>,
    pub commands: Vec<String>,
}

/// Says what was retained and what can be removed, asks (`--yes` approves;
/// `ask` is the terminal prompt), and removes it. Nothing changes before the answer.
pub async fn offer(
    aws: &Aws,
    ui: &mut Ui,
    retained: &[Retained],
    yes: bool,
    ask: fn(&str) -> Approval,
) -> Result<Offer> {
    if retained.is_empty() {
        return Ok(Offer {
            offered: Offered::NothingToDo,
            tables_left: vec![],
            commands: vec![],
        });
    }
    let found = inspect(aws, retained).await;
    let steps = plan(retained, &found);
    let commands = commands(&steps, &aws.target());
    let staying = |executed: Option<&Executed>| -> Vec<String> {
        steps
            .iter()
            .filter(|s| s.resource.kind == Kind::Table)
            .filter(|s| match &s.action {
                Action::Nothing(_) => false,
                Action::Keep(_) => true,
                _ => !executed.is_some_and(|x| x.deleted_tables.contains(&s.resource.physical_id)),
            })
            .map(|s| s.resource.physical_id.clone())
            .collect()
    };

    ui.blank();
    ui.heading(&format!(
        "The rollback kept {} resource(s) (DeletionPolicy Retain: their events say DELETE_SKIPPED):",
        retained.len()
    ));
    for s in &steps {
        ui.line(&format!("  {}", describe(s)));
    }
    if !steps.iter().any(Step::is_change) {
        return Ok(Offer {
            offered: Offered::NothingToDo,
            tables_left: staying(None),
            commands,
        });
    }
    let answer = if yes {
        Approval::Yes
    } else {
        let tables = steps
            .iter()
            .filter(|s| matches!(s.action, Action::DeleteTable { .. }))
            .count();
        let mut what = vec![];
        if tables > 0 {
            what.push(format!("delete {tables} empty table(s)"));
        }
        if steps
            .iter()
            .any(|s| s.action == Action::ScheduleKeyDeletion)
        {
            what.push(format!(
                "schedule the KMS key's deletion in {KEY_PENDING_WINDOW_DAYS} days"
            ));
        }
        let question = format!("{} as listed above?", capitalize(&what.join(" and ")));
        tokio::select! {
            a = tokio::task::spawn_blocking(move || ask(&question)) => a.unwrap_or(Approval::No),
            _ = tokio::signal::ctrl_c() => {
                eprintln!("\ninterrupted: nothing was removed.");
                // The prompt's thread is still blocked reading stdin: leave now.
                std::process::exit(130);
            }
        }
    };
    let show_commands = |ui: &mut Ui| {
        for c in &commands {
            ui.line(&format!("  {c}"));
        }
    };
    let offered = match answer {
        Approval::Yes => {
            let done = execute(aws, ui, &steps).await;
            let left = staying(Some(&done));
            return Ok(Offer {
                offered: Offered::Removed(done),
                tables_left: left,
                commands,
            });
        }
        Approval::No => {
            ui.line("Nothing was removed. To remove them later, run:");
            show_commands(ui);
            Offered::Declined
        }
        Approval::NoTerminal => {
            ui.line(
                "Nothing was removed: there is no terminal to ask and --yes was not given. Rerun with --yes, or run:",
            );
            show_commands(ui);
            Offered::NoTerminal
        }
    };
    Ok(Offer {
        offered,
        tables_left: staying(None),
        commands,
    })
}

/// After a first create failed and rolled back: says what was kept and
/// offers to remove it. Never fails: the deploy's own failure is what counts.
pub async fn after_failed_create(aws: &Aws, ui: &mut Ui, stack_id: &str, yes: bool) {
    let result = async {
        let events = stack_events(aws, stack_id).await?;
        offer(aws, ui, &from_events(&events), yes, ui::confirm).await
    }
    .await;
    match result {
        Ok(o) if !o.tables_left.is_empty() => ui.line(&format!(
            "The next deploy cannot create the stack while the table(s) {} exist.",
            o.tables_left.join(", ")
        )),
        Ok(_) => {}
        Err(e) => ui.warn(&format!(
            "could not check what the rollback kept ({e:#}); the next `cargo xtask deploy` checks again."
        )),
    }
}

/// Before a ROLLBACK_COMPLETE stack is deleted and created again: removes
/// (with approval) what its rollback kept. An error when a table would
/// block the create, or when nobody could approve.
pub async fn before_recreate(
    aws: &Aws,
    ui: &mut Ui,
    stack_id: &str,
    stack_name: &str,
    yes: bool,
) -> Result<()> {
    let events = stack_events(aws, stack_id).await?;
    let o = offer(aws, ui, &from_events(&events), yes, ui::confirm).await?;
    may_recreate(&o, stack_name)
}

/// Whether the create can go ahead after [`offer`]: not while a retained
/// table still takes its name, nor when nobody could approve (a key alone
/// does not block it, but then it is left on purpose).
pub fn may_recreate(o: &Offer, stack_name: &str) -> Result<()> {
    if o.offered == Offered::NoTerminal {
        return Err(anyhow!(
            "{stack_name}'s failed create left resources behind (listed above) and there is no terminal to ask: \
             rerun with --yes to remove the empty ones, or run the commands above. Nothing was changed."
        ));
    }
    if !o.tables_left.is_empty() {
        return Err(anyhow!(
            "cannot create {stack_name} again: the table(s) {} kept by its failed create still exist, and CloudFormation cannot create a table whose name is taken. \
             Remove them (see above), or deploy with another --stage. Nothing else was changed.",
            o.tables_left.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::events::tests::load;

    /// Every event of a recording: its last poll has the whole history.
    fn history(name: &str) -> Vec<StackEvent> {
        let (rec, _) = load(name);
        rec.polls.last().expect("polls").events.stack_events.clone()
    }

    const KEY: &str = "3f8c2a71-5d4e-4b9a-8e6f-1a2b3c4d5e6f";

    fn target() -> Target {
        Target {
            region: "eu-west-1".into(),
            endpoint_url: None,
        }
    }

    #[test]
    fn delete_skipped_events_are_the_retained_list() {
        let r = from_events(&history("events-create-failed-retained.json"));
        let got: Vec<(&str, &str, Kind, bool)> = r
            .iter()
            .map(|r| {
                (
                    r.logical_id.as_str(),
                    r.physical_id.as_str(),
                    r.kind,
                    r.created_here,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "UserProfilesTable",
                    "voice-learning-user-profiles",
                    Kind::Table,
                    true
                ),
                (
                    "SessionsTable",
                    "voice-learning-sessions",
                    Kind::Table,
                    true
                ),
                ("DataKey", KEY, Kind::Key, true),
            ]
        );
        assert_eq!(r[2].resource_type, KmsKey::TYPE);
        // The same events in any order (pages are newest first) give the same list.
        let mut reversed = history("events-create-failed-retained.json");
        reversed.reverse();
        assert_eq!(from_events(&reversed), r);
    }

    #[test]
    fn a_rollback_that_deleted_everything_retained_nothing() {
        // The key's creation was cancelled and deleted; nothing said DELETE_SKIPPED.
        assert!(from_events(&history("events-create-failed-rollback.json")).is_empty());
        // A recording without the create's events: what it skipped is listed,
        // but not as created here, so nothing would be touched.
        let d = from_events(&history("events-delete.json"));
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d.iter().all(|r| !r.created_here), "{d:?}");
    }

    #[test]
    fn a_skipped_resource_the_stack_never_created_is_not_touched() {
        let events: Vec<StackEvent> = history("events-create-failed-retained.json")
            .into_iter()
            .filter(|e| {
                !(e.logical_resource_id == "SessionsTable"
                    && e.resource_status == "CREATE_COMPLETE")
            })
            .collect();
        let r = from_events(&events);
        let sessions = r.iter().find(|r| r.logical_id == "SessionsTable").unwrap();
        assert!(!sessions.created_here);
        let found = vec![
            Found::Table {
                empty: true,
                deletion_protection: true,
                kms_key: None,
            };
            2
        ]
        .into_iter()
        .chain([Found::Key {
            state: KeyState::Enabled,
            deletion_date: None,
        }])
        .collect::<Vec<_>>();
        let steps = plan(&r, &found);
        let s = steps
            .iter()
            .find(|s| s.resource.logical_id == "SessionsTable")
            .unwrap();
        assert!(
            matches!(&s.action, Action::Keep(why) if why.contains("predate")),
            "{s:?}"
        );
        // A table that stays but is not encrypted with the key does not hold it back.
        let k = steps.iter().find(|s| s.resource.kind == Kind::Key).unwrap();
        assert!(matches!(k.action, Action::ScheduleKeyDeletion), "{k:?}");
    }

    fn retained() -> Vec<Retained> {
        from_events(&history("events-create-failed-retained.json"))
    }

    fn table(empty: bool, key: Option<&str>) -> Found {
        Found::Table {
            empty,
            deletion_protection: true,
            kms_key: key.map(str::to_string),
        }
    }

    fn enabled() -> Found {
        Found::Key {
            state: KeyState::Enabled,
            deletion_date: None,
        }
    }

    #[test]
    fn empty_tables_are_deleted_a_table_with_items_is_kept_and_the_key_scheduled() {
        // Order of the retained list: UserProfilesTable, SessionsTable, DataKey.
        let steps = plan(
            &retained(),
            &[table(false, None), table(true, Some(KEY)), enabled()],
        );
        let by = |id: &str| {
            steps
                .iter()
                .find(|s| s.resource.logical_id == id)
                .unwrap()
                .action
                .clone()
        };
        assert_eq!(
            by("SessionsTable"),
            Action::DeleteTable {
                deletion_protection: true
            }
        );
        assert!(
            matches!(by("UserProfilesTable"), Action::Keep(why) if why.contains("holds items") && why.contains("create-backup")),
        );
        assert_eq!(by("DataKey"), Action::ScheduleKeyDeletion);
        assert_eq!(
            commands(&steps, &target()),
            vec![
                "aws dynamodb scan --table-name voice-learning-sessions --select COUNT --consistent-read --region eu-west-1   # must say \"Count\": 0",
                "aws dynamodb update-table --table-name voice-learning-sessions --no-deletion-protection-enabled --region eu-west-1",
                "aws dynamodb delete-table --table-name voice-learning-sessions --region eu-west-1",
                &format!("aws kms schedule-key-deletion --key-id {KEY} --pending-window-in-days 7 --region eu-west-1"),
            ]
        );
    }

    #[test]
    fn the_key_stays_while_a_remaining_table_is_encrypted_with_it() {
        let arn = format!("arn:aws:kms:eu-west-1:111122223333:key/{KEY}");
        for kept in [
            table(false, Some(&arn)),
            Found::Unknown("AccessDeniedException".into()),
        ] {
            let steps = plan(&retained(), &[kept, table(true, Some(&arn)), enabled()]);
            let key = steps.iter().find(|s| s.resource.kind == Kind::Key).unwrap();
            assert!(
                matches!(&key.action, Action::Keep(why) if why.contains("voice-learning-user-profiles") && why.contains("unreadable")),
                "{key:?}"
            );
            assert!(!commands(&steps, &target())
                .iter()
                .any(|c| c.contains("kms")));
        }
    }

    #[test]
    fn the_create_is_retried_only_once_no_retained_table_takes_its_name() {
        let offer = |offered: Offered, tables: &[&str]| Offer {
            offered,
            tables_left: tables.iter().map(|t| t.to_string()).collect(),
            commands: vec![],
        };
        assert!(may_recreate(&offer(Offered::NothingToDo, &[]), "S").is_ok());
        assert!(may_recreate(&offer(Offered::Removed(Executed::default()), &[]), "S").is_ok());
        // Declined with only the key left: it costs money but blocks nothing.
        assert!(may_recreate(&offer(Offered::Declined, &[]), "S").is_ok());
        let e = may_recreate(&offer(Offered::NoTerminal, &[]), "S")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("rerun with --yes") && e.contains("Nothing was changed"),
            "{e}"
        );
        for o in [Offered::Declined, Offered::Removed(Executed::default())] {
            let e = may_recreate(&offer(o, &["voice-learning-user-profiles"]), "S")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("voice-learning-user-profiles") && e.contains("another --stage"),
                "{e}"
            );
        }
    }

    #[test]
    fn what_is_gone_or_already_scheduled_needs_nothing() {
        let steps = plan(
            &retained(),
            &[
                Found::Gone,
                Found::Gone,
                Found::Key {
                    state: KeyState::PendingDeletion,
                    deletion_date: Some("2026-03-10T10:00:00Z".into()),
                },
            ],
        );
        assert!(
            steps.iter().all(|s| matches!(s.action, Action::Nothing(_))),
            "{steps:?}"
        );
        assert!(commands(&steps, &target()).is_empty());
        assert!(describe(&steps[2]).contains("already scheduled for deletion on 2026-03-10"));
    }

    // --------------------------------------------------------- on moto

    use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
        ScalarAttributeType, SseSpecification, SseType,
    };

    struct Emulated {
        _moto: emulator::MotoServer,
        aws: Aws,
        kms: aws_sdk_kms::Client,
    }

    async fn emulated() -> Emulated {
        let moto = emulator::MotoServer::start(Default::default()).expect("moto starts");
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(moto.endpoint_url())
            .region(aws_config::Region::new(emulator::TEST_REGION))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                emulator::TEST_ACCESS_KEY_ID,
                emulator::TEST_SECRET_ACCESS_KEY,
                None,
                None,
                "retained-test",
            ))
            .load()
            .await;
        let aws = Aws {
            account: "123456789012".into(),
            region: emulator::TEST_REGION.into(),
            endpoint_url: Some(moto.endpoint_url()),
            cfn: aws_sdk_cloudformation::Client::new(&conf),
            s3: aws_sdk_s3::Client::new(&conf),
            dynamodb: aws_sdk_dynamodb::Client::new(&conf),
            conf: conf.clone(),
        };
        Emulated {
            _moto: moto,
            kms: aws_sdk_kms::Client::new(&conf),
            aws,
        }
    }

    /// What a failed create would have retained, made through the APIs: the
    /// key, the sessions table (empty, encrypted with the key) and the
    /// profiles table (one item; encrypted with the key when `profiles_under_key`).
    async fn make_retained(e: &Emulated, profiles_under_key: bool) -> String {
        let key = e
            .kms
            .create_key()
            .description("retained by a failed create")
            .send()
            .await
            .unwrap()
            .key_metadata()
            .unwrap()
            .key_id()
            .to_string();
        for (name, pk, under_key) in [
            ("voice-learning-sessions", "sessionId", true),
            ("voice-learning-user-profiles", "userId", profiles_under_key),
        ] {
            let mut req = e
                .aws
                .dynamodb
                .create_table()
                .table_name(name)
                .billing_mode(BillingMode::PayPerRequest)
                .deletion_protection_enabled(true)
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(pk)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .unwrap(),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(pk)
                        .key_type(KeyType::Hash)
                        .build()
                        .unwrap(),
                );
            if under_key {
                req = req.sse_specification(
                    SseSpecification::builder()
                        .enabled(true)
                        .sse_type(SseType::Kms)
                        .kms_master_key_id(&key)
                        .build(),
                );
            }
            req.send().await.unwrap();
        }
        e.aws
            .dynamodb
            .put_item()
            .table_name("voice-learning-user-profiles")
            .item("userId", AttributeValue::S("student-1".into()))
            .send()
            .await
            .unwrap();
        key
    }

    /// The recorded DELETE_SKIPPED list, its key pointed at the emulator's key.
    fn recorded_pointing_at(key: &str) -> Vec<Retained> {
        let events: Vec<StackEvent> = history("events-create-failed-retained.json")
            .into_iter()
            .map(|mut e| {
                if e.physical_resource_id.as_deref() == Some(KEY) {
                    e.physical_resource_id = Some(key.to_string());
                }
                e
            })
            .collect();
        from_events(&events)
    }

    /// Tables (name, deletion protection, items) and the key's state and deletion date.
    async fn snapshot(e: &Emulated, key: &str) -> String {
        let mut s = String::new();
        let mut names = e
            .aws
            .dynamodb
            .list_tables()
            .send()
            .await
            .unwrap()
            .table_names()
            .to_vec();
        names.sort();
        for n in names {
            let t = e
                .aws
                .dynamodb
                .describe_table()
                .table_name(&n)
                .send()
                .await
                .unwrap();
            let items = e
                .aws
                .dynamodb
                .scan()
                .table_name(&n)
                .send()
                .await
                .unwrap()
                .count();
            s.push_str(&format!(
                "{n}: protection={:?} items={items}\n",
                t.table().unwrap().deletion_protection_enabled()
            ));
        }
        let k = e.kms.describe_key().key_id(key).send().await.unwrap();
        let m = k.key_metadata().unwrap();
        s.push_str(&format!(
            "key: {:?} {:?}\n",
            m.key_state(),
            m.deletion_date()
        ));
        s
    }

    fn capture() -> (Ui, std::rc::Rc<std::cell::RefCell<Vec<u8>>>) {
        let buf = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        (Ui::capture(buf.clone()), buf)
    }

    fn text(buf: &std::rc::Rc<std::cell::RefCell<Vec<u8>>>) -> String {
        String::from_utf8(buf.borrow().clone()).unwrap()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn cleanup_on_moto_deletes_the_empty_table_keeps_the_full_one_and_schedules_the_key() {
        let e = emulated().await;
        let key = make_retained(&e, false).await;
        let retained = recorded_pointing_at(&key);

        // Refused (no terminal, no --yes): nothing changes, the commands are listed.
        let before = snapshot(&e, &key).await;
        let (mut ui, buf) = capture();
        let o = offer(&e.aws, &mut ui, &retained, false, |_| Approval::NoTerminal)
            .await
            .unwrap();
        assert_eq!(o.offered, Offered::NoTerminal);
        assert_eq!(snapshot(&e, &key).await, before);
        let out = text(&buf);
        assert!(
            out.contains("no terminal to ask and --yes was not given"),
            "{out}"
        );
        assert!(
            out.contains("aws dynamodb delete-table --table-name voice-learning-sessions"),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "aws kms schedule-key-deletion --key-id {key} --pending-window-in-days 7"
            )),
            "{out}"
        );
        assert!(
            !out.contains("delete-table --table-name voice-learning-user-profiles"),
            "{out}"
        );

        // Answered no at the prompt: nothing changes either.
        static ASKED: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
        let (mut ui, buf) = capture();
        let o = offer(&e.aws, &mut ui, &retained, false, |q| {
            ASKED.lock().unwrap().push_str(q);
            Approval::No
        })
        .await
        .unwrap();
        assert_eq!(o.offered, Offered::Declined);
        assert_eq!(snapshot(&e, &key).await, before);
        assert_eq!(
            *ASKED.lock().unwrap(),
            "Delete 1 empty table(s) and schedule the KMS key's deletion in 7 days as listed above?"
        );
        assert!(text(&buf).contains("Nothing was removed. To remove them later, run:"));

        // Approved (--yes).
        let (mut ui, buf) = capture();
        let o = offer(&e.aws, &mut ui, &retained, true, |_| {
            panic!("--yes does not ask")
        })
        .await
        .unwrap();
        let out = text(&buf);
        let Offered::Removed(done) = &o.offered else {
            panic!("{o:?}\n{out}")
        };
        assert_eq!(
            done.deleted_tables,
            vec!["voice-learning-sessions"],
            "{out}"
        );
        assert_eq!(done.scheduled_keys, vec![key.clone()], "{out}");
        assert!(done.failed.is_empty(), "{out}");
        assert_eq!(o.tables_left, vec!["voice-learning-user-profiles"]);
        assert!(out.contains("holds items"), "{out}");
        assert!(
            out.contains(&format!("aws kms cancel-key-deletion --key-id {key}")),
            "{out}"
        );

        let tables = e.aws.dynamodb.list_tables().send().await.unwrap();
        assert_eq!(tables.table_names(), ["voice-learning-user-profiles"]);
        let kept = e
            .aws
            .dynamodb
            .describe_table()
            .table_name("voice-learning-user-profiles")
            .send()
            .await
            .unwrap();
        assert_eq!(
            kept.table().unwrap().deletion_protection_enabled(),
            Some(true)
        );
        let k = e.kms.describe_key().key_id(&key).send().await.unwrap();
        let m = k.key_metadata().unwrap();
        assert_eq!(m.key_state(), Some(&KeyState::PendingDeletion));
        let days = (m.deletion_date().unwrap().as_secs_f64()
            - std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64())
            / 86_400.0;
        assert!((6.9..=7.01).contains(&days), "{days} days");

        // Run again: the deleted table and the scheduled key need nothing.
        let (mut ui, _) = capture();
        let again = offer(&e.aws, &mut ui, &retained, false, |_| {
            panic!("nothing to ask")
        })
        .await
        .unwrap();
        assert_eq!(again.offered, Offered::NothingToDo);
        assert_eq!(again.tables_left, vec!["voice-learning-user-profiles"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn on_moto_the_key_of_a_kept_table_with_items_is_not_scheduled() {
        let e = emulated().await;
        let key = make_retained(&e, true).await;
        let (mut ui, buf) = capture();
        let o = offer(&e.aws, &mut ui, &recorded_pointing_at(&key), true, |_| {
            panic!("--yes does not ask")
        })
        .await
        .unwrap();
        let out = text(&buf);
        let Offered::Removed(done) = &o.offered else {
            panic!("{o:?}\n{out}")
        };
        assert_eq!(
            done.deleted_tables,
            vec!["voice-learning-sessions"],
            "{out}"
        );
        assert!(done.scheduled_keys.is_empty(), "{out}");
        assert!(out.contains("unreadable"), "{out}");
        let k = e.kms.describe_key().key_id(&key).send().await.unwrap();
        assert_eq!(
            k.key_metadata().unwrap().key_state(),
            Some(&KeyState::Enabled)
        );
    }
}
