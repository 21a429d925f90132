//! On-demand backups and restores of the stack's two tables: `backup`
//! (CreateBackup), `backups` (ListBackups, newest first, with each table's
//! point-in-time window) and `restore` (into a new table only, never over
//! a live one; waits, counts the items, prints how to switch the stack).
//!
//! What DynamoDB does, from its API reference:
//! - CreateBackup backs up the whole table; it is usable once `AVAILABLE`
//!   (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateBackup.html>).
//! - A restore always creates a new table; GSIs and the encryption settings
//!   come along, while TTL, point-in-time recovery, tags, alarms and IAM
//!   policies must be set again on it
//!   (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_RestoreTableToPointInTime.html>,
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_RestoreTableFromBackup.html>).
//! - A point in time must lie between EarliestRestorableDateTime and
//!   LatestRestorableDateTime of DescribeContinuousBackups
//!   (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DescribeContinuousBackups.html>).
//! - ItemCount of a table or backup is refreshed about every six hours, so it
//!   is a hint; the restored table is counted with a Scan (Select COUNT).
//!
//! Long: the restore is one flow of checks (source, window, target), the
//! restore call, the wait and the count, read top to bottom.

use crate::aws::{self, explain, Aws};
use crate::error::{failed, Result};
use crate::options::AwsOptions;
use crate::report::{Report, Style, Text};
use aws_sdk_dynamodb::types::{
    BackupStatus, BackupTypeFilter, PointInTimeRecoveryStatus, Select, TableStatus,
};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::Serialize;
use std::time::{Duration, Instant};

/// One of the stack's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum TableChoice {
    /// voice-learning-sessions (sessions and turns).
    Sessions,
    /// voice-learning-user-profiles.
    Profiles,
}

impl TableChoice {
    pub fn name(self, names: &stack::Names) -> String {
        match self {
            TableChoice::Sessions => names.sessions_table.clone(),
            TableChoice::Profiles => names.user_profiles_table.clone(),
        }
    }

    /// The one flag value, `sessions` or `profiles`.
    pub fn flag(self) -> &'static str {
        match self {
            TableChoice::Sessions => "sessions",
            TableChoice::Profiles => "profiles",
        }
    }
}

/// The given table, or both.
fn tables(names: &stack::Names, t: Option<TableChoice>) -> Vec<(TableChoice, String)> {
    [TableChoice::Sessions, TableChoice::Profiles]
        .into_iter()
        .filter(|c| t.is_none_or(|t| t == *c))
        .map(|c| (c, c.name(names)))
        .collect()
}

/// One backup, as the commands print it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupInfo {
    pub table: String,
    pub name: String,
    pub arn: String,
    /// RFC 3339.
    pub created: String,
    #[serde(skip)]
    pub created_epoch: f64,
    /// `CREATING`, `AVAILABLE`, `DELETED`.
    pub status: String,
    /// `USER`, `SYSTEM`, `AWS_BACKUP`.
    pub kind: String,
    pub size_bytes: Option<i64>,
}

/// A table's point-in-time window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PitrWindow {
    pub table: String,
    pub enabled: bool,
    pub earliest: Option<String>,
    pub latest: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct BackupOptions {
    pub aws: AwsOptions,
    pub stage: Option<String>,
    /// `None`: both tables.
    pub table: Option<TableChoice>,
}

/// Where a restore comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum RestoreSource {
    /// A table's state at an RFC 3339 time (point-in-time recovery).
    PointInTime { table: TableChoice, time: String },
    /// An on-demand (or AWS Backup) backup of one of the tables.
    Backup { arn: String },
}

#[derive(Debug, Clone)]
pub struct RestoreOptions {
    pub aws: AwsOptions,
    pub stage: Option<String>,
    pub source: RestoreSource,
    /// `None`: `<table>-restored-<UTC time>`.
    pub target_table: Option<String>,
    /// Pause between DescribeTable calls while it restores.
    pub poll_interval: Duration,
}

/// What a restore produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Restored {
    pub source_table: String,
    pub target_table: String,
    pub target_arn: String,
    /// Items in the restored table (Scan, COUNT).
    pub item_count: i64,
    /// The item count DynamoDB recorded for the source (a backup's, or the
    /// live table's for a point in time); refreshed only every ~6 hours.
    pub expected_items: Option<i64>,
    pub seconds: f64,
    /// What to run to make the stack use the restored data.
    pub switch_steps: Vec<String>,
}

