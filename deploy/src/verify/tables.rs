//! Tables: the stack's table (by physical id) has the modelled key schema and
//! index, SSE with the stack's own key, TTL on the modelled attribute, PITR.
//!
//! The comparisons are pure functions of the SDK's types (tested below with
//! recorded responses); [`verify_table`] only fetches.

use super::check::{call_failed, is_access_denied, Check, Outcome};
use super::key::{self, StackKey};
use aws_sdk_dynamodb::types::{
    ContinuousBackupsDescription, ContinuousBackupsStatus, KeyType as DdbKeyType,
    PointInTimeRecoveryStatus, SseDescription, SseStatus, SseType, TableDescription,
    TimeToLiveDescription, TimeToLiveStatus,
};
use aws_sdk_kms::types::KeyManagerType;
use stack::resources::{KeyType, Properties, Table};

/// The template's tables: (logical id, model).
pub fn modelled(template: &stack::Template) -> impl Iterator<Item = (&str, &Table)> {
    template
        .resources_of_type(Table::TYPE)
        .filter_map(|(id, r)| match &r.properties {
            Properties::Table(t) => Some((id, t)),
            _ => None,
        })
}

/// Every check of one table. `physical_name` is the stack's table.
pub async fn verify_table(
    ddb: &aws_sdk_dynamodb::Client,
    kms: &aws_sdk_kms::Client,
    physical_name: &str,
    model: &Table,
    key: Option<&StackKey>,
) -> Vec<Check> {
    let name = &model.table_name;
    let mut out = vec![];
    let exists = format!("table {name} exists");
    match ddb.describe_table().table_name(physical_name).send().await {
        Ok(d) => match d.table() {
            Some(t) => {
                out.push(Check::ok_if(
                    exists,
                    physical_name == name,
                    if physical_name == name {
                        String::new()
                    } else {
                        format!("the stack's table is {physical_name}, the design names it {name}")
                    },
                ));
                out.push(key_schema_check(name, t, model));
                for gsi in &model.global_secondary_indexes {
                    let found = t
                        .global_secondary_indexes()
                        .iter()
                        .any(|g| g.index_name() == Some(gsi.index_name.as_str()));
                    out.push(Check::ok_if(
                        format!("table {name} index {}", gsi.index_name),
                        found,
                        if found { "" } else { "missing" },
                    ));
                }
                let sse = t.sse_description();
                // Only to word a mismatch ("the AWS managed key"); the
                // verdict never depends on it.
                let manager = match (sse.and_then(|s| s.kms_master_key_arn()), key) {
                    (Some(arn), Some(k)) if !k.matches(arn) => key::manager_of(kms, arn).await,
                    _ => None,
                };
                out.push(sse_check(name, sse, key, manager.as_ref()));
            }
            None => {
                out.push(Check::fail(exists, "DescribeTable returned no table"));
                return out;
            }
        },
        Err(e) if is_access_denied(&e) => {
            // Nothing DescribeTable tells is known; TTL and PITR are other calls.
            let c = call_failed(exists, "dynamodb:DescribeTable", &e);
            for what in ["key schema", "SSE with the stack's key"] {
                out.push(Check::new(
                    format!("table {name} {what}"),
                    Outcome::CannotCheck,
                    "cannot check: dynamodb:DescribeTable denied",
                ));
            }
            out.insert(0, c);
        }
        Err(e) => {
            out.push(call_failed(exists, "dynamodb:DescribeTable", &e));
            return out;
        }
    }

    let attr = &model.time_to_live_specification.attribute_name;
    let ttl_name = format!("table {name} TTL on {attr}");
    match ddb
        .describe_time_to_live()
        .table_name(physical_name)
        .send()
        .await
    {
        Ok(t) => out.push(ttl_check(&ttl_name, t.time_to_live_description(), attr)),
        Err(e) => out.push(call_failed(ttl_name, "dynamodb:DescribeTimeToLive", &e)),
    }

    let pitr_name = format!("table {name} point-in-time recovery");
    match ddb
        .describe_continuous_backups()
        .table_name(physical_name)
        .send()
        .await
    {
        Ok(p) => out.push(pitr_check(&pitr_name, p.continuous_backups_description())),
        Err(e) => out.push(call_failed(
            pitr_name,
            "dynamodb:DescribeContinuousBackups",
            &e,
        )),
    }
    out
}

