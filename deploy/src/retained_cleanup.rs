//! Removing what a failed first create's rollback kept (see `retained`):
//! [`stack_events`], [`inspect`] (read only), [`execute`], and [`offer`],
//! which asks first (or takes `--yes`); [`after_failed_create`] and
//! [`before_recreate`] are what `deploy` calls.
//!
//! Safety rules: only a resource the stack reported creating
//! (`CREATE_COMPLETE`) is touched; a table is deleted only when a consistent
//! scan finds no item, checked again right before deleting; the key is only
//! scheduled for deletion (never deleted at once) and is kept while a
//! remaining table is encrypted with it.

use crate::aws::{explain, Aws};
use crate::error::{failed, Error, Result};
use crate::events::StackEvent;
use crate::record::recorded_client;
use crate::report::{ask, Approval, Approver, Report, Style, Text};
use crate::retained::{
    cli_suffix, commands, describe, from_events, plan, Action, Found, Kind, Retained, Step,
    KEY_PENDING_WINDOW_DAYS,
};
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{Select, TableStatus};
use aws_sdk_kms::types::KeyState;
use aws_smithy_types::date_time::Format;
use std::time::Duration;

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
            .map_err(|e| explain(e, "reading the stack's events", &aws.target()))?;
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
                explain(e, &format!("scanning the table {name}"), &aws.target()).to_string()
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
                explain(e, &format!("reading the table {name}"), &aws.target()).to_string(),
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
            explain(e, &format!("reading the KMS key {key_id}"), &aws.target()).to_string(),
        ),
    }
}

/// What each retained resource is like now (read only).
pub async fn inspect(aws: &Aws, retained: &[Retained]) -> Vec<Found> {
    let kms: aws_sdk_kms::Client = recorded_client!(aws_sdk_kms, &aws.conf);
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
                explain(
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
                last = explain(e, &format!("deleting the table {name}"), &aws.target())
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
pub async fn execute(aws: &Aws, report: &mut impl Report, steps: &[Step]) -> Executed {
    let kms: aws_sdk_kms::Client = recorded_client!(aws_sdk_kms, &aws.conf);
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
                report.line(Text::styled(
                    Style::Good,
                    format!("  ✓ deleted the empty table {name}"),
                ));
                done.deleted_tables.push(name.clone());
            }
            Err(why) => {
                report.line(Text::styled(
                    Style::Bad,
                    format!("  ✗ table {name} kept: {why}"),
                ));
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
            report.say(&format!("  [=] KMS key {key} kept: {why}"));
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
                report.line(Text::styled(
                    Style::Good,
                    format!(
                        "  ✓ KMS key {key} is scheduled for deletion{when} ({KEY_PENDING_WINDOW_DAYS} days). Until then it can be cancelled with\n      aws kms cancel-key-deletion --key-id {key}{at}\n    (then `aws kms enable-key --key-id {key}{at}` to use it again)"
                    ),
                ));
                done.scheduled_keys.push(key.clone());
            }
            Err(e) => {
                let why = explain(
                    e,
                    &format!("scheduling the deletion of the KMS key {key}"),
                    &aws.target(),
                )
                .to_string();
                report.line(Text::styled(
                    Style::Bad,
                    format!("  ✗ KMS key {key} kept: {why}"),
                ));
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
    report: &mut impl Report,
    approver: &mut impl Approver,
    retained: &[Retained],
    yes: bool,
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

    report.blank();
    report.heading(&format!(
        "The rollback kept {} resource(s) (DeletionPolicy Retain: their events say DELETE_SKIPPED):",
        retained.len()
    ));
    for s in &steps {
        report.say(&format!("  {}", describe(s)));
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
        ask(approver, &question)
            .await
            .ok_or_else(|| Error::Interrupted("nothing was removed.".into()))?
    };
    let show_commands = |report: &mut dyn FnMut(&str)| {
        for c in &commands {
            report(&format!("  {c}"));
        }
    };
    let offered = match answer {
        Approval::Yes => {
            let done = execute(aws, report, &steps).await;
            let left = staying(Some(&done));
            return Ok(Offer {
                offered: Offered::Removed(done),
                tables_left: left,
                commands,
            });
        }
        Approval::No => {
            report.say("Nothing was removed. To remove them later, run:");
            show_commands(&mut |l| report.say(l));
            Offered::Declined
        }
        Approval::NoTerminal => {
            report.say(
                "Nothing was removed: there is no terminal to ask and --yes was not given. Rerun with --yes, or run:",
            );
            show_commands(&mut |l| report.say(l));
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
/// offers to remove it. Fails only when interrupted: the deploy's own
/// failure is what counts.
pub async fn after_failed_create(
    aws: &Aws,
    report: &mut impl Report,
    approver: &mut impl Approver,
    stack_id: &str,
    yes: bool,
) -> Result<()> {
    let result = async {
        let events = stack_events(aws, stack_id).await?;
        offer(aws, report, approver, &from_events(&events), yes).await
    }
    .await;
    match result {
        Ok(o) if !o.tables_left.is_empty() => report.say(&format!(
            "The next deploy cannot create the stack while the table(s) {} exist.",
            o.tables_left.join(", ")
        )),
        Ok(_) => {}
        Err(e) if e.is_interrupted() => return Err(e),
        Err(e) => report.warn(&format!(
            "could not check what the rollback kept ({e}); the next `cargo xtask deploy` checks again."
        )),
    }
    Ok(())
}

/// Before a ROLLBACK_COMPLETE stack is deleted and created again: removes
/// (with approval) what its rollback kept. An error when a table would
/// block the create, or when nobody could approve.
pub async fn before_recreate(
    aws: &Aws,
    report: &mut impl Report,
    approver: &mut impl Approver,
    stack_id: &str,
    stack_name: &str,
    yes: bool,
) -> Result<()> {
    let events = stack_events(aws, stack_id).await?;
    let o = offer(aws, report, approver, &from_events(&events), yes).await?;
    may_recreate(&o, stack_name)
}

/// Whether the create can go ahead after [`offer`]: not while a retained
/// table still takes its name, nor when nobody could approve (a key alone
/// does not block it, but then it is left on purpose).
pub fn may_recreate(o: &Offer, stack_name: &str) -> Result<()> {
    if o.offered == Offered::NoTerminal {
        return Err(failed!(
            "{stack_name}'s failed create left resources behind (listed above) and there is no terminal to ask: \
             rerun with --yes to remove the empty ones, or run the commands above. Nothing was changed."
        ));
    }
    if !o.tables_left.is_empty() {
        return Err(failed!(
            "cannot create {stack_name} again: the table(s) {} kept by its failed create still exist, and CloudFormation cannot create a table whose name is taken. \
             Remove them (see above), or deploy with another --stage. Nothing else was changed.",
            o.tables_left.join(", ")
        ));
    }
    Ok(())
}