/// RFC 3339 with milliseconds, the width `logs` prints too.
fn rfc3339(t: &DateTime) -> String {
    t.to_millis()
        .map(crate::logs::rfc3339_ms)
        .unwrap_or_default()
}

/// `20261129-162001`: a UTC time usable in table and backup names.
fn compact_now() -> String {
    let now = DateTime::from_secs(crate::events::now_epoch() as i64);
    now.fmt(Format::DateTime)
        .unwrap_or_default()
        .trim_end_matches('Z')
        .replace(['-', ':'], "")
        .replace('T', "-")
}

/// DynamoDB table names: 3-255 of `a-z A-Z 0-9 _ - .`.
pub fn valid_table_name(n: &str) -> bool {
    (3..=255).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Parses `--to-time` (RFC 3339, e.g. `2026-11-29T15:00:00Z`).
pub fn parse_time(s: &str) -> Result<DateTime> {
    DateTime::from_str(s.trim(), Format::DateTime).map_err(|_| {
        failed!("--to-time `{s}` is not an RFC 3339 time: give it like 2026-11-29T15:00:00Z (UTC) or 2026-11-29T16:00:00+01:00.")
    })
}

/// CreateBackup of the chosen tables (both by default).
pub async fn create(
    aws: &Aws,
    names: &stack::Names,
    table: Option<TableChoice>,
) -> Result<Vec<BackupInfo>> {
    let stamp = compact_now();
    let mut out = vec![];
    for (_, t) in tables(names, table) {
        let name = format!("{t}-{stamp}");
        let r = aws
            .dynamodb
            .create_backup()
            .table_name(&t)
            .backup_name(&name)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_table_not_found_exception() => not_deployed(aws, &names.stack, &t),
                _ => explain(
                    e,
                    &format!("backing up the table {t} (DynamoDB CreateBackup)"),
                    &aws.target(),
                ),
            })?;
        let d = r.backup_details();
        out.push(BackupInfo {
            table: t.clone(),
            name: d.map(|d| d.backup_name().to_string()).unwrap_or(name),
            arn: d.map(|d| d.backup_arn().to_string()).unwrap_or_default(),
            created: d
                .map(|d| rfc3339(d.backup_creation_date_time()))
                .unwrap_or_default(),
            created_epoch: d
                .map(|d| d.backup_creation_date_time().as_secs_f64())
                .unwrap_or_default(),
            status: d
                .map(|d| d.backup_status().as_str().to_string())
                .unwrap_or_default(),
            kind: d
                .map(|d| d.backup_type().as_str().to_string())
                .unwrap_or_default(),
            size_bytes: d.and_then(|d| d.backup_size_bytes()),
        });
    }
    Ok(out)
}

fn not_deployed(aws: &Aws, stack_name: &str, table: &str) -> crate::Error {
    failed!(kind = NotFound,
        "The table {table} does not exist in account {}, region {}: is {stack_name} deployed there? Deploy it with `cargo xtask deploy`, or pass the --stage and --region it was deployed with.",
        aws.account, aws.region
    )
}

/// Every backup of the stack's tables (all pages), newest first, and each
/// table's point-in-time window.
pub async fn list(aws: &Aws, names: &stack::Names) -> Result<(Vec<BackupInfo>, Vec<PitrWindow>)> {
    let mut all = vec![];
    let mut windows = vec![];
    for (_, t) in tables(names, None) {
        let mut start: Option<String> = None;
        loop {
            let page = aws
                .dynamodb
                .list_backups()
                .table_name(&t)
                .backup_type(BackupTypeFilter::All)
                .set_exclusive_start_backup_arn(start.clone())
                .send()
                .await
                .map_err(|e| {
                    explain(
                        e,
                        &format!("listing the backups of {t} (DynamoDB ListBackups)"),
                        &aws.target(),
                    )
                })?;
            for s in page.backup_summaries() {
                all.push(BackupInfo {
                    table: s.table_name().unwrap_or(&t).to_string(),
                    name: s.backup_name().unwrap_or_default().to_string(),
                    arn: s.backup_arn().unwrap_or_default().to_string(),
                    created: s
                        .backup_creation_date_time()
                        .map(rfc3339)
                        .unwrap_or_default(),
                    created_epoch: s
                        .backup_creation_date_time()
                        .map(DateTime::as_secs_f64)
                        .unwrap_or_default(),
                    status: s
                        .backup_status()
                        .map(|x| x.as_str().to_string())
                        .unwrap_or_default(),
                    kind: s
                        .backup_type()
                        .map(|x| x.as_str().to_string())
                        .unwrap_or_default(),
                    size_bytes: s.backup_size_bytes(),
                });
            }
            match page.last_evaluated_backup_arn() {
                Some(a) if Some(a) != start.as_deref() => start = Some(a.to_string()),
                _ => break,
            }
        }
        windows.push(pitr_window(aws, names, &t).await?);
    }
    all.sort_by(|a, b| {
        b.created_epoch
            .total_cmp(&a.created_epoch)
            .then(a.arn.cmp(&b.arn))
    });
    Ok((all, windows))
}