/// Key schema: the same attributes, HASH and RANGE, in order.
pub fn key_schema_check(name: &str, t: &TableDescription, model: &Table) -> Check {
    let have: Vec<(String, bool)> = t
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type() == &DdbKeyType::Hash,
            )
        })
        .collect();
    let want: Vec<(String, bool)> = model
        .key_schema
        .iter()
        .map(|k| (k.attribute_name.clone(), k.key_type == KeyType::Hash))
        .collect();
    let show = |v: &[(String, bool)]| {
        v.iter()
            .map(|(a, hash)| format!("{a} ({})", if *hash { "HASH" } else { "RANGE" }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Check::ok_if(
        format!("table {name} key schema"),
        have == want,
        if have == want {
            show(&have)
        } else {
            format!("{}; the design wants {}", show(&have), show(&want))
        },
    )
}

/// SSE must be ENABLED, type KMS, with the stack's key. No SSEDescription at
/// all means the AWS owned key; an AWS managed (`aws/dynamodb`) or any other
/// key is a FAIL. ENABLING / UPDATING are transitions: pending.
/// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_SSEDescription.html
pub fn sse_check(
    table: &str,
    sse: Option<&SseDescription>,
    key: Option<&StackKey>,
    table_key_manager: Option<&KeyManagerType>,
) -> Check {
    let name = format!("table {table} SSE with the stack's key");
    let fix = "the table's encryption was changed outside the stack: run `cargo xtask diff`, then redeploy \
               or `aws dynamodb update-table --sse-specification Enabled=true,SSEType=KMS,KMSMasterKeyId=<the stack's key>`";
    let Some(sse) = sse else {
        return Check::fail(
            name,
            format!(
                "no SSEDescription: the table uses the AWS owned key, not the stack's key; {fix}"
            ),
        );
    };
    let arn = sse.kms_master_key_arn().unwrap_or_default();
    match (sse.status(), sse.sse_type()) {
        (Some(SseStatus::Enabled), Some(SseType::Kms)) => {}
        (Some(s @ (SseStatus::Enabling | SseStatus::Updating)), _) => {
            return Check::pending(
                name,
                format!(
                    "SSE is {} (key {arn}): DynamoDB is still applying it",
                    s.as_str()
                ),
            )
        }
        (status, ty) => {
            return Check::fail(
                name,
                format!(
                    "SSE is {} with type {}, the design wants ENABLED with KMS; {fix}",
                    status.map_or("not reported", |s| s.as_str()),
                    ty.map_or("not reported", |t| t.as_str())
                ),
            )
        }
    }
    let Some(key) = key else {
        return Check::fail(
            name,
            format!("{arn}: the stack has no key to compare it with"),
        );
    };
    if arn.is_empty() {
        return Check::fail(name, "SSE with KMS but no KMSMasterKeyArn reported");
    }
    if key.matches(arn) {
        return Check::ok(name, arn);
    }
    let whose = match table_key_manager {
        Some(KeyManagerType::Aws) => "the AWS managed key (aws/dynamodb)",
        Some(KeyManagerType::Customer) => "another customer managed key",
        _ => "another key",
    };
    Check::fail(
        name,
        format!(
            "encrypted with {whose} {arn}, not the stack's key {}; {fix}",
            key.shown()
        ),
    )
}

/// TTL must be ENABLED on the modelled attribute; ENABLING on it is pending
/// (DynamoDB takes up to an hour).
/// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TimeToLiveDescription.html
pub fn ttl_check(name: &str, d: Option<&TimeToLiveDescription>, want: &str) -> Check {
    let status = d.and_then(|d| d.time_to_live_status());
    let attr = d.and_then(|d| d.attribute_name()).unwrap_or_default();
    match status {
        Some(TimeToLiveStatus::Enabled) if attr == want => Check::ok(name, "ENABLED"),
        Some(TimeToLiveStatus::Enabling) if attr == want => Check::pending(
            name,
            "TTL is ENABLING: DynamoDB can take up to an hour to finish",
        ),
        Some(s @ (TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) => Check::fail(
            name,
            format!(
                "TTL is {} on `{attr}`, the design wants `{want}` (sessions would never expire)",
                s.as_str()
            ),
        ),
        Some(s) => Check::fail(
            name,
            format!(
                "TTL is {}: sessions would never expire; redeploy, or `aws dynamodb update-time-to-live --time-to-live-specification Enabled=true,AttributeName={want}`",
                s.as_str()
            ),
        ),
        None => Check::fail(name, "TTL is not enabled (no status reported)"),
    }
}

/// PITR must be ENABLED. The API reference lists only ENABLED and DISABLED
/// for both statuses; any other value is a state this SDK does not know yet
/// (e.g. a transition while it is being turned on) and is reported as
/// pending rather than guessed either way.
/// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ContinuousBackupsDescription.html
/// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PointInTimeRecoveryDescription.html
pub fn pitr_check(name: &str, d: Option<&ContinuousBackupsDescription>) -> Check {
    let Some(d) = d else {
        return Check::fail(name, "no ContinuousBackupsDescription reported");
    };
    let pitr = d.point_in_time_recovery_description();
    match pitr.and_then(|p| p.point_in_time_recovery_status()) {
        Some(PointInTimeRecoveryStatus::Enabled) => Check::ok(
            name,
            match pitr.and_then(|p| p.recovery_period_in_days()) {
                Some(days) => format!("ENABLED, {days} days"),
                None => "ENABLED".into(),
            },
        ),
        Some(PointInTimeRecoveryStatus::Disabled) | None => Check::fail(
            name,
            if d.continuous_backups_status() == &ContinuousBackupsStatus::Disabled {
                "continuous backups and PITR are DISABLED".to_string()
            } else {
                "PITR is DISABLED: redeploy, or `aws dynamodb update-continuous-backups --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true`".to_string()
            },
        ),
        Some(other) => Check::pending(name, format!("PITR is {}", other.as_str())),
    }
}