async fn pitr_window(aws: &Aws, names: &stack::Names, t: &str) -> Result<PitrWindow> {
    let r = aws
        .dynamodb
        .describe_continuous_backups()
        .table_name(t)
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(s) if s.is_table_not_found_exception() => not_deployed(aws, &names.stack, t),
            _ => explain(
                e,
                &format!("reading the point-in-time window of {t} (DescribeContinuousBackups)"),
                &aws.target(),
            ),
        })?;
    let p = r
        .continuous_backups_description()
        .and_then(|c| c.point_in_time_recovery_description());
    Ok(PitrWindow {
        table: t.to_string(),
        enabled: p.and_then(|p| p.point_in_time_recovery_status())
            == Some(&PointInTimeRecoveryStatus::Enabled),
        earliest: p
            .and_then(|p| p.earliest_restorable_date_time())
            .map(rfc3339),
        latest: p.and_then(|p| p.latest_restorable_date_time()).map(rfc3339),
    })
}

/// Restores into a new table, waits for it, counts its items and returns
/// the steps to switch the stack to it.
pub async fn restore(
    aws: &Aws,
    names: &stack::Names,
    opts: &RestoreOptions,
    report: &mut impl Report,
) -> Result<Restored> {
    let started = Instant::now();
    let live = [
        names.sessions_table.clone(),
        names.user_profiles_table.clone(),
    ];
    // The source table and, for a point in time, the checked time.
    let (source, expected, time) = match &opts.source {
        RestoreSource::PointInTime { table, time } => {
            let t = table.name(names);
            let when = parse_time(time)?;
            let w = pitr_window(aws, names, &t).await?;
            if !w.enabled {
                return Err(failed!(
                    "Point-in-time recovery is off for {t}, so there is no --to-time to restore: restore a backup with --backup-arn (see `cargo xtask backups`)."
                ));
            }
            let secs = when.as_secs_f64();
            let parse = |s: &Option<String>| {
                s.as_deref()
                    .and_then(|s| DateTime::from_str(s, Format::DateTime).ok())
            };
            if let (Some(e), Some(l)) = (parse(&w.earliest), parse(&w.latest)) {
                if secs < e.as_secs_f64() || secs > l.as_secs_f64() {
                    return Err(failed!(
                        "--to-time {time} is outside what {t} can be restored to ({} … {}): pick a time in that window.",
                        rfc3339(&e),
                        rfc3339(&l)
                    ));
                }
            }
            let count = aws
                .dynamodb
                .describe_table()
                .table_name(&t)
                .send()
                .await
                .ok()
                .and_then(|d| d.table().and_then(|t| t.item_count()));
            (t, count, Some(when))
        }
        RestoreSource::Backup { arn } => {
            let d = aws
                .dynamodb
                .describe_backup()
                .backup_arn(arn)
                .send()
                .await
                .map_err(|e| match e.as_service_error() {
                    Some(s) if s.is_backup_not_found_exception() => failed!(
                        "No backup {arn} exists in account {}, region {}: copy an ARN from `cargo xtask backups`.",
                        aws.account, aws.region
                    ),
                    _ => explain(e, "reading the backup (DynamoDB DescribeBackup)", &aws.target()),
                })?;
            let desc = d.backup_description();
            let src = desc
                .and_then(|b| b.source_table_details())
                .map(|s| s.table_name().to_string())
                .unwrap_or_default();
            if !live.contains(&src) {
                return Err(failed!(
                    "The backup {arn} is of the table `{src}`, not of this stack's tables ({}): pass the --stage it belongs to.",
                    live.join(", ")
                ));
            }
            let status = desc
                .and_then(|b| b.backup_details())
                .map(|b| b.backup_status().clone());
            if status
                .as_ref()
                .is_some_and(|s| *s != BackupStatus::Available)
            {
                return Err(failed!(
                    "The backup {arn} is {} and cannot be restored yet: wait until `cargo xtask backups` shows it AVAILABLE.",
                    status.map(|s| s.as_str().to_string()).unwrap_or_default()
                ));
            }
            let count = desc
                .and_then(|b| b.source_table_details())
                .and_then(|s| s.item_count());
            (src, count, None)
        }
    };
    let target = opts
        .target_table
        .clone()
        .unwrap_or_else(|| format!("{source}-restored-{}", compact_now()));
    if live.contains(&target) {
        return Err(failed!(
            "--target-table {target} is a live table of the stack: a restore never overwrites it; give a new name (the default is `<table>-restored-<time>`)."
        ));
    }
    if !valid_table_name(&target) {
        return Err(failed!(
            "--target-table `{target}` is not a DynamoDB table name: 3-255 letters, digits, '_', '-' or '.'."
        ));
    }
    match aws.dynamodb.describe_table().table_name(&target).send().await {
        Ok(_) => {
            return Err(failed!(
                "The table {target} already exists: a restore creates a new table, so choose another --target-table (or delete that one first with `aws dynamodb delete-table --table-name {target}`)."
            ))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {}
        Err(e) => return Err(explain(e, &format!("checking whether {target} exists"), &aws.target())),
    }

    report.say(&format!("restoring {source} into the new table {target} …"));
    let target_arn = match (&opts.source, time) {
        (RestoreSource::PointInTime { .. }, Some(when)) => aws
            .dynamodb
            .restore_table_to_point_in_time()
            .source_table_name(&source)
            .target_table_name(&target)
            .restore_date_time(when)
            .send()
            .await
            .map_err(|e| {
                explain(
                    e,
                    "starting the restore (DynamoDB RestoreTableToPointInTime)",
                    &aws.target(),
                )
            })?
            .table_description()
            .and_then(|t| t.table_arn())
            .unwrap_or_default()
            .to_string(),
        (RestoreSource::Backup { arn }, _) => aws
            .dynamodb
            .restore_table_from_backup()
            .backup_arn(arn)
            .target_table_name(&target)
            .send()
            .await
            .map_err(|e| {
                explain(
                    e,
                    "starting the restore (DynamoDB RestoreTableFromBackup)",
                    &aws.target(),
                )
            })?
            .table_description()
            .and_then(|t| t.table_arn())
            .unwrap_or_default()
            .to_string(),
        _ => unreachable!("a point in time always has its parsed time"),
    };

    // Restores take minutes to hours (with the table's size); a line every
    // poll while it is not ACTIVE.
    loop {
        let d = aws
            .dynamodb
            .describe_table()
            .table_name(&target)
            .send()
            .await
            .map_err(|e| {
                explain(
                    e,
                    &format!("waiting for {target} (DescribeTable)"),
                    &aws.target(),
                )
            })?;
        let status = d.table().and_then(|t| t.table_status()).cloned();
        if status == Some(TableStatus::Active) {
            break;
        }
        report.say(&format!(
            "  {:>5.0}s  {target}: {}",
            started.elapsed().as_secs_f64(),
            status
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "?".into())
        ));
        tokio::select! {
            _ = tokio::time::sleep(opts.poll_interval) => {}
            _ = tokio::signal::ctrl_c() => return Err(crate::Error::Interrupted(format!(
                "stopped waiting; the restore into {target} goes on in DynamoDB (watch it with `aws dynamodb describe-table --table-name {target}`)."
            ))),
        }
    }
    let item_count = count_items(aws, &target).await?;
    report.line(Text::styled(
        Style::Good,
        format!(
            "✓ {target} is ACTIVE with {item_count} items ({:.0}s)",
            started.elapsed().as_secs_f64()
        ),
    ));
    if let Some(e) = expected.filter(|e| *e != item_count) {
        report.warn(&format!(
            "DynamoDB recorded {e} items for {source}; its count is refreshed only about every 6 hours, so compare a few items by hand before switching."
        ));
    }
    Ok(Restored {
        switch_steps: switch_steps(
            &source,
            &target,
            &format!(
                "arn:aws:dynamodb:{}:{}:table/{source}",
                aws.region, aws.account
            ),
            names.stage.as_deref(),
        ),
        source_table: source,
        target_table: target,
        target_arn,
        item_count,
        expected_items: expected,
        seconds: crate::text::seconds(started.elapsed()),
    })
}

/// Exact item count: a Scan with Select COUNT over every page (it reads the
/// whole table, so it costs read units like reading it).
pub async fn count_items(aws: &Aws, table: &str) -> Result<i64> {
    let mut n = 0i64;
    let mut start = None;
    loop {
        let r = aws
            .dynamodb
            .scan()
            .table_name(table)
            .select(Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| {
                explain(
                    e,
                    &format!("counting the items of {table} (Scan)"),
                    &aws.target(),
                )
            })?;
        n += i64::from(r.count());
        match r.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return Ok(n),
        }
    }
}

/// The stack names its tables, so its functions, roles and alarms can only
/// use a table of that name: switching means putting the restored data
/// under the live name (restore again from a backup of the new table), then
/// putting back what a restore does not carry (TTL, PITR, deletion
/// protection, tags), then verifying.
pub fn switch_steps(
    live: &str,
    restored: &str,
    live_arn: &str,
    stage: Option<&str>,
) -> Vec<String> {
    let tags: String = crate::tags::stack_tags(stage)
        .iter()
        .map(|(k, v)| format!(" Key={k},Value={v}"))
        .collect();
    vec![
        format!("Check the restored data: aws dynamodb scan --table-name {restored} --max-items 5"),
        format!("Back up the restored table: aws dynamodb create-backup --table-name {restored} --backup-name {restored}-switch   (note its BackupArn; wait until `aws dynamodb describe-backup --backup-arn <BackupArn>` says AVAILABLE)"),
        format!("Keep the current data too: cargo xtask backup   (from the next step until step 6 finishes, the API answers 503)"),
        format!("aws dynamodb update-table --table-name {live} --no-deletion-protection-enabled"),
        format!("aws dynamodb delete-table --table-name {live} && aws dynamodb wait table-not-exists --table-name {live}"),
        format!("aws dynamodb restore-table-from-backup --backup-arn <BackupArn> --target-table-name {live} && aws dynamodb wait table-exists --table-name {live}"),
        format!("aws dynamodb update-time-to-live --table-name {live} --time-to-live-specification Enabled=true,AttributeName=expiresAt"),
        format!("aws dynamodb update-continuous-backups --table-name {live} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true"),
        format!("aws dynamodb update-table --table-name {live} --deletion-protection-enabled"),
        format!("aws dynamodb tag-resource --resource-arn {live_arn} --tags{tags}"),
        "cargo xtask verify   (SSE with the stack's key, TTL, PITR, and a smoke request through both functions)".to_string(),
        format!("When satisfied: aws dynamodb delete-table --table-name {restored}"),
    ]
}

/// `backup`: connect, then [`create`].
pub async fn run_backup(opts: &BackupOptions) -> Result<Vec<BackupInfo>> {
    let names = crate::options::names(opts.stage.as_deref())?;
    let aws = aws::connect(&opts.aws).await?;
    create(&aws, &names, opts.table).await
}

/// `backups`: connect, then [`list`].
pub async fn run_list(opts: &BackupOptions) -> Result<(Vec<BackupInfo>, Vec<PitrWindow>)> {
    let names = crate::options::names(opts.stage.as_deref())?;
    let aws = aws::connect(&opts.aws).await?;
    list(&aws, &names).await
}

/// `restore`: the local checks, connect, then [`restore`].
pub async fn run_restore(opts: &RestoreOptions, report: &mut impl Report) -> Result<Restored> {
    let names = crate::options::names(opts.stage.as_deref())?;
    if let RestoreSource::PointInTime { time, .. } = &opts.source {
        parse_time(time)?;
    }
    if let Some(t) = &opts.target_table {
        if !valid_table_name(t) {
            return Err(failed!(
                "--target-table `{t}` is not a DynamoDB table name: 3-255 letters, digits, '_', '-' or '.'."
            ));
        }
        // The restored table keeps the source's encryption, and the key
        // policy lets DynamoDB use the stack's key only for tables named
        // after the stack's tables.
        let sources = [&names.sessions_table, &names.user_profiles_table];
        if !sources.iter().any(|s| t.starts_with(&format!("{s}-"))) {
            return Err(failed!(
                "--target-table `{t}` must start with the table's own name and a dash (e.g. `{}-restored-2`): the stack's KMS key may be used only for tables named after the stack's tables, and the restored copy stays encrypted with it. Nothing was changed.",
                names.sessions_table
            ));
        }
    }
    let aws = aws::connect(&opts.aws).await?;
    restore(&aws, &names, opts, report).await
}
